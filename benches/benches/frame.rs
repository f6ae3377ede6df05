//! Per-frame encrypt and decrypt, one group per cipher suite, throughput per frame size:
//! ours on each backend, the raw AEAD of each backend, and the crates.io `sframe` crate.
//!
//! `cargo bench -p sframe-benches --bench frame` (filter with e.g. `-- AES_128_GCM`).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sframe_benches::{SIZES, contenders};
use sframe_core::{Backend, CipherSuite, Receiver, ReceiverConfig, ratchet_base_key};

fn frames(c: &mut Criterion) {
    for suite in CipherSuite::ALL {
        let mut group = c.benchmark_group(suite.name());
        for size in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            for mut contender in contenders(suite, size) {
                let name = contender.name();
                group.bench_function(format!("{name}/encrypt/{size}"), |b| {
                    b.iter(|| contender.encrypt())
                });
                let frame = contender.prepare_decrypt();
                group.bench_function(format!("{name}/decrypt/{size}"), |b| {
                    b.iter_batched_ref(
                        || frame.clone(),
                        |f| contender.decrypt(f),
                        BatchSize::SmallInput,
                    )
                });
            }
        }
        group.finish();
    }
}

/// What installing a key costs (once per KID, never per frame): the key schedule plus the
/// backend's key expansion, and one ratchet step.
fn key_setup(c: &mut Criterion) {
    let mut group = c.benchmark_group("key_setup");
    for suite in [
        CipherSuite::Aes128GcmSha256_128,
        CipherSuite::Aes128CtrHmacSha256_80,
        CipherSuite::Aes256CtrHmacSha512_80,
    ] {
        for &backend in Backend::ALL {
            let name = format!("{}/{}", suite.name(), backend.name());
            let mut kid = 0u64;
            group.bench_function(format!("{name}/add_key"), |b| {
                let mut receiver = Receiver::with_config(suite, backend, ReceiverConfig::default());
                b.iter(|| {
                    kid += 1;
                    let _ = receiver.add_key(kid, b"a base key of 32 bytes, exactly");
                    receiver.remove_key(kid)
                })
            });
            group.bench_function(format!("{name}/ratchet_step"), |b| {
                b.iter(|| ratchet_base_key(backend, suite, b"a base key of 32 bytes, exactly"))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = frames, key_setup
}
criterion_main!(benches);
