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
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sframe_core::CipherSuite;
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, Roster};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const BASE_KEY: [u8; 16] = [7; 16];
const MEMBERS: u32 = 50_000;
const KNOWN_CONTEXT: u64 = 1000;

fn ring(own: u32, members: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    let keys = EpochKeys::from_roster(1, &BASE_KEY, Some(own), Roster::dense(members, [])).unwrap();
    ring.add_epoch(Duration::ZERO, keys).unwrap();
    while ring.poll_event().is_some() {}
    ring
}

fn first_frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("first_frame");
    g.measurement_time(Duration::from_secs(4));
    let mut receiver = ring(0, MEMBERS);
    // Senders 1.., each frame under a KID never seen: (context, sender) runs through every
    // sender index of the epoch, then the next context.
    let mut next = 0u64;
    let mut senders: Vec<Keyring> = Vec::new();
    g.bench_function("new_sender", |b| {
        b.iter_batched_ref(
            || {
                let index = 1 + (next % u64::from(MEMBERS - 1)) as u32;
                let context = next / u64::from(MEMBERS - 1);
                next += 1;
                // One sender keyring per index, made once (out of the timing).
                let i = index as usize - 1;
                if senders.len() <= i {
                    senders.push(ring(index, MEMBERS));
                }
                let mut f = vec![0u8; 100];
                senders[i].encrypt(context, b"", &mut f).unwrap();
                f
            },
            |f| {
                let r = receiver
                    .decrypt(Duration::ZERO, 0, b"", black_box(f))
                    .unwrap();
                black_box(matches!(r, sframe_mls::Received::Plaintext { .. }));
            },
            BatchSize::SmallInput,
        );
    });
    let mut known = ring(1, MEMBERS);
    g.bench_function("known_sender", |b| {
        b.iter_batched_ref(
            || {
                let mut f = vec![0u8; 100];
                // A context new_sender never reaches in a bounded run.
                known.encrypt(KNOWN_CONTEXT, b"", &mut f).unwrap();
                f
            },
            |f| {
                let r = receiver
                    .decrypt(Duration::ZERO, 0, b"", black_box(f))
                    .unwrap();
                black_box(matches!(r, sframe_mls::Received::Plaintext { .. }));
            },
            BatchSize::SmallInput,
        );
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
