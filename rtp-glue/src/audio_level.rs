//! The client-to-mixer audio level of RFC 6464: one byte in an RTP header extension, in
//! clear (SRTP does not encrypt header extensions), so an SFU that holds no media key can
//! tell who is speaking.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |V| level       |
//! +-+-+-+-+-+-+-+-+
//! ```
//!
//! `level` is the audio level in -dBov, 0 (loudest) to 127 (silence); `V` is the optional
//! voice-activity flag. A sender puts it on every audio frame with [`AudioLevel::set_on`]:
//! the packetizer copies [`FrameMetadata::extensions`] onto every packet of the frame.

use bytes::Bytes;
use rtp::header::{EXTENSION_PROFILE_ONE_BYTE, EXTENSION_PROFILE_TWO_BYTE, Extension};

use crate::packetizer::FrameMetadata;

/// Every byte value once, so that an extension payload is a static slice (no allocation per
/// frame).
static BYTE_VALUES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    t
};

/// An RFC 6464 audio level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    level: u8,
    voice: bool,
}

impl AudioLevel {
    /// The quietest level: 127 -dBov, no voice.
    pub const SILENCE: Self = Self {
        level: 127,
        voice: false,
    };

    /// A level of `minus_dbov` (0 loudest; values above 127 are clamped to 127) with the
    /// voice-activity flag `voice`.
    pub const fn new(minus_dbov: u8, voice: bool) -> Self {
        Self {
            level: if minus_dbov > 127 { 127 } else { minus_dbov },
            voice,
        }
    }

    /// The level in -dBov: 0 is the loudest, 127 silence.
    pub const fn minus_dbov(self) -> u8 {
        self.level
    }

    /// The V flag.
    pub const fn voice(self) -> bool {
        self.voice
    }

    /// The byte on the wire.
    pub const fn to_byte(self) -> u8 {
        (if self.voice { 0x80 } else { 0 }) | self.level
    }

    /// Reads an extension element's payload: its first byte (RFC 6464 sends exactly one; a
    /// two-byte-header element may carry padding after it). `None` if it is empty.
    pub fn from_payload(payload: &[u8]) -> Option<Self> {
        let &b = payload.first()?;
        Some(Self {
            level: b & 0x7F,
            voice: b & 0x80 != 0,
        })
    }

    /// The header extension element with ID `id` (the ID negotiated for
    /// `urn:ietf:params:rtp-hdrext:ssrc-audio-level`). Does not allocate.
    pub fn extension(self, id: u8) -> Extension {
        let b = usize::from(self.to_byte());
        Extension {
            id,
            payload: Bytes::from_static(BYTE_VALUES.get(b..=b).unwrap_or(&[127])),
        }
    }

    /// Puts this level on a frame as extension `id`: replaces the payload of an extension
    /// with that ID, or adds one; selects the one-byte header form (RFC 8285) unless the
    /// metadata already uses the two-byte form. After the first frame it does not allocate.
    pub fn set_on(self, meta: &mut FrameMetadata, id: u8) {
        if meta.extension_profile != EXTENSION_PROFILE_TWO_BYTE {
            meta.extension_profile = EXTENSION_PROFILE_ONE_BYTE;
        }
        let ext = self.extension(id);
        match meta.extensions.iter_mut().find(|e| e.id == id) {
            Some(e) => *e = ext,
            None => meta.extensions.push(ext),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_layout_is_rfc_6464() {
        assert_eq!(AudioLevel::new(0, true).to_byte(), 0x80);
        assert_eq!(AudioLevel::new(127, false).to_byte(), 0x7F);
        assert_eq!(AudioLevel::new(200, false), AudioLevel::SILENCE);
        for b in 0..=255u8 {
            let l = AudioLevel::from_payload(&[b]).unwrap_or(AudioLevel::SILENCE);
            assert_eq!(l.to_byte(), b);
            assert_eq!(&l.extension(3).payload[..], &[b]);
        }
        assert_eq!(AudioLevel::from_payload(&[]), None);
    }

    #[test]
    fn set_on_replaces_and_selects_the_one_byte_form() {
        let mut meta = FrameMetadata::default();
        AudioLevel::new(30, true).set_on(&mut meta, 1);
        AudioLevel::new(40, false).set_on(&mut meta, 1);
        assert_eq!(meta.extension_profile, EXTENSION_PROFILE_ONE_BYTE);
        assert_eq!(meta.extensions.len(), 1);
        assert_eq!(&meta.extensions[0].payload[..], &[40]);
    }
}
