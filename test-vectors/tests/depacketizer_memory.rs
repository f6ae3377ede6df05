//! Attack class: unbounded memory from an authenticated member (issue 14, case 4).
//!
//! 10,000 single-packet VP9 frames, each with a scalability structure of 255 picture-group
//! entries, grew the heap by ~116 MB through `rtp` 0.17's `Vp9Packet`, which appended every
//! packet's lists to itself. Measured here with a counting allocator: the live heap after the
//! flood may exceed the live heap after the first packet by at most a few KiB.
//!
//! Lives in this crate because a global allocator needs `unsafe impl`, which the rtp-glue
//! crate forbids.

// `GlobalAlloc` is an unsafe trait. Every method forwards to `System` unchanged; the only
// addition is a thread-local byte count.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use sframe_rtp::{Codec, MediaAssembler, ReassemblyConfig};

struct LiveBytes;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn add(n: usize, sign: i64) {
    let _ = LIVE.try_with(|l| l.set(l.get() + sign * n as i64));
}

fn live() -> i64 {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local `Cell<i64>`.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size(), 1);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size(), 1);
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(layout.size(), -1);
        add(new_size, 1);
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(layout.size(), -1);
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LiveBytes = LiveBytes;

fn vp9_with_big_ss() -> Bytes {
    let mut p = vec![0x0E, 0x08, 255];
    for i in 0..255u8 {
        p.extend_from_slice(&[0x0C, i, i.wrapping_add(1), i.wrapping_add(2)]);
    }
    p.extend_from_slice(b"key frame");
    Bytes::from(p)
}

#[test]
fn a_flood_of_vp9_scalability_structures_leaves_no_memory_behind() {
    let mut a = MediaAssembler::new(&[(98, Codec::Vp9)], ReassemblyConfig::default(), 4);
    let packet = vp9_with_big_ss();
    // Warm up: the stream's reassembler, the parser's lists at their largest.
    for i in 0..2u32 {
        a.push(7, i as u16, 98, i, true, packet.clone()).unwrap();
    }
    let warm = live();
    let mut frames = 0;
    for i in 2..10_002u32 {
        if a.push(7, i as u16, 98, i * 3000, true, packet.clone())
            .unwrap()
            .is_some()
        {
            frames += 1;
        }
    }
    let grown = live() - warm;
    assert_eq!(frames, 10_000);
    // Before the fix: ~11.6 KB per packet, ~116 MB here. Now nothing per packet.
    assert!(
        grown <= 16 * 1024,
        "live heap grew by {grown} bytes over 10,000 packets"
    );
    drop(a);
}
