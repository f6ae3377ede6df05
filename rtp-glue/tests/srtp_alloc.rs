//! No heap allocation per SRTP or SRTCP packet: a counting global allocator around
//! `std::alloc::System`, counting per thread, while [`SrtpContext`] protects and unprotects
//! (and refuses tampered and replayed packets) on every backend and profile.
//!
//! Only allocations through Rust's global allocator are seen; memory aws-lc's C code might
//! take with its own `malloc` is not (its AES and HMAC contexts live inside our key values).

// The one unsafe part: `GlobalAlloc` is an unsafe trait. Every method forwards to `System`
// unchanged; the only addition is a thread-local counter increment.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sframe_core::Backend;
use sframe_rtp::{
    SframeRtpError as Error, SrtpContext, SrtpError, SrtpKeys, SrtpProfile, SrtpTransform,
};

struct CountingAllocator;

thread_local! {
    // `const` and without `Drop`: no lazy initialisation and no destructor registration, so
    // touching it from inside the allocator cannot allocate or recurse.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with` fails only while the thread is being torn down; those are not ours to count.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations_so_far() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local `Cell<u64>`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const SSRC: u32 = 0x5555_0001;

fn rtp(buf: &mut [u8], seq: u16, payload_len: usize) -> usize {
    buf[..12].copy_from_slice(&[0x80, 96, 0, 0, 0, 0, 0, 9, 0x55, 0x55, 0, 1]);
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    buf[12..12 + payload_len].fill(0x42);
    12 + payload_len
}

fn rtcp(buf: &mut [u8], body_words: usize) -> usize {
    let len = 8 + 4 * body_words;
    buf[..8].copy_from_slice(&[0x80, 200, 0, 0, 0x55, 0x55, 0, 1]);
    buf[2..4].copy_from_slice(&(body_words as u16 + 1).to_be_bytes());
    buf[8..len].fill(0x24);
    len
}

#[test]
fn no_allocation_per_packet_every_backend_and_profile() {
    for &backend in Backend::ALL {
        for profile in SrtpProfile::ALL {
            let keys = SrtpKeys {
                profile,
                master_key: vec![3; profile.key_len()],
                master_salt: vec![4; profile.salt_len()],
            };
            let mut tx = SrtpContext::with_backend(backend, &keys, 64).unwrap();
            let mut rx = SrtpContext::with_backend(backend, &keys, 1024).unwrap();
            rx.allow_ssrc(SSRC);
            let mut buf = vec![0u8; 1500];
            let mut forged = vec![0u8; 1500];
            // Warm-up: the sender meets the SSRC (its one allocation, per new SSRC).
            let n = rtp(&mut buf, 65000, 100);
            let n = tx.protect(&mut buf, n).unwrap();
            rx.unprotect(&mut buf[..n]).unwrap();
            let n = rtcp(&mut buf, 10);
            let n = tx.protect_rtcp(&mut buf, n).unwrap();
            rx.unprotect_rtcp(&mut buf[..n]).unwrap();

            let before = allocations_so_far();
            let mut refused = 0u32;
            for i in 1..2000u32 {
                let seq = 65000u16.wrapping_add(i as u16); // crosses 65535
                let n = rtp(&mut buf, seq, (i as usize * 7) % 1400);
                let n = tx.protect(&mut buf, n).unwrap();
                // Tampered (a copy: a failed open may leave the buffer scrambled): refused,
                // nothing allocated.
                forged[..n].copy_from_slice(&buf[..n]);
                forged[n - 1] ^= 1;
                if rx.unprotect(&mut forged[..n])
                    == Err(Error::Srtp(SrtpError::AuthenticationFailed))
                {
                    refused += 1;
                }
                let m = rx.unprotect(&mut buf[..n]).unwrap().len();
                assert!(m <= n);
                // Replayed: refused.
                let n = rtp(&mut buf, seq, (i as usize * 7) % 1400);
                let n = tx.protect(&mut buf, n).unwrap();
                if matches!(
                    rx.unprotect(&mut buf[..n]),
                    Err(Error::Srtp(SrtpError::Replay { .. }))
                ) {
                    refused += 1;
                }
                let n = rtcp(&mut buf, i as usize % 300);
                let n = tx.protect_rtcp(&mut buf, n).unwrap();
                rx.unprotect_rtcp(&mut buf[..n]).unwrap();
            }
            let allocations = allocations_so_far() - before;
            assert_eq!(refused, 2 * 1999);
            assert_eq!(
                allocations, 0,
                "{backend:?} {profile:?}: {allocations} allocations in 2,000 packets"
            );
        }
    }
}
