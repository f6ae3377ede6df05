//! The error of the media pipeline: this crate's own, or the key source's.

use core::fmt;

use crate::error::Error;

/// Why the media pipeline refused a call: its own [`Error`] (RTP, SRTP, packetizer, caller
/// misuse), or the key source's error `E` (sealing failed, a frame did not open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineError<E> {
    /// RTP, SRTP, packetizer or configuration.
    Media(Error),
    /// The key source (SFrame sealing or opening).
    KeySource(E),
}

impl<E> From<Error> for PipelineError<E> {
    fn from(e: Error) -> Self {
        Self::Media(e)
    }
}

impl<E: std::error::Error> PipelineError<E> {
    /// Whether this came from bad peer input (drop the packet and go on) rather than caller
    /// misuse. Key-source errors count as peer input when they are opening errors; the
    /// pipeline only returns sealing errors this way, which are misuse.
    pub fn is_peer_input(&self) -> bool {
        match self {
            Self::Media(e) => e.is_peer_input(),
            Self::KeySource(_) => false,
        }
    }
}

impl<E: fmt::Display> fmt::Display for PipelineError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Media(e) => write!(f, "media pipeline: {e}"),
            Self::KeySource(e) => write!(f, "key source: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PipelineError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Media(e) => Some(e),
            Self::KeySource(e) => Some(e),
        }
    }
}
