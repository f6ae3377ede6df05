//! Keys only for senders a member hears (issue 13): what the first frame of a sender costs the
//! keyring (its KID's key derived and installed, then the frame decrypted), against a frame of
//! a sender already heard, and what installing an epoch costs at 2 and 50,000 members.
//!
//! - `first_frame/new_sender`: a 100-byte frame under a KID the receiver has not seen (a new
//!   sender or context of the 50,000-member epoch): two HKDF-Expands, the AEAD key setup, the
//!   AEAD open. The target: under 2 us.
//! - `first_frame/known_sender`: a 100-byte frame under a KID already in use (AEAD only).
//! - `install_epoch/{2,50000}`: `EpochKeys::from_roster` of a dense roster and
//!   `Keyring::add_epoch` (the epoch's HKDF-Extract): no per-member work.
//!
//! Run `nice cargo bench -p sframe-mls --bench first_frame`; compare ratios of one run.

// Set-up code: a failed unwrap is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sframe_core::CipherSuite;
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, Received, Roster};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const BASE_KEY: [u8; 16] = [7; 16];
const MEMBERS: u32 = 50_000;

fn ring(own: u32, members: u32) -> Keyring {
    ring_of(SUITE, own, members)
}

fn ring_of(suite: CipherSuite, own: u32, members: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(suite)).unwrap();
    let base_key = vec![7u8; suite.key_len()];
    let keys = EpochKeys::from_roster(1, &base_key, Some(own), Roster::dense(members, [])).unwrap();
    ring.add_epoch(Duration::ZERO, keys).unwrap();
    while ring.poll_event().is_some() {}
    ring
}

/// Times decrypting `frames` in `receiver`, one by one.
fn decrypt_all(receiver: &mut Keyring, frames: &mut [Vec<u8>]) -> Duration {
    let start = Instant::now();
    for f in frames.iter_mut() {
        let r = receiver
            .decrypt(Duration::ZERO, 0, b"", black_box(f))
            .unwrap();
        black_box(matches!(r, Received::Plaintext { .. }));
    }
    start.elapsed()
}

/// `<group>/new_sender` for another suite (the CTR+HMAC suite's key takes one more HKDF block).
fn first_frame_of(c: &mut Criterion, suite: CipherSuite) {
    let mut g = c.benchmark_group(format!("first_frame/{suite:?}"));
    g.measurement_time(Duration::from_secs(4));
    let mut senders: Vec<Keyring> = (1..=8).map(|s| ring_of(suite, s * 5000, MEMBERS)).collect();
    g.bench_function("new_sender", |b| {
        b.iter_custom(|iters| {
            let mut frames: Vec<Vec<u8>> = (0..iters)
                .map(|i| {
                    let mut f = vec![0u8; 100];
                    senders[(i % 8) as usize]
                        .encrypt(i / 8, b"", &mut f)
                        .unwrap();
                    f
                })
                .collect();
            let mut receiver = ring_of(suite, 0, MEMBERS);
            decrypt_all(&mut receiver, &mut frames)
        });
    });
    let mut receiver = ring_of(suite, 0, MEMBERS);
    let mut known = ring_of(suite, 1, MEMBERS);
    g.bench_function("known_sender", |b| {
        b.iter_custom(|iters| {
            let mut frames: Vec<Vec<u8>> = (0..iters)
                .map(|_| {
                    let mut f = vec![0u8; 100];
                    known.encrypt(0, b"", &mut f).unwrap();
                    f
                })
                .collect();
            decrypt_all(&mut receiver, &mut frames)
        });
    });
    g.finish();
}

fn first_frame(c: &mut Criterion) {
    first_frame_of(c, CipherSuite::Aes128CtrHmacSha256_80);
    let mut g = c.benchmark_group("first_frame");
    g.measurement_time(Duration::from_secs(4));
    // Eight senders of the 50,000-member epoch; sender s's context k makes KID (k, s): a
    // batch of up to BATCH frames under distinct KIDs, each the first of its KID for a fresh
    // receiver (made out of the timing). The receiver's key map grows within a batch as it
    // would in a meeting.
    const BATCH: u64 = 1000;
    let mut senders: Vec<Keyring> = (1..=8).map(|s| ring(s * 5000, MEMBERS)).collect();
    g.bench_function("new_sender", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(BATCH);
                let mut frames: Vec<Vec<u8>> = (0..n)
                    .map(|i| {
                        let mut f = vec![0u8; 100];
                        senders[(i % 8) as usize]
                            .encrypt(i / 8, b"", &mut f)
                            .unwrap();
                        f
                    })
                    .collect();
                let mut receiver = ring(0, MEMBERS);
                total += decrypt_all(&mut receiver, &mut frames);
                assert_eq!(receiver.receive_key_count() as u64, n);
                done += n;
            }
            total
        });
    });
    let mut receiver = ring(0, MEMBERS);
    let mut known = ring(1, MEMBERS);
    g.bench_function("known_sender", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(BATCH);
                let mut frames: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let mut f = vec![0u8; 100];
                        known.encrypt(0, b"", &mut f).unwrap();
                        f
                    })
                    .collect();
                total += decrypt_all(&mut receiver, &mut frames);
                done += n;
            }
            total
        });
    });
    g.finish();
    let mut g = c.benchmark_group("install_epoch");
    g.measurement_time(Duration::from_secs(3));
    for members in [2u32, MEMBERS] {
        g.bench_function(members.to_string(), |b| {
            b.iter_batched(
                || Keyring::new(KeyringConfig::new(SUITE)).unwrap(),
                |mut ring| {
                    let keys = EpochKeys::from_roster(
                        1,
                        &BASE_KEY,
                        Some(0),
                        Roster::dense(black_box(members), []),
                    )
                    .unwrap();
                    ring.add_epoch(Duration::ZERO, keys).unwrap();
                    ring
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, first_frame);
criterion_main!(benches);
