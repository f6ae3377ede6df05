//! Attack class: forged and malformed packets at the SFU (issue 14's rule at the SFU layer).
//! Whatever a participant's leg, a stranger or the network sends that is not a genuine packet
//! (raw bytes, a genuine packet with a byte flipped, a replay, a packet on an SSRC that is not
//! the sender's, an unknown participant, RTP without a payload descriptor) must:
//!
//! - change no state: an SFU that saw the forgeries forwards every genuine packet to exactly
//!   the same bytes as a twin SFU with the same keys that never saw them, and only the refusal
//!   counters move;
//! - cost at most what a genuine packet costs, counted in work rather than time: one SRTP
//!   unprotect attempt and no protect (a genuine packet costs one unprotect and one protect per
//!   destination); the time it takes is in the benchmark table (BENCHMARKING.md);
//! - leave no memory behind: the heap holds the same bytes before and after each one (a
//!   live-bytes counting allocator).

// `GlobalAlloc` is an unsafe trait: every method forwards to `System` unchanged; the only
// addition is a thread-local live-bytes count.
#![allow(unsafe_code, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sframe_rtp::{SframeRtpError as Error, Sfu, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};

struct LiveBytes;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn add(n: i64) {
    let _ = LIVE.try_with(|l| l.set(l.get() + n));
}

fn live() -> i64 {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local `Cell<i64>`.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as i64);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as i64);
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as i64 - layout.size() as i64);
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as i64));
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

/// SRTP calls made by the SFU's contexts.
#[derive(Debug, Default)]
struct Work {
    unprotects: AtomicU64,
    protects: AtomicU64,
}

impl Work {
    fn get(&self) -> (u64, u64) {
        (
            self.unprotects.load(Ordering::Relaxed),
            self.protects.load(Ordering::Relaxed),
        )
    }
}

/// An SRTP context that counts its calls.
#[derive(Debug)]
struct Metered {
    inner: SrtpContext,
    work: Arc<Work>,
}

impl SrtpTransform for Metered {
    fn profile(&self) -> SrtpProfile {
        self.inner.profile()
    }

    fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.work.protects.fetch_add(1, Ordering::Relaxed);
        self.inner.protect(buf, len)
    }

    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        self.work.unprotects.fetch_add(1, Ordering::Relaxed);
        self.inner.unprotect(packet)
    }

    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.work.protects.fetch_add(1, Ordering::Relaxed);
        self.inner.protect_rtcp(buf, len)
    }

    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        self.work.unprotects.fetch_add(1, Ordering::Relaxed);
        self.inner.unprotect_rtcp(packet)
    }

    fn allow_ssrc(&mut self, ssrc: u32) {
        self.inner.allow_ssrc(ssrc);
    }
}

const PARTICIPANTS: [u32; 3] = [1, 2, 3];

fn keys(profile: SrtpProfile, seed: u8) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: vec![seed; profile.key_len()],
        master_salt: vec![seed ^ 0x5a; profile.salt_len()],
    }
}

/// Participant p sends on SSRC 10p + 1, protected with leg key p; the SFU protects towards p
/// with key 100 + p.
fn sfu(profile: SrtpProfile, work: &Arc<Work>) -> Sfu {
    let mut sfu = Sfu::new();
    for p in PARTICIPANTS {
        let seed = u8::try_from(p).unwrap();
        let metered = |k: SrtpKeys, rx: bool| -> Box<dyn SrtpTransform> {
            let inner = if rx {
                SrtpContext::receiver(&k, 1024).unwrap()
            } else {
                SrtpContext::sender(&k).unwrap()
            };
            Box::new(Metered {
                inner,
                work: Arc::clone(work),
            })
        };
        sfu.add_participant(
            p,
            metered(keys(profile, seed), true),
            metered(keys(profile, seed + 100), false),
            &[p * 10 + 1],
        )
        .unwrap();
    }
    sfu
}

fn rtp(ssrc: u32, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn protect(tx: &mut SrtpContext, plain: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; plain.len() + tx.profile().overhead()];
    buf[..plain.len()].copy_from_slice(plain);
    let n = tx.protect(&mut buf, plain.len()).unwrap();
    buf.truncate(n);
    buf
}

/// Everything hostile sent after genuine packet `i` (`wire`), as (from, bytes).
fn hostile(
    i: usize,
    wire: &[u8],
    mallory: &mut SrtpContext,
    mallory_seq: &mut u16,
) -> Vec<(u32, Vec<u8>)> {
    let mut v = Vec::new();
    // Raw bytes of every awkward length, some with the sender's SSRC.
    for len in [0usize, 1, 11, 12, 13, 40, wire.len(), 1500] {
        let mut raw: Vec<u8> = (0..len).map(|k| (k * 31 + i * 7) as u8).collect();
        if len >= 12 {
            raw[0] = 0x80;
            raw[8..12].copy_from_slice(&11u32.to_be_bytes());
        }
        v.push((1, raw));
    }
    // The genuine packet with one byte flipped (header, payload or tag).
    let mut flipped = wire.to_vec();
    let at = i % flipped.len();
    flipped[at] ^= 0x04;
    v.push((1, flipped));
    // The genuine packet again (a replay), and from the wrong participant.
    v.push((1, wire.to_vec()));
    v.push((2, wire.to_vec()));
    // A participant the SFU does not know.
    v.push((9, wire.to_vec()));
    // Participant 2 (Mallory, holding her own leg key) sends on participant 1's SSRC.
    *mallory_seq = mallory_seq.wrapping_add(1);
    v.push((
        2,
        protect(mallory, &rtp(11, *mallory_seq, &[0xc0, 1, 2, 3])),
    ));
    v
}

fn run(profile: SrtpProfile) {
    let work = Arc::new(Work::default());
    let twin_work = Arc::new(Work::default());
    let mut attacked = sfu(profile, &work);
    let mut twin = sfu(profile, &twin_work);
    let mut alice = SrtpContext::sender(&keys(profile, 1)).unwrap();
    let mut mallory = SrtpContext::sender(&keys(profile, 2)).unwrap();
    let mut mallory_seq = 7000u16;
    let mut hostile_count = 0u64;
    for i in 0..200usize {
        let payload: Vec<u8> = [0xc0]
            .into_iter()
            .chain((0..(i % 7) * 150).map(|k| k as u8))
            .collect();
        let wire = protect(&mut alice, &rtp(11, 1000 + i as u16, &payload));

        // A genuine packet: one unprotect, one protect per other participant; the same
        // bytes out of both SFUs.
        let before = work.get();
        let a = attacked.receive(1, &wire).unwrap();
        let b = twin.receive(1, &wire).unwrap();
        let after = work.get();
        assert_eq!(
            after.0 - before.0,
            1,
            "{profile:?}: unprotects of a genuine packet"
        );
        assert_eq!(
            after.1 - before.1,
            2,
            "{profile:?}: protects of a genuine packet"
        );
        assert_eq!(
            a.out, b.out,
            "{profile:?}: packet {i} forwarded differently"
        );
        assert_eq!(a.out.len(), 2);
        drop((a, b));

        for (from, bytes) in hostile(i, &wire, &mut mallory, &mut mallory_seq) {
            hostile_count += 1;
            let stats = attacked.stats();
            let before = work.get();
            let heap = live();
            let r = attacked.receive(from, &bytes);
            let refused = match r {
                Ok(f) => panic!("{profile:?}: a forged packet was forwarded: {:?}", f.info),
                Err(e) => e,
            };
            assert!(refused.is_peer_input(), "{refused:?}");
            assert_eq!(
                live(),
                heap,
                "{profile:?}: a refused packet left heap memory"
            );
            let after = work.get();
            assert!(
                after.0 - before.0 <= 1,
                "{profile:?}: more than one unprotect"
            );
            assert_eq!(
                after.1, before.1,
                "{profile:?}: a refused packet was protected"
            );
            let now = attacked.stats();
            assert_eq!(now.forwarded, stats.forwarded);
            assert_eq!(now.protect_failures, 0);
        }
    }
    let (a, b) = (attacked.stats(), twin.stats());
    assert_eq!(a.forwarded, b.forwarded);
    assert_eq!(a.received, b.received + hostile_count);
    let refusals = a.srtp_replays + a.srtp_auth_failures + a.srtp_other + a.malformed;
    // 200 genuine packets, and 200 for an unknown participant: counted as received, refused
    // by no leg.
    assert_eq!(refusals + 200 + 200, a.received);
    assert_eq!(
        b.srtp_replays + b.srtp_auth_failures + b.srtp_other + b.malformed,
        0
    );
    assert_eq!(
        twin_work.get().1,
        work.get().1,
        "the same protects as the twin"
    );
}

#[test]
fn forged_packets_change_nothing_cost_one_unprotect_and_leave_no_memory() {
    for profile in SrtpProfile::ALL {
        run(profile);
    }
}

#[test]
fn malformed_rtp_from_a_keyed_leg_is_counted_and_changes_nothing_else() {
    let profile = SrtpProfile::AeadAes128Gcm;
    let work = Arc::new(Work::default());
    let twin_work = Arc::new(Work::default());
    let mut attacked = sfu(profile, &work);
    let mut twin = sfu(profile, &twin_work);
    let mut alice = SrtpContext::sender(&keys(profile, 1)).unwrap();
    let mut bob = SrtpContext::sender(&keys(profile, 2)).unwrap();
    for i in 0..100u16 {
        let wire = protect(&mut alice, &rtp(11, i, &[0xc0, 9, 9]));
        let (a, b) = (
            attacked.receive(1, &wire).unwrap(),
            twin.receive(1, &wire).unwrap(),
        );
        assert_eq!(a.out, b.out);
        drop((a, b));
        // Bob, on his own SSRC with his own key: an RTP packet with no payload descriptor.
        let bad = protect(&mut bob, &rtp(21, i, &[]));
        let stats = attacked.stats();
        let (before, heap) = (work.get(), live());
        let r = attacked.receive(2, &bad);
        assert!(matches!(r, Err(Error::Rtp(_))), "{r:?}");
        drop(r);
        assert_eq!(live(), heap);
        let after = work.get();
        assert_eq!((after.0 - before.0, after.1 - before.1), (1, 0));
        assert_eq!(attacked.stats().malformed, stats.malformed + 1);
        assert_eq!(attacked.stats().forwarded, stats.forwarded);
    }
}
