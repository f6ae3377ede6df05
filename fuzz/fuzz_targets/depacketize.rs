//! Fuzz target `depacketize`: a structured sequence of RTP packets (fuzzed SSRCs, sequence
//! numbers, timestamps, descriptor bytes, CSRCs, header extensions, padding, payloads), whole
//! frames cut by the crate's `Packetizer` and delivered out of order, lost or duplicated, and
//! raw arbitrary bytes, pushed into a `Depacketizer` of `sframe-rtp` with fuzzed limits (and
//! through `RtpView`, the checked RTP parser in front of it). Nothing panics, and:
//!
//! - parsing: `RtpView::parse` of a packet built from fields gives exactly those fields, the
//!   payload between the header and the padding, or exactly `BadPadding` / `BadExtension` as an
//!   independent RFC 3550 / RFC 8285 check written below predicts; `to_header` of any parsed
//!   packet is the same header as the view (or `BadExtension`); the depacketizer refuses a packet
//!   with exactly the parser's error (`NoDescriptor` for an empty payload), or with
//!   `UnknownStream` exactly when `max_streams` other SSRCs are tracked; its `malformed` and
//!   `refused_streams` counters count those refusals;
//! - memory stays bounded: at most `max_streams` SSRCs are tracked; each stream (mirrored by a
//!   `Reassembler` fed the same fragments, which must give the same outcome for every packet
//!   and the same counters) holds at most `window` fragments (as the crate rounds it: up to a
//!   power of two, 1 to 32,768) and at most `max_pending_bytes` bytes, and the depacketizer's
//!   totals are the sums over its streams; pending bytes are at least 13 per pending fragment
//!   (the smallest packet that carries one); after `flush` nothing is pending;
//! - frames are what was put in: every frame handed out is the concatenation of the payloads
//!   (descriptor removed) of a run of consecutive sequence numbers of its SSRC that were
//!   accepted and not yet used by another frame, S on the first only, E on the last only, one
//!   payload type and T bit, the first one's timestamp and the last one's marker, and it
//!   contains the packet that completed it; per stream, accepted packets = fragments handed out
//!   in frames + fragments evicted + fragments pending, plus at least two fragments per run
//!   dropped as inconsistent;
//! - a frame cut by the `Packetizer` and delivered in any order, with duplicates, into a fresh
//!   depacketizer whose window and byte limit fit it comes out exactly once, equal to the input.
//!
//! The depacketizer and its mirrors are built per input (their state is what is fuzzed), so a
//! crash reproduces from its input alone.
#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sframe_rtp::rtp::header::{EXTENSION_PROFILE_ONE_BYTE, EXTENSION_PROFILE_TWO_BYTE};
use sframe_rtp::{
    Depacketizer, DepacketizerConfig, Descriptor, FIXED_HEADER_LEN, Fragment, FrameMetadata,
    Origin, Packetizer, PacketizerConfig, Pushed, ReassembledFrame, Reassembler, ReassemblyConfig,
    ReassemblyStats, RtpError, RtpView, SframeRtpError as Error,
};

/// The SSRCs structured packets use: more than `max_streams` can be (at most 4), so that new
/// streams get refused.
const SSRCS: [u32; 6] = [0, 1, 0x5eed, 0x8000_0000, 0xdead_beef, u32::MAX];
/// The smallest packet that holds a fragment: the fixed header and the descriptor.
const MIN_FRAGMENT_PACKET: usize = FIXED_HEADER_LEN + 1;
/// Operations and packets run with a window above 1,024.
const BIG_WINDOW_OPS: usize = 8;
const BIG_WINDOW_PACKETS: usize = 64;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// `ReassemblyConfig::window`: this if its four top bits are set (a value the crate clamps
    /// to 32,768), else its low 10 bits. Big windows make inputs slow (a sequence number jump
    /// of a window or more, `flush` and `pending_fragments` each walk the whole window), so
    /// with one only the first `BIG_WINDOW_OPS` operations and `BIG_WINDOW_PACKETS` packets
    /// run. (Above its byte limit, every push walks the window from its oldest end, too.)
    window: u16,
    /// `ReassemblyConfig::max_pending_bytes`, in units of 8 bytes (0 to 512 KiB).
    max_pending_bytes: u16,
    /// `DepacketizerConfig::max_streams` = 1 + this % 4.
    max_streams: u8,
    ops: Vec<Op<'a>>,
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    Packet(Packet<'a>),
    Frame(Frame<'a>),
    /// Arbitrary bytes as a packet.
    Raw(&'a [u8]),
    /// `Depacketizer::flush`.
    Flush,
    /// `Depacketizer::remove_stream` of `SSRCS[i % 6]`.
    Remove(u8),
}

#[derive(Arbitrary, Debug)]
enum SeqStep {
    /// One after the stream's previous structured packet.
    Next,
    /// The previous one plus this (wrapping).
    Delta(i8),
    Absolute(u16),
}

#[derive(Arbitrary, Debug)]
enum TsStep {
    Same,
    Delta(u16),
    Absolute(u32),
}

#[derive(Arbitrary, Debug)]
enum ExtProfile {
    OneByte,
    TwoByte,
    /// An RFC 3550 extension (opaque words), or by chance one of the two above.
    Other(u16),
}

#[derive(Arbitrary, Debug)]
struct Extension<'a> {
    profile: ExtProfile,
    /// The block, zero-padded to whole words.
    data: &'a [u8],
}

/// A packet built from fields.
#[derive(Arbitrary, Debug)]
struct Packet<'a> {
    /// `SSRCS[stream % 6]`.
    stream: u8,
    seq: SeqStep,
    timestamp: TsStep,
    /// M (bit 7) and PT (the rest) of the second header byte.
    marker_pt: u8,
    csrc_count: u8,
    extension: Option<Extension<'a>>,
    /// The SFrame descriptor byte, then the fragment's bytes.
    descriptor: u8,
    payload: &'a [u8],
    /// With the P bit: `filler` zero bytes, then a count byte `count`.
    padding: Option<(u8, u8)>,
}

#[derive(Arbitrary, Debug)]
enum Delivery {
    InOrder,
    Reversed,
    /// A permutation drawn from this seed.
    Shuffled(u64),
}

/// A frame cut by the crate's `Packetizer` (per-frame SFrame).
#[derive(Arbitrary, Debug)]
struct Frame<'a> {
    /// `SSRCS[stream % 6]`; the packets continue that stream's sequence numbers.
    stream: u8,
    mtu: u16,
    marker_pt: u8,
    timestamp: u32,
    csrc_count: u8,
    packetized: bool,
    data: &'a [u8],
    delivery: Delivery,
    /// Push this packet (index mod count) twice.
    duplicate: Option<u16>,
    /// Lose this packet (index mod count) on the way to the long-lived depacketizer.
    lose: Option<u16>,
}

/// A fragment as it was pushed, for the frame check.
struct Fed {
    descriptor: Descriptor,
    payload_type: u8,
    timestamp: u32,
    marker: bool,
    data: Bytes,
}

/// Per-SSRC state kept by the target.
#[derive(Default)]
struct Stream {
    next_seq: u16,
    timestamp: u32,
    /// Fragments accepted by the depacketizer and not yet seen in a frame, by sequence number.
    fed: HashMap<u16, Fed>,
    /// Fragments handed out in frames.
    in_frames: u64,
}

struct Run {
    config: DepacketizerConfig,
    /// The window as the crate rounds it.
    window: usize,
    depacketizer: Depacketizer,
    /// One mirror per SSRC the depacketizer tracks.
    mirrors: HashMap<u32, Reassembler>,
    streams: HashMap<u32, Stream>,
    malformed: u64,
    refused: u64,
    /// Packets still to push (see `BIG_WINDOW_PACKETS`).
    packets_left: usize,
}

/// The independent check of an RFC 8285 extension block: `Some(true)` if it is well formed
/// (every element inside the block, no one-byte ID 15), `None` for an RFC 3550 profile.
fn extension_ok(profile: u16, block: &[u8]) -> Option<bool> {
    let one_byte = match profile {
        EXTENSION_PROFILE_ONE_BYTE => true,
        EXTENSION_PROFILE_TWO_BYTE => false,
        _ => return None,
    };
    let mut rest = block;
    loop {
        let Some((&first, after)) = rest.split_first() else {
            return Some(true);
        };
        if first == 0 {
            rest = after; // padding byte
            continue;
        }
        let (len, after) = if one_byte {
            if first >> 4 == 15 {
                return Some(false);
            }
            (usize::from(first & 15) + 1, after)
        } else {
            match after.split_first() {
                Some((&len, after)) => (usize::from(len), after),
                None => return Some(false),
            }
        };
        match after.get(len..) {
            Some(r) => rest = r,
            None => return Some(false),
        }
    }
}

impl Run {
    fn new(input: &Input<'_>) -> Self {
        let config = DepacketizerConfig {
            reassembly: ReassemblyConfig {
                window: if input.window >> 12 == 0xf {
                    input.window
                } else {
                    input.window & 0x3ff
                },
                max_pending_bytes: usize::from(input.max_pending_bytes) * 8,
            },
            max_streams: 1 + usize::from(input.max_streams % 4),
        };
        let window = window_cap(config.reassembly);
        Self {
            config,
            window,
            depacketizer: Depacketizer::new(config),
            mirrors: HashMap::new(),
            streams: HashMap::new(),
            malformed: 0,
            refused: 0,
            packets_left: if window > 1024 {
                BIG_WINDOW_PACKETS
            } else {
                usize::MAX
            },
        }
    }

    /// Pushes one packet into the depacketizer and checks the outcome against the parser, the
    /// stream's mirror and the fragments fed so far.
    fn push(&mut self, packet: &[u8]) -> Option<Pushed> {
        self.packets_left = self.packets_left.checked_sub(1)?;
        let expected_view = RtpView::parse(packet);
        if let Ok(view) = &expected_view {
            check_to_header(view);
        }
        let got = self.depacketizer.push(packet);
        let view = match expected_view {
            Err(e) => {
                assert_eq!(got, Err(Error::Rtp(e)), "not the parser's error");
                self.malformed += 1;
                return None;
            }
            Ok(view) => view,
        };
        let Some((&first, data)) = view.payload().split_first() else {
            assert_eq!(got, Err(Error::Rtp(RtpError::NoDescriptor)));
            self.malformed += 1;
            return None;
        };
        let ssrc = view.ssrc();
        if !self.mirrors.contains_key(&ssrc) && self.mirrors.len() >= self.config.max_streams {
            assert_eq!(got, Err(Error::UnknownStream(ssrc)), "stream not refused");
            self.refused += 1;
            return None;
        }
        let descriptor = Descriptor::from_byte(first);
        let fragment = Fragment {
            start: descriptor.start,
            end: descriptor.end,
            origin: descriptor.origin,
            payload_type: view.payload_type(),
            timestamp: view.timestamp(),
            marker: view.marker(),
            data: Bytes::copy_from_slice(data),
            memory: packet.len(),
        };
        let reassembly = self.config.reassembly;
        let mirror = self
            .mirrors
            .entry(ssrc)
            .or_insert_with(|| Reassembler::new(reassembly));
        let seq = view.sequence_number();
        let pushed = mirror.push(seq, fragment.clone());
        assert_eq!(
            got,
            Ok((ssrc, pushed.clone())),
            "the depacketizer and a Reassembler fed the same fragments disagree"
        );

        let stream = self.streams.entry(ssrc).or_default();
        if matches!(
            pushed,
            Pushed::Pending | Pushed::Frame(_) | Pushed::Inconsistent
        ) {
            stream.fed.insert(
                seq,
                Fed {
                    descriptor,
                    payload_type: fragment.payload_type,
                    timestamp: fragment.timestamp,
                    marker: fragment.marker,
                    data: fragment.data,
                },
            );
        }
        if let Pushed::Frame(frame) = &pushed {
            check_frame(stream, frame, seq, self.window);
        }
        Some(pushed)
    }

    /// The bounds, the counters, and the mirrors against the depacketizer.
    fn check_state(&self) {
        let d = &self.depacketizer;
        let reassembly = self.config.reassembly;
        assert!(self.mirrors.len() <= self.config.max_streams, "streams");
        assert_eq!(d.malformed(), self.malformed, "malformed count");
        assert_eq!(d.refused_streams(), self.refused, "refused-stream count");
        let (mut fragments, mut bytes) = (0, 0);
        let mut total = ReassemblyStats::default();
        for (ssrc, mirror) in &self.mirrors {
            let (f, b) = (mirror.pending_fragments(), mirror.pending_bytes());
            assert!(
                f <= self.window,
                "{f} fragments pending, window {}",
                self.window
            );
            assert!(
                b <= reassembly.max_pending_bytes,
                "{b} bytes pending, limit {}",
                reassembly.max_pending_bytes
            );
            assert!(b >= f * MIN_FRAGMENT_PACKET, "{b} bytes for {f} fragments");
            let stats = mirror.stats();
            assert_eq!(d.stream_stats(*ssrc), Some(stats), "stream {ssrc:#x}");
            let in_frames = self.streams.get(ssrc).map_or(0, |s| s.in_frames);
            let accounted = in_frames + stats.fragments_evicted + f as u64;
            let inconsistent = stats.packets.checked_sub(accounted).unwrap_or_else(|| {
                panic!("stream {ssrc:#x}: {accounted} fragments accounted, {stats:?}")
            });
            if stats.inconsistent_frames == 0 {
                assert_eq!(inconsistent, 0, "stream {ssrc:#x}: fragments vanished");
            } else {
                assert!(
                    (2 * stats.inconsistent_frames
                        ..=stats.inconsistent_frames * self.window as u64)
                        .contains(&inconsistent),
                    "stream {ssrc:#x}: {inconsistent} fragments in inconsistent runs, {stats:?}"
                );
            }
            fragments += f;
            bytes += b;
            total.add(&stats);
        }
        for ssrc in SSRCS {
            assert_eq!(
                d.stream_stats(ssrc).is_some(),
                self.mirrors.contains_key(&ssrc),
                "tracked streams"
            );
        }
        assert_eq!(d.pending_fragments(), fragments, "pending fragments");
        assert_eq!(d.pending_bytes(), bytes, "pending bytes");
        assert_eq!(d.stats(), total, "summed counters");
    }

    fn flush(&mut self) {
        self.depacketizer.flush();
        for mirror in self.mirrors.values_mut() {
            mirror.flush();
        }
        assert_eq!(
            self.depacketizer.pending_fragments(),
            0,
            "flush left fragments"
        );
        assert_eq!(self.depacketizer.pending_bytes(), 0, "flush left bytes");
    }

    fn remove(&mut self, ssrc: u32) {
        let removed = self.depacketizer.remove_stream(ssrc);
        let mirror = self.mirrors.remove(&ssrc);
        assert_eq!(removed, mirror.map(|m| m.stats()), "remove_stream");
        if let Some(stream) = self.streams.get_mut(&ssrc) {
            stream.fed.clear();
            stream.in_frames = 0;
        }
        assert_eq!(self.depacketizer.stream_stats(ssrc), None);
    }

    fn packet(&mut self, p: &Packet<'_>) {
        let ssrc = SSRCS[usize::from(p.stream) % SSRCS.len()];
        let stream = self.streams.entry(ssrc).or_default();
        let seq = match p.seq {
            SeqStep::Next => stream.next_seq,
            SeqStep::Delta(d) => stream.next_seq.wrapping_add_signed(i16::from(d)),
            SeqStep::Absolute(s) => s,
        };
        stream.next_seq = seq.wrapping_add(1);
        stream.timestamp = match p.timestamp {
            TsStep::Same => stream.timestamp,
            TsStep::Delta(d) => stream.timestamp.wrapping_add(u32::from(d)),
            TsStep::Absolute(t) => t,
        };
        let timestamp = stream.timestamp;

        let cc = p.csrc_count % 16;
        let mut b = vec![0x80 | cc, p.marker_pt, (seq >> 8) as u8, seq as u8];
        b.extend_from_slice(&timestamp.to_be_bytes());
        b.extend_from_slice(&ssrc.to_be_bytes());
        for i in 0..u32::from(cc) {
            b.extend_from_slice(&(0xc5c0_0000 | i).to_be_bytes());
        }
        let mut extension_valid = true;
        if let Some(ext) = &p.extension {
            let profile = match ext.profile {
                ExtProfile::OneByte => EXTENSION_PROFILE_ONE_BYTE,
                ExtProfile::TwoByte => EXTENSION_PROFILE_TWO_BYTE,
                ExtProfile::Other(v) => v,
            };
            let mut block = ext.data[..ext.data.len().min(4 * 0xffff)].to_vec();
            block.resize(block.len().next_multiple_of(4), 0);
            b[0] |= 0x10;
            b.extend_from_slice(&profile.to_be_bytes());
            b.extend_from_slice(&((block.len() / 4) as u16).to_be_bytes());
            extension_valid = extension_ok(profile, &block).unwrap_or(true);
            b.extend_from_slice(&block);
        }
        let header_len = b.len();
        b.push(p.descriptor);
        b.extend_from_slice(p.payload);
        let mut payload_end = None;
        if let Some((count, filler)) = p.padding {
            b[0] |= 0x20;
            b.resize(b.len() + usize::from(filler), 0);
            b.push(count);
            let count = usize::from(count);
            if count != 0 && count <= b.len() - header_len {
                payload_end = Some(b.len() - count);
            }
        } else {
            payload_end = Some(b.len());
        }

        match RtpView::parse(&b) {
            Ok(view) => {
                assert!(extension_valid, "a bad extension block parsed: {b:02x?}");
                assert_eq!(view.header_len(), header_len);
                assert_eq!(Some(view.payload_range().end), payload_end, "padding");
                assert_eq!(view.sequence_number(), seq);
                assert_eq!(view.timestamp(), timestamp);
                assert_eq!(view.ssrc(), ssrc);
                assert_eq!(view.marker(), p.marker_pt & 0x80 != 0);
                assert_eq!(view.payload_type(), p.marker_pt & 0x7f);
                assert!(view.csrcs().eq((0..u32::from(cc)).map(|i| 0xc5c0_0000 | i)));
            }
            Err(RtpError::BadExtension) => {
                assert!(!extension_valid, "a good extension block refused: {b:02x?}");
            }
            Err(RtpError::BadPadding) => {
                assert!(extension_valid, "bad extension not reported first");
                assert_eq!(payload_end, None, "good padding refused: {b:02x?}");
            }
            Err(e) => panic!("a whole header refused: {e:?} {b:02x?}"),
        }
        self.push(&b);
    }

    fn frame(&mut self, f: &Frame<'_>) {
        let ssrc = SSRCS[usize::from(f.stream) % SSRCS.len()];
        let stream = self.streams.entry(ssrc).or_default();
        let first_seq = stream.next_seq;
        let origin = if f.packetized {
            Origin::Packetized
        } else {
            Origin::Raw
        };
        let meta = FrameMetadata {
            payload_type: f.marker_pt & 0x7f,
            timestamp: f.timestamp,
            marker: f.marker_pt & 0x80 != 0,
            csrcs: (0..u32::from(f.csrc_count % 16)).collect(),
            ..FrameMetadata::default()
        };
        let config = PacketizerConfig {
            mtu: usize::from(f.mtu),
            srtp_overhead: 0,
        };
        let mut packetizer = Packetizer::new(ssrc, first_seq, config);
        let header_len = FIXED_HEADER_LEN + 4 * meta.csrcs.len();
        let mut packets = Vec::new();
        match packetizer.packetize_frame(&meta, origin, f.data, &mut packets) {
            Ok(count) => {
                assert!(config.mtu > header_len + 1, "MTU {} fitted", config.mtu);
                assert_eq!(count, packets.len());
                assert!(packets.iter().all(|p| p.len() <= config.mtu));
            }
            Err(Error::MtuTooSmall { .. }) => {
                assert!(config.mtu <= header_len + 1, "MTU {} refused", config.mtu);
                return;
            }
            Err(e) => panic!("packetize_frame: {e:?}"),
        }
        let count = packets.len();
        if count > self.packets_left {
            return;
        }
        stream.next_seq = first_seq.wrapping_add(count as u16);
        stream.timestamp = f.timestamp;

        let mut order: Vec<usize> = (0..count).collect();
        match f.delivery {
            Delivery::InOrder => {}
            Delivery::Reversed => order.reverse(),
            Delivery::Shuffled(seed) => shuffle(&mut order, seed),
        }
        if let Some(d) = f.duplicate {
            let i = usize::from(d) % count;
            order.insert(i, order[i]);
        }

        // A fresh depacketizer that has room for the frame gives it back exactly once.
        let memory: usize = packets.iter().map(Vec::len).sum();
        if count <= self.window && memory <= self.config.reassembly.max_pending_bytes {
            let mut fresh = Depacketizer::new(self.config);
            let mut frames: Vec<ReassembledFrame> = Vec::new();
            for &i in &order {
                match fresh.push(&packets[i]) {
                    Ok((s, Pushed::Frame(frame))) if s == ssrc => frames.push(frame),
                    Ok((_, Pushed::Pending | Pushed::Duplicate)) => {}
                    other => panic!("packet {i} of {count} into a fresh depacketizer: {other:?}"),
                }
            }
            let expected = ReassembledFrame {
                first_seq,
                packets: count as u16,
                origin,
                payload_type: meta.payload_type,
                timestamp: f.timestamp,
                marker: meta.marker,
                data: f.data.into(),
            };
            assert_eq!(frames, [expected], "a whole frame did not come out once");
            assert_eq!(fresh.pending_fragments(), 0);
        }

        let lost = f.lose.map(|l| usize::from(l) % count);
        for &i in &order {
            if Some(i) != lost {
                self.push(&packets[i]);
            }
        }
    }
}

/// `window` as `Reassembler::new` uses it.
fn window_cap(config: ReassemblyConfig) -> usize {
    usize::from(config.window)
        .clamp(1, 1 << 15)
        .next_power_of_two()
}

fn shuffle(v: &mut [usize], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        v.swap(i, ((seed >> 33) % (i as u64 + 1)) as usize);
    }
}

/// `to_header` of a parsed packet is the same header, or `BadExtension`.
fn check_to_header(view: &RtpView<'_>) {
    match view.to_header() {
        Ok(h) => {
            let bytes = view.bytes();
            assert_eq!(h.version, 2);
            assert_eq!(h.padding, view.has_padding());
            assert_eq!(h.extension, bytes[0] & 0x10 != 0);
            assert_eq!(h.marker, view.marker());
            assert_eq!(h.payload_type, view.payload_type());
            assert_eq!(h.sequence_number, view.sequence_number());
            assert_eq!(h.timestamp, view.timestamp());
            assert_eq!(h.ssrc, view.ssrc());
            assert!(h.csrc.iter().copied().eq(view.csrcs()), "CSRCs");
        }
        Err(e) => assert_eq!(e, RtpError::BadExtension, "to_header"),
    }
}

/// A frame handed out for `stream` after pushing `pushed_seq`: a run of fragments that were
/// fed and not used before; they are used now.
fn check_frame(stream: &mut Stream, frame: &ReassembledFrame, pushed_seq: u16, window: usize) {
    let n = frame.packets;
    assert!(
        n >= 1 && usize::from(n) <= window,
        "{n} packets, window {window}"
    );
    assert!(
        pushed_seq.wrapping_sub(frame.first_seq) < n,
        "frame {}+{n} without the packet {pushed_seq} that completed it",
        frame.first_seq
    );
    let mut data = Vec::new();
    for k in 0..n {
        let seq = frame.first_seq.wrapping_add(k);
        let fed = stream.fed.remove(&seq).unwrap_or_else(|| {
            panic!(
                "frame {}+{n}: sequence number {seq} was not fed, or is in an earlier frame",
                frame.first_seq
            )
        });
        let d = fed.descriptor;
        assert_eq!(d.start, k == 0, "S bit of fragment {k} of {n}");
        assert_eq!(d.end, k + 1 == n, "E bit of fragment {k} of {n}");
        assert_eq!(d.origin, frame.origin, "T bit");
        assert_eq!(fed.payload_type, frame.payload_type, "payload type");
        if k == 0 {
            assert_eq!(fed.timestamp, frame.timestamp, "timestamp");
        }
        if k + 1 == n {
            assert_eq!(fed.marker, frame.marker, "marker");
        }
        data.extend_from_slice(&fed.data);
    }
    assert_eq!(frame.data[..], data[..], "frame data is not its fragments");
    stream.in_frames += u64::from(n);
}

fuzz_target!(|input: Input<'_>| {
    let mut run = Run::new(&input);
    let ops = if run.packets_left != usize::MAX {
        &input.ops[..input.ops.len().min(BIG_WINDOW_OPS)]
    } else {
        &input.ops[..]
    };
    for op in ops {
        match op {
            Op::Packet(p) => run.packet(p),
            Op::Frame(f) => run.frame(f),
            Op::Raw(bytes) => {
                run.push(bytes);
            }
            Op::Flush => run.flush(),
            Op::Remove(i) => run.remove(SSRCS[usize::from(*i) % SSRCS.len()]),
        }
        run.check_state();
    }
    run.flush();
    run.check_state();
});
