//! A receiver keyed statically and one keyed by the MLS keyring decode the same sender's
//! stream: the pipeline and the SFrame metadata policy are the same for every key source, so
//! a static receiver given the epoch's base key under the sender's KID reads what an MLS
//! member sends.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sframe_core::{CipherSuite, FrameOpener, StaticKeys};
use sframe_mls::{EpochKeys, Keyring, KeyringConfig};
use sframe_rtp::{
    Codec, FrameMetadata, MediaReceiver, MediaReceiverConfig, MediaSender, MediaSenderConfig,
    Mode, ReceiveOutput, SrtpKeys, SrtpProfile, SrtpContext,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const BASE: [u8; 16] = [0x42; 16];

fn srtp() -> SrtpKeys {
    SrtpKeys {
        profile: SrtpProfile::AeadAes128Gcm,
        master_key: vec![1; 16],
        master_salt: vec![2; 12],
    }
}

fn receiver<O: FrameOpener>() -> MediaReceiver<O> {
    let mut r = MediaReceiver::new(
        MediaReceiverConfig {
            codecs: vec![(96, Codec::Vp8)],
            ..MediaReceiverConfig::default()
        },
        Box::new(SrtpContext::receiver(&srtp(), 1024).unwrap()),
    );
    r.add_stream(0x5EED);
    r
}

/// Hands `packet` to `rx` and returns the frames it completed.
fn frames<O: FrameOpener>(rx: &mut MediaReceiver<O>, keys: &mut O, packet: &[u8]) -> Vec<Vec<u8>>
where
    O::Error: std::fmt::Debug,
    O::Event: std::fmt::Debug,
{
    rx.handle_packet(keys, Duration::ZERO, &mut packet.to_vec()).unwrap();
    let mut out = Vec::new();
    while let Some(o) = rx.poll_output(keys) {
        match o {
            ReceiveOutput::Frame(f) => out.push(f.data.to_vec()),
            ReceiveOutput::Dropped(d) => panic!("dropped: {d:?}"),
            ReceiveOutput::KeySource(_) => {}
        }
    }
    out
}

fn run(mode: Mode) {
    let config = KeyringConfig::new(SUITE);
    let mut alice = Keyring::new(config).unwrap();
    alice
        .add_epoch(Duration::ZERO, EpochKeys::new(3, &BASE, Some(2), [0, 1, 2]).unwrap())
        .unwrap();
    let context = 1;
    let kid = alice.send_kid_for(context).unwrap();
    let mut tx = MediaSender::new(
        MediaSenderConfig { mode, mtu: 1200 },
        Box::new(SrtpContext::sender(&srtp()).unwrap()),
    );
    tx.add_stream(0x5EED, 7, context, Some(Codec::Vp8)).unwrap();

    let mut bob = Keyring::new(config).unwrap();
    bob.add_epoch(Duration::ZERO, EpochKeys::new(3, &BASE, Some(0), [0, 1, 2]).unwrap())
        .unwrap();
    let mut bob_rx = receiver::<Keyring>();
    let mut carol = StaticKeys::new(SUITE);
    carol.receiver.add_key(kid, &BASE).unwrap();
    let mut carol_rx = receiver::<StaticKeys>();

    let mut buf = [0u8; 1500];
    let (mut to_bob, mut to_carol) = (Vec::new(), Vec::new());
    let mut sent = Vec::new();
    for i in 0..30u32 {
        let frame: Vec<u8> = (0..(100 + i as usize * 150)).map(|j| (j ^ i as usize) as u8).collect();
        let meta = FrameMetadata {
            payload_type: 96,
            timestamp: i * 3000,
            marker: true,
            ..FrameMetadata::default()
        };
        tx.send_frame(&mut alice, 0x5EED, &frame, &meta).unwrap();
        while let Some(t) = tx.poll_transmit(&mut buf).unwrap() {
            to_bob.extend(frames(&mut bob_rx, &mut bob, &buf[..t.len]));
            to_carol.extend(frames(&mut carol_rx, &mut carol, &buf[..t.len]));
        }
        sent.push(frame);
    }
    assert_eq!(to_bob, sent, "the MLS-keyed receiver");
    assert_eq!(to_carol, sent, "the statically keyed receiver");
}

#[test]
fn both_receivers_decode_the_same_stream_per_frame() {
    run(Mode::PerFrame);
}

#[test]
fn both_receivers_decode_the_same_stream_per_packet() {
    run(Mode::PerPacket);
}
