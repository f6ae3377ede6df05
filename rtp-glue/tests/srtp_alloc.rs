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

use sframe_core::Backend;
use sframe_rtp::{
    SframeRtpError as Error, SrtpContext, SrtpError, SrtpKeys, SrtpProfile, SrtpTransform,
};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

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

            let before = allocations();
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
            let allocations = allocations() - before;
            assert_eq!(refused, 2 * 1999);
            assert_eq!(
                allocations, 0,
                "{backend:?} {profile:?}: {allocations} allocations in 2,000 packets"
            );
        }
    }
}
