//! Per-frame encrypt and decrypt, one group per cipher suite, throughput per frame size:
//! ours on each backend, the raw AEAD of each backend, and the crates.io `sframe` crate.
//!
//! `cargo bench -p sframe-benches --bench frame` (filter with e.g. `-- AES_128_GCM`).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sframe_benches::{SIZES, contenders};
use sframe_core::CipherSuite;

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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = frames
}
criterion_main!(benches);
