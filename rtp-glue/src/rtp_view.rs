//! A checked, zero-copy view of an RTP packet (RFC 3550 section 5.1, RFC 8285 extensions).
//!
//! Every packet from the network goes through [`RtpView::parse`] (or
//! [`RtpView::parse_header`] while the payload is still SRTP-encrypted) before anything else
//! reads it. The `rtp` crate's `Header::unmarshal` panics on some malformed extension blocks
//! (an element longer than what is left) and silently stops at the reserved one-byte ID 15,
//! which makes its `marshal_size()` disagree with the bytes on the wire; the checks here reject
//! both, so a packet that passes can be handed to `rtp` and `webrtc-srtp` safely, and
//! [`RtpView::to_header`] re-checks that `rtp` sees the same header length.

use core::ops::Range;

use bytes::Buf;
use rtp::header::{EXTENSION_PROFILE_ONE_BYTE, EXTENSION_PROFILE_TWO_BYTE, Header};
use webrtc_util::marshal::{MarshalSize, Unmarshal};

use crate::error::RtpError;

/// The fixed part of the RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// A parsed RTP packet: the fields, and where the payload lies in the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpView<'a> {
    bytes: &'a [u8],
    header_len: usize,
    payload_end: usize,
}

fn be16(b: &[u8], at: usize) -> Result<u16, RtpError> {
    match b.get(at..at + 2) {
        Some(&[x, y]) => Ok(u16::from_be_bytes([x, y])),
        _ => Err(RtpError::Truncated {
            needed: at + 2,
            available: b.len(),
        }),
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, RtpError> {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => Ok(u32::from_be_bytes([w, x, y, z])),
        _ => Err(RtpError::Truncated {
            needed: at + 4,
            available: b.len(),
        }),
    }
}

fn byte(b: &[u8], at: usize) -> Result<u8, RtpError> {
    b.get(at).copied().ok_or(RtpError::Truncated {
        needed: at + 1,
        available: b.len(),
    })
}

/// Walks an RFC 8285 extension block `b[start..end]` and checks every element stays inside.
fn check_extension_elements(
    b: &[u8],
    profile: u16,
    start: usize,
    end: usize,
) -> Result<(), RtpError> {
    let mut at = start;
    match profile {
        EXTENSION_PROFILE_ONE_BYTE => {
            while at < end {
                let x = byte(b, at)?;
                at += 1;
                if x == 0 {
                    continue; // padding
                }
                if x >> 4 == 0xF {
                    return Err(RtpError::BadExtension);
                }
                at += usize::from(x & 0x0F) + 1;
                if at > end {
                    return Err(RtpError::BadExtension);
                }
            }
        }
        EXTENSION_PROFILE_TWO_BYTE => {
            while at < end {
                let x = byte(b, at)?;
                at += 1;
                if x == 0 {
                    continue; // padding
                }
                if at >= end {
                    return Err(RtpError::BadExtension);
                }
                let len = byte(b, at)?;
                at += 1 + usize::from(len);
                if at > end {
                    return Err(RtpError::BadExtension);
                }
            }
        }
        // RFC 3550 extension: opaque words, nothing to walk.
        _ => {}
    }
    Ok(())
}

impl<'a> RtpView<'a> {
    /// Parses the header only, for a packet whose payload is still SRTP-encrypted (padding is
    /// inside the encryption, so it is not looked at).
    ///
    /// # Errors
    /// [`RtpError`] for anything malformed.
    pub fn parse_header(bytes: &'a [u8]) -> Result<Self, RtpError> {
        let b0 = byte(bytes, 0)?;
        if b0 >> 6 != 2 {
            return Err(RtpError::BadVersion(b0 >> 6));
        }
        let cc = usize::from(b0 & 0x0F);
        let mut header_len = FIXED_HEADER_LEN + 4 * cc;
        if bytes.len() < header_len {
            return Err(RtpError::Truncated {
                needed: header_len,
                available: bytes.len(),
            });
        }
        if b0 & 0x10 != 0 {
            let profile = be16(bytes, header_len)?;
            let words = usize::from(be16(bytes, header_len + 2)?);
            let start = header_len + 4;
            let end = start + 4 * words;
            if bytes.len() < end {
                return Err(RtpError::Truncated {
                    needed: end,
                    available: bytes.len(),
                });
            }
            check_extension_elements(bytes, profile, start, end)?;
            header_len = end;
        }
        Ok(Self {
            bytes,
            header_len,
            payload_end: bytes.len(),
        })
    }

    /// Parses a whole plaintext RTP packet, padding included.
    ///
    /// # Errors
    /// [`RtpError`] for anything malformed.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RtpError> {
        let mut view = Self::parse_header(bytes)?;
        if view.has_padding() {
            let available = bytes.len() - view.header_len;
            let pad = usize::from(*bytes.last().ok_or(RtpError::BadPadding)?);
            if available == 0 || pad == 0 || pad > available {
                return Err(RtpError::BadPadding);
            }
            view.payload_end = bytes.len() - pad;
        }
        Ok(view)
    }

    /// The whole packet.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn b1(&self) -> u8 {
        self.bytes.get(1).copied().unwrap_or(0)
    }

    /// The P bit.
    pub fn has_padding(&self) -> bool {
        self.bytes.first().is_some_and(|b| b & 0x20 != 0)
    }

    /// The marker bit.
    pub fn marker(&self) -> bool {
        self.b1() & 0x80 != 0
    }

    /// The payload type.
    pub fn payload_type(&self) -> u8 {
        self.b1() & 0x7F
    }

    /// The sequence number.
    pub fn sequence_number(&self) -> u16 {
        be16(self.bytes, 2).unwrap_or(0)
    }

    /// The timestamp.
    pub fn timestamp(&self) -> u32 {
        be32(self.bytes, 4).unwrap_or(0)
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        be32(self.bytes, 8).unwrap_or(0)
    }

    /// The CSRCs.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let cc = usize::from(self.bytes.first().copied().unwrap_or(0) & 0x0F);
        let bytes = self.bytes;
        (0..cc).filter_map(move |i| be32(bytes, FIXED_HEADER_LEN + 4 * i).ok())
    }

    /// The header length, CSRCs and extension block included.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Where the payload lies in [`RtpView::bytes`] (padding excluded).
    pub fn payload_range(&self) -> Range<usize> {
        self.header_len..self.payload_end
    }

    /// The payload (padding excluded).
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.payload_range()).unwrap_or(&[])
    }

    /// The payload of header extension element `id` (RFC 8285 one-byte or two-byte form),
    /// if the packet carries one. Reads in place: no allocation.
    pub fn extension(&self, id: u8) -> Option<&'a [u8]> {
        let b0 = *self.bytes.first()?;
        if b0 & 0x10 == 0 || id == 0 {
            return None;
        }
        let at = FIXED_HEADER_LEN + 4 * usize::from(b0 & 0x0F);
        let profile = be16(self.bytes, at).ok()?;
        let start = at + 4;
        let end = self.header_len;
        let one_byte = match profile {
            EXTENSION_PROFILE_ONE_BYTE => true,
            EXTENSION_PROFILE_TWO_BYTE => false,
            _ => return None,
        };
        let mut at = start;
        while at < end {
            let x = byte(self.bytes, at).ok()?;
            at += 1;
            if x == 0 {
                continue; // padding
            }
            let (this, len) = if one_byte {
                (x >> 4, usize::from(x & 0x0F) + 1)
            } else {
                let len = byte(self.bytes, at).ok()?;
                at += 1;
                (x, usize::from(len))
            };
            let payload = self.bytes.get(at..at.checked_add(len)?)?;
            if this == id {
                return Some(payload);
            }
            at += len;
        }
        None
    }

    /// The header as the `rtp` crate's [`Header`] (extensions included).
    ///
    /// # Errors
    /// [`RtpError::BadExtension`] if `rtp` reads a different header length than this view (an
    /// extension block it would re-encode differently).
    pub fn to_header(&self) -> Result<Header, RtpError> {
        let mut buf = self.bytes.get(..self.header_len).unwrap_or(&[]);
        let header = Header::unmarshal(&mut buf).map_err(|_| RtpError::BadExtension)?;
        if header.marshal_size() != self.header_len || buf.has_remaining() {
            return Err(RtpError::BadExtension);
        }
        Ok(header)
    }
}

/// Rewrites the SSRC, sequence number and timestamp of a plaintext RTP packet in place (the
/// SFU does this when it switches the source of an outgoing stream).
pub fn rewrite_header(
    packet: &mut [u8],
    ssrc: u32,
    seq: u16,
    timestamp: u32,
) -> Result<(), RtpError> {
    let available = packet.len();
    let fixed = packet
        .get_mut(..FIXED_HEADER_LEN)
        .ok_or(RtpError::Truncated {
            needed: FIXED_HEADER_LEN,
            available,
        })?;
    let (_, rest) = fixed.split_at_mut(2);
    let (seq_b, rest) = rest.split_at_mut(2);
    let (ts_b, ssrc_b) = rest.split_at_mut(4);
    seq_b.copy_from_slice(&seq.to_be_bytes());
    ts_b.copy_from_slice(&timestamp.to_be_bytes());
    ssrc_b.copy_from_slice(&ssrc.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use rtp::header::Extension;
    use webrtc_util::marshal::Marshal;

    use super::*;

    fn header_with(profile: u16, exts: &[(u8, &[u8])], csrc: Vec<u32>) -> Header {
        Header {
            version: 2,
            padding: false,
            extension: !exts.is_empty(),
            marker: true,
            payload_type: 96,
            sequence_number: 0xfffe,
            timestamp: 0x1234_5678,
            ssrc: 0xdead_beef,
            csrc,
            extension_profile: profile,
            extensions: exts
                .iter()
                .map(|(id, p)| Extension {
                    id: *id,
                    payload: Bytes::copy_from_slice(p),
                })
                .collect(),
            extensions_padding: 0,
        }
    }

    #[test]
    fn agrees_with_rtp_on_well_formed_headers() {
        let cases = [
            header_with(0, &[], vec![]),
            header_with(0, &[], vec![1, 2, 3]),
            header_with(
                EXTENSION_PROFILE_ONE_BYTE,
                &[(1, &[0xaa]), (3, &[1, 2, 3])],
                vec![7],
            ),
            header_with(
                EXTENSION_PROFILE_TWO_BYTE,
                &[(1, &[]), (200, &[9; 20])],
                vec![],
            ),
            header_with(0x1234, &[(0, &[1, 2, 3, 4, 5, 6, 7, 8])], vec![]),
        ];
        for h in cases {
            let mut wire = h.marshal().unwrap().to_vec();
            wire.extend_from_slice(b"\x80payload");
            let view = RtpView::parse(&wire).unwrap();
            assert_eq!(view.header_len(), h.marshal_size());
            assert_eq!(view.payload(), b"\x80payload");
            assert_eq!(view.ssrc(), h.ssrc);
            assert_eq!(view.sequence_number(), h.sequence_number);
            assert_eq!(view.timestamp(), h.timestamp);
            assert_eq!(view.payload_type(), 96);
            assert!(view.marker());
            assert_eq!(view.csrcs().collect::<Vec<_>>(), h.csrc);
            let back = view.to_header().unwrap();
            assert_eq!(back.extensions, h.extensions);
        }
    }

    #[test]
    fn padding_is_stripped_and_checked() {
        let mut wire = header_with(0, &[], vec![]).marshal().unwrap().to_vec();
        wire[0] |= 0x20;
        wire.extend_from_slice(&[0x80, 1, 2, 0, 0, 3]);
        assert_eq!(RtpView::parse(&wire).unwrap().payload(), &[0x80, 1, 2]);
        let last = wire.len() - 1;
        wire[last] = 0;
        assert_eq!(RtpView::parse(&wire), Err(RtpError::BadPadding));
        wire[last] = 7;
        assert_eq!(RtpView::parse(&wire), Err(RtpError::BadPadding));
        // While SRTP-encrypted the padding is not looked at.
        assert!(RtpView::parse_header(&wire).is_ok());
    }

    #[test]
    fn rejects_what_would_make_rtp_panic_or_misread() {
        // One-byte element of 16 bytes in a one-word block, and nothing after: `rtp` panics.
        let mut wire = header_with(0, &[], vec![]).marshal().unwrap().to_vec();
        wire[0] |= 0x10;
        wire.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x1F, 0, 0, 0]);
        assert_eq!(RtpView::parse(&wire), Err(RtpError::BadExtension));
        // Reserved ID 15: `rtp` stops reading and mis-sizes the header.
        let n = wire.len();
        wire[n - 4] = 0xF0;
        assert_eq!(RtpView::parse(&wire), Err(RtpError::BadExtension));
        // Two-byte element whose length byte is outside the block.
        wire[n - 8..n - 6].copy_from_slice(&[0x10, 0x00]);
        wire[n - 4..].copy_from_slice(&[0, 0, 0, 5]);
        assert_eq!(RtpView::parse(&wire), Err(RtpError::BadExtension));
        // Block longer than the packet.
        wire[n - 6..n - 4].copy_from_slice(&[0, 9]);
        assert!(matches!(
            RtpView::parse(&wire),
            Err(RtpError::Truncated { .. })
        ));
        // Version 1, CSRC count past the end.
        assert_eq!(RtpView::parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        assert!(matches!(
            RtpView::parse(&[0x8F; 20]),
            Err(RtpError::Truncated { .. })
        ));
        assert!(matches!(
            RtpView::parse(&[]),
            Err(RtpError::Truncated { .. })
        ));
    }

    #[test]
    fn rewrites_ssrc_seq_timestamp() {
        let mut wire = header_with(0, &[], vec![5]).marshal().unwrap().to_vec();
        rewrite_header(&mut wire, 1, 2, 3).unwrap();
        let v = RtpView::parse(&wire).unwrap();
        assert_eq!((v.ssrc(), v.sequence_number(), v.timestamp()), (1, 2, 3));
        assert_eq!(v.csrcs().collect::<Vec<_>>(), vec![5]);
        assert!(rewrite_header(&mut [0u8; 11], 1, 2, 3).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Ok(v) = RtpView::parse(&bytes) {
                let _ = v.to_header();
                proptest::prop_assert!(v.payload_range().end <= bytes.len());
            }
            if let Ok(v) = RtpView::parse_header(&bytes) {
                let _ = v.to_header();
            }
        }

        #[test]
        fn arbitrary_extension_blocks_never_panic(
            profile in proptest::sample::select(vec![0xBEDEu16, 0x1000, 0x1234]),
            block in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
        ) {
            let mut wire = vec![0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
            wire.extend_from_slice(&profile.to_be_bytes());
            wire.extend_from_slice(&((block.len() / 4) as u16).to_be_bytes());
            wire.extend_from_slice(&block[..block.len() / 4 * 4]);
            wire.extend_from_slice(&tail);
            if let Ok(v) = RtpView::parse(&wire) {
                // Whatever passes, `rtp` reads without panicking and sizes the same.
                let h = v.to_header();
                if let Ok(h) = h {
                    proptest::prop_assert_eq!(h.marshal_size(), v.header_len());
                }
            }
        }
    }
}
