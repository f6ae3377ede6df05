//! Fuzz target `sfu`: the SFU's packet path, `Sfu::receive`, with three participants whose SRTP
//! legs are keyed (a fuzzed profile): participant 1 sends on SSRC `0xA`, participant 2 on
//! `0xB`, participant 3 only receives, directly or (fuzzed) through a slot that switches
//! between the two sources. In: genuine packets (fuzzed descriptor byte, marker, timestamp and
//! sequence steps, payload), some held back and delivered late, genuine packets with a byte
//! flipped, replays of delivered packets, and raw bytes from any participant or from one the
//! SFU does not know. Nothing panics, and:
//!
//! - a genuine packet is forwarded to every other participant that takes its source directly,
//!   once each, and to participant 3's slot at most once; each copy unprotects with the
//!   destination's own SRTP keys (a fresh index for that destination: the SFU never reuses
//!   one) to exactly the packet sent (the slot's copy: the same payload, marker and payload
//!   type under the slot's SSRC); a genuine packet without a payload descriptor is refused as
//!   malformed; a late one is forwarded or refused by the SRTP replay window, nothing else;
//! - anything else (a flipped byte, a replay, raw bytes, an unknown participant) is refused
//!   with a peer-input error, forwards nothing, and moves exactly one refusal counter (none for
//!   an unknown participant); the genuine packets after it are forwarded as before;
//! - the counters add up: received = forwarded packets + refusals (+ unknown participants),
//!   forwarded copies = the copies handed out, no protect failures.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sframe_rtp::{
    RtpView, SframeRtpError as Error, Sfu, SfuStats, SrtpContext, SrtpError, SrtpKeys, SrtpProfile,
    SrtpTransform,
};

/// Participants 1 and 2 send on these; 3 only receives.
const SOURCES: [u32; 2] = [0xA, 0xB];
const SLOT_SSRC: u32 = 0x5107;
const UNKNOWN_PARTICIPANT: u32 = 9;
/// The SRTP replay window of every receiving context.
const WINDOW: usize = 1024;
const MAX_HELD: usize = 8;
const MAX_DELIVERED: usize = 32;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    profile: u8,
    seed: u8,
    /// Participant 3 takes both sources through one slot (else directly).
    slot: bool,
    ops: Vec<Op<'a>>,
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    /// A genuine packet of source `SOURCES[second as usize]`.
    Genuine {
        second: bool,
        descriptor: u8,
        /// No payload at all (not even the descriptor): malformed after SRTP.
        empty: bool,
        marker: bool,
        ts_step: u16,
        /// Sequence numbers skipped before this one (a loss upstream).
        seq_skip: u8,
        payload: &'a [u8],
        /// Kept back and delivered by a later `Release`.
        hold: bool,
    },
    /// The held packet `i % held` now.
    Release(u8),
    /// The next genuine packet of a source with one byte flipped.
    Flip { second: bool, at: u16, mask: u8 },
    /// A delivered packet once more.
    Replay(u8),
    /// Raw bytes from participant `1 + from % 4` (4: not a participant), the SSRC field set to
    /// a source's when `ssrc` says so.
    Raw {
        from: u8,
        ssrc: Option<bool>,
        bytes: &'a [u8],
    },
    /// Participant 3's slot switches to a source.
    Switch(bool),
}

fn keys(profile: SrtpProfile, seed: u8, leg: u8) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: vec![seed ^ leg; profile.key_len()],
        master_salt: vec![seed.wrapping_add(leg); profile.salt_len()],
    }
}

/// Leg numbers: participant p sends on leg 2p and receives on leg 2p + 1.
fn up(p: u32) -> u8 {
    (2 * p) as u8
}
fn down(p: u32) -> u8 {
    (2 * p + 1) as u8
}

struct Source {
    tx: SrtpContext,
    seq: u16,
    ts: u32,
}

struct Genuine {
    from: u32,
    plain: Vec<u8>,
    wire: Vec<u8>,
    empty: bool,
}

struct World {
    profile: SrtpProfile,
    sfu: Sfu,
    sources: [Source; 2],
    /// The receiving contexts of participants 1, 2, 3 (SFU to participant).
    rx: Vec<SrtpContext>,
    slot: bool,
    held: Vec<Genuine>,
    delivered: Vec<Vec<u8>>,
    calls: u64,
    forwarded: u64,
    copies: u64,
    refusals: u64,
    unknown: u64,
}

impl World {
    fn new(profile: SrtpProfile, seed: u8, slot: bool) -> Self {
        let mut sfu = Sfu::new();
        for p in 1..=3u32 {
            let sources: &[u32] = match p {
                1 => &SOURCES[..1],
                2 => &SOURCES[1..],
                _ => &[],
            };
            sfu.add_participant(
                p,
                Box::new(SrtpContext::receiver(&keys(profile, seed, up(p)), WINDOW).unwrap()),
                Box::new(SrtpContext::sender(&keys(profile, seed, down(p))).unwrap()),
                sources,
            )
            .unwrap();
        }
        if slot {
            sfu.add_slot(3, SLOT_SSRC, &SOURCES, SOURCES[0]).unwrap();
        }
        let rx = (1..=3u32)
            .map(|p| {
                let mut c = SrtpContext::receiver(&keys(profile, seed, down(p)), WINDOW).unwrap();
                for s in SOURCES.into_iter().chain([SLOT_SSRC]) {
                    c.allow_ssrc(s);
                }
                c
            })
            .collect();
        let source = |p: u32| Source {
            tx: SrtpContext::sender(&keys(profile, seed, up(p))).unwrap(),
            seq: u16::from(seed) << 8,
            ts: u32::from(seed),
        };
        Self {
            profile,
            sfu,
            sources: [source(1), source(2)],
            rx,
            slot,
            held: Vec::new(),
            delivered: Vec::new(),
            calls: 0,
            forwarded: 0,
            copies: 0,
            refusals: 0,
            unknown: 0,
        }
    }

    /// The next genuine packet of source `i`, protected.
    fn genuine(&mut self, i: usize, op: &Op<'_>) -> Genuine {
        let (descriptor, empty, marker, ts_step, seq_skip, payload) = match *op {
            Op::Genuine {
                descriptor,
                empty,
                marker,
                ts_step,
                seq_skip,
                payload,
                ..
            } => (descriptor, empty, marker, ts_step, seq_skip, payload),
            _ => (0xc0, false, true, 3000, 0, &b"flip"[..]),
        };
        let s = &mut self.sources[i];
        s.seq = s.seq.wrapping_add(1 + u16::from(seq_skip % 4));
        s.ts = s.ts.wrapping_add(u32::from(ts_step));
        let mut plain = vec![0x80, 96 | if marker { 0x80 } else { 0 }];
        plain.extend_from_slice(&s.seq.to_be_bytes());
        plain.extend_from_slice(&s.ts.to_be_bytes());
        plain.extend_from_slice(&SOURCES[i].to_be_bytes());
        if !empty {
            plain.push(descriptor);
            plain.extend_from_slice(&payload[..payload.len().min(1200)]);
        }
        let n = plain.len();
        let mut wire = vec![0u8; n + self.profile.overhead()];
        wire[..n].copy_from_slice(&plain);
        let n = s.tx.protect(&mut wire, n).unwrap();
        wire.truncate(n);
        Genuine {
            from: i as u32 + 1,
            plain,
            wire,
            empty,
        }
    }

    fn receive(&mut self, from: u32, wire: &[u8]) -> Result<sframe_rtp::Forwarded, Error> {
        self.calls += 1;
        self.sfu.receive(from, wire)
    }

    /// A refused packet: a peer-input error, nothing forwarded, one refusal counter moved.
    fn refused(&mut self, before: SfuStats, r: Result<sframe_rtp::Forwarded, Error>) {
        let e = match r {
            Ok(f) => panic!("a packet that is not genuine was forwarded: {:?}", f.info),
            Err(e) => e,
        };
        assert!(e.is_peer_input(), "{e:?}");
        let after = self.sfu.stats();
        assert_eq!(after.forwarded, before.forwarded);
        if matches!(e, Error::UnknownParticipant(_)) {
            self.unknown += 1;
            assert_eq!(refusals(after), refusals(before));
        } else {
            self.refusals += 1;
            assert_eq!(refusals(after), refusals(before) + 1, "{e:?}");
            match e {
                Error::Srtp(SrtpError::Replay { .. }) => {
                    assert_eq!(after.srtp_replays, before.srtp_replays + 1)
                }
                Error::Srtp(SrtpError::AuthenticationFailed) => {
                    assert_eq!(after.srtp_auth_failures, before.srtp_auth_failures + 1)
                }
                Error::Rtp(_) => assert_eq!(after.malformed, before.malformed + 1),
                _ => assert_eq!(after.srtp_other, before.srtp_other + 1),
            }
        }
    }

    /// Delivers a genuine packet; `late`: it may be refused by the replay window.
    fn deliver(&mut self, g: Genuine, late: bool) {
        let before = self.sfu.stats();
        let r = self.receive(g.from, &g.wire);
        if g.empty {
            assert!(matches!(r, Err(Error::Rtp(_))), "{r:?}");
            self.refusals += 1;
            assert_eq!(self.sfu.stats().malformed, before.malformed + 1);
            return;
        }
        let f = match r {
            Ok(f) => f,
            Err(Error::Srtp(SrtpError::Replay { .. })) if late => {
                self.refusals += 1;
                assert_eq!(self.sfu.stats().srtp_replays, before.srtp_replays + 1);
                return;
            }
            Err(e) => panic!("a genuine packet was refused: {e:?}"),
        };
        let source = SOURCES[g.from as usize - 1];
        assert_eq!(f.info.ssrc, source);
        assert_eq!(&f.seen[..], &g.plain[..]);
        self.forwarded += 1;
        let mut seen = [0u32; 4];
        for (to, copy) in f.out {
            assert!(to != g.from && (1..=3).contains(&to), "copy to {to}");
            seen[to as usize] += 1;
            self.copies += 1;
            let mut copy = copy;
            let plain = match self.rx[to as usize - 1].unprotect(&mut copy) {
                Ok(p) => p.to_vec(),
                Err(e) => panic!("the copy for {to} does not unprotect: {e:?}"),
            };
            if to == 3 && self.slot {
                let (a, b) = (
                    RtpView::parse(&plain).unwrap(),
                    RtpView::parse(&g.plain).unwrap(),
                );
                assert_eq!(a.ssrc(), SLOT_SSRC);
                assert_eq!(a.payload(), b.payload());
                assert_eq!(
                    (a.marker(), a.payload_type()),
                    (b.marker(), b.payload_type())
                );
            } else {
                assert_eq!(plain, g.plain, "the copy for {to}");
            }
        }
        for p in 1..=3u32 {
            let expected = p != g.from && !(p == 3 && self.slot);
            if expected {
                assert_eq!(seen[p as usize], 1, "copies for {p}");
            } else {
                assert!(seen[p as usize] <= 1, "copies for {p}");
            }
        }
        if self.delivered.len() == MAX_DELIVERED {
            self.delivered.remove(0);
        }
        self.delivered.push(g.wire);
    }

    fn check_counters(&self) {
        let s = self.sfu.stats();
        assert_eq!(s.received, self.calls);
        assert_eq!(s.forwarded, self.copies);
        assert_eq!(s.protect_failures, 0);
        assert_eq!(refusals(s), self.refusals);
        assert_eq!(self.forwarded + self.refusals + self.unknown, self.calls);
    }

    fn run(&mut self, op: &Op<'_>) {
        match *op {
            Op::Genuine { second, hold, .. } => {
                let g = self.genuine(usize::from(second), op);
                // Late packets with a slot too: a slot holds back a packet of its source
                // older than the one it switched on (the bug this target found, fixed; see
                // rtp-glue/tests/sfu_slot_index_reuse.rs).
                if hold && self.held.len() < MAX_HELD {
                    self.held.push(g);
                } else {
                    self.deliver(g, false);
                }
            }
            Op::Release(i) => {
                if !self.held.is_empty() {
                    let g = self.held.remove(usize::from(i) % self.held.len());
                    self.deliver(g, true);
                }
            }
            Op::Flip { second, at, mask } => {
                let mut g = self.genuine(usize::from(second), op);
                let at = usize::from(at) % g.wire.len();
                g.wire[at] ^= mask | 1;
                let before = self.sfu.stats();
                let r = self.receive(g.from, &g.wire);
                self.refused(before, r);
            }
            Op::Replay(i) => {
                if !self.delivered.is_empty() {
                    let wire = self.delivered[usize::from(i) % self.delivered.len()].clone();
                    let from = u32::from(wire[11] == 0xB) + 1;
                    let before = self.sfu.stats();
                    let r = self.receive(from, &wire);
                    self.refused(before, r);
                }
            }
            Op::Raw { from, ssrc, bytes } => {
                let from = match from % 4 {
                    3 => UNKNOWN_PARTICIPANT,
                    p => u32::from(p) + 1,
                };
                let mut raw = bytes.to_vec();
                if let (Some(second), Some(field)) = (ssrc, raw.get_mut(8..12)) {
                    field.copy_from_slice(&SOURCES[usize::from(second)].to_be_bytes());
                }
                let before = self.sfu.stats();
                let r = self.receive(from, &raw);
                self.refused(before, r);
            }
            Op::Switch(second) => {
                if self.slot {
                    self.sfu
                        .switch_slot(3, SLOT_SSRC, SOURCES[usize::from(second)])
                        .unwrap();
                }
            }
        }
        self.check_counters();
    }
}

fn refusals(s: SfuStats) -> u64 {
    s.srtp_replays + s.srtp_auth_failures + s.srtp_other + s.malformed
}

fuzz_target!(|input: Input<'_>| {
    let profile = SrtpProfile::ALL[usize::from(input.profile) % SrtpProfile::ALL.len()];
    let mut world = World::new(profile, input.seed, input.slot);
    for op in input.ops.iter().take(256) {
        world.run(op);
    }
});
