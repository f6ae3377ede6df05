//! Codec-packetized SFrame, as browsers with an encoded transform send it: the whole frame
//! SFrame-encrypted, then packetized by the codec's own payloader (VP8 descriptor, one Opus
//! frame per packet). Native sender to native receiver through MLS keyrings; packets
//! reordered; bad packets refused without harm.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sframe_core::CipherSuite;
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, KidLayout};
use sframe_rtp::{
    Codec, CodecSframeError, CodecSframeReceiver, CodecSframeSender, ReassemblyConfig,
    SframeRtpError,
};

const T: Duration = Duration::ZERO;
const VP8: u8 = 96;
const OPUS: u8 = 111;

fn member(leaf: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(CipherSuite::Aes128GcmSha256_128)).unwrap();
    let keys = EpochKeys::new(1, &[5; 16], Some(leaf), [0, 1, 2]).unwrap();
    ring.add_epoch(T, keys).unwrap();
    ring
}

fn receiver() -> CodecSframeReceiver {
    CodecSframeReceiver::new(
        &[(VP8, Codec::Vp8), (OPUS, Codec::Opus)],
        ReassemblyConfig::default(),
        8,
    )
}

/// A VP8 key frame as an encoder writes it: the 3-byte frame tag (P bit clear), the start
/// code, the size, then data.
fn vp8_key_frame(len: usize) -> Vec<u8> {
    let mut f = vec![0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
    f.extend((0..len - f.len()).map(|i| (i * 7 + 3) as u8));
    f
}

#[test]
fn vp8_frames_cross_whole_and_in_any_order() {
    let (mut alice, mut bob) = (member(0), member(1));
    let mut sender = CodecSframeSender::new(Codec::Vp8, VP8, 0x1234, 65530, 1200).unwrap();
    let mut rx = receiver();
    let layout = KidLayout::new(4, 2).unwrap();
    for n in 0..4u32 {
        let plaintext = vp8_key_frame(4000 + n as usize * 500);
        let mut packets = Vec::new();
        let count = sender
            .send(&mut alice, 1, 3000 * n, &plaintext, &mut packets)
            .unwrap();
        assert_eq!(count, packets.len());
        assert!(count >= 4, "{count} packets for {} bytes", plaintext.len());
        for (i, p) in packets.iter().enumerate() {
            assert!(p.len() <= 1200);
            // Marker on the last packet only; the VP8 descriptor's S bit on the first only.
            assert_eq!(p[1] & 0x80 != 0, i + 1 == count);
            assert_eq!(p[1] & 0x7f, VP8);
            assert_eq!(p[12] & 0x10 != 0, i == 0);
        }
        // The SFrame header follows the first packet's 1-byte descriptor: the payload is no
        // longer a VP8 key frame to anyone without the key.
        assert_ne!(&packets[0][13 + 3..13 + 6], &[0x9d, 0x01, 0x2a]);
        if n % 2 == 1 {
            packets.reverse();
        }
        let mut frames = Vec::new();
        for p in &packets {
            frames.extend(rx.push(&mut bob, T, p).unwrap());
        }
        assert_eq!(frames.len(), 1, "frame {n}");
        let frame = &frames[0];
        assert_eq!(frame.plaintext(), &plaintext[..]);
        assert_eq!(frame.plaintext()[3..6], [0x9d, 0x01, 0x2a]);
        assert_eq!((frame.ssrc, frame.payload_type), (0x1234, VP8));
        assert_eq!(frame.timestamp, 3000 * n);
        assert_eq!(frame.header.kid, layout.kid(1, 0, 1).unwrap());
        assert_eq!(frame.header.ctr, u64::from(n));
    }
    assert_eq!(rx.stats().frames, 4);
}

#[test]
fn opus_frames_are_one_packet_each() {
    let (mut alice, mut bob) = (member(0), member(1));
    let mut sender = CodecSframeSender::new(Codec::Opus, OPUS, 0xabcd, 1, 1200).unwrap();
    let mut rx = receiver();
    for n in 0..50u32 {
        let plaintext: Vec<u8> = (0..60 + n).map(|i| (i ^ n) as u8).collect();
        let mut packets = Vec::new();
        assert_eq!(
            sender
                .send(&mut alice, 0, 960 * n, &plaintext, &mut packets)
                .unwrap(),
            1
        );
        let frame = rx
            .push(&mut bob, T, &packets[0])
            .unwrap()
            .expect("whole frame");
        assert_eq!(frame.plaintext(), &plaintext[..]);
    }
    // An Opus frame is never split: one larger than the MTU is the caller's error.
    let mut packets = Vec::new();
    let err = sender
        .send(&mut alice, 0, 0, &[0; 1300], &mut packets)
        .unwrap_err();
    assert!(matches!(
        err,
        CodecSframeError::Rtp(SframeRtpError::PacketTooLarge { mtu: 1200, .. })
    ));
    assert!(packets.is_empty());
}

#[test]
fn bad_packets_are_refused_and_the_next_frame_decrypts() {
    let (mut alice, mut bob) = (member(0), member(1));
    let mut sender = CodecSframeSender::new(Codec::Opus, OPUS, 7, 100, 1200).unwrap();
    let mut rx = receiver();
    let mut packets = Vec::new();
    sender
        .send(&mut alice, 0, 0, b"first", &mut packets)
        .unwrap();
    sender
        .send(&mut alice, 0, 960, b"second", &mut packets)
        .unwrap();

    let mut tampered = packets[0].clone();
    *tampered.last_mut().unwrap() ^= 1;
    let err = rx.push(&mut bob, T, &tampered).unwrap_err();
    assert!(matches!(err, CodecSframeError::Key(_)), "{err:?}");
    assert!(matches!(
        rx.push(&mut bob, T, &packets[0][..5]),
        Err(CodecSframeError::Rtp(SframeRtpError::Rtp(_)))
    ));
    let mut unknown_pt = packets[1].clone();
    unknown_pt[1] = (unknown_pt[1] & 0x80) | 99;
    assert!(matches!(
        rx.push(&mut bob, T, &unknown_pt),
        Err(CodecSframeError::Rtp(SframeRtpError::UnknownStream(7)))
    ));
    let frame = rx.push(&mut bob, T, &packets[1]).unwrap().expect("genuine");
    assert_eq!(frame.plaintext(), b"second");
    // Not a member's key: bob's keyring does not know leaf 3 (S = 2 holds it).
    let mut stranger = Keyring::new(KeyringConfig::new(CipherSuite::Aes128GcmSha256_128)).unwrap();
    stranger
        .add_epoch(
            T,
            EpochKeys::new(1, &[5; 16], Some(3), [0, 1, 2, 3]).unwrap(),
        )
        .unwrap();
    let mut forged = Vec::new();
    sender
        .send(&mut stranger, 0, 1920, b"x", &mut forged)
        .unwrap();
    assert!(matches!(
        rx.push(&mut bob, T, &forged[0]),
        Err(CodecSframeError::Key(_))
    ));
}
