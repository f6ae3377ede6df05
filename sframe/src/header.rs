//! The SFrame header (RFC 9605 section 4.3): a config byte, then the KID and CTR.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
//! |X|  K  |Y|  C  |   KID... (length=K+1)     |   CTR... (length=C+1)     |
//! +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
//! ```
//!
//! A value below 8 is carried in the config byte itself (flag clear); larger values follow the
//! config byte big-endian in 1 to 8 bytes (flag set, length minus one in the 3 bits).
//!
//! **Non-minimal encodings are rejected.** The RFC says a value in 0..=7 "is carried in the
//! corresponding bits of the config byte" and that otherwise it "MUST be encoded with the
//! minimum number of bytes required". An extended field holding a value below 8, or one with a
//! leading zero byte, breaks that MUST, so [`Header::parse`] refuses it
//! ([`HeaderError::NonMinimal`]). The result is that every (KID, CTR) pair has exactly one
//! header, so two frames with the same KID and CTR always carry the same AAD bytes.

use core::fmt;

use crate::Error;

/// The longest possible header: the config byte, an 8-byte KID and an 8-byte CTR.
pub const MAX_HEADER_LEN: usize = 17;

/// Why a header failed to parse. Carried by [`Error::MalformedHeader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The input ended before the KID or CTR bytes the config byte announced.
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// A KID or CTR was encoded with more bytes than its value needs (see the module docs).
    NonMinimal,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(
                    f,
                    "truncated header: needs {needed} bytes, {available} available"
                )
            }
            Self::NonMinimal => f.write_str("non-minimal KID or CTR encoding"),
        }
    }
}

/// A parsed SFrame header: the key ID and the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// The key ID (KID).
    pub kid: u64,
    /// The counter (CTR).
    pub ctr: u64,
}

/// Bytes a value takes after the config byte: 0 when it fits in the config byte.
#[inline]
const fn ext_len(v: u64) -> usize {
    if v < 8 {
        0
    } else {
        // 1..=8: the number of significant bytes.
        8 - (v.leading_zeros() as usize / 8)
    }
}

/// Bit 0 of the config byte of a header carrying counter `ctr`: the counter's own bit 0 while
/// it fits in the config byte (under 8), else bit 0 of its length in bytes minus one.
pub const fn config_low_bit(ctr: u64) -> bool {
    if ctr < 8 {
        ctr & 1 == 1
    } else {
        (ext_len(ctr) - 1) & 1 == 1
    }
}

/// The smallest counter at or above `next` whose header's config byte has bit 0 equal to
/// `low_bit` ([`config_low_bit`]), or `None` if there is none. A sender may skip counters (they
/// must only never repeat), so it can give a frame such a counter.
///
/// Why anyone would: Chromium's VP8 RTP depacketizer (Chromium 156) reads a frame's type from
/// bit 0 of the frame's first byte (RFC 6386 section 9.1: 0 for a key frame), which, once the
/// whole frame is SFrame-encrypted, is the config byte; after a loss it waits for a frame it
/// takes for a key frame. Key frames under counters with bit 0 clear and delta frames under
/// counters with it set, each under a KID of its own (so that each KID skips at most a few
/// times: 0, 2, 4, 6, 8-255, 65,536-2^24-1, ... for key frames and 1, 3, 5, 7, 256-65,535,
/// 2^24-2^32-1, ... for delta frames), give it the right type. Nothing changes for receivers.
pub const fn counter_with_config_bit(next: u64, low_bit: bool) -> Option<u64> {
    let mut ctr = next;
    loop {
        if config_low_bit(ctr) == low_bit {
            return Some(ctr);
        }
        if ctr < 8 {
            ctr += 1;
        } else {
            // The next length: bit 0 of the length alternates.
            let len = ext_len(ctr);
            if len >= 8 {
                return None;
            }
            ctr = 1 << (8 * len);
        }
    }
}

impl Header {
    /// A header for `kid` and `ctr`.
    pub const fn new(kid: u64, ctr: u64) -> Self {
        Self { kid, ctr }
    }

    /// The encoded length in bytes (1 to [`MAX_HEADER_LEN`]).
    #[inline]
    pub const fn len(&self) -> usize {
        1 + ext_len(self.kid) + ext_len(self.ctr)
    }

    /// Always `false`: a header has at least its config byte. (Present for clippy's sake.)
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header into the front of `out`, returning the number of bytes written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than [`Header::len`].
    #[inline]
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        let (block, len) = self.block();
        if out.len() < len {
            return Err(Error::BufferTooSmall {
                needed: len,
                available: out.len(),
            });
        }
        copy_prefix(out, &block, len);
        Ok(len)
    }

    /// The header in the front of a fixed block, built with fixed-size writes (no loops, no
    /// variable-length copies), and its length.
    #[inline(always)]
    pub(crate) fn block(&self) -> ([u8; 32], usize) {
        KidPart::new(self.kid).block(self.ctr)
    }

    /// The encoded header on the stack: a fixed array and its used length.
    pub fn to_bytes(&self) -> EncodedHeader {
        let (block, len) = self.block();
        let mut bytes = [0u8; MAX_HEADER_LEN];
        if let Some(head) = block.first_chunk::<MAX_HEADER_LEN>() {
            bytes = *head;
        }
        EncodedHeader { bytes, len }
    }

    /// Parses a header from the front of `buf`, returning it and its length in bytes.
    ///
    /// Never allocates and never panics, whatever `buf` holds.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`] if `buf` is empty or shorter than the header it starts, or if
    /// the KID or CTR is not minimally encoded.
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<(Self, usize), Error> {
        let Some((&config, rest)) = buf.split_first() else {
            return Err(Error::MalformedHeader(HeaderError::Truncated {
                needed: 1,
                available: 0,
            }));
        };
        let kid_len = if config & 0x80 == 0 {
            0
        } else {
            usize::from((config >> 4) & 0x07) + 1
        };
        let ctr_len = if config & 0x08 == 0 {
            0
        } else {
            usize::from(config & 0x07) + 1
        };
        let len = 1 + kid_len + ctr_len;
        if len > buf.len() {
            return Err(Error::MalformedHeader(HeaderError::Truncated {
                needed: len,
                available: buf.len(),
            }));
        }
        let kid = if kid_len == 0 {
            u64::from((config >> 4) & 0x07)
        } else {
            read_be(rest, 0, kid_len)?
        };
        let ctr = if ctr_len == 0 {
            u64::from(config & 0x07)
        } else {
            read_be(rest, kid_len, ctr_len)?
        };
        Ok((Self { kid, ctr }, len))
    }
}

/// The big-endian value in `bytes[at..at + len]` (`len` in 1..=8, in bounds: checked by the
/// caller), which must be minimally encoded.
#[inline]
fn read_be(bytes: &[u8], at: usize, len: usize) -> Result<u64, Error> {
    // Fast path: a whole 8-byte word is readable from `at`; shift away what follows the field.
    let v = match bytes.get(at..).and_then(|b| b.first_chunk::<8>()) {
        Some(word) => u64::from_be_bytes(*word) >> (64 - 8 * len as u32),
        None => bytes
            .get(at..at + len)
            .unwrap_or(&[])
            .iter()
            .fold(0u64, |v, &b| (v << 8) | u64::from(b)),
    };
    if ext_len(v) != len {
        return Err(Error::MalformedHeader(HeaderError::NonMinimal));
    }
    Ok(v)
}

/// The part of a header fixed by the KID, computed once per key: the config byte's K bits,
/// the KID's extended length, and its significant bytes moved to the top of a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KidPart {
    config: u8,
    len: usize,
    top: u64,
}

impl KidPart {
    #[inline]
    pub(crate) const fn new(kid: u64) -> Self {
        let len = ext_len(kid);
        if len == 0 {
            Self {
                config: (kid as u8) << 4,
                len,
                top: 0,
            }
        } else {
            Self {
                config: 0x80 | ((len as u8 - 1) << 4),
                len,
                top: kid << (64 - 8 * len as u32),
            }
        }
    }

    /// The header for `ctr` in the front of a fixed block, built with fixed-size writes (no
    /// loops, no variable-length copies), and its length.
    #[inline(always)]
    pub(crate) fn block(&self, ctr: u64) -> ([u8; 32], usize) {
        let ctr_len = ext_len(ctr);
        let (c, ctr_top) = if ctr_len == 0 {
            (ctr as u8, 0)
        } else {
            (0x08 | (ctr_len as u8 - 1), ctr << (64 - 8 * ctr_len as u32))
        };
        let mut block = [0u8; 32];
        // Each value written as 8 bytes, significant bytes first; the CTR's write lands right
        // after the KID's significant bytes (overwriting its padding).
        let (config, rest) = block.split_at_mut(1);
        config.fill(self.config | c);
        if let Some(w) = rest.first_chunk_mut::<8>() {
            *w = self.top.to_be_bytes();
        }
        if let Some(w) = rest
            .get_mut(self.len..)
            .and_then(|r| r.first_chunk_mut::<8>())
        {
            *w = ctr_top.to_be_bytes();
        }
        (block, 1 + self.len + ctr_len)
    }
}

/// Copies `block[..len]` (`len` <= 17, `out.len() >= len`) into `out` with fixed-size,
/// possibly overlapping moves instead of a call to `memcpy` for a handful of bytes.
#[inline(always)]
pub(crate) fn copy_prefix(out: &mut [u8], block: &[u8; 32], len: usize) {
    fn put<const N: usize>(out: &mut [u8], block: &[u8; 32], at: usize) {
        if let (Some(o), Some(b)) = (
            out.get_mut(at..).and_then(|o| o.first_chunk_mut::<N>()),
            block.get(at..).and_then(|b| b.first_chunk::<N>()),
        ) {
            *o = *b;
        }
    }
    if len >= 8 {
        put::<8>(out, block, 0);
        put::<8>(out, block, len - 8);
        if len > 16 {
            put::<8>(out, block, 8);
        }
    } else if len >= 4 {
        put::<4>(out, block, 0);
        put::<4>(out, block, len - 4);
    } else {
        for i in 0..len {
            put::<1>(out, block, i);
        }
    }
}

/// An encoded header held on the stack (see [`Header::to_bytes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: usize,
}

impl AsRef<[u8]> for EncodedHeader {
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn counters_can_be_chosen_for_the_config_byte_bit() {
        for ctr in [
            0u64,
            1,
            6,
            7,
            8,
            255,
            256,
            65_535,
            65_536,
            1 << 40,
            u64::MAX,
        ] {
            let mut buf = [0u8; MAX_HEADER_LEN];
            Header::new(3, ctr).encode(&mut buf).unwrap();
            assert_eq!(buf[0] & 1 == 1, super::config_low_bit(ctr), "ctr {ctr}");
        }
        let key = |n| super::counter_with_config_bit(n, false);
        let delta = |n| super::counter_with_config_bit(n, true);
        assert_eq!(
            [key(0), key(1), key(7), key(200)],
            [Some(0), Some(2), Some(8), Some(200)]
        );
        assert_eq!([key(256), key(70_000)], [Some(65_536), Some(70_000)]);
        assert_eq!(
            [delta(0), delta(3), delta(8), delta(300)],
            [Some(1), Some(3), Some(256), Some(300)]
        );
        assert_eq!(delta(65_536), Some(1 << 24));
        assert_eq!(key(1 << 56), None); // 8 bytes: bit 1 until the end
        assert_eq!(delta(u64::MAX), Some(u64::MAX));
    }

    use super::*;

    #[test]
    fn compact_and_extended_forms() {
        assert_eq!(Header::new(0, 0).to_bytes().as_ref(), [0x00]);
        assert_eq!(Header::new(7, 7).to_bytes().as_ref(), [0x77]);
        assert_eq!(Header::new(8, 0).to_bytes().as_ref(), [0x80, 0x08]);
        assert_eq!(
            Header::new(0x123, 0x4567).to_bytes().as_ref(),
            [0x99, 0x01, 0x23, 0x45, 0x67]
        );
        let max = Header::new(u64::MAX, u64::MAX);
        assert_eq!(max.len(), MAX_HEADER_LEN);
        assert_eq!(max.to_bytes().as_ref()[0], 0xff);
    }

    #[test]
    fn non_minimal_encodings_are_rejected() {
        let non_minimal = Err(Error::MalformedHeader(HeaderError::NonMinimal));
        // KID 5 in an extended 1-byte field.
        assert_eq!(Header::parse(&[0x80, 0x05]), non_minimal);
        // CTR 7 in an extended 1-byte field.
        assert_eq!(Header::parse(&[0x08, 0x07]), non_minimal);
        // KID 0x0100 with a leading zero byte (3 bytes instead of 2).
        assert_eq!(Header::parse(&[0xa0, 0x00, 0x01, 0x00]), non_minimal);
        // CTR 0xff in 8 bytes.
        assert_eq!(
            Header::parse(&[0x0f, 0, 0, 0, 0, 0, 0, 0, 0xff]),
            non_minimal
        );
        // The minimal forms of the same values parse.
        assert_eq!(Header::parse(&[0x50]), Ok((Header::new(5, 0), 1)));
        assert_eq!(
            Header::parse(&[0x90, 0x01, 0x00]),
            Ok((Header::new(256, 0), 3))
        );
    }

    #[test]
    fn truncation_is_reported_with_lengths() {
        assert_eq!(
            Header::parse(&[]),
            Err(Error::MalformedHeader(HeaderError::Truncated {
                needed: 1,
                available: 0
            }))
        );
        assert_eq!(
            Header::parse(&[0xff, 1, 2, 3]),
            Err(Error::MalformedHeader(HeaderError::Truncated {
                needed: 17,
                available: 4
            }))
        );
        // Trailing bytes are the caller's (the ciphertext), not part of the header.
        assert_eq!(
            Header::parse(&[0x12, 0xaa, 0xbb]),
            Ok((Header::new(1, 2), 1))
        );
    }

    #[test]
    fn encode_needs_room() {
        let mut small = [0u8; 2];
        assert_eq!(
            Header::new(0x123, 0x4567).encode(&mut small),
            Err(Error::BufferTooSmall {
                needed: 5,
                available: 2
            })
        );
    }

    #[test]
    fn every_length_boundary_round_trips() {
        let mut values = vec![0u64, 1, 7, 8];
        for bytes in 1..=8u32 {
            let top = if bytes == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * bytes)) - 1
            };
            values.extend([top, top.wrapping_add(1)]);
        }
        for &kid in &values {
            for &ctr in &values {
                let h = Header::new(kid, ctr);
                let enc = h.to_bytes();
                assert_eq!(enc.as_ref().len(), h.len());
                assert_eq!(Header::parse(enc.as_ref()), Ok((h, h.len())));
            }
        }
    }
}
