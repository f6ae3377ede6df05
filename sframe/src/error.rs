//! The one error type of the crate.

use core::fmt;

use crate::header::HeaderError;

/// Everything that can go wrong in this crate.
///
/// The variants fall in two groups, which [`Error::is_peer_input`] tells apart:
/// - **bad input from the network** (a malformed header, an unknown KID, a frame that fails
///   authentication, a replay, a ratchet step too far ahead): drop the frame and go on; the
///   receiver's state is unchanged and the next good frame decrypts;
/// - **misuse by the caller** (an exhausted counter, a buffer too small, a key of the wrong
///   length...): a bug or a configuration error on this side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SframeError {
    // ---- bad peer input ----
    /// The frame's header could not be parsed.
    MalformedHeader(HeaderError),
    /// The frame is shorter than its header plus the suite's tag.
    TruncatedFrame {
        /// Bytes the frame needs at least.
        needed: usize,
        /// Bytes it has.
        available: usize,
    },
    /// No key is installed for this KID. The caller may fetch the key and retry the frame.
    UnknownKid(u64),
    /// The frame did not authenticate. Deliberately says nothing more.
    AuthenticationFailed,
    /// The frame's counter was already seen under this KID, or is older than the replay window.
    Replay {
        /// The KID of the frame.
        kid: u64,
        /// Its counter.
        ctr: u64,
    },
    /// The KID names a ratchet step further ahead of the current one than the window allows,
    /// or an old step that is no longer kept.
    RatchetOutOfWindow {
        /// The KID of the frame.
        kid: u64,
    },

    // ---- caller misuse ----
    /// The sender's counter for this KID has reached `u64::MAX`: the key must be replaced.
    CounterExhausted {
        /// The KID whose counter ran out.
        kid: u64,
    },
    /// The caller asked for a starting counter below one already used under this KID.
    CounterReuse {
        /// The KID.
        kid: u64,
        /// The lowest counter that may still be used.
        next_unused: u64,
    },
    /// An output or in-place buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A key of the wrong length for the suite.
    InvalidKeyLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A base key must not be empty.
    EmptyBaseKey,
    /// No key is installed for this KID on the sending side.
    NoSendKey(u64),
    /// A KID is already installed (remove it first).
    KidInUse(u64),
    /// A configuration value is out of range (the message says which).
    InvalidConfig(&'static str),
    /// A frame longer than the suite can encrypt under one nonce.
    FrameTooLarge,
    /// This build has no implementation of the requested suite or backend.
    UnsupportedSuite(u16),
    /// A suite name or number that names no suite.
    UnknownSuiteName,
    /// The crypto library reported an internal failure.
    Crypto,
}

impl Error {
    /// `true` for errors caused by what arrived from the network, `false` for caller misuse.
    pub const fn is_peer_input(&self) -> bool {
        matches!(
            self,
            Self::MalformedHeader(_)
                | Self::TruncatedFrame { .. }
                | Self::UnknownKid(_)
                | Self::AuthenticationFailed
                | Self::Replay { .. }
                | Self::RatchetOutOfWindow { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedHeader(e) => write!(f, "malformed SFrame header: {e}"),
            Self::TruncatedFrame { needed, available } => {
                write!(
                    f,
                    "truncated frame: needs at least {needed} bytes, has {available}"
                )
            }
            Self::UnknownKid(kid) => write!(f, "no key for KID {kid}"),
            Self::AuthenticationFailed => f.write_str("authentication failed"),
            Self::Replay { kid, ctr } => write!(f, "replayed frame (KID {kid}, CTR {ctr})"),
            Self::RatchetOutOfWindow { kid } => {
                write!(
                    f,
                    "KID {kid} names a ratchet step outside the receiver's window"
                )
            }
            Self::CounterExhausted { kid } => write!(f, "counter exhausted for KID {kid}"),
            Self::CounterReuse { kid, next_unused } => write!(
                f,
                "counter would repeat under KID {kid}: the lowest unused counter is {next_unused}"
            ),
            Self::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: needs {needed} bytes, has {available}")
            }
            Self::InvalidKeyLength { expected, actual } => {
                write!(f, "key of {actual} bytes where {expected} are needed")
            }
            Self::EmptyBaseKey => f.write_str("empty base key"),
            Self::NoSendKey(kid) => write!(f, "no sending key for KID {kid}"),
            Self::KidInUse(kid) => write!(f, "KID {kid} already has a key"),
            Self::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            Self::FrameTooLarge => f.write_str("frame too large for one nonce"),
            Self::UnsupportedSuite(id) => write!(f, "unsupported cipher suite 0x{id:04x}"),
            Self::UnknownSuiteName => f.write_str("unknown cipher suite"),
            Self::Crypto => f.write_str("crypto library failure"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's own short name for [`SframeError`].
pub(crate) use self::SframeError as Error;
