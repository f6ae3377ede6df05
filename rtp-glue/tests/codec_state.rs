//! Attack class: codec parser state kept across packets (issue 14, cases 3 and 4).
//!
//! `rtp` 0.17's `Vp9Packet` appends each packet's P_DIFFs and scalability-structure lists to
//! itself and never clears them: a long-lived parser refused every per-packet VP9 frame after
//! the second one with a reference index, and grew by kilobytes per packet with SS data. Every
//! codec's parsing must depend on the packet alone. (The heap bound itself is measured with a
//! counting allocator in test-vectors/tests/depacketizer_memory.rs.)

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use sframe_rtp::{Codec, MediaAssembler, ReassemblyConfig, SframeRtpError as Error};

const PT: u8 = 98;

fn assembler(codec: Codec) -> MediaAssembler {
    MediaAssembler::new(&[(PT, codec)], ReassemblyConfig::default(), 4)
}

/// A single-packet VP9 frame: I=1 P=1 F=1 B=1 E=1, a 7-bit picture ID, one P_DIFF.
fn vp9_with_pdiff(picture_id: u8, body: &[u8]) -> Bytes {
    let mut p = vec![0xDC, picture_id & 0x7f, 0x02];
    p.extend_from_slice(body);
    Bytes::from(p)
}

/// A single-packet VP9 key frame with a scalability structure of 255 picture-group entries,
/// each with three P_DIFFs.
fn vp9_with_big_ss(body: &[u8]) -> Bytes {
    // B=1 E=1 V=1; SS: N_S=0 Y=0 G=1; N_G=255; each entry T=0 U=0 R=3, then 3 P_DIFFs.
    let mut p = vec![0x0E, 0x08, 255];
    for i in 0..255u8 {
        p.extend_from_slice(&[0x0C, i, i.wrapping_add(1), i.wrapping_add(2)]);
    }
    p.extend_from_slice(body);
    Bytes::from(p)
}

#[test]
fn vp9_frames_with_reference_indices_keep_assembling() {
    let mut a = assembler(Codec::Vp9);
    for i in 0..10u16 {
        let body = format!("vp9 frame {i}");
        let out = a
            .push(
                7,
                i,
                PT,
                u32::from(i) * 3000,
                true,
                vp9_with_pdiff(i as u8, body.as_bytes()),
            )
            .unwrap_or_else(|e| panic!("frame {i}: {e}"));
        assert_eq!(out.map(|f| f.data), Some(Bytes::from(body)), "frame {i}");
    }
    assert_eq!(a.stats().frames, 10);
}

#[test]
fn vp9_scalability_structures_do_not_accumulate() {
    let mut a = assembler(Codec::Vp9);
    for i in 0..10_000u32 {
        let out = a
            .push(7, i as u16, PT, i * 3000, true, vp9_with_big_ss(b"key"))
            .unwrap_or_else(|e| panic!("packet {i}: {e}"));
        assert_eq!(out.map(|f| f.data), Some(Bytes::from_static(b"key")));
    }
    assert_eq!(a.stats().frames, 10_000);
}

#[test]
fn a_refused_payload_leaves_the_parser_as_it_was() {
    let mut a = assembler(Codec::Vp9);
    // Four P_DIFFs (N set on the first three): more than the three VP9 allows.
    let bad = Bytes::from_static(&[0xDC, 0x01, 0x03, 0x03, 0x03, 0x02, 0xff]);
    assert_eq!(a.push(7, 0, PT, 0, true, bad), Err(Error::CodecPayload));
    for i in 1..5u16 {
        assert!(
            a.push(7, i, PT, u32::from(i), true, vp9_with_pdiff(1, b"ok"))
                .unwrap()
                .is_some()
        );
    }
}

fn codec_strategy() -> impl Strategy<Value = Codec> {
    prop_oneof![Just(Codec::Vp8), Just(Codec::Vp9), Just(Codec::Opus)]
}

proptest! {
    /// For every codec with a parser: what a payload gives does not depend on the payloads
    /// parsed before it (on another SSRC, so the reassembly state is not shared).
    #[test]
    fn parsing_depends_on_the_packet_alone(
        codec in codec_strategy(),
        before in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
        payload in proptest::collection::vec(any::<u8>(), 0..40),
        marker in any::<bool>(),
    ) {
        let mut used = assembler(codec);
        for (i, b) in before.into_iter().enumerate() {
            let _ = used.push(1, i as u16, PT, 0, true, Bytes::from(b));
        }
        let mut fresh = assembler(codec);
        let payload = Bytes::from(payload);
        prop_assert_eq!(
            used.push(2, 100, PT, 9, marker, payload.clone()),
            fresh.push(2, 100, PT, 9, marker, payload)
        );
    }
}
