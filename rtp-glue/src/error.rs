//! The one error type of the crate.

use core::fmt;

/// Why an RTP packet could not be parsed. Always bad peer input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer bytes than the header announces.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes there.
        available: usize,
    },
    /// The version field is not 2.
    BadVersion(u8),
    /// The padding count is zero or longer than the payload.
    BadPadding,
    /// A header extension element runs past the extension block, or uses the reserved
    /// one-byte ID 15 (RFC 8285 section 4.2).
    BadExtension,
    /// The payload is empty: no SFrame payload descriptor.
    NoDescriptor,
}

/// Why SRTP refused a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrtpError {
    /// The packet did not authenticate. Says nothing more, on purpose.
    AuthenticationFailed,
    /// The packet's index was already received, or is older than the replay window.
    Replay {
        /// Its SSRC.
        ssrc: u32,
        /// Its sequence number.
        seq: u16,
    },
    /// A packet for an SSRC this leg was not told about: dropped before any state is kept for
    /// it, so that a flood of made-up SSRCs cannot grow the SRTP context.
    UnknownSsrc(u32),
    /// Too short to hold an RTP header and the SRTP tag.
    TooShort,
    /// The SRTP library refused for another reason (a key of the wrong length, the 2^48
    /// packet limit...).
    Other,
}

/// Everything that can go wrong in this crate.
///
/// As in `sframe-core`, bad input from the network ([`Error::is_peer_input`]) is kept apart
/// from caller misuse: the former means "drop this packet and go on".
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SframeRtpError {
    // ---- bad peer input ----
    /// A malformed RTP packet.
    Rtp(RtpError),
    /// SRTP refused the packet.
    Srtp(SrtpError),
    /// SFrame refused the frame (unknown KID, authentication, replay...).
    SFrame(sframe_core::SframeError),
    /// A codec depacketizer refused a decrypted payload.
    CodecPayload,
    /// A packet from a source this endpoint has no stream for.
    UnknownStream(u32),
    /// A packet from a participant the SFU does not know.
    UnknownParticipant(u32),

    // ---- caller misuse ----
    /// The MTU leaves no room for a payload byte after the headers and overheads.
    MtuTooSmall {
        /// The MTU asked for.
        mtu: usize,
        /// Bytes of header and overhead per packet.
        overhead: usize,
    },
    /// A codec payloader produced a packet larger than the MTU (the Opus payloader never
    /// splits, for instance).
    PacketTooLarge {
        /// Size of the packet on the wire.
        size: usize,
        /// The MTU.
        mtu: usize,
    },
    /// More than 15 CSRCs, or a header extension RTP cannot carry.
    InvalidMetadata(&'static str),
    /// The payloader of this codec refused the frame.
    Codec(crate::codec::Codec),
    /// The per-SSRC key derivation could not run (empty base key).
    KeyDerivation,
    /// Inconsistent configuration.
    InvalidConfig(&'static str),
    /// The caller's buffer has no room for what must be written (an SRTP tag, say).
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes there.
        available: usize,
    },
    /// An SRTP or SRTCP sender ran out of packet indexes (2^48 SRTP, 2^31 SRTCP) or was given
    /// a sequence number from before its stream's start: the key must be changed.
    SrtpIndexExhausted,
}

impl Error {
    /// `true` for bad input from the network: drop the packet and go on.
    pub fn is_peer_input(&self) -> bool {
        match self {
            Self::Rtp(_)
            | Self::Srtp(_)
            | Self::CodecPayload
            | Self::UnknownStream(_)
            | Self::UnknownParticipant(_) => true,
            Self::SFrame(e) => e.is_peer_input(),
            _ => false,
        }
    }
}

impl From<RtpError> for Error {
    fn from(e: RtpError) -> Self {
        Self::Rtp(e)
    }
}

impl From<SrtpError> for Error {
    fn from(e: SrtpError) -> Self {
        Self::Srtp(e)
    }
}

impl From<sframe_core::SframeError> for Error {
    fn from(e: sframe_core::SframeError) -> Self {
        Self::SFrame(e)
    }
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(
                    f,
                    "truncated RTP packet: {available} bytes, {needed} needed"
                )
            }
            Self::BadVersion(v) => write!(f, "RTP version {v}, not 2"),
            Self::BadPadding => f.write_str("bad RTP padding"),
            Self::BadExtension => f.write_str("malformed RTP header extension"),
            Self::NoDescriptor => f.write_str("empty RTP payload: no SFrame descriptor"),
        }
    }
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthenticationFailed => f.write_str("SRTP authentication failed"),
            Self::Replay { ssrc, seq } => write!(f, "SRTP replay: SSRC {ssrc:#010x} seq {seq}"),
            Self::UnknownSsrc(s) => write!(f, "SRTP packet for unknown SSRC {s:#010x}"),
            Self::TooShort => f.write_str("SRTP packet too short"),
            Self::Other => f.write_str("SRTP error"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rtp(e) => e.fmt(f),
            Self::Srtp(e) => e.fmt(f),
            Self::SFrame(e) => write!(f, "SFrame: {e}"),
            Self::CodecPayload => f.write_str("codec depacketizer refused the payload"),
            Self::UnknownStream(s) => write!(f, "no stream for SSRC {s:#010x}"),
            Self::UnknownParticipant(p) => write!(f, "unknown participant {p}"),
            Self::MtuTooSmall { mtu, overhead } => {
                write!(f, "MTU {mtu} too small for {overhead} bytes of overhead")
            }
            Self::PacketTooLarge { size, mtu } => {
                write!(f, "packet of {size} bytes exceeds the MTU of {mtu}")
            }
            Self::InvalidMetadata(why) => write!(f, "invalid RTP metadata: {why}"),
            Self::Codec(codec) => write!(f, "the {codec:?} payloader refused the frame"),
            Self::KeyDerivation => f.write_str("per-SSRC key derivation failed"),
            Self::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            Self::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, {needed} needed")
            }
            Self::SrtpIndexExhausted => f.write_str("SRTP/SRTCP packet index exhausted: rekey"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's own short name for [`SframeRtpError`].
pub(crate) use self::SframeRtpError as Error;
