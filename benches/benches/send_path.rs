//! The send path per 1,200-byte packet, AES_128_GCM for SFrame and SRTP: a 1,150-byte frame
//! through `MediaSender` (SFrame encrypt, packetize, SRTP protect into one reused buffer)
//! against the two raw AEAD seals it cannot avoid (`sframe_floor` + `srtp_floor`; the goal is
//! within 1.5x of their sum). The contenders are `sframe_benches::send_path`'s, as
//! `sframe bench --srtp` runs them.
//!
//! `cargo bench -p sframe-benches --bench send_path`; compare ratios within one run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sframe_benches::send_path::{FRAME, SendFloor, SendRig};

fn send(c: &mut Criterion) {
    let mut g = c.benchmark_group("send_path/Aes128Gcm/1200B");
    g.throughput(Throughput::Bytes(FRAME as u64));
    let mut rig = SendRig::new();
    let packet_bytes = rig.send();
    assert!(packet_bytes <= 1200, "{packet_bytes}");
    g.bench_function("send", |b| b.iter(|| black_box(rig.send())));
    let mut floor = SendFloor::new(packet_bytes);
    g.bench_function("sframe_floor", |b| b.iter(|| floor.sframe()));
    g.bench_function("srtp_floor", |b| b.iter(|| floor.srtp()));
    g.bench_function("floor_sum", |b| {
        b.iter(|| {
            floor.sframe();
            floor.srtp();
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = send
}
criterion_main!(benches);
