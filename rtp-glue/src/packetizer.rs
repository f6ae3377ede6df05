//! The SFrame packetizer of draft-ietf-avtcore-rtp-sframe ("RTP Packetization of SFrame"),
//! written on the `rtp` crate's [`Header`].
//!
//! The `rtp` crate's own `Packetizer` is not used: it sizes payloads without the CSRCs and
//! header extensions and starts timestamps at random. Here the caller owns the timestamp
//! (it comes with the frame's metadata) and every packet, CSRCs, extensions and SRTP tag
//! included, fits the MTU exactly.

use rtp::header::{EXTENSION_PROFILE_ONE_BYTE, EXTENSION_PROFILE_TWO_BYTE, Extension, Header};
use webrtc_util::marshal::{Marshal, MarshalSize};

use crate::descriptor::{Descriptor, Origin};
use crate::error::Error;

/// The RTP header fields of a frame (the draft's "SFrame frame metadata"): the same on every
/// packet of the frame, except the marker, which only the last packet carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameMetadata {
    /// The payload type of the media format.
    pub payload_type: u8,
    /// The RTP timestamp of the frame (the caller's media clock; never randomised here).
    pub timestamp: u32,
    /// The frame's marker bit: set on the packet with E, clear on the others.
    pub marker: bool,
    /// Contributing sources, at most 15.
    pub csrcs: Vec<u32>,
    /// `0xBEDE` (one-byte), `0x1000` (two-byte, RFC 8285) or another RFC 3550 profile.
    pub extension_profile: u16,
    /// Header extensions, copied onto every packet of the frame (the draft's SHOULD).
    pub extensions: Vec<Extension>,
}

/// Sizes that bound every packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketizerConfig {
    /// The largest packet on the wire, SRTP tag included.
    pub mtu: usize,
    /// What SRTP adds to each packet (its tag: 10 bytes for AES_CM_128_HMAC_SHA1_80, 16 for
    /// AEAD_AES_128_GCM).
    pub srtp_overhead: usize,
}

/// Packetizes the frames of one RTP stream (one SSRC) and numbers its packets.
#[derive(Debug)]
pub struct Packetizer {
    config: PacketizerConfig,
    template: Header,
    next_seq: u16,
}

fn check_metadata(meta: &FrameMetadata) -> Result<(), Error> {
    if meta.csrcs.len() > 15 {
        return Err(Error::InvalidMetadata("more than 15 CSRCs"));
    }
    if meta.payload_type > 127 {
        return Err(Error::InvalidMetadata("payload type above 127"));
    }
    let mut ext_len = 0usize;
    for e in &meta.extensions {
        let len = e.payload.len();
        match meta.extension_profile {
            EXTENSION_PROFILE_ONE_BYTE => {
                if !(1..=14).contains(&e.id) || !(1..=16).contains(&len) {
                    return Err(Error::InvalidMetadata("one-byte extension out of range"));
                }
                ext_len += 1 + len;
            }
            EXTENSION_PROFILE_TWO_BYTE => {
                if e.id == 0 || len > 255 {
                    return Err(Error::InvalidMetadata("two-byte extension out of range"));
                }
                ext_len += 2 + len;
            }
            _ => {
                if meta.extensions.len() != 1 || e.id != 0 || len % 4 != 0 {
                    return Err(Error::InvalidMetadata(
                        "an RFC 3550 extension is one block of whole words",
                    ));
                }
                ext_len += len;
            }
        }
    }
    if ext_len.div_ceil(4) > usize::from(u16::MAX) {
        return Err(Error::InvalidMetadata("header extensions too long"));
    }
    Ok(())
}

impl Packetizer {
    /// A stream with SSRC `ssrc` whose first packet gets sequence number `first_seq`.
    pub fn new(ssrc: u32, first_seq: u16, config: PacketizerConfig) -> Self {
        Self {
            config,
            template: Header {
                version: 2,
                ssrc,
                ..Header::default()
            },
            next_seq: first_seq,
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.template.ssrc
    }

    /// The sequence number the next packet gets.
    pub fn next_sequence_number(&self) -> u16 {
        self.next_seq
    }

    /// The sizes in force.
    pub fn config(&self) -> PacketizerConfig {
        self.config
    }

    /// Loads `meta` into the header template (allocating only when the CSRCs or extensions
    /// change from the previous frame).
    fn load(&mut self, meta: &FrameMetadata) -> Result<(), Error> {
        check_metadata(meta)?;
        let t = &mut self.template;
        t.payload_type = meta.payload_type;
        t.timestamp = meta.timestamp;
        if t.csrc != meta.csrcs {
            t.csrc.clone_from(&meta.csrcs);
        }
        t.extension = !meta.extensions.is_empty();
        t.extension_profile = if t.extension {
            meta.extension_profile
        } else {
            0
        };
        if t.extensions != meta.extensions {
            t.extensions.clone_from(&meta.extensions);
        }
        t.extensions_padding = 0;
        Ok(())
    }

    /// The RTP header length for `meta`, CSRCs and extensions included.
    ///
    /// # Errors
    /// [`Error::InvalidMetadata`].
    pub fn header_len(&mut self, meta: &FrameMetadata) -> Result<usize, Error> {
        self.load(meta)?;
        Ok(self.template.marshal_size())
    }

    /// The most payload bytes after the descriptor that one packet of this frame can carry.
    ///
    /// # Errors
    /// [`Error::InvalidMetadata`]; [`Error::MtuTooSmall`] if not even one byte fits.
    pub fn payload_budget(&mut self, meta: &FrameMetadata) -> Result<usize, Error> {
        let overhead = self.header_len(meta)? + 1 + self.config.srtp_overhead;
        match self.config.mtu.checked_sub(overhead) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(Error::MtuTooSmall {
                mtu: self.config.mtu,
                overhead,
            }),
        }
    }

    /// Writes header and descriptor of the next packet into a new buffer with room for
    /// `payload_len` more bytes and the SRTP tag.
    fn start_packet(
        &mut self,
        d: Descriptor,
        marker: bool,
        payload_len: usize,
    ) -> Result<Vec<u8>, Error> {
        self.template.sequence_number = self.next_seq;
        self.template.marker = marker;
        let header_len = self.template.marshal_size();
        let mut buf = Vec::with_capacity(header_len + 1 + payload_len + self.config.srtp_overhead);
        buf.resize(header_len, 0);
        self.template
            .marshal_to(&mut buf)
            .map_err(|_| Error::InvalidMetadata("header does not marshal"))?;
        buf.push(d.to_byte());
        Ok(buf)
    }

    /// How many packets per-frame SFrame splits a frame of `frame_len` bytes into under
    /// `meta`, and the payload bytes of the first of them (the first `frame_len % count` get
    /// one byte more than the rest).
    ///
    /// # Errors
    /// [`Error::InvalidMetadata`], [`Error::MtuTooSmall`].
    pub fn fragments(&mut self, meta: &FrameMetadata, frame_len: usize) -> Result<usize, Error> {
        let budget = self.payload_budget(meta)?;
        let count = frame_len.div_ceil(budget).max(1);
        if count > usize::from(u16::MAX) {
            return Err(Error::InvalidMetadata(
                "frame needs more than 65,535 packets",
            ));
        }
        Ok(count)
    }

    /// Writes the next packet (RTP header, descriptor `d`, `piece`) into `out` without
    /// allocating, numbers it, and returns its length. `out` must also have room for the
    /// SRTP tag after it (that room is not written). The marker is `marker`.
    ///
    /// # Errors
    /// [`Error::InvalidMetadata`]; [`Error::BufferTooSmall`] if `out` cannot hold the packet
    /// and the SRTP tag (then no sequence number is used).
    pub fn write_packet(
        &mut self,
        meta: &FrameMetadata,
        d: Descriptor,
        marker: bool,
        piece: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.load(meta)?;
        self.template.sequence_number = self.next_seq;
        self.template.marker = marker;
        let header_len = self.template.marshal_size();
        let len = header_len + 1 + piece.len();
        let needed = len + self.config.srtp_overhead;
        let available = out.len();
        let packet = out
            .get_mut(..len)
            .filter(|_| available >= needed)
            .ok_or(Error::BufferTooSmall { needed, available })?;
        let (header, rest) = packet.split_at_mut(header_len);
        self.template
            .marshal_to(header)
            .map_err(|_| Error::InvalidMetadata("header does not marshal"))?;
        let (descriptor, payload) = rest.split_at_mut(1);
        descriptor.fill(d.to_byte());
        payload.copy_from_slice(piece);
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(len)
    }

    /// Per-frame SFrame: splits `frame` (an SFrame ciphertext) over as few packets as the MTU
    /// allows, in near-equal fragments, and appends them to `out`. The marker is set on the
    /// last packet if `meta.marker`. Returns the number of packets.
    ///
    /// # Errors
    /// [`Error::InvalidMetadata`], [`Error::MtuTooSmall`]; on error nothing is appended and no
    /// sequence number is used.
    pub fn packetize_frame(
        &mut self,
        meta: &FrameMetadata,
        origin: Origin,
        frame: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, Error> {
        let budget = self.payload_budget(meta)?;
        let count = frame.len().div_ceil(budget).max(1);
        if count > usize::from(u16::MAX) {
            return Err(Error::InvalidMetadata(
                "frame needs more than 65,535 packets",
            ));
        }
        let (base, extra) = (frame.len() / count, frame.len() % count);
        let mut rest = frame;
        out.reserve(count);
        for i in 0..count {
            let len = base + usize::from(i < extra);
            let (piece, tail) = rest.split_at(len.min(rest.len()));
            rest = tail;
            let last = i + 1 == count;
            let d = Descriptor {
                start: i == 0,
                end: last,
                origin,
            };
            let mut buf = self.start_packet(d, meta.marker && last, piece.len())?;
            buf.extend_from_slice(piece);
            self.next_seq = self.next_seq.wrapping_add(1);
            out.push(buf);
        }
        Ok(count)
    }

    /// Per-packet SFrame: one packet holding one whole SFrame frame (S = E = 1, T = 1), the
    /// marker as in `meta`. `write` appends the SFrame frame after the descriptor (typically
    /// encrypting the codec payload in place in the packet buffer); `payload_len` is a capacity
    /// hint.
    ///
    /// # Errors
    /// What `write` returns; [`Error::PacketTooLarge`] if the packet exceeds the MTU (then no
    /// sequence number is used).
    pub fn packetize_single(
        &mut self,
        meta: &FrameMetadata,
        payload_len: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<Vec<u8>, Error> {
        self.load(meta)?;
        let d = Descriptor {
            start: true,
            end: true,
            origin: Origin::Packetized,
        };
        let mut buf = self.start_packet(d, meta.marker, payload_len)?;
        write(&mut buf)?;
        let size = buf.len() + self.config.srtp_overhead;
        if size > self.config.mtu {
            return Err(Error::PacketTooLarge {
                size,
                mtu: self.config.mtu,
            });
        }
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::rtp_view::RtpView;

    fn meta_with(csrcs: usize, ext_bytes: usize) -> FrameMetadata {
        FrameMetadata {
            payload_type: 96,
            timestamp: 90_000,
            marker: true,
            csrcs: (0..csrcs as u32).collect(),
            extension_profile: EXTENSION_PROFILE_TWO_BYTE,
            extensions: if ext_bytes == 0 {
                vec![]
            } else {
                vec![Extension {
                    id: 3,
                    payload: Bytes::from(vec![7; ext_bytes]),
                }]
            },
        }
    }

    #[test]
    fn mtu_is_respected_exactly_with_csrcs_and_extensions() {
        for (csrcs, ext) in [(0, 0), (3, 0), (0, 5), (15, 200)] {
            for mtu in [100, 1200, 1500] {
                let cfg = PacketizerConfig {
                    mtu,
                    srtp_overhead: 10,
                };
                let mut p = Packetizer::new(0xabc, 65530, cfg);
                let meta = meta_with(csrcs, ext);
                let header_len = p.header_len(&meta).unwrap();
                if header_len + 11 >= mtu {
                    assert!(matches!(
                        p.payload_budget(&meta),
                        Err(Error::MtuTooSmall { .. })
                    ));
                    continue;
                }
                for len in [1usize, 57, 1000, 10_000, 50_000] {
                    let frame: Vec<u8> = (0..len).map(|i| i as u8).collect();
                    let mut out = vec![];
                    let n = p
                        .packetize_frame(&meta, Origin::Raw, &frame, &mut out)
                        .unwrap();
                    let budget = mtu - 10 - 1 - header_len;
                    assert_eq!(n, len.div_ceil(budget), "fewest packets");
                    let mut joined = vec![];
                    for (i, pkt) in out.iter().enumerate() {
                        assert!(pkt.len() + 10 <= mtu, "{} > {mtu}", pkt.len() + 10);
                        let v = RtpView::parse(pkt).unwrap();
                        assert_eq!(v.header_len(), header_len);
                        assert_eq!(v.csrcs().count(), csrcs);
                        let d = Descriptor::from_byte(v.payload()[0]);
                        assert_eq!(d.start, i == 0);
                        assert_eq!(d.end, i + 1 == n);
                        assert_eq!(d.origin, Origin::Raw);
                        assert_eq!(v.marker(), i + 1 == n, "marker only with E");
                        assert_eq!(v.timestamp(), 90_000);
                        joined.extend_from_slice(&v.payload()[1..]);
                        assert_eq!(v.to_header().unwrap().extensions, meta.extensions);
                    }
                    assert_eq!(joined, frame);
                }
            }
        }
    }

    #[test]
    fn sequence_numbers_wrap_and_marker_follows_the_frame() {
        let cfg = PacketizerConfig {
            mtu: 200,
            srtp_overhead: 16,
        };
        let mut p = Packetizer::new(1, 65534, cfg);
        let mut meta = meta_with(0, 0);
        meta.marker = false;
        let mut out = vec![];
        p.packetize_frame(&meta, Origin::Raw, &[1; 500], &mut out)
            .unwrap();
        let seqs: Vec<u16> = out
            .iter()
            .map(|b| RtpView::parse(b).unwrap().sequence_number())
            .collect();
        assert_eq!(seqs, vec![65534, 65535, 0]);
        assert!(out.iter().all(|b| !RtpView::parse(b).unwrap().marker()));
        assert_eq!(p.next_sequence_number(), 1);
    }

    #[test]
    fn bad_metadata_is_refused_before_anything_is_sent() {
        let cfg = PacketizerConfig {
            mtu: 1200,
            srtp_overhead: 10,
        };
        let mut p = Packetizer::new(1, 10, cfg);
        let mut out = vec![];
        let too_many = meta_with(16, 0);
        assert!(
            p.packetize_frame(&too_many, Origin::Raw, b"x", &mut out)
                .is_err()
        );
        let mut bad_ext = meta_with(0, 0);
        bad_ext.extension_profile = EXTENSION_PROFILE_ONE_BYTE;
        bad_ext.extensions = vec![Extension {
            id: 15,
            payload: Bytes::from_static(b"x"),
        }];
        assert!(
            p.packetize_frame(&bad_ext, Origin::Raw, b"x", &mut out)
                .is_err()
        );
        assert!(out.is_empty());
        assert_eq!(p.next_sequence_number(), 10);
        // Too large a single packet.
        let r = p.packetize_single(&meta_with(0, 0), 2000, |b| {
            b.extend_from_slice(&[0; 2000]);
            Ok(())
        });
        assert!(matches!(r, Err(Error::PacketTooLarge { .. })));
        assert_eq!(p.next_sequence_number(), 10);
    }
}
