//! What hostile packets cost the receive side against genuine ones (issue 14's rule: at most
//! about 3x): the SFrame depacketizer (a genuine single-packet frame, a malformed packet, a
//! storm packet with a random sequence number) and the per-packet media assembler (a genuine
//! VP9 frame, one with a 255-entry scalability structure).
//!
//! `cargo bench -p sframe-rtp --bench forged_packets`; compare ratios within one run.

#![forbid(unsafe_code)]
// Set-up code: a failed unwrap is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
#[path = "../tests/common.rs"]
mod common;
use common::Rng;
use sframe_rtp::{
    Codec, Depacketizer, DepacketizerConfig, FrameMetadata, MediaAssembler, Origin, Packetizer,
    PacketizerConfig, ReassemblyConfig,
};

fn depacketizer(c: &mut Criterion) {
    let mut g = c.benchmark_group("depacketizer_push/100B");
    let cfg = PacketizerConfig {
        mtu: 1200,
        srtp_overhead: 0,
    };
    let mut p = Packetizer::new(1, 0, cfg);
    let mut d = Depacketizer::new(DepacketizerConfig::default());
    let mut ts = 0u32;
    let mut genuine = || {
        ts = ts.wrapping_add(3000);
        let meta = FrameMetadata {
            payload_type: 96,
            timestamp: ts,
            marker: true,
            ..FrameMetadata::default()
        };
        let mut out = Vec::new();
        p.packetize_frame(&meta, Origin::Raw, &[7; 100], &mut out)
            .unwrap();
        Bytes::from(out.remove(0))
    };
    // Keep the genuine stream's window where it is for the hostile cases.
    let template = genuine();
    d.push(&template).unwrap();
    g.bench_function("genuine", |b| {
        b.iter_batched(
            &mut genuine,
            |pkt| d.push(black_box(&pkt)).is_ok(),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("malformed", |b| {
        b.iter_batched(
            || Bytes::from_static(&[0x80, 96, 0, 1, 0]),
            |pkt| d.push(black_box(&pkt)).is_err(),
            BatchSize::SmallInput,
        );
    });
    let mut rng = Rng::new(1);
    g.bench_function("storm_random_seq", |b| {
        b.iter_batched(
            || {
                let mut v = template.to_vec();
                let seq = rng.next_u64() as u16;
                v[2..4].copy_from_slice(&seq.to_be_bytes());
                Bytes::from(v)
            },
            |pkt| d.push(black_box(&pkt)).is_ok(),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

fn media_assembler(c: &mut Criterion) {
    let mut g = c.benchmark_group("media_assembler_push/vp9");
    let mut a = MediaAssembler::new(&[(98, Codec::Vp9)], ReassemblyConfig::default(), 4);
    let mut seq = 0u16;
    let genuine = |len: usize| {
        let mut g = vec![0xDC, 0x01, 0x02];
        g.resize(3 + len, 5);
        Bytes::from(g)
    };
    let mut ss = vec![0x0E, 0x08, 255];
    for i in 0..255u8 {
        ss.extend_from_slice(&[0x0C, i, i, i]);
    }
    ss.extend_from_slice(&[5; 100]);
    let ss = Bytes::from(ss);
    // The SS packet is 1,123 bytes: compare with a genuine packet of the same size too.
    for (name, payload) in [
        ("genuine_pdiff_103B", genuine(100)),
        ("genuine_pdiff_1123B", genuine(1120)),
        ("ss_255_entries_1123B", ss),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                a.push(7, seq, 98, u32::from(seq), true, black_box(payload.clone()))
                    .unwrap()
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = depacketizer, media_assembler
}
criterion_main!(benches);
