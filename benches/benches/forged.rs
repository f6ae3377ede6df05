//! What forged input costs the core receiver against a genuine frame (issue 14's rule: at most
//! about 3x). One group per frame size: a genuine frame, a wrong tag under an installed KID, an
//! unknown KID, a replayed counter, and a forged ratchet KID a few steps ahead (its steps
//! already derived by an earlier forgery, as they stay).
//!
//! `cargo bench -p sframe-benches --bench forged`; compare ratios within one run.

// Set-up code: a failed unwrap is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sframe_core::{CipherSuite, RatchetKid, Receiver, Sender};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn core(c: &mut Criterion) {
    for size in [100usize, 1200] {
        let mut g = c.benchmark_group(format!("core_decrypt/{size}B"));
        let mut s = Sender::new(SUITE);
        s.add_key(1, b"key").unwrap();
        let ratchet = s.add_ratcheting_key(3, 4, b"ratchet").unwrap();
        let mut r = Receiver::new(SUITE);
        r.add_key(1, b"key").unwrap();
        r.add_ratcheting_key(RatchetKid::new(3, 4, 0).unwrap(), b"ratchet")
            .unwrap();
        let mut m = Sender::new(SUITE);
        m.add_key(1, b"forger").unwrap();
        m.add_key(2, b"forger").unwrap();
        m.add_key(ratchet + 3, b"forger").unwrap();
        let frame = |s: &mut Sender, kid: u64| {
            let mut f = vec![0u8; size];
            s.encrypt(kid, b"", &mut f).unwrap();
            f
        };
        // Derive the ratchet steps once, as a first forgery would.
        let mut f = frame(&mut m, ratchet + 3);
        assert!(r.decrypt_in_place(b"", &mut f).is_err());
        let replayed = frame(&mut s, 1);
        r.decrypt_in_place(b"", &mut replayed.clone()).unwrap();

        g.bench_function("genuine", |b| {
            b.iter_batched_ref(
                || frame(&mut s, 1),
                |f| r.decrypt_in_place(b"", black_box(f)).is_ok(),
                BatchSize::SmallInput,
            );
        });
        for (name, kid) in [
            ("forged_tag", 1),
            ("unknown_kid", 2),
            ("forged_ratchet_ahead", ratchet + 3),
        ] {
            g.bench_function(name, |b| {
                b.iter_batched_ref(
                    || frame(&mut m, kid),
                    |f| r.decrypt_in_place(b"", black_box(f)).is_err(),
                    BatchSize::SmallInput,
                );
            });
        }
        g.bench_function("replay", |b| {
            b.iter_batched_ref(
                || replayed.clone(),
                |f| r.decrypt_in_place(b"", black_box(f)).is_err(),
                BatchSize::SmallInput,
            );
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = core
}
criterion_main!(benches);
