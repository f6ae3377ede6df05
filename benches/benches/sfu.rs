//! The SFU forwarding one stream of 1,200-byte AEAD_AES_128_GCM packets to ten receivers:
//! time per incoming packet (ten forwarded packets each; throughput is counted in forwarded
//! packets), on our SRTP through the allocation-free `Sfu::receive_in_place`, on webrtc-srtp
//! through the same path, and on our SRTP through the copying `Sfu::receive`. The contenders
//! are `sframe_benches::sfu`'s, as `sframe bench --srtp` runs them.
//!
//! `cargo bench -p sframe-benches --bench sfu`; compare ratios within one run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sframe_benches::sfu::{RECEIVERS, SfuPath, SfuRig};

fn forward(c: &mut Criterion) {
    let mut g = c.benchmark_group("sfu/AeadAes128Gcm/1200B/10_receivers");
    g.throughput(Throughput::Elements(u64::from(RECEIVERS)));
    for (name, path) in [
        ("ours", SfuPath::Ours),
        ("webrtc_srtp", SfuPath::WebrtcSrtp),
        ("ours_copying", SfuPath::OursCopying),
    ] {
        let mut rig = SfuRig::new(path);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // Fresh packets (the SFU keeps a replay window), made outside the timing.
                let mut spent = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let packets = rig.packets(left.min(256));
                    left -= packets.len().min(left);
                    let start = Instant::now();
                    for p in &packets {
                        black_box(rig.forward(p));
                    }
                    spent += start.elapsed();
                }
                spent
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = forward
}
criterion_main!(benches);
