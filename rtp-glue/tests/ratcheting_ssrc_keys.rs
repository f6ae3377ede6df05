//! A sender whose per-SSRC keys ratchet every few frames (RFC 9605 section 5.1 on the keys of
//! draft-ietf-avtcore-rtp-sframe section 8) is received with nothing lost: the receiver's key
//! source follows each ratchet step on the first frame under it. Before the pipeline took key
//! sources, a receiver keyed with one fixed KID per stream got only the frames before the
//! first step (8 of 24).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sframe_core::{CipherSuite, RatchetKid};
use sframe_rtp::{
    Codec, FrameMetadata, MediaReceiver, MediaReceiverConfig, MediaSender, MediaSenderConfig,
    Mode, ReceiveOutput, SrtpKeys, SrtpProfile, SsrcKeys, SrtpContext,
};

const SUITE: CipherSuite = CipherSuite::Aes256GcmSha512_128;
const BASE: &[u8] = b"the session's base key, per-SSRC keys derive from it";
const GENERATION: u64 = 5;
const R_BITS: u8 = 3;

fn srtp() -> SrtpKeys {
    SrtpKeys {
        profile: SrtpProfile::Aes128CmHmacSha1_80,
        master_key: vec![9; 16],
        master_salt: vec![8; 14],
    }
}

fn run(mode: Mode, ratchet_every: u32, frames: u32) {
    let ssrcs = [0xAAAA_0001u32, 0xAAAA_0002];
    let mut tx_keys = SsrcKeys::new(SUITE);
    let mut tx = MediaSender::new(
        MediaSenderConfig { mode, mtu: 1200 },
        Box::new(SrtpContext::sender(&srtp()).unwrap()),
    );
    let mut rx_keys = SsrcKeys::new(SUITE);
    let mut rx = MediaReceiver::new(
        MediaReceiverConfig {
            codecs: vec![(96, Codec::Vp8)],
            ..MediaReceiverConfig::default()
        },
        Box::new(SrtpContext::receiver(&srtp(), 1024).unwrap()),
    );
    for ssrc in ssrcs {
        tx_keys
            .add_ratcheting_send_stream(ssrc, GENERATION, R_BITS, BASE)
            .unwrap();
        tx.add_stream(ssrc, 0, u64::from(ssrc), Some(Codec::Vp8))
            .unwrap();
        let at = RatchetKid::new(GENERATION, R_BITS, 0).unwrap();
        rx_keys
            .add_ratcheting_receive_stream(ssrc, at, BASE)
            .unwrap();
        rx.add_stream(ssrc);
    }
    let mut buf = [0u8; 1500];
    let mut got = Vec::new();
    let mut kids = Vec::new();
    for i in 0..frames {
        for ssrc in ssrcs {
            if i > 0 && i % ratchet_every == 0 {
                tx_keys.ratchet(ssrc).unwrap();
            }
            let frame: Vec<u8> = (0..2500).map(|j| (i as usize * 31 + j) as u8).collect();
            let meta = FrameMetadata {
                payload_type: 96,
                timestamp: i * 3000,
                marker: true,
                ..FrameMetadata::default()
            };
            tx.send_frame(&mut tx_keys, ssrc, &frame, &meta).unwrap();
            while let Some(t) = tx.poll_transmit(&mut buf).unwrap() {
                rx.handle_packet(&mut rx_keys, Duration::ZERO, &mut buf[..t.len])
                    .unwrap();
                while let Some(out) = rx.poll_output(&mut rx_keys) {
                    match out {
                        ReceiveOutput::Frame(f) => {
                            assert_eq!(f.data, &frame[..], "frame {i} of {ssrc:#x}");
                            got.push((f.place.ssrc, f.place.timestamp));
                            kids.push(f.header.kid);
                        }
                        ReceiveOutput::Dropped(d) => panic!("frame {i} dropped: {d:?}"),
                        ReceiveOutput::KeySource(never) => match never {},
                    }
                }
            }
        }
    }
    assert_eq!(got.len(), (frames * 2) as usize, "nothing lost");
    let steps = u64::from((frames - 1) / ratchet_every);
    let first = RatchetKid::new(GENERATION, R_BITS, 0).unwrap().kid();
    let mut distinct = kids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len() as u64,
        (steps + 1).min(1 << R_BITS),
        "one KID per ratchet step (the step wraps in R bits)"
    );
    assert_eq!(kids[0], first);
}

#[test]
fn ratchet_every_three_frames_per_frame_mode() {
    run(Mode::PerFrame, 3, 24);
}

#[test]
fn ratchet_every_three_frames_per_packet_mode() {
    run(Mode::PerPacket, 3, 24);
}

#[test]
fn ratchet_every_frame_past_the_r_bit_wrap() {
    // 20 steps with R = 3: the step field wraps twice; the receiver follows throughout.
    run(Mode::PerFrame, 1, 21);
}
