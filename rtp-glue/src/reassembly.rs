//! Reassembly of one RTP stream: the draft's "smallest list of consecutive sequence numbers
//! from a packet with S to a packet with E", over a bounded reorder window.
//!
//! One [`Reassembler`] per SSRC. It holds at most `window` fragments (a ring indexed by the
//! extended sequence number) and at most `max_pending_bytes` of packet memory; past either, the
//! oldest fragments are evicted and counted. Sequence numbers are extended across the 16-bit
//! wrap. Duplicates within the window are recognised (pending or already consumed) and
//! counted; packets older than the window are counted as late. A frame that lost a fragment
//! stays pending until the window passes it, then is evicted and counted as incomplete; it
//! never holds back the frames after it, which complete as soon as their own fragments are in.
//!
//! # Resynchronisation
//! A jump in sequence numbers (a restarted or buggy sender, or packets injected by whoever holds
//! the SRTP key of the leg) must not blackhole the stream. As RTP receivers do (RFC 3550
//! Appendix A.1), a packet more than [`MAX_DROPOUT`] (or the window, if larger) ahead of the
//! newest, or further behind it than the window reaches, is not taken on its own: it is dropped (counted as late) and its
//! successor's number remembered; if the very next packet carries that number, the stream
//! resynchronises on it: everything pending is evicted (counted), the window restarts at that
//! packet, and [`ReassemblyStats::resyncs`] counts it. So two consecutive packets of a genuine
//! stream that moved on bring it back, whatever came before; isolated random sequence numbers
//! never move the window further than `MAX_DROPOUT` at once.
//!
//! # Peer input
//! Whatever the packets, a stream holds at most `window` fragments and `max_pending_bytes`
//! (the window's bitmaps are allocated once, at creation); a packet costs O(1) amortised work,
//! plus a walk over its own frame's fragments when it may complete one.
//!
//! The same engine assembles codec frames in per-packet mode, with the start and end flags
//! taken from the codec instead of the SFrame descriptor (see `MediaAssembler`).

use bytes::{Bytes, BytesMut};

use crate::descriptor::Origin;

/// Limits of one stream's reassembly state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// How far back in sequence numbers a packet may arrive (and how many fragments may be
    /// pending). Rounded up to a power of two, at most 32,768.
    pub window: u16,
    /// The most packet memory held by pending fragments (whole packets are counted, since a
    /// fragment keeps its packet's buffer alive).
    pub max_pending_bytes: usize,
}

impl Default for ReassemblyConfig {
    /// A window of 1,024 packets and 4 MiB.
    fn default() -> Self {
        Self {
            window: 1024,
            max_pending_bytes: 4 << 20,
        }
    }
}

/// Counters of one stream (or, summed, of a depacketizer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Packets accepted into the window.
    pub packets: u64,
    /// Packets dropped as duplicates of one already received.
    pub duplicates: u64,
    /// Packets dropped because they arrived after the window had passed them.
    pub late: u64,
    /// Sequence numbers between the first and the newest received that never arrived, counted
    /// when the window passes them (or at [`Reassembler::flush`]).
    pub lost_packets: u64,
    /// Frames completed and handed out.
    pub frames: u64,
    /// Pending fragments evicted (window passed, memory bound, or flush).
    pub fragments_evicted: u64,
    /// Incomplete frames among the evicted fragments: runs of consecutive evicted fragments
    /// with one timestamp (exact as long as frames of one stream have distinct timestamps).
    pub incomplete_frames: u64,
    /// Complete runs dropped because their fragments disagree on T or on the payload type
    /// (the draft's "abort these steps").
    pub inconsistent_frames: u64,
    /// Times the stream resynchronised after a jump in sequence numbers (see the module docs).
    pub resyncs: u64,
}

impl ReassemblyStats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Self) {
        self.packets += other.packets;
        self.duplicates += other.duplicates;
        self.late += other.late;
        self.lost_packets += other.lost_packets;
        self.frames += other.frames;
        self.fragments_evicted += other.fragments_evicted;
        self.incomplete_frames += other.incomplete_frames;
        self.inconsistent_frames += other.inconsistent_frames;
        self.resyncs += other.resyncs;
    }
}

/// One packet's contribution to a frame.
#[derive(Clone, Debug)]
pub struct Fragment {
    /// First fragment of its frame (S).
    pub start: bool,
    /// Last fragment of its frame (E).
    pub end: bool,
    /// The T bit.
    pub origin: Origin,
    /// The RTP payload type.
    pub payload_type: u8,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The RTP marker bit.
    pub marker: bool,
    /// The fragment's bytes (descriptor removed), usually a slice of the packet's buffer.
    pub data: Bytes,
    /// Bytes of memory this fragment keeps alive (its packet's length).
    pub memory: usize,
}

/// A frame put back together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReassembledFrame {
    /// Sequence number of the first packet.
    pub first_seq: u16,
    /// Number of packets.
    pub packets: u16,
    /// The T bit they share.
    pub origin: Origin,
    /// The payload type they share.
    pub payload_type: u8,
    /// The timestamp of the first packet.
    pub timestamp: u32,
    /// The marker bit of the last packet (the draft's frame metadata).
    pub marker: bool,
    /// The concatenated fragments.
    pub data: BytesMut,
}

/// What became of a pushed packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// It completed a frame.
    Frame(ReassembledFrame),
    /// It is pending, waiting for the rest of its frame.
    Pending,
    /// A duplicate: dropped.
    Duplicate,
    /// Older than the window: dropped.
    Late,
    /// It completed a run whose fragments disagree on T or PT: the run is dropped.
    Inconsistent,
}

/// The reorder window and pending fragments of one stream.
///
/// Peer-fed: at most `window` fragments and `max_pending_bytes` held whatever arrives, and a
/// sequence-number jump resynchronises (module docs).
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    slots: Vec<Option<(u64, Fragment)>>,
    /// One bit per slot: it holds a fragment. Read before a slot is, so that the window
    /// passing over empty slots (most of them, once frames complete) touches only this.
    occupied: Vec<u64>,
    seen: Vec<u64>,
    highest: Option<u64>,
    lowest_received: u64,
    pending_bytes: usize,
    last_evicted: Option<(u64, u32, bool)>,
    /// The sequence number that would confirm a jump (RFC 3550's `bad_seq`).
    bad_seq: Option<u16>,
    stats: ReassemblyStats,
}

/// Bit `i` of a bitmap of `u64` words (`false` past its end).
fn bit(words: &[u64], i: usize) -> bool {
    words.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

fn set_bit(words: &mut [u64], i: usize, on: bool) {
    if let Some(w) = words.get_mut(i / 64) {
        if on {
            *w |= 1 << (i % 64);
        } else {
            *w &= !(1 << (i % 64));
        }
    }
}

/// How far ahead of the newest packet a sequence number may jump and still be taken at once
/// (RFC 3550 Appendix A.1's `MAX_DROPOUT`), unless the window is wider; further jumps need a
/// second, consecutive packet.
pub const MAX_DROPOUT: u16 = 3000;

/// Extended sequence numbers start here, so that packets just before the first one received
/// still have an index.
const EXT_BASE: u64 = 1 << 32;

impl Reassembler {
    /// An empty stream.
    pub fn new(config: ReassemblyConfig) -> Self {
        // A power of two, so that the ring index is a mask.
        let window = usize::from(config.window.clamp(1, 1 << 15)).next_power_of_two();
        Self {
            config: ReassemblyConfig {
                window: window as u16,
                ..config
            },
            slots: vec![None; window],
            occupied: vec![0; window.div_ceil(64)],
            seen: vec![0; window.div_ceil(64)],
            highest: None,
            lowest_received: 0,
            pending_bytes: 0,
            last_evicted: None,
            bad_seq: None,
            stats: ReassemblyStats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Fragments waiting for the rest of their frame.
    pub fn pending_fragments(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Bytes of packet memory they hold.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    fn window(&self) -> u64 {
        u64::from(self.config.window)
    }

    fn index(&self, ext: u64) -> usize {
        (ext & (self.window() - 1)) as usize
    }

    fn seen(&self, ext: u64) -> bool {
        bit(&self.seen, self.index(ext))
    }

    fn set_seen(&mut self, ext: u64, on: bool) {
        let i = self.index(ext);
        set_bit(&mut self.seen, i, on);
    }

    fn occupied(&self, i: usize) -> bool {
        bit(&self.occupied, i)
    }

    fn set_occupied(&mut self, i: usize, on: bool) {
        set_bit(&mut self.occupied, i, on);
    }

    fn slot(&self, ext: u64) -> Option<&Fragment> {
        let i = self.index(ext);
        if !self.occupied(i) {
            return None;
        }
        match self.slots.get(i) {
            Some(Some((e, f))) if *e == ext => Some(f),
            _ => None,
        }
    }

    fn take(&mut self, ext: u64) -> Option<Fragment> {
        let i = self.index(ext);
        if !self.occupied(i) {
            return None;
        }
        let slot = self.slots.get_mut(i)?;
        if slot.as_ref().is_some_and(|(e, _)| *e == ext) {
            let (_, f) = slot.take()?;
            self.set_occupied(i, false);
            self.pending_bytes = self.pending_bytes.saturating_sub(f.memory);
            Some(f)
        } else {
            None
        }
    }

    fn evict(&mut self, ext: u64) {
        if let Some(f) = self.take(ext) {
            self.stats.fragments_evicted += 1;
            // Evictions come in sequence order; a gap between two evicted fragments of one
            // frame is the fragment that was lost.
            let continues = self
                .last_evicted
                .is_some_and(|(e, ts, end)| e < ext && ts == f.timestamp && !end && !f.start);
            if !continues {
                self.stats.incomplete_frames += 1;
            }
            self.last_evicted = Some((ext, f.timestamp, f.end));
        }
    }

    /// The sequence number `ext` leaves the window: count it lost if it never came.
    fn leave(&mut self, ext: u64) {
        if ext >= self.lowest_received && !self.seen(ext) {
            self.stats.lost_packets += 1;
        }
        self.evict(ext);
        self.set_seen(ext, false);
    }

    fn advance(&mut self, old: u64, new: u64) {
        let w = self.window();
        if new - old >= w {
            for ext in old + 1 - w..=old {
                self.leave(ext);
            }
            // Everything in (old, new - w] was never seen and is already out of the window.
            self.stats.lost_packets += (new - w).saturating_sub(old);
            self.seen.fill(0);
        } else {
            for ext in old + 1..=new {
                self.leave(ext - w);
            }
        }
        self.highest = Some(new);
    }

    /// Pushes the packet with sequence number `seq`.
    pub fn push(&mut self, seq: u16, fragment: Fragment) -> Pushed {
        let w = self.window();
        let ext = match self.highest {
            None => {
                let ext = EXT_BASE + u64::from(seq);
                self.highest = Some(ext);
                self.lowest_received = ext;
                ext
            }
            Some(high) => {
                let delta = i64::from(seq.wrapping_sub(high as u16) as i16);
                let ext = high.saturating_add_signed(delta);
                // A window wider than MAX_DROPOUT says reordering reaches that far.
                let dropout = i64::from(MAX_DROPOUT).max(w as i64);
                if delta > 0 && delta < dropout {
                    self.advance(high, ext);
                    ext
                } else if delta <= 0 && high - ext < w {
                    ext
                } else if self.bad_seq == Some(seq) {
                    // Two consecutive packets far from the window: the stream moved on.
                    self.resync();
                    self.stats.resyncs += 1;
                    let ext = EXT_BASE + u64::from(seq);
                    self.highest = Some(ext);
                    self.lowest_received = ext;
                    ext
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    self.stats.late += 1;
                    return Pushed::Late;
                }
            }
        };
        self.bad_seq = None;
        if self.seen(ext) {
            self.stats.duplicates += 1;
            return Pushed::Duplicate;
        }
        self.set_seen(ext, true);
        self.lowest_received = self.lowest_received.min(ext);
        self.stats.packets += 1;
        self.pending_bytes += fragment.memory;
        let i = self.index(ext);
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some((ext, fragment));
            self.set_occupied(i, true);
        }
        self.enforce_memory_bound(ext);
        match self.find_run(ext) {
            Some((first, last)) => self.complete(first, last),
            None => Pushed::Pending,
        }
    }

    fn enforce_memory_bound(&mut self, newest: u64) {
        let Some(high) = self.highest else { return };
        let mut ext = (high + 1).saturating_sub(self.window());
        // Oldest first, keeping the fragment just pushed as long as anything else can go.
        while self.pending_bytes > self.config.max_pending_bytes && ext <= high {
            if ext != newest {
                self.evict(ext);
            }
            ext += 1;
        }
        if self.pending_bytes > self.config.max_pending_bytes {
            self.evict(newest);
        }
    }

    /// The smallest run of consecutive pending fragments from an S to an E that contains
    /// `ext`: S only on its first fragment and E only on its last.
    ///
    /// Forward first: with packets arriving in order the next one is not there yet, so a
    /// middle fragment costs O(1) and only the last one walks back over its frame.
    fn find_run(&self, ext: u64) -> Option<(u64, u64)> {
        let here = self.slot(ext)?;
        let mut last = ext;
        if !here.end {
            loop {
                last += 1;
                let f = self.slot(last)?;
                if f.start {
                    return None;
                }
                if f.end {
                    break;
                }
            }
        }
        let mut first = ext;
        if !here.start {
            loop {
                first = first.checked_sub(1)?;
                let f = self.slot(first)?;
                if f.end {
                    return None;
                }
                if f.start {
                    break;
                }
            }
        }
        Some((first, last))
    }

    fn complete(&mut self, first: u64, last: u64) -> Pushed {
        let Some(head) = self.slot(first) else {
            return Pushed::Pending;
        };
        let (origin, payload_type, timestamp) = (head.origin, head.payload_type, head.timestamp);
        let (mut consistent, mut total, mut marker) = (true, 0, false);
        for ext in first..=last {
            if let Some(f) = self.slot(ext) {
                consistent &= f.origin == origin && f.payload_type == payload_type;
                total += f.data.len();
                marker = f.marker;
            }
        }
        let data = if !consistent {
            for ext in first..=last {
                self.take(ext);
            }
            self.stats.inconsistent_frames += 1;
            return Pushed::Inconsistent;
        } else if first == last {
            match self.take(first) {
                Some(f) => f
                    .data
                    .try_into_mut()
                    .unwrap_or_else(|b| BytesMut::from(&b[..])),
                None => BytesMut::new(),
            }
        } else {
            let mut data = BytesMut::with_capacity(total);
            for ext in first..=last {
                if let Some(f) = self.take(ext) {
                    data.extend_from_slice(&f.data);
                }
            }
            data
        };
        self.stats.frames += 1;
        Pushed::Frame(ReassembledFrame {
            first_seq: first as u16,
            packets: (last - first + 1) as u16,
            origin,
            payload_type,
            timestamp,
            marker,
            data,
        })
    }

    /// Drops the window: every pending fragment is evicted (and counted), the bitmaps cleared;
    /// the caller starts a new window.
    fn resync(&mut self) {
        if let Some(high) = self.highest {
            let low = (high + 1).saturating_sub(self.window());
            for ext in low..=high {
                self.evict(ext);
            }
        }
        self.seen.fill(0);
        self.highest = None;
        self.last_evicted = None;
        self.bad_seq = None;
    }

    /// End of stream: evicts every pending fragment (counting incomplete frames) and counts
    /// the sequence numbers still missing in the window as lost.
    pub fn flush(&mut self) {
        let Some(high) = self.highest else { return };
        let low = (high + 1).saturating_sub(self.window());
        for ext in low..=high {
            if ext >= self.lowest_received && !self.seen(ext) {
                self.stats.lost_packets += 1;
                self.set_seen(ext, true);
            }
            self.evict(ext);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(start: bool, end: bool, ts: u32, data: &[u8]) -> Fragment {
        Fragment {
            start,
            end,
            origin: Origin::Raw,
            payload_type: 96,
            timestamp: ts,
            marker: end,
            data: Bytes::copy_from_slice(data),
            memory: data.len() + 13,
        }
    }

    fn frame_data(p: Pushed) -> Vec<u8> {
        match p {
            Pushed::Frame(f) => f.data.to_vec(),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn in_order_and_reordered_fragments() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(r.push(10, frag(true, false, 1, b"ab")), Pushed::Pending);
        assert_eq!(r.push(11, frag(false, false, 1, b"cd")), Pushed::Pending);
        assert_eq!(
            frame_data(r.push(12, frag(false, true, 1, b"ef"))),
            b"abcdef"
        );
        // Reordered: end first, then start, then middle.
        assert_eq!(r.push(15, frag(false, true, 2, b"3")), Pushed::Pending);
        assert_eq!(r.push(13, frag(true, false, 2, b"1")), Pushed::Pending);
        assert_eq!(frame_data(r.push(14, frag(false, false, 2, b"2"))), b"123");
        assert_eq!(r.pending_fragments(), 0);
        assert_eq!(r.stats().frames, 2);
    }

    #[test]
    fn sequence_wrap() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(r.push(65534, frag(true, false, 1, b"a")), Pushed::Pending);
        assert_eq!(r.push(0, frag(false, false, 1, b"c")), Pushed::Pending);
        assert_eq!(r.push(65535, frag(false, false, 1, b"b")), Pushed::Pending);
        let f = match r.push(1, frag(false, true, 1, b"d")) {
            Pushed::Frame(f) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (&f.data[..], f.first_seq, f.packets),
            (&b"abcd"[..], 65534, 4)
        );
    }

    #[test]
    fn duplicates_pending_and_consumed() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(r.push(1, frag(true, false, 1, b"a")), Pushed::Pending);
        assert_eq!(r.push(1, frag(true, false, 1, b"a")), Pushed::Duplicate);
        assert_eq!(frame_data(r.push(2, frag(false, true, 1, b"b"))), b"ab");
        assert_eq!(r.push(2, frag(false, true, 1, b"b")), Pushed::Duplicate);
        assert_eq!(r.push(1, frag(true, false, 1, b"a")), Pushed::Duplicate);
        assert_eq!(r.stats().duplicates, 3);
        assert_eq!(r.stats().frames, 1);
    }

    #[test]
    fn lost_fragment_is_evicted_counted_and_blocks_nothing() {
        let cfg = ReassemblyConfig {
            window: 8,
            max_pending_bytes: 1 << 20,
        };
        let mut r = Reassembler::new(cfg);
        // Frame 1 = seq 0..=2, seq 1 lost.
        r.push(0, frag(true, false, 1, b"x"));
        r.push(2, frag(false, true, 1, b"z"));
        // Frames 2.. complete right away, single packet each.
        for seq in 3..20u16 {
            assert!(matches!(
                r.push(seq, frag(true, true, u32::from(seq), b"k")),
                Pushed::Frame(_)
            ));
        }
        let s = r.stats();
        assert_eq!(s.frames, 17);
        assert_eq!(s.fragments_evicted, 2);
        assert_eq!(s.incomplete_frames, 1);
        assert_eq!(s.lost_packets, 1);
        // The lost one arriving now is late.
        assert_eq!(r.push(1, frag(false, false, 1, b"y")), Pushed::Late);
        assert_eq!(r.pending_fragments(), 0);
    }

    #[test]
    fn smallest_run_wins() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        // S at 1 and at 2, E at 3: the frame is 2..=3; 1 is left pending.
        r.push(1, frag(true, false, 1, b"old"));
        r.push(3, frag(false, true, 2, b"B"));
        assert_eq!(frame_data(r.push(2, frag(true, false, 2, b"A"))), b"AB");
        assert_eq!(r.pending_fragments(), 1);
        r.flush();
        assert_eq!(r.stats().incomplete_frames, 1);
        assert_eq!(r.pending_fragments(), 0);
    }

    #[test]
    fn inconsistent_runs_are_dropped() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        r.push(1, frag(true, false, 1, b"a"));
        let mut other_pt = frag(false, true, 1, b"b");
        other_pt.payload_type = 97;
        assert_eq!(r.push(2, other_pt), Pushed::Inconsistent);
        r.push(3, frag(true, false, 2, b"a"));
        let mut other_t = frag(false, true, 2, b"b");
        other_t.origin = Origin::Packetized;
        assert_eq!(r.push(4, other_t), Pushed::Inconsistent);
        assert_eq!(r.stats().inconsistent_frames, 2);
        assert_eq!(r.pending_fragments(), 0);
    }

    #[test]
    fn memory_bound_evicts_oldest() {
        let cfg = ReassemblyConfig {
            window: 1024,
            max_pending_bytes: 1000,
        };
        let mut r = Reassembler::new(cfg);
        // Starts without ends: never complete; memory must stay bounded.
        for seq in 0..500u16 {
            r.push(seq, frag(true, false, u32::from(seq), &[0; 87]));
            assert!(r.pending_bytes() <= 1000);
        }
        assert_eq!(r.pending_fragments(), 10);
        assert_eq!(r.stats().incomplete_frames, 490);
    }

    #[test]
    fn big_jump_counts_the_gap() {
        let cfg = ReassemblyConfig {
            window: 16,
            max_pending_bytes: 1 << 20,
        };
        let mut r = Reassembler::new(cfg);
        r.push(100, frag(true, true, 1, b"a"));
        r.push(200, frag(true, true, 2, b"b"));
        r.flush();
        assert_eq!(r.stats().lost_packets, 99);
        assert_eq!(r.stats().frames, 2);
    }

    #[test]
    fn a_window_wider_than_max_dropout_takes_jumps_within_it() {
        let cfg = ReassemblyConfig {
            window: 8192,
            max_pending_bytes: 1 << 20,
        };
        let mut r = Reassembler::new(cfg);
        assert_eq!(r.push(100, frag(true, false, 1, b"a")), Pushed::Pending);
        assert_eq!(r.push(5100, frag(false, false, 1, b"b")), Pushed::Pending);
        assert_eq!(r.stats().resyncs, 0);
        // With the default window, the same jump is a probe, and its successor resyncs.
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(frame_data(r.push(100, frag(true, true, 1, b"a"))), b"a");
        assert_eq!(r.push(5100, frag(true, false, 2, b"b")), Pushed::Late);
        assert_eq!(frame_data(r.push(5101, frag(true, true, 3, b"c"))), b"c");
        assert_eq!(r.stats().resyncs, 1);
    }

    proptest::proptest! {
        /// Whatever sequence of pushes: no panic, state bounded, and every completed frame is
        /// a run that was pushed.
        #[test]
        fn arbitrary_pushes_stay_bounded(ops in proptest::collection::vec(
            (proptest::num::u16::ANY, 0u8..4, 0u8..3, 0usize..300), 0..400)) {
            let cfg = ReassemblyConfig { window: 64, max_pending_bytes: 4000 };
            let mut r = Reassembler::new(cfg);
            for (seq, flags, pt, len) in ops {
                let mut f = frag(flags & 1 != 0, flags & 2 != 0, u32::from(seq / 4), &vec![1; len]);
                f.payload_type = pt;
                let _ = r.push(seq % 256, f);
                proptest::prop_assert!(r.pending_bytes() <= 4000);
                proptest::prop_assert!(r.pending_fragments() <= 64);
            }
            r.flush();
            proptest::prop_assert_eq!(r.pending_fragments(), 0);
            proptest::prop_assert_eq!(r.pending_bytes(), 0);
        }
    }
}
