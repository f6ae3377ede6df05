//! Attack class: a sequence-number storm on one SSRC (issue 14, case 5).
//!
//! 50 genuine frames, then 10,000 packets with random sequence numbers (and random S/E flags
//! and payloads) on the same SSRC, then 200 more genuine frames. Before resynchronisation the
//! window followed the highest number seen and never came back: in some storms none of the 200
//! were delivered. Now the stream resynchronises (RFC 3550 Appendix A.1) and the genuine frames
//! after the storm come out.

#![allow(clippy::unwrap_used)]

mod common;
use common::Rng;
use sframe_rtp::{
    Depacketizer, DepacketizerConfig, FrameMetadata, Origin, Packetizer, PacketizerConfig, Pushed,
    ReassemblyConfig,
};

const SSRC: u32 = 0x5708;

/// Frame `i`: its index in the first 4 bytes, 3 packets of at most 100 bytes each.
fn frame(i: u32) -> Vec<u8> {
    let mut f = i.to_be_bytes().to_vec();
    f.resize(250, (i % 251) as u8);
    f
}

fn genuine(p: &mut Packetizer, range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in range {
        let meta = FrameMetadata {
            payload_type: 96,
            timestamp: i * 3000,
            marker: true,
            ..FrameMetadata::default()
        };
        p.packetize_frame(&meta, Origin::Raw, &frame(i), &mut out)
            .unwrap();
    }
    out
}

/// A packet of the same SSRC with a random sequence number, timestamp, descriptor and payload.
fn storm_packet(rng: &mut Rng) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&(rng.next_u64() as u16).to_be_bytes());
    p.extend_from_slice(&(rng.next_u64() as u32).to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    let mut payload = vec![0u8; rng.between(1, 100) as usize];
    rng.fill(&mut payload);
    p.extend_from_slice(&payload);
    p
}

/// The indices of the genuine frames delivered (with the right bytes).
fn delivered(d: &mut Depacketizer, packets: Vec<Vec<u8>>) -> Vec<u32> {
    let mut got = Vec::new();
    for p in packets {
        if let Ok((_, Pushed::Frame(f))) = d.push(&p) {
            let i = f
                .data
                .get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            if let Some(i) = i
                && f.data[..] == frame(i)[..]
            {
                got.push(i);
            }
        }
    }
    got
}

fn storm_then_recover(seed: u64, config: DepacketizerConfig) -> (Vec<u32>, u64) {
    let mut rng = Rng::new(seed);
    let first_seq = rng.next_u64() as u16;
    let mut p = Packetizer::new(
        SSRC,
        first_seq,
        PacketizerConfig {
            mtu: 120,
            srtp_overhead: 0,
        },
    );
    let mut d = Depacketizer::new(config);
    let before = delivered(&mut d, genuine(&mut p, 0..50));
    assert_eq!(
        before,
        (0..50).collect::<Vec<_>>(),
        "seed {seed}: before the storm"
    );
    let storm: Vec<Vec<u8>> = (0..10_000).map(|_| storm_packet(&mut rng)).collect();
    delivered(&mut d, storm);
    let after = delivered(&mut d, genuine(&mut p, 50..250));
    let resyncs = d.stats().resyncs;
    // Memory stays bounded whatever the storm did.
    assert!(d.pending_fragments() <= usize::from(config.reassembly.window));
    assert!(d.pending_bytes() <= config.reassembly.max_pending_bytes);
    (after, resyncs)
}

#[test]
fn genuine_frames_after_a_storm_are_delivered() {
    let mut worst = 200;
    for seed in 1..=16u64 {
        let (after, _) = storm_then_recover(seed, DepacketizerConfig::default());
        // The stream comes back at once: a resync costs at most the frame whose first packet
        // was the probe, and storm packets left in the window can shadow (as duplicates) at
        // most the genuine packets that fall in it. Past that window every frame is delivered.
        assert!(
            after.len() >= 190,
            "seed {seed}: only {} of 200 delivered",
            after.len()
        );
        let tail: Vec<u32> = (100..250).collect();
        assert!(
            tail.iter().all(|i| after.contains(i)),
            "seed {seed}: a frame of the last 150 missing: {:?}",
            tail.iter()
                .filter(|i| !after.contains(i))
                .collect::<Vec<_>>()
        );
        worst = worst.min(after.len());
    }
    eprintln!("fewest genuine frames delivered after a storm: {worst} of 200");
}

#[test]
fn a_sender_restart_far_away_resynchronises_on_the_second_packet() {
    let mut d = Depacketizer::new(DepacketizerConfig::default());
    let cfg = PacketizerConfig {
        mtu: 1200,
        srtp_overhead: 0,
    };
    let mut p = Packetizer::new(SSRC, 1000, cfg);
    assert_eq!(delivered(&mut d, genuine(&mut p, 0..10)).len(), 10);
    // The sender restarts its numbering 30,000 away: one frame per packet here.
    let mut p = Packetizer::new(SSRC, 31_000, cfg);
    let got = delivered(&mut d, genuine(&mut p, 10..20));
    assert_eq!(got, (11..20).collect::<Vec<_>>(), "only the probe is lost");
    assert_eq!(d.stats().resyncs, 1);
    assert_eq!(d.stats().late, 1);
}

#[test]
fn isolated_far_packets_never_move_the_window() {
    let mut d = Depacketizer::new(DepacketizerConfig::default());
    let cfg = PacketizerConfig {
        mtu: 1200,
        srtp_overhead: 0,
    };
    let mut p = Packetizer::new(SSRC, 100, cfg);
    let mut rng = Rng::new(7);
    let mut got = Vec::new();
    for i in 0..100u32 {
        got.extend(delivered(&mut d, genuine(&mut p, i..i + 1)));
        // Between every two genuine packets, one far from the window (never consecutive).
        let mut far = storm_packet(&mut rng);
        let seq = 100u16
            .wrapping_add(i as u16)
            .wrapping_add(10_000 + (i as u16 * 7));
        far[2..4].copy_from_slice(&seq.to_be_bytes());
        delivered(&mut d, vec![far]);
    }
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(d.stats().resyncs, 0);
}

#[test]
fn a_storm_against_the_largest_window_is_survived_too() {
    let config = DepacketizerConfig {
        reassembly: ReassemblyConfig {
            window: 32_768,
            max_pending_bytes: 4 << 20,
        },
        ..DepacketizerConfig::default()
    };
    for seed in 100..104u64 {
        let (after, _) = storm_then_recover(seed, config);
        // The window is half the number space: storm packets left in it shadow (as
        // duplicates) more of the genuine packets before the stream passes them.
        assert!(
            after.len() >= 190,
            "seed {seed}: only {} of 200 delivered",
            after.len()
        );
    }
}
