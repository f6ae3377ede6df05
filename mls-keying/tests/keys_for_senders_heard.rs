//! Keys only for senders a member hears (issue 13), measured with a counting allocator:
//!
//! - installing the epoch of a 50,000-member group does no per-member work: the same
//!   allocations, in number and bytes, as a 2-member group;
//! - a silent member costs nothing: the keyring's heap does not grow with the roster;
//! - an active sender costs at most 1 KiB: the receive state the first frame of a new KID
//!   installs (its derived AEAD key, replay window and map slot).
//!
//! The counters are per thread, so tests may run in parallel. Nothing is printed inside a
//! counted region.

// `GlobalAlloc` is an unsafe trait: every method forwards to `System` unchanged; the only
// addition is thread-local counting.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use sframe_core::CipherSuite;
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, Received, Roster};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
    static ALLOCATED_BYTES: Cell<u64> = const { Cell::new(0) };
}

fn count(delta_allocs: u64, delta_bytes: i64) {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + delta_allocs));
    let _ = LIVE_BYTES.try_with(|n| n.set(n.get() + delta_bytes));
    if delta_bytes > 0 {
        let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get() + delta_bytes.unsigned_abs()));
    }
}

/// Bytes allocated so far (freed or not) by this thread.
fn allocated() -> u64 {
    ALLOCATED_BYTES.try_with(Cell::get).unwrap_or(0)
}

/// (allocations so far, live heap bytes) of this thread.
fn heap() -> (u64, i64) {
    (
        ALLOCATIONS.try_with(Cell::get).unwrap_or(0),
        LIVE_BYTES.try_with(Cell::get).unwrap_or(0),
    )
}

fn bytes(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only thread-local `Cell`s.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(1, bytes(layout));
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(1, bytes(layout));
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(
            1,
            i64::try_from(new_size).unwrap_or(i64::MAX) - bytes(layout),
        );
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, -bytes(layout));
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const BASE_KEY: [u8; 16] = [9; 16];
const BIG: u32 = 50_000;

fn keys(epoch: u64, own: u32, width: u32) -> EpochKeys {
    let mut key = BASE_KEY;
    key[0] = epoch as u8;
    EpochKeys::from_roster(epoch, &key, Some(own), Roster::dense(width, [])).unwrap()
}

/// Allocations, bytes allocated and live bytes kept by building the keys of and installing
/// epoch 1, then epoch 2 (with epoch 1 the sending epoch: the second install compares
/// rosters and counts who has to acknowledge).
fn install(width: u32) -> [(u64, u64, i64); 2] {
    let mut ring = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    let mut out = [(0, 0, 0); 2];
    for (i, epoch) in [1u64, 2].into_iter().enumerate() {
        let ((a0, b0), t0) = (heap(), allocated());
        let k = keys(epoch, 0, width);
        ring.add_epoch(Duration::ZERO, k).unwrap();
        let ((a1, b1), t1) = (heap(), allocated());
        out[i] = (a1 - a0, t1 - t0, b1 - b0);
    }
    while ring.poll_event().is_some() {}
    drop(ring);
    out
}

#[test]
fn installing_a_50000_member_epoch_does_no_per_member_work() {
    // Warm anything lazily initialised (the crypto backend) before counting.
    install(2);
    let small = install(2);
    let large = install(BIG);
    assert_eq!(
        small, large,
        "allocations, bytes allocated and live bytes of installing epochs 1 and 2: 2 members \
         vs {BIG}"
    );
    // The counters see per-member work where there is some: a roster given leaf by leaf
    // (EpochKeys::new) is collected and sorted once.
    let t0 = allocated();
    let listed = EpochKeys::new(1, &BASE_KEY, Some(0), 0..BIG).unwrap();
    assert!(allocated() - t0 >= 4 * u64::from(BIG));
    drop(listed);
    // What an epoch holds does not depend on its size either, and the dense roster holds
    // nothing on the heap.
    assert_eq!(Roster::dense(BIG, []).heap_bytes(), 0);
    assert_eq!(Roster::dense(BIG, []).len(), BIG as usize);
    // The roster from a list of leaves (EpochKeys::new) is O(n) to build, once, and is still
    // stored in the small form when the tree is dense.
    assert_eq!(Roster::from_leaves(0..BIG).heap_bytes(), 0);
    assert_eq!(
        Roster::from_leaves((0..BIG).filter(|l| l % 1000 != 7)).heap_bytes(),
        50 * 4
    );
}

/// A keyring for member `own` of a `width`-member epoch 1, events drained.
fn ring(own: u32, width: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    ring.add_epoch(Duration::ZERO, keys(1, own, width)).unwrap();
    while ring.poll_event().is_some() {}
    ring
}

#[test]
fn a_silent_member_costs_nothing_an_active_sender_at_most_1_kib() {
    const ACTIVE: u32 = 1000;
    // Frames from ACTIVE distinct senders of the 50,000-member epoch, each its first frame.
    let frames: Vec<Vec<u8>> = (1..=ACTIVE)
        .map(|s| {
            let mut f = vec![0x55u8; 50];
            ring(s * 37, BIG).encrypt(0, b"", &mut f).unwrap();
            f
        })
        .collect();
    let (_, before_ring) = heap();
    let mut me = ring(0, BIG);
    let (_, installed) = heap();
    let per_member = (installed - before_ring) as f64 / f64::from(BIG);
    assert!(
        per_member < 0.5,
        "{per_member} bytes per (silent) member: {} bytes for the epoch",
        installed - before_ring
    );
    assert_eq!(me.receive_key_count(), 0, "no key before a first frame");
    let (_, b0) = heap();
    for (i, f) in frames.into_iter().enumerate() {
        let mut f = f;
        let got = me.decrypt(Duration::ZERO, i as u64, b"", &mut f).unwrap();
        assert!(matches!(got, Received::Plaintext { data, .. } if data == [0x55u8; 50]));
        drop(f);
    }
    let (_, b1) = heap();
    assert_eq!(me.receive_key_count(), ACTIVE as usize);
    let per_sender = (b1 - b0) / i64::from(ACTIVE);
    assert!(
        per_sender <= 1024,
        "{per_sender} bytes of receive state per active sender"
    );
    // A second frame from a known sender keeps nothing more.
    let mut f = vec![0u8; 50];
    ring(37, BIG).encrypt(0, b"", &mut f).unwrap();
    let (_, c0) = heap();
    let _ = me.decrypt(Duration::ZERO, 0, b"", &mut f);
    drop(f);
    let (_, c1) = heap();
    assert!(
        c1 - c0 <= 0,
        "{} bytes kept by a known sender's frame",
        c1 - c0
    );
    eprintln!(
        "per active sender: {per_sender} B; the epoch: {} B",
        installed - before_ring
    );
}
