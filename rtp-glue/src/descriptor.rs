//! The one-byte SFrame payload descriptor that starts every RTP payload
//! (draft-ietf-avtcore-rtp-sframe, "RTP Header Usage").
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |S|E|T|reserved |
//! +-+-+-+-+-+-+-+-+
//! ```

/// What the SFrame frame protects (the T bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// T = 0: a whole media frame in the raw format of WebRTC Encoded Transform
    /// (per-frame SFrame).
    Raw,
    /// T = 1: the payload of one codec-packetized RTP packet (per-packet SFrame).
    Packetized,
}

/// The SFrame payload descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Descriptor {
    /// S: first fragment of the SFrame frame.
    pub start: bool,
    /// E: last fragment of the SFrame frame.
    pub end: bool,
    /// T: what the frame protects.
    pub origin: Origin,
}

const S: u8 = 0x80;
const E: u8 = 0x40;
const T: u8 = 0x20;

impl Descriptor {
    /// The byte on the wire; the five reserved bits are sent as zero.
    pub const fn to_byte(self) -> u8 {
        let mut b = 0;
        if self.start {
            b |= S;
        }
        if self.end {
            b |= E;
        }
        if matches!(self.origin, Origin::Packetized) {
            b |= T;
        }
        b
    }

    /// Reads the descriptor byte. The reserved bits are ignored (the draft reserves them for
    /// future use), so every byte value is a descriptor.
    pub const fn from_byte(b: u8) -> Self {
        Self {
            start: b & S != 0,
            end: b & E != 0,
            origin: if b & T != 0 {
                Origin::Packetized
            } else {
                Origin::Raw
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_flag_combination() {
        for start in [false, true] {
            for end in [false, true] {
                for origin in [Origin::Raw, Origin::Packetized] {
                    let d = Descriptor { start, end, origin };
                    assert_eq!(Descriptor::from_byte(d.to_byte()), d);
                    assert_eq!(d.to_byte() & 0x1f, 0, "reserved bits sent as zero");
                }
            }
        }
        // The layout of the draft: S is the most significant bit.
        let first_of_raw = Descriptor {
            start: true,
            end: false,
            origin: Origin::Raw,
        };
        assert_eq!(first_of_raw.to_byte(), 0b1000_0000);
        let single_packetized = Descriptor {
            start: true,
            end: true,
            origin: Origin::Packetized,
        };
        assert_eq!(single_packetized.to_byte(), 0b1110_0000);
    }

    #[test]
    fn reserved_bits_are_ignored_on_receive() {
        assert_eq!(
            Descriptor::from_byte(0b1001_1111),
            Descriptor::from_byte(0b1000_0000)
        );
    }
}
