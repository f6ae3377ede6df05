//! The keyring's error type.

use core::fmt;

/// What went wrong. Peer input (a frame, a KID) is kept apart from caller misuse; see
/// [`Error::is_peer_input`]. On any error the keyring's state is unchanged.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SframeMlsError {
    // --- bad peer input ---
    /// The SFrame layer refused the frame (malformed header, truncated, authentication failed,
    /// replay...).
    Frame(sframe_core::SframeError),
    /// The frame's KID names an epoch this keyring does not hold, and the frame could not be
    /// buffered (buffering disabled, or the frame alone exceeds the byte limit).
    UnknownEpoch {
        /// The frame's KID.
        kid: u64,
    },
    /// The frame's KID names a sender index that is not a member of that epoch.
    UnknownSender {
        /// The epoch.
        epoch: u64,
        /// The sender index from the KID.
        sender_index: u32,
    },
    /// A frame under a KID without a key came on a stream whose recent frames under new KIDs
    /// failed to authenticate too often ([`FreshKidBudget`](crate::FreshKidBudget)): refused
    /// without a check. Such frames are checked again as the stream's budget refills.
    Throttled {
        /// The frame's KID.
        kid: u64,
    },
    /// A frame held for its epoch was given up: the epoch did not arrive within the pending
    /// buffer's `max_age`.
    HeldExpired {
        /// The frame's KID.
        kid: u64,
    },
    /// A frame held for its epoch was evicted to make room (the pending buffer was full).
    HeldEvicted {
        /// The frame's KID.
        kid: u64,
    },
    // --- caller misuse ---
    /// A held frame was given up because the keyring was cleared.
    Cleared {
        /// The frame's KID.
        kid: u64,
    },
    /// An epoch older than the newest one held was given.
    StaleEpoch {
        /// The epoch given.
        epoch: u64,
        /// The newest epoch held.
        newest: u64,
    },
    /// This epoch is already held.
    EpochKnown(u64),
    /// The base key does not have the suite's `Nk` bytes.
    BaseKeyLength {
        /// `Nk`.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// There is no epoch to encrypt with (none given yet, or the keyring was cleared).
    NoSendEpoch,
    /// This keyring has no sender index in the epoch (a receive-only keyring).
    NotASender,
    /// The context does not fit in the KID's context bits.
    ContextOutOfRange {
        /// The context given.
        context: u64,
        /// The largest allowed.
        max: u64,
    },
    /// A sender index does not fit in the KID's `S` bits.
    SenderIndexOutOfRange {
        /// The index.
        sender_index: u32,
        /// The largest allowed.
        max: u32,
    },
    /// A configuration value is out of range.
    InvalidConfig(&'static str),
    /// The SFrame layer refused a call (buffer too small, counter exhausted...).
    Sframe(sframe_core::SframeError),
}

impl Error {
    /// Whether this error was caused by bad input from a peer (as opposed to caller misuse).
    pub fn is_peer_input(&self) -> bool {
        matches!(
            self,
            Self::Frame(_)
                | Self::UnknownEpoch { .. }
                | Self::UnknownSender { .. }
                | Self::Throttled { .. }
                | Self::HeldExpired { .. }
                | Self::HeldEvicted { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "frame refused: {e}"),
            Self::UnknownEpoch { kid } => write!(f, "KID {kid:#x} names an epoch not held"),
            Self::UnknownSender {
                epoch,
                sender_index,
            } => write!(
                f,
                "sender index {sender_index} is not a member of epoch {epoch}"
            ),
            Self::Throttled { kid } => write!(
                f,
                "frame under new KID {kid:#x} refused: too many failed new KIDs on its stream"
            ),
            Self::HeldExpired { kid } => {
                write!(f, "frame under KID {kid:#x} held too long for its epoch")
            }
            Self::HeldEvicted { kid } => {
                write!(
                    f,
                    "frame under KID {kid:#x} evicted from the full pending buffer"
                )
            }
            Self::Cleared { kid } => write!(f, "frame under KID {kid:#x} dropped: keyring cleared"),
            Self::StaleEpoch { epoch, newest } => {
                write!(f, "epoch {epoch} is older than the newest held ({newest})")
            }
            Self::EpochKnown(e) => write!(f, "epoch {e} is already held"),
            Self::BaseKeyLength { expected, actual } => {
                write!(f, "base key has {actual} bytes, the suite needs {expected}")
            }
            Self::NoSendEpoch => f.write_str("no epoch to encrypt with"),
            Self::NotASender => f.write_str("this keyring has no sender index in the epoch"),
            Self::ContextOutOfRange { context, max } => {
                write!(f, "context {context} above the largest {max}")
            }
            Self::SenderIndexOutOfRange { sender_index, max } => {
                write!(f, "sender index {sender_index} above the largest {max}")
            }
            Self::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            Self::Sframe(e) => write!(f, "SFrame: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Frame(e) | Self::Sframe(e) => Some(e),
            _ => None,
        }
    }
}

/// The crate's own short name for [`SframeMlsError`].
pub(crate) use self::SframeMlsError as Error;
