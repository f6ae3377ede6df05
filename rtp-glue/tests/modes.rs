//! Both SFrame modes end to end over SRTP (no network): every codec payloader in per-packet
//! mode, per-frame mode with CSRCs and header extensions, the MTU respected exactly, and
//! per-SSRC keys.

// Setup helpers outside #[test] functions panic on failure, like the tests.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::*;
use rtp::codecs::h264::H264Packet;
use rtp::header::{EXTENSION_PROFILE_ONE_BYTE, Extension};
use rtp::packetizer::Depacketizer;
use sframe_rtp::{
    Codec, Descriptor, Error, FrameMetadata, Mode, Origin, RtpView,
    SrtpProfile, SrtpContext, rtp,
};

fn metadata(pt: u8, ts: u32, marker: bool) -> FrameMetadata {
    FrameMetadata {
        payload_type: pt,
        timestamp: ts,
        marker,
        csrcs: vec![0x0101_0101, 0x0202_0202],
        extension_profile: EXTENSION_PROFILE_ONE_BYTE,
        extensions: vec![
            Extension {
                id: 1,
                payload: Bytes::from_static(&[0x80]), // audio level
            },
            Extension {
                id: 5,
                payload: Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
            },
        ],
    }
}

fn h264_frame(idr_len: usize) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0xaa];
    f.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
    f.extend_from_slice(&[0, 0, 0, 1, 0x65]);
    let mut rng = Rng::new(5);
    let mut body = vec![0; idr_len];
    rng.fill(&mut body);
    // No start code emulation inside the NAL unit.
    for b in &mut body {
        if *b <= 3 {
            *b = 0x55;
        }
    }
    f.extend_from_slice(&body);
    f
}

fn av1_frame(len: usize) -> Vec<u8> {
    // A temporal delimiter OBU, then a frame OBU with a size field (LEB128).
    let mut f = vec![0x12, 0x00, 0x32];
    let mut n = len;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            f.push(b);
            break;
        }
        f.push(b | 0x80);
    }
    let mut body = vec![0; len];
    Rng::new(6).fill(&mut body);
    f.extend_from_slice(&body);
    f
}

fn check_wire(packet: &[u8], profile: SrtpProfile, meta: &FrameMetadata) {
    assert!(
        packet.len() <= MTU,
        "{} bytes on the wire > MTU {MTU}",
        packet.len()
    );
    let v = RtpView::parse_header(packet).unwrap();
    assert_eq!(v.payload_type(), meta.payload_type);
    assert_eq!(v.timestamp(), meta.timestamp);
    assert_eq!(v.csrcs().collect::<Vec<_>>(), meta.csrcs);
    assert_eq!(v.to_header().unwrap().extensions, meta.extensions);
    let _ = profile;
}

/// Sends `frame` as stream 0x5000 and receives it; returns the packets and what came out.
fn round_trip(
    mode: Mode,
    profile: SrtpProfile,
    codec: Codec,
    frame: &[u8],
    pt: u8,
) -> (Vec<Vec<u8>>, Vec<Received>) {
    let keys = srtp_keys(profile, 77);
    let mut tx = media_sender(mode, KeyMode::Shared, 3, &keys);
    tx.add_stream(0x5000, 100, Some(codec)).unwrap();
    let mut rx = media_receiver_with(KeyMode::Shared, &keys, vec![(pt, codec)]);
    rx.add_stream(0x5000);
    rx.add_key(3, &sframe_base_key(3)).unwrap();
    let meta = metadata(pt, 1234, true);
    let mut packets = vec![];
    tx.send_frame(0x5000, frame, &meta, &mut packets).unwrap();
    let mut got = vec![];
    for p in &packets {
        check_wire(p, profile, &meta);
        if let Some(r) = rx.receive(p).unwrap() {
            got.push(r);
        }
    }
    (packets, got)
}

fn only_frame(mut got: Vec<Received>) -> MediaFrame {
    assert_eq!(got.len(), 1, "{got:?}");
    match got.remove(0) {
        Received::Frame(f) | Received::Assembled(f) | Received::Payload(f) => f,
    }
}

#[test]
fn per_frame_mode_round_trips_with_csrcs_and_extensions() {
    for profile in SrtpProfile::ALL {
        for len in [1usize, 160, 1200, 10_000, 50_000] {
            let mut frame = vec![0; len];
            Rng::new(len as u64).fill(&mut frame);
            let (packets, got) = round_trip(Mode::PerFrame, profile, Codec::Vp8, &frame, 96);
            let f = only_frame(got.clone());
            assert!(matches!(got[0], Received::Frame(_)));
            assert_eq!(&f.data[..], &frame[..]);
            assert_eq!(
                (f.packets as usize, f.kid, f.marker),
                (packets.len(), 3, true)
            );
            // Fewest packets for the budget the MTU leaves.
            let meta = metadata(96, 1234, true);
            let mut p = sframe_rtp::Packetizer::new(
                0x5000,
                0,
                sframe_rtp::PacketizerConfig {
                    mtu: MTU,
                    srtp_overhead: profile.overhead(),
                },
            );
            let budget = p.payload_budget(&meta).unwrap();
            let overhead = MTU - budget;
            let carried: usize = packets.iter().map(|p| p.len() - overhead).sum();
            assert_eq!(packets.len(), carried.div_ceil(budget), "{profile:?} {len}");
        }
    }
}

#[test]
fn per_packet_mode_vp8_vp9_opus_assemble_into_the_original_frame() {
    for profile in SrtpProfile::ALL {
        for (codec, len) in [
            (Codec::Vp8, 30_000),
            (Codec::Vp9, 30_000),
            (Codec::Opus, 160),
        ] {
            let mut frame = vec![0; len];
            Rng::new(9).fill(&mut frame);
            let (packets, got) = round_trip(Mode::PerPacket, profile, codec, &frame, 96);
            // The descriptor is inside SRTP's encryption: look after unprotecting.
            let mut srtp_rx = SrtpContext::receiver(&srtp_keys(profile, 77), 64).unwrap();
            sframe_rtp::SrtpTransform::allow_ssrc(&mut srtp_rx, 0x5000);
            let descriptors: Vec<Descriptor> = packets
                .iter()
                .map(|p| {
                    let plain = unprotect_vec(&mut srtp_rx, p);
                    let v = RtpView::parse(&plain).unwrap();
                    Descriptor::from_byte(v.payload()[0])
                })
                .collect();
            assert!(
                descriptors
                    .iter()
                    .all(|d| d.start && d.end && d.origin == Origin::Packetized)
            );
            let f = match got.as_slice() {
                [Received::Assembled(f)] => f.clone(),
                other => panic!("{codec:?}: {other:?}"),
            };
            assert_eq!(&f.data[..], &frame[..], "{codec:?} {profile:?}");
            assert_eq!(f.packets as usize, packets.len());
            // Only the last packet carries the marker.
            let markers: Vec<bool> = packets
                .iter()
                .map(|p| RtpView::parse_header(p).unwrap().marker())
                .collect();
            assert_eq!(markers.iter().filter(|m| **m).count(), 1);
            assert_eq!(markers.last(), Some(&true));
        }
    }
}

#[test]
fn per_packet_mode_h264_payloads_depacketize_into_the_original() {
    for profile in SrtpProfile::ALL {
        let frame = h264_frame(20_000);
        let (packets, got) = round_trip(Mode::PerPacket, profile, Codec::H264, &frame, 102);
        assert_eq!(got.len(), packets.len(), "one decrypted payload per packet");
        let mut depacketizer = H264Packet::default();
        let mut annex_b = vec![];
        for r in got {
            let Received::Payload(p) = r else {
                panic!("H.264 is handed out per payload")
            };
            annex_b.extend_from_slice(&depacketizer.depacketize(&p.data).unwrap());
        }
        assert_eq!(annex_b, frame);
    }
}

#[test]
fn per_packet_mode_av1_payloads_are_the_payloaders_own() {
    for profile in SrtpProfile::ALL {
        let frame = av1_frame(12_000);
        let (packets, got) = round_trip(Mode::PerPacket, profile, Codec::Av1, &frame, 45);
        assert!(packets.len() > 10);
        // What the AV1 payloader gives for the budget the sender used.
        let meta = metadata(45, 1234, true);
        let mut p = sframe_rtp::Packetizer::new(
            0x5000,
            0,
            sframe_rtp::PacketizerConfig {
                mtu: MTU,
                srtp_overhead: profile.overhead(),
            },
        );
        let header = sframe_core::Header::new(3, frame.len() as u64 + 1).len();
        let budget = p.payload_budget(&meta).unwrap() - header - SUITE.tag_len();
        let expected = Codec::Av1
            .payloader()
            .payload(budget, &Bytes::from(frame.clone()))
            .unwrap();
        let got: Vec<Bytes> = got
            .into_iter()
            .map(|r| match r {
                Received::Payload(p) => p.data,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn opus_frame_larger_than_the_mtu_is_refused_not_sent() {
    let keys = srtp_keys(SrtpProfile::AeadAes128Gcm, 1);
    let mut tx = media_sender(Mode::PerPacket, KeyMode::Shared, 3, &keys);
    tx.add_stream(1, 0, Some(Codec::Opus)).unwrap();
    let mut out = vec![];
    let r = tx.send_frame(1, &[0; 1300], &metadata(111, 0, false), &mut out);
    assert!(matches!(r, Err(Error::PacketTooLarge { .. })), "{r:?}");
    assert!(out.is_empty());
}

#[test]
fn per_ssrc_keys_differ_per_stream_and_round_trip() {
    let keys = srtp_keys(SrtpProfile::AeadAes128Gcm, 4);
    let mut tx = media_sender(Mode::PerFrame, KeyMode::PerSsrc, 9, &keys);
    tx.add_stream(0xA, 0, None).unwrap();
    tx.add_stream(0xB, 0, None).unwrap();
    let mut rx = media_receiver(KeyMode::PerSsrc, &keys);
    rx.add_stream_key(0xA, 9, &sframe_base_key(9)).unwrap();
    // Stream B's key is installed as if B were A's SSRC: B must not decrypt with it.
    let mut wrong = media_receiver(KeyMode::PerSsrc, &keys);
    wrong.add_stream_key(0xB, 9, &sframe_base_key(9)).unwrap();
    rx.add_stream_key(0xB, 9, &sframe_base_key(9)).unwrap();

    let frame = b"per-SSRC keyed frame".to_vec();
    let mut a = vec![];
    tx.send_frame(0xA, &frame, &metadata(96, 0, true), &mut a)
        .unwrap();
    let mut b = vec![];
    tx.send_frame(0xB, &frame, &metadata(96, 0, true), &mut b)
        .unwrap();
    for p in a.iter().chain(&b) {
        let f = only_frame(vec![rx.receive(p).unwrap().unwrap()]);
        assert_eq!(&f.data[..], &frame[..]);
        assert_eq!(f.kid, 9);
    }
    // Re-label A's packet as SSRC B (a fresh SRTP sender, so SRTP accepts it): SFrame refuses.
    let mut relabel = SrtpContext::sender(&keys).unwrap();
    let plain = {
        let mut rx_plain = SrtpContext::receiver(&keys, 64).unwrap();
        sframe_rtp::SrtpTransform::allow_ssrc(&mut rx_plain, 0xA);
        unprotect_vec(&mut rx_plain, &a[0])
    };
    let mut forged = plain.to_vec();
    forged[8..12].copy_from_slice(&0xBu32.to_be_bytes());
    forged[2..4].copy_from_slice(&500u16.to_be_bytes());
    protect_vec(&mut relabel, &mut forged);
    assert_eq!(
        wrong.receive(&forged),
        Err(Error::SFrame(sframe_core::Error::AuthenticationFailed))
    );
}
