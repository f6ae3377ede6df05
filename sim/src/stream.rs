//! The two streams every participant sends, and their RTP parameters.

use sframe_rtp::Codec;

/// The two streams every participant sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Opus audio, 50 frames per second.
    Audio,
    /// VP8 video, 30 frames per second.
    Video,
}

impl Kind {
    /// Both, audio first.
    pub const ALL: [Kind; 2] = [Kind::Audio, Kind::Video];

    /// The SFrame context (RFC 9605 section 5.2): one KID space per stream.
    pub(crate) fn context(self) -> u64 {
        match self {
            Kind::Audio => 0,
            Kind::Video => 1,
        }
    }

    /// Its RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Kind::Audio => 111,
            Kind::Video => 96,
        }
    }

    /// Its codec.
    pub fn codec(self) -> Codec {
        match self {
            Kind::Audio => Codec::Opus,
            Kind::Video => Codec::Vp8,
        }
    }

    /// RTP clock ticks per millisecond (Opus 48 kHz, video 90 kHz).
    pub fn ticks_per_ms(self) -> u64 {
        match self {
            Kind::Audio => 48,
            Kind::Video => 90,
        }
    }
}
