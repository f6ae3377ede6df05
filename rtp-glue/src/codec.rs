//! Codec packetizers for per-packet SFrame: the `rtp` crate's payloaders (VP8, VP9, H.264,
//! Opus, AV1), and on the receive side the assembly of decrypted codec payloads back into
//! media frames for the codecs whose payloads mark a frame's first packet.
//!
//! # Parser state (`rtp` 0.17's depacketizers, audited)
//! `rtp`'s depacketizers are objects that keep what they parsed, and some keep it across
//! packets. Nothing a packet leaves behind may change how the next one parses, or stay in
//! memory:
//! - VP9 (`Vp9Packet`): appends every packet's P_DIFFs and scalability-structure lists to its
//!   fields and never clears them, so a long-lived instance refuses every frame after the
//!   second with P_DIFFs (too many references) and grows without bound with SS data; even
//!   fresh, it allocates per picture-group entry (a 255-entry SS cost ~50x a plain packet).
//!   Not used for parsing here: the RFC 9628 descriptor is skipped by a stateless function
//!   that allocates nothing; only `is_partition_head` (the B bit) is called.
//! - VP8 (`Vp8Packet`): keeps the I/L/T/K flags of an earlier packet when a later one has no
//!   X byte, and would then skip bytes that are not there. Not used for parsing here: the
//!   RFC 7741 descriptor is stripped by a stateless function; only `is_partition_head` (which
//!   reads nothing but the payload) is called.
//! - Opus (`OpusPacket`): stateless.
//! - H.264 (`H264Packet`): keeps FU-A fragments across packets (a buffer that grows until an
//!   end fragment). Not used: [`Codec::depacketizer`] offers none for H.264.
//! - AV1: `rtp` 0.17 has no depacketizer.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use rtp::codecs::{av1::Av1Payloader, h264::H264Payloader, opus::OpusPayloader, vp8, vp9};
use rtp::packetizer::{Depacketizer, Payloader};

use crate::descriptor::Origin;
use crate::error::Error;
use crate::reassembly::{Fragment, Pushed, Reassembler, ReassemblyConfig, ReassemblyStats};

/// A media format with an RTP payloader in the `rtp` crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628), flexible mode.
    Vp9,
    /// H.264 (RFC 6184), single NAL units, STAP-A and FU-A.
    H264,
    /// Opus (RFC 7587): one frame per packet, never split.
    Opus,
    /// AV1 (the AOM RTP specification).
    Av1,
}

impl Codec {
    /// A fresh payloader. Deterministic: VP9's picture ID starts at 0 rather than at random.
    pub fn payloader(self) -> Box<dyn Payloader + Send + Sync> {
        match self {
            Self::Vp8 => Box::new(vp8::Vp8Payloader::default()),
            Self::Vp9 => {
                let mut p = vp9::Vp9Payloader::default();
                p.initial_picture_id_fn = Some(Arc::new(|| 0));
                Box::new(p)
            }
            Self::H264 => Box::new(H264Payloader::default()),
            Self::Opus => Box::new(OpusPayloader),
            Self::Av1 => Box::new(Av1Payloader::default()),
        }
    }

    /// The `rtp` depacketizer, for the codecs whose payloads say which packet starts a frame
    /// (VP8's S bit, VP9's B bit, Opus' one frame per packet). `None` for H.264 (a frame of
    /// several NAL units has several "partition heads", so the first packet of a frame cannot
    /// be told from the payloads alone) and AV1 (no depacketizer in `rtp` 0.17): for those the
    /// receiver hands out the decrypted payloads for the application's own jitter buffer.
    ///
    /// A returned depacketizer may keep state across packets (see the module docs);
    /// [`MediaAssembler`] parses each payload on its own instead.
    pub fn depacketizer(self) -> Option<Box<dyn Depacketizer + Send + Sync>> {
        match self {
            Self::Vp8 => Some(Box::new(vp8::Vp8Packet::default())),
            Self::Vp9 => Some(Box::new(vp9::Vp9Packet::default())),
            Self::Opus => Some(Box::new(rtp::codecs::opus::OpusPacket)),
            Self::H264 | Self::Av1 => None,
        }
    }
}

/// A media frame assembled from decrypted codec payloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledFrame {
    /// The SSRC.
    pub ssrc: u32,
    /// The payload type.
    pub payload_type: u8,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The first packet's sequence number.
    pub first_seq: u16,
    /// How many packets.
    pub packets: u16,
    /// The media frame: the codec payloads without their payload descriptors, concatenated.
    pub data: Bytes,
}

/// Per-packet mode, receive side: decrypted codec payloads in, media frames out. Same bounded
/// reorder window as the SFrame depacketizer ([`Reassembler`]), with the frame's first packet
/// told by the codec (`is_partition_head`) and its last by the marker bit.
///
/// # Peer input
/// The payloads come from authenticated group members, who may still be hostile. Each one is
/// parsed on its own (no parser state survives a packet, see the module docs); per SSRC the
/// reassembly bounds hold ([`ReassemblyConfig`]), and at most `max_streams` SSRCs are tracked.
/// Memory: `max_streams` reassemblers plus, per payload type, one codec parser holding at most
/// one packet's descriptor lists.
pub struct MediaAssembler {
    config: ReassemblyConfig,
    max_streams: usize,
    codecs: HashMap<u8, Codec>,
    depacketizers: HashMap<u8, CodecParser>,
    streams: HashMap<u32, Reassembler>,
    refused_streams: u64,
}

/// A codec's payload parser, reset before every packet.
enum CodecParser {
    Vp8(vp8::Vp8Packet),
    Vp9(vp9::Vp9Packet),
    Opus(rtp::codecs::opus::OpusPacket),
}

impl CodecParser {
    fn new(codec: Codec) -> Option<Self> {
        match codec {
            Codec::Vp8 => Some(Self::Vp8(vp8::Vp8Packet::default())),
            Codec::Vp9 => Some(Self::Vp9(vp9::Vp9Packet::default())),
            Codec::Opus => Some(Self::Opus(rtp::codecs::opus::OpusPacket)),
            Codec::H264 | Codec::Av1 => None,
        }
    }

    /// Whether `payload` starts a frame, ends one (with the RTP `marker`), and the codec
    /// payload after its descriptor (`None` if the descriptor does not parse).
    fn parse(&mut self, marker: bool, payload: &Bytes) -> (bool, bool, Option<Bytes>) {
        match self {
            Self::Vp8(p) => (
                p.is_partition_head(payload),
                p.is_partition_tail(marker, payload),
                // rtp 0.17's VP8 depacketizer keeps flags across packets and refuses payloads
                // under 4 bytes, which its own payloader produces for a frame's last 1-2
                // bytes; RFC 7741's descriptor is simple enough to strip here.
                vp8_payload(payload),
            ),
            Self::Vp9(p) => (
                p.is_partition_head(payload),
                p.is_partition_tail(marker, payload),
                // Vp9Packet keeps lists across packets and allocates per SS entry.
                vp9_payload(payload),
            ),
            Self::Opus(p) => (
                p.is_partition_head(payload),
                p.is_partition_tail(marker, payload),
                p.depacketize(payload).ok(),
            ),
        }
    }
}

impl core::fmt::Debug for MediaAssembler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaAssembler")
            .field("codecs", &self.codecs)
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl MediaAssembler {
    /// An assembler for the payload types in `codecs`, at most `max_streams` SSRCs.
    pub fn new(codecs: &[(u8, Codec)], config: ReassemblyConfig, max_streams: usize) -> Self {
        let codecs: HashMap<u8, Codec> = codecs.iter().copied().collect();
        let depacketizers = codecs
            .iter()
            .filter_map(|(&pt, &c)| CodecParser::new(c).map(|d| (pt, d)))
            .collect();
        Self {
            config,
            max_streams,
            codecs,
            depacketizers,
            streams: HashMap::new(),
            refused_streams: 0,
        }
    }

    /// `true` if payloads of `payload_type` are assembled into frames here.
    pub fn assembles(&self, payload_type: u8) -> bool {
        self.depacketizers.contains_key(&payload_type)
    }

    /// Pushes one decrypted codec payload.
    ///
    /// # Errors
    /// [`Error::UnknownStream`] past `max_streams` SSRCs, or for a payload type without a
    /// depacketizer; [`Error::CodecPayload`] if the depacketizer refuses the payload.
    pub fn push(
        &mut self,
        ssrc: u32,
        seq: u16,
        payload_type: u8,
        timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<Option<AssembledFrame>, Error> {
        let depacketizer = self
            .depacketizers
            .get_mut(&payload_type)
            .ok_or(Error::UnknownStream(ssrc))?;
        let (start, end, data) = depacketizer.parse(marker, &payload);
        let memory = payload.len();
        let data = data.ok_or(Error::CodecPayload)?;
        if !self.streams.contains_key(&ssrc) && self.streams.len() >= self.max_streams {
            self.refused_streams += 1;
            return Err(Error::UnknownStream(ssrc));
        }
        let config = self.config;
        let stream = self
            .streams
            .entry(ssrc)
            .or_insert_with(|| Reassembler::new(config));
        let fragment = Fragment {
            start,
            end,
            origin: Origin::Packetized,
            payload_type,
            timestamp,
            marker,
            data,
            memory,
        };
        Ok(match stream.push(seq, fragment) {
            Pushed::Frame(f) => Some(AssembledFrame {
                ssrc,
                payload_type: f.payload_type,
                timestamp: f.timestamp,
                first_seq: f.first_seq,
                packets: f.packets,
                data: f.data.freeze(),
            }),
            _ => None,
        })
    }

    /// Counters summed over the streams.
    pub fn stats(&self) -> ReassemblyStats {
        let mut s = ReassemblyStats::default();
        for r in self.streams.values() {
            s.add(&r.stats());
        }
        s
    }

    /// End of all streams: evicts what is pending.
    pub fn flush(&mut self) {
        for r in self.streams.values_mut() {
            r.flush();
        }
    }
}

/// The VP8 payload after its RFC 7741 payload descriptor (section 4.2), `None` if the
/// descriptor is truncated.
fn vp8_payload(p: &Bytes) -> Option<Bytes> {
    let b0 = *p.first()?;
    let mut at = 1;
    if b0 & 0x80 != 0 {
        let x = *p.get(1)?;
        at = 2;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits.
            at += if *p.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            at += 1; // TID/Y/KEYIDX
        }
    }
    (at <= p.len()).then(|| p.slice(at..))
}

/// The VP9 payload after its RFC 9628 payload descriptor (section 4.2), `None` if the
/// descriptor is truncated or invalid (more than 3 P_DIFFs, a spatial layer ID above 4). Reads
/// each byte at most once and allocates nothing.
pub(crate) fn vp9_payload(p: &Bytes) -> Option<Bytes> {
    let b0 = *p.first()?;
    let (i, pf, l, f, v) = (
        b0 & 0x80 != 0,
        b0 & 0x40 != 0,
        b0 & 0x20 != 0,
        b0 & 0x10 != 0,
        b0 & 0x02 != 0,
    );
    let mut at = 1usize;
    let byte = |at: &mut usize| -> Option<u8> {
        let b = *p.get(*at)?;
        *at += 1;
        Some(b)
    };
    if i {
        // Picture ID: 7 bits, or 15 with M set.
        if byte(&mut at)? & 0x80 != 0 {
            byte(&mut at)?;
        }
    }
    if l {
        // T|U|S|D; S (spatial layer ID) below 5 as `rtp` enforces.
        if (byte(&mut at)? >> 1) & 0x7 >= 5 {
            return None;
        }
        if !f {
            byte(&mut at)?; // TL0PICIDX
        }
    }
    if f && pf {
        // Up to 3 P_DIFFs, each with N set if another follows.
        let mut count = 0;
        loop {
            count += 1;
            let more = byte(&mut at)? & 0x01 != 0;
            if !more {
                break;
            }
            if count == 3 {
                return None;
            }
        }
    }
    if v {
        // Scalability structure: N_S|Y|G|-|-|-, then N_S + 1 resolutions if Y, then N_G and
        // N_G picture-group entries T|U|R|-|- each followed by R P_DIFFs if G.
        let ss = byte(&mut at)?;
        let layers = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            at = at.checked_add(4 * layers)?;
        }
        if ss & 0x08 != 0 {
            let groups = byte(&mut at)?;
            for _ in 0..groups {
                let r = (byte(&mut at)? >> 2) & 0x3;
                at = at.checked_add(usize::from(r))?;
            }
        }
    }
    (at <= p.len()).then(|| p.slice(at..))
}

/// Runs `codec`'s payloader on `frame` with `budget` bytes per payload.
///
/// # Errors
/// [`Error::Codec`] (naming `codec`) if the payloader fails.
pub(crate) fn payload(
    payloader: &mut (dyn Payloader + Send + Sync),
    codec: Codec,
    budget: usize,
    frame: &Bytes,
) -> Result<Vec<Bytes>, Error> {
    payloader
        .payload(budget, frame)
        .map_err(|_| Error::Codec(codec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_descriptor_is_stripped() {
        let b = |v: &[u8]| Bytes::copy_from_slice(v);
        assert_eq!(vp8_payload(&b(&[0x10, 0xaa])), Some(b(&[0xaa])));
        assert_eq!(vp8_payload(&b(&[0x10])), Some(b(&[])));
        // X, I with a 15-bit PictureID, L, T/K.
        assert_eq!(
            vp8_payload(&b(&[0x90, 0xf0, 0x81, 0x02, 0x07, 0x40, 0xbb])),
            Some(b(&[0xbb]))
        );
        // X, I with a 7-bit PictureID.
        assert_eq!(vp8_payload(&b(&[0x80, 0x80, 0x05, 0xcc])), Some(b(&[0xcc])));
        assert_eq!(vp8_payload(&b(&[0x90, 0xf0, 0x81])), None);
        assert_eq!(vp8_payload(&b(&[])), None);
    }

    /// A scalability structure: N_S and Y (high nibble), G, and the picture-group entries
    /// (T and U in the high nibble, the P_DIFFs).
    type Ss<'a> = (u8, bool, &'a [(u8, Vec<u8>)]);

    /// A VP9 descriptor from its fields (reserved bits clear), then `body`.
    fn vp9_descriptor(
        flags: u8,
        pid: u16,
        layer: u8,
        tl0: u8,
        pdiffs: &[u8],
        ss: Option<Ss<'_>>,
        body: &[u8],
    ) -> Vec<u8> {
        let mut d = vec![flags & !0x02];
        let (i, p, l, f, v) = (
            flags & 0x80 != 0,
            flags & 0x40 != 0,
            flags & 0x20 != 0,
            flags & 0x10 != 0,
            ss.is_some(),
        );
        if v {
            d[0] |= 0x02;
        }
        if i {
            if pid > 0x7f {
                d.extend_from_slice(&[0x80 | (pid >> 8) as u8 & 0x7f, pid as u8]);
            } else {
                d.push(pid as u8);
            }
        }
        if l {
            d.push(layer);
            if !f {
                d.push(tl0);
            }
        }
        if f && p {
            for (k, pd) in pdiffs.iter().enumerate() {
                d.push((pd << 1) | u8::from(k + 1 < pdiffs.len()));
            }
        }
        if let Some((ns_y, g, groups)) = ss {
            d.push((ns_y & 0xf0) | if g { 0x08 } else { 0 });
            if ns_y & 0x10 != 0 {
                for k in 0..=(ns_y >> 5) {
                    d.extend_from_slice(&[k, 1, k, 2]);
                }
            }
            if g {
                d.push(groups.len() as u8);
                for (tu, refs) in groups {
                    d.push((tu & 0xf0) | ((refs.len() as u8) << 2));
                    d.extend_from_slice(refs);
                }
            }
        }
        d.extend_from_slice(body);
        d
    }

    proptest::proptest! {
        /// Our stateless VP9 descriptor parser agrees with a fresh `rtp` `Vp9Packet` on every
        /// well-formed descriptor (at most 2 P_DIFFs: `rtp` refuses a third, RFC 9628 allows
        /// it), and on any bytes returns a suffix of its input without panicking.
        #[test]
        fn vp9_descriptor_parser_matches_a_fresh_rtp_parser(
            flags in proptest::num::u8::ANY,
            pid in 0u16..0x8000,
            layer in proptest::num::u8::ANY,
            tl0 in proptest::num::u8::ANY,
            pdiffs in proptest::collection::vec(0u8..128, 1..3),
            ss in proptest::option::of((proptest::num::u8::ANY, proptest::bool::ANY,
                proptest::collection::vec((proptest::num::u8::ANY,
                    proptest::collection::vec(proptest::num::u8::ANY, 0..4)), 0..6))),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..8),
            cut in 0usize..64,
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let ss_ref = ss.as_ref().map(|(a, g, v)| (*a, *g, v.as_slice()));
            let d = vp9_descriptor(flags, pid, layer, tl0, &pdiffs, ss_ref, &body);
            // Whole, and truncated anywhere.
            for bytes in [d.clone(), d[..cut.min(d.len())].to_vec()] {
                let bytes = Bytes::from(bytes);
                let theirs = vp9::Vp9Packet::default().depacketize(&bytes).ok();
                proptest::prop_assert_eq!(vp9_payload(&bytes), theirs);
            }
            let noise = Bytes::from(noise);
            if let Some(rest) = vp9_payload(&noise) {
                proptest::prop_assert!(noise.ends_with(&rest));
            }
        }
    }

    #[test]
    fn vp9_three_reference_indices_are_accepted_four_are_not() {
        let b = |v: &[u8]| Bytes::copy_from_slice(v);
        // I=0 P=1 F=1 B=1 E=1: three P_DIFFs (N on the first two), then the payload.
        assert_eq!(
            vp9_payload(&b(&[0x5C, 0x03, 0x05, 0x06, 0xaa])),
            Some(b(&[0xaa]))
        );
        assert_eq!(vp9_payload(&b(&[0x5C, 0x03, 0x05, 0x07, 0x08, 0xaa])), None);
    }

    #[test]
    fn vp8_frames_whose_last_fragment_is_tiny_assemble() {
        let mut payloader = Codec::Vp8.payloader();
        let mut assembler =
            MediaAssembler::new(&[(96, Codec::Vp8)], ReassemblyConfig::default(), 4);
        // 991 bytes in payloads of at most 100 (99 of data): the last one carries 1 byte.
        let frame: Vec<u8> = (0..991u32).map(|i| i as u8).collect();
        let payloads = payload(
            payloader.as_mut(),
            Codec::Vp8,
            100,
            &Bytes::from(frame.clone()),
        )
        .unwrap();
        assert_eq!(payloads.last().map(Bytes::len), Some(2));
        let n = payloads.len();
        let mut out = None;
        for (i, p) in payloads.into_iter().enumerate() {
            out = assembler.push(7, i as u16, 96, 0, i + 1 == n, p).unwrap();
        }
        assert_eq!(out.map(|f| f.data.to_vec()), Some(frame));
    }
}
