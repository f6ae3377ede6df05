//! What forged input costs the keyring against a genuine frame (issue 14, case 6).
//!
//! - `genuine`: a frame under a KID already in use (the steady state).
//! - `forged_fresh_kid`: a frame whose KID names a member of the current epoch with a context
//!   never seen before, and a wrong tag (a forger who picks a new context every frame).
//! - `forged_known_kid`: a wrong tag under a KID already in use.
//! - `genuine_loop`, `forged_fresh_kid_loop`: the first two, timed over a batch of frames made
//!   beforehand, without set-up between the timed calls.
//!
//! - `keyring_decrypt/<suite>/<size>B/{genuine_loop,forged_fresh_kid_loop}`: the loop pair
//!   for the other hashes and AEADs (AES-256-GCM with SHA-512, AES-128-CTR with HMAC-SHA-256).
//! - `.../forged_fresh_kid_flood_loop`: the same forgeries with the default
//!   [`FreshKidBudget`](sframe_mls::FreshKidBudget): past the stream's budget of failed checks,
//!   what a flood costs per frame. Every other case runs without a budget, so each forgery
//!   pays the check: the cost per check.
//!
//! Run `cargo bench -p sframe-mls --features rustcrypto --bench forged`; compare the ratios of
//! one run.

// Set-up code: a failed unwrap is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sframe_core::{Aead, Backend, CipherSuite, KeySchedule, KidKeyDeriver, Sender};
use sframe_mls::{EpochKeys, FreshKidBudget, Keyring, KeyringConfig, KidLayout};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
/// The RFC 9605 section 5.2 `S` of a 16-leaf group (what `EpochKeys::new` derives from the roster).
const SENDER_BITS: u8 = 4;
const BASE_KEY: [u8; 16] = [7; 16];

fn ring(own: u32) -> Keyring {
    ring_of(SUITE, &BASE_KEY, own)
}

/// A frame under member 1's KID for `context`, sealed with a key that is not the epoch's.
fn forge(mallory: &mut Sender, layout: KidLayout, context: u64, size: usize) -> Vec<u8> {
    let kid = layout.kid(context, 1, 1).unwrap();
    mallory.add_key(kid, b"not the epoch key").unwrap();
    let mut f = vec![0u8; size];
    mallory.encrypt(kid, b"md", &mut f).unwrap();
    mallory.remove_key(kid);
    f
}

/// Without a budget for failed new-KID checks: every forgery is checked.
fn ring_of(suite: CipherSuite, base_key: &[u8], own: u32) -> Keyring {
    let mut config = KeyringConfig::new(suite);
    config.fresh_kid_failures = FreshKidBudget::UNLIMITED;
    ring_with(config, base_key, own)
}

fn ring_with(config: KeyringConfig, base_key: &[u8], own: u32) -> Keyring {
    let mut ring = Keyring::new(config).unwrap();
    ring.add_epoch(
        Duration::ZERO,
        EpochKeys::new(1, base_key, Some(own), 0..16).unwrap(),
    )
    .unwrap();
    ring
}

/// A batch of `n` frames of `size` bytes, each made by `make`; the time of `decrypt` over them.
fn time_batch(
    n: u64,
    mut make: impl FnMut() -> Vec<u8>,
    mut decrypt: impl FnMut(&mut [u8]),
) -> Duration {
    let mut frames: Vec<Vec<u8>> = (0..n).map(|_| make()).collect();
    let start = std::time::Instant::now();
    for f in &mut frames {
        decrypt(black_box(f));
    }
    start.elapsed()
}

fn forged(c: &mut Criterion) {
    let layout = KidLayout::new(KeyringConfig::new(SUITE).epoch_bits, SENDER_BITS).unwrap();
    for size in [100usize, 1200] {
        let mut g = c.benchmark_group(format!("keyring_decrypt/{size}B"));
        let mut sender = ring(1);
        let mut receiver = ring(0);
        // Warm: the sender's KID is known to the receiver.
        let mut f = vec![0u8; size];
        sender.encrypt(0, b"md", &mut f).unwrap();
        receiver.decrypt(Duration::ZERO, 0, b"md", &mut f).unwrap();
        g.bench_function("genuine", |b| {
            b.iter_batched_ref(
                || {
                    let mut f = vec![0u8; size];
                    sender.encrypt(0, b"md", &mut f).unwrap();
                    f
                },
                |f| {
                    receiver
                        .decrypt(Duration::ZERO, 0, b"md", black_box(f))
                        .unwrap();
                },
                BatchSize::SmallInput,
            );
        });
        let mut context = 1u64;
        let mut mallory = Sender::new(SUITE);
        g.bench_function("forged_fresh_kid", |b| {
            b.iter_batched_ref(
                || {
                    context += 1;
                    let kid = layout.kid(context, 1, 1).unwrap();
                    mallory.add_key(kid, b"not the epoch key").unwrap();
                    let mut f = vec![0u8; size];
                    mallory.encrypt(kid, b"md", &mut f).unwrap();
                    mallory.remove_key(kid);
                    f
                },
                |f| {
                    assert!(
                        receiver
                            .decrypt(Duration::ZERO, 0, b"md", black_box(f))
                            .is_err()
                    );
                },
                BatchSize::SmallInput,
            );
        });
        // The same two, timed as one tight loop over frames made beforehand (criterion's
        // `iter_custom`): no per-frame set-up between the timed calls, which on this shared
        // machine disturbs the caches of the call timed after it.
        g.bench_function("genuine_loop", |b| {
            b.iter_custom(|iters| {
                let mut frames: Vec<Vec<u8>> = (0..iters)
                    .map(|_| {
                        let mut f = vec![0u8; size];
                        sender.encrypt(0, b"md", &mut f).unwrap();
                        f
                    })
                    .collect();
                let start = std::time::Instant::now();
                for f in &mut frames {
                    receiver
                        .decrypt(Duration::ZERO, 0, b"md", black_box(f))
                        .unwrap();
                }
                start.elapsed()
            });
        });
        g.bench_function("forged_fresh_kid_loop", |b| {
            b.iter_custom(|iters| {
                let mut frames: Vec<Vec<u8>> = (0..iters)
                    .map(|_| {
                        context += 1;
                        let kid = layout.kid(context, 1, 1).unwrap();
                        mallory.add_key(kid, b"not the epoch key").unwrap();
                        let mut f = vec![0u8; size];
                        mallory.encrypt(kid, b"md", &mut f).unwrap();
                        mallory.remove_key(kid);
                        f
                    })
                    .collect();
                let start = std::time::Instant::now();
                for f in &mut frames {
                    assert!(
                        receiver
                            .decrypt(Duration::ZERO, 0, b"md", black_box(f))
                            .is_err()
                    );
                }
                start.elapsed()
            });
        });
        let known = layout.kid(0, 1, 1).unwrap();
        mallory.add_key(known, b"not the epoch key").unwrap();
        g.bench_function("forged_known_kid", |b| {
            b.iter_batched_ref(
                || {
                    let mut f = vec![0u8; size];
                    mallory.encrypt(known, b"md", &mut f).unwrap();
                    f
                },
                |f| {
                    assert!(
                        receiver
                            .decrypt(Duration::ZERO, 0, b"md", black_box(f))
                            .is_err()
                    );
                },
                BatchSize::SmallInput,
            );
        });
        g.finish();
    }
}

/// `genuine_loop` and `forged_fresh_kid_loop` for the suites other than [`SUITE`].
fn forged_suites(c: &mut Criterion) {
    for suite in [
        CipherSuite::Aes256GcmSha512_128,
        CipherSuite::Aes128CtrHmacSha256_80,
    ] {
        let base_key = vec![7u8; suite.key_len()];
        let layout = KidLayout::new(KeyringConfig::new(suite).epoch_bits, SENDER_BITS).unwrap();
        for size in [100usize, 1200] {
            let mut g = c.benchmark_group(format!("keyring_decrypt/{suite:?}/{size}B"));
            let mut sender = ring_of(suite, &base_key, 1);
            let mut receiver = ring_of(suite, &base_key, 0);
            let mut f = vec![0u8; size];
            sender.encrypt(0, b"md", &mut f).unwrap();
            receiver.decrypt(Duration::ZERO, 0, b"md", &mut f).unwrap();
            g.bench_function("genuine_loop", |b| {
                b.iter_custom(|iters| {
                    time_batch(
                        iters,
                        || {
                            let mut f = vec![0u8; size];
                            sender.encrypt(0, b"md", &mut f).unwrap();
                            f
                        },
                        |f| {
                            receiver.decrypt(Duration::ZERO, 0, b"md", f).unwrap();
                        },
                    )
                });
            });
            let mut context = 1u64;
            let mut mallory = Sender::new(suite);
            g.bench_function("forged_fresh_kid_loop", |b| {
                b.iter_custom(|iters| {
                    time_batch(
                        iters,
                        || {
                            context += 1;
                            forge(&mut mallory, layout, context, size)
                        },
                        |f| {
                            assert!(receiver.decrypt(Duration::ZERO, 0, b"md", f).is_err());
                        },
                    )
                });
            });
            // The default budget: its 32 checks go first, then every forgery is a lookup.
            let mut flooded = ring_with(KeyringConfig::new(suite), &base_key, 0);
            g.bench_function("forged_fresh_kid_flood_loop", |b| {
                b.iter_custom(|iters| {
                    time_batch(
                        iters,
                        || {
                            context += 1;
                            forge(&mut mallory, layout, context, size)
                        },
                        |f| {
                            assert!(flooded.decrypt(Duration::ZERO, 0, b"md", f).is_err());
                        },
                    )
                });
            });
            g.finish();
        }
    }
}

/// The parts of a new KID's cost: the key schedule's two HKDF-Expands plus the AEAD key setup
/// (what the keyring pays per new KID), against the full schedule with its HKDF-Extract.
fn derivation(c: &mut Criterion) {
    let mut g = c.benchmark_group("kid_key");
    let mut kid = 0u64;
    for &backend in Backend::ALL {
        let deriver = KidKeyDeriver::new(backend, SUITE, &BASE_KEY).unwrap();
        g.bench_function(format!("derive_from_extracted/{}", backend.name()), |b| {
            b.iter(|| {
                kid += 1;
                black_box(deriver.derive(black_box(kid)).unwrap())
            });
        });
    }
    g.bench_function("key_schedule_only", |b| {
        b.iter(|| {
            kid += 1;
            black_box(KeySchedule::derive(Backend::default(), SUITE, kid, &BASE_KEY).unwrap())
        });
    });
    for &backend in Backend::ALL {
        g.bench_function(format!("aead_key_setup/{}", backend.name()), |b| {
            b.iter(|| black_box(Aead::new(backend, SUITE, black_box(&BASE_KEY)).unwrap()));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = forged, forged_suites, derivation
}
criterion_main!(benches);
