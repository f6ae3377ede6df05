//! What an epoch change costs: the keyring's part, SFrame key derivation per new KID, and
//! openmls commit processing (which dominates) at 100 and 1,000 members.
//!
//! `cargo bench -p sframe-mls`; numbers in mls-keying/BENCHMARKING.md.

// Set-up code: a failed unwrap is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sframe_core::{Aead, Backend, CipherSuite, KeySchedule};
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, MemberConfig, MlsMember};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn members(n: u32) -> Vec<u32> {
    (0..n).collect()
}

/// A keyring of member 0 in a group of `n`, at epoch 1, everyone's epoch-1 KIDs unused.
fn keyring(n: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    ring.add_epoch(
        Duration::ZERO,
        EpochKeys::new(1, &[1; 16], Some(0), members(n)).unwrap(),
    )
    .unwrap();
    ring
}

fn keyring_epoch_change(c: &mut Criterion) {
    let mut g = c.benchmark_group("epoch_change");
    for n in [100u32, 1000] {
        // Staged commit exported -> the keyring decrypts the new epoch.
        g.bench_function(format!("ready_to_decrypt/{n}_members"), |b| {
            b.iter_batched(
                || {
                    (
                        keyring(n),
                        EpochKeys::new(2, &[2; 16], Some(0), members(n)).unwrap(),
                    )
                },
                |(mut ring, keys)| {
                    ring.add_epoch(Duration::from_millis(1), keys).unwrap();
                    black_box(ring)
                },
                criterion::BatchSize::SmallInput,
            );
        });
        // ... and the last acknowledgement in -> the first frame under it (its KID's key
        // schedule included).
        g.bench_function(format!("first_frame_encrypted/{n}_members"), |b| {
            b.iter_batched(
                || {
                    let mut ring = keyring(n);
                    let keys = EpochKeys::new(2, &[2; 16], Some(0), members(n)).unwrap();
                    ring.add_epoch(Duration::from_millis(1), keys).unwrap();
                    for m in 2..n {
                        ring.acknowledge(Duration::from_millis(2), m, 2);
                    }
                    (ring, vec![0u8; 100])
                },
                |(mut ring, mut frame)| {
                    ring.acknowledge(Duration::from_millis(3), 1, 2);
                    ring.encrypt(0, b"", &mut frame).unwrap();
                    black_box((ring, frame))
                },
                criterion::BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

fn key_per_kid(c: &mut Criterion) {
    let mut g = c.benchmark_group("key_per_kid");
    for &backend in Backend::ALL {
        for suite in [
            CipherSuite::Aes128GcmSha256_128,
            CipherSuite::Aes128CtrHmacSha256_80,
        ] {
            let base_key = vec![7u8; suite.key_len()];
            let mut kid = 0u64;
            g.bench_function(format!("{backend:?}/{}", suite.name()), |b| {
                b.iter(|| {
                    kid += 1;
                    let ks = KeySchedule::derive(backend, suite, kid, &base_key).unwrap();
                    black_box(Aead::new(backend, suite, ks.key.expose()).unwrap())
                });
            });
        }
    }
    g.finish();
}

/// A group of `n` members: the leader and one observer are real clients; the others are
/// added from key packages and never process anything (they do not need to).
fn group_of(n: usize) -> (MlsMember, MlsMember) {
    let config = MemberConfig::new(KeyringConfig::new(SUITE));
    let mut leader = MlsMember::new(b"leader", config).unwrap();
    leader.create_group(Duration::ZERO).unwrap();
    let mut observer = MlsMember::new(b"observer", config).unwrap();
    let mut kps = vec![observer.key_package().unwrap()];
    for i in 2..n {
        kps.push(
            MlsMember::new(format!("m{i}").as_bytes(), config)
                .unwrap()
                .key_package()
                .unwrap(),
        );
    }
    let out = leader.commit(Duration::ZERO, &kps, &[]).unwrap();
    leader.merge_pending_commit().unwrap();
    observer
        .join(Duration::ZERO, &out.welcome.unwrap())
        .unwrap();
    (leader, observer)
}

fn openmls_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("openmls_commit_remove5_add5");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for n in [100usize, 1000] {
        let (mut leader, mut observer) = group_of(n);
        let config = MemberConfig::new(KeyringConfig::new(SUITE));
        let mut next_removed = n as u32 - 1;
        g.bench_function(format!("stage_commit/{n}_members"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let kps: Vec<Vec<u8>> = (0..5)
                        .map(|i| {
                            MlsMember::new(format!("j{i}").as_bytes(), config)
                                .unwrap()
                                .key_package()
                                .unwrap()
                        })
                        .collect();
                    let removes: Vec<u32> = (0..5).map(|i| next_removed - i).collect();
                    let out = leader.commit(Duration::ZERO, &kps, &removes).unwrap();
                    leader.merge_pending_commit().unwrap();
                    let t = Instant::now();
                    // Process, export, feed the keyring: ready to decrypt the new epoch.
                    observer.stage_commit(Duration::ZERO, &out.commit).unwrap();
                    total += t.elapsed();
                    observer.merge_staged_commit().unwrap();
                    next_removed = *out.added.iter().max().unwrap_or(&next_removed);
                    // Keep the keyrings' sending epoch moving.
                    leader
                        .keyring_mut()
                        .handle_timeout(Duration::from_secs(3600));
                    observer
                        .keyring_mut()
                        .handle_timeout(Duration::from_secs(3600));
                }
                total
            });
        });
    }
    g.finish();
}

criterion_group!(benches, keyring_epoch_change, key_per_kid, openmls_commit);
criterion_main!(benches);
