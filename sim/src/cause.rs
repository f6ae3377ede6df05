//! Why a receiver did not decrypt a frame, as it saw it (kept by the ledger per frame).

use serde::Serialize;
use sframe_mls::DropCause;

/// Why a received SFrame frame did not decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Its epoch was not held and it could not be buffered.
    UnknownEpoch,
    /// Its KID names a sender that is not a member of the epoch.
    UnknownSender,
    /// It did not authenticate.
    Authentication,
    /// It was a replay.
    Replay,
    /// Malformed or truncated.
    Malformed,
    /// Buffered for an epoch that did not arrive in time.
    ExpiredInBuffer,
    /// Evicted from a full buffer.
    BufferOverflow,
    /// The keyring was cleared.
    Cleared,
    /// Decrypted, but the codec assembler refused the payload (per-packet mode).
    Codec,
    /// Under a new KID on a stream whose new KIDs failed too often: refused without a check.
    Throttled,
}

impl Cause {
    /// The cause in words.
    pub fn name(self) -> &'static str {
        match self {
            Cause::UnknownEpoch => "unknown epoch",
            Cause::UnknownSender => "unknown sender",
            Cause::Authentication => "authentication",
            Cause::Replay => "replay",
            Cause::Malformed => "malformed",
            Cause::ExpiredInBuffer => "expired in buffer",
            Cause::BufferOverflow => "buffer overflow",
            Cause::Cleared => "cleared",
            Cause::Codec => "codec",
            Cause::Throttled => "throttled",
        }
    }

    /// The cause of a keyring's refusal.
    pub fn of(e: &sframe_mls::SframeMlsError) -> Self {
        match e {
            sframe_mls::SframeMlsError::UnknownEpoch { .. } => Cause::UnknownEpoch,
            sframe_mls::SframeMlsError::UnknownSender { .. } => Cause::UnknownSender,
            sframe_mls::SframeMlsError::Frame(sframe_core::SframeError::AuthenticationFailed) => {
                Cause::Authentication
            }
            sframe_mls::SframeMlsError::Frame(sframe_core::SframeError::Replay { .. }) => {
                Cause::Replay
            }
            sframe_mls::SframeMlsError::HeldExpired { .. } => Cause::ExpiredInBuffer,
            sframe_mls::SframeMlsError::HeldEvicted { .. } => Cause::BufferOverflow,
            sframe_mls::SframeMlsError::Cleared { .. } => Cause::Cleared,
            sframe_mls::SframeMlsError::Throttled { .. } => Cause::Throttled,
            _ => Cause::Malformed,
        }
    }

    /// The cause of a frame the keyring held back and then gave up.
    pub fn of_drop(c: &DropCause) -> Self {
        match c {
            DropCause::Expired => Cause::ExpiredInBuffer,
            DropCause::Overflow => Cause::BufferOverflow,
            DropCause::Undecryptable(e) => Cause::of(e),
            DropCause::Cleared => Cause::Cleared,
        }
    }
}
