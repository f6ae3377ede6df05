//! The crate's errors: bad peer input kept apart from local failures.

use core::fmt;

/// A data-channel MLS message the framing refuses (bad peer input). The group is untouched.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// Fewer bytes than the header or a field needs.
    Truncated,
    /// A framing version this build does not speak.
    Version(u8),
    /// A message kind this version does not define.
    UnknownKind(u8),
    /// The header's body length is not the number of bytes that follow it.
    LengthMismatch {
        /// What the header says.
        declared: usize,
        /// What arrived.
        actual: usize,
    },
    /// Bytes left over after the message's last field.
    TrailingBytes {
        /// How many.
        len: usize,
    },
    /// Longer than [`crate::MAX_MESSAGE_LEN`].
    TooLong {
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("MLS message truncated"),
            Self::Version(v) => write!(f, "MLS message framing version {v} not supported"),
            Self::UnknownKind(k) => write!(f, "unknown MLS message kind {k}"),
            Self::LengthMismatch { declared, actual } => {
                write!(f, "MLS message body says {declared} bytes, has {actual}")
            }
            Self::TrailingBytes { len } => write!(f, "{len} bytes after the MLS message"),
            Self::TooLong { len } => write!(f, "MLS message of {len} bytes is too long"),
        }
    }
}

impl std::error::Error for FramingError {}

/// What the SFU or a participant cannot do.
#[non_exhaustive]
#[derive(Debug)]
pub enum WebrtcError {
    /// A socket or thread operation failed.
    Io(std::io::Error),
    /// str0m refused something (an SDP, an input, a write).
    Rtc(str0m::RtcError),
    /// An SDP that does not parse.
    Sdp(str0m::error::SdpError),
    /// The HTTP signaling exchange failed (transport, or the SFU answered with an error).
    Signaling(Box<ureq::Error>),
    /// The SFU answered the offer without the answer or the resource URL.
    BadAnswer(&'static str),
    /// The MLS adapter refused an MLS message or operation.
    Mls(sframe_mls::MlsError),
    /// A data-channel message the framing refuses.
    Framing(FramingError),
    /// The media pipeline failed locally.
    Media(sframe_rtp::SframeRtpError),
    /// Sealing a frame failed (the keyring has no epoch to send with, or the packetizer).
    Sealing(sframe_rtp::PipelineError<sframe_mls::SframeMlsError>),
    /// The peer connection or the group did not come up in time.
    Timeout(&'static str),
    /// An address or argument the caller gave is unusable.
    InvalidConfig(&'static str),
}

impl fmt::Display for WebrtcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(_) => f.write_str("socket or thread error"),
            Self::Rtc(_) => f.write_str("WebRTC (str0m) error"),
            Self::Sdp(_) => f.write_str("SDP does not parse"),
            Self::Signaling(_) => f.write_str("HTTP signaling failed"),
            Self::BadAnswer(what) => write!(f, "the SFU's answer lacks {what}"),
            Self::Mls(_) => f.write_str("MLS refused"),
            Self::Framing(_) => f.write_str("MLS message malformed"),
            Self::Media(_) => f.write_str("media pipeline error"),
            Self::Sealing(_) => f.write_str("sealing a frame failed"),
            Self::Timeout(what) => write!(f, "timed out: {what}"),
            Self::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
        }
    }
}

impl std::error::Error for WebrtcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Rtc(e) => Some(e),
            Self::Sdp(e) => Some(e),
            Self::Signaling(e) => Some(e.as_ref()),
            Self::Mls(e) => Some(e),
            Self::Framing(e) => Some(e),
            Self::Media(e) => Some(e),
            Self::Sealing(e) => Some(e),
            Self::BadAnswer(_) | Self::Timeout(_) | Self::InvalidConfig(_) => None,
        }
    }
}

impl From<std::io::Error> for WebrtcError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<str0m::RtcError> for WebrtcError {
    fn from(e: str0m::RtcError) -> Self {
        Self::Rtc(e)
    }
}

impl From<sframe_mls::MlsError> for WebrtcError {
    fn from(e: sframe_mls::MlsError) -> Self {
        Self::Mls(e)
    }
}

impl From<sframe_rtp::SframeRtpError> for WebrtcError {
    fn from(e: sframe_rtp::SframeRtpError) -> Self {
        Self::Media(e)
    }
}

impl From<FramingError> for WebrtcError {
    fn from(e: FramingError) -> Self {
        Self::Framing(e)
    }
}
