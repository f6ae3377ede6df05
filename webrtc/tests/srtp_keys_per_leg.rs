//! Every leg has SRTP keys of its own: Alice's uplink to the SFU and the SFU's downlinks to Bob
//! and to Carol are three DTLS-SRTP associations, so the same RTP packet is encrypted three
//! different ways.
//!
//! str0m does not expose its SRTP keys, so the test compares what the wire carries. The SFU
//! forwards Alice's packets to Bob and Carol under her SSRC and sequence number, with the same
//! payload, so each copy has the same SRTP index: with one key on two legs, AES-GCM would
//! produce the same ciphertext on both (and reuse their keystream). The test pairs the datagrams
//! Alice sent and those Bob and Carol received by SSRC and sequence number, and checks that no
//! two legs carry the same encrypted payload.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::{sfu, wait_until};
use sframe_webrtc::legs::srtp_payload;
use sframe_webrtc::{ParticipantConfig, ParticipantHandle};

/// SRTP payloads of a datagram stream by (SSRC, sequence number).
fn srtp_payloads(datagrams: &Receiver<Vec<u8>>) -> HashMap<(u32, u16), Vec<u8>> {
    datagrams
        .try_iter()
        .filter_map(|d| srtp_payload(&d).map(|(ssrc, seq, p)| ((ssrc, seq), p.to_vec())))
        .collect()
}

#[test]
fn each_leg_encrypts_the_same_packet_differently() {
    let sfu = sfu();
    let secs = Duration::from_secs;
    let (alice_tx, alice_sent) = mpsc::channel();
    let mut alice = ParticipantConfig::new(&sfu.url(), "alice", secs(6));
    alice.tap = Some(alice_tx);
    let alice = ParticipantHandle::spawn(alice).unwrap();
    assert!(wait_until(secs(15), || alice
        .progress()
        .joined
        .load(std::sync::atomic::Ordering::SeqCst)));
    let mut taps = Vec::new();
    let mut others = Vec::new();
    for name in ["bob", "carol"] {
        let (tx, rx) = mpsc::channel();
        let mut config = ParticipantConfig::new(&sfu.url(), name, secs(3));
        config.rx_tap = Some(tx);
        taps.push(rx);
        others.push(ParticipantHandle::spawn(config).unwrap());
    }
    let reports: Vec<_> = others.into_iter().map(|p| p.join().unwrap()).collect();
    let alice = alice.join().unwrap();
    let _ = sfu.stop();
    for r in &reports {
        assert!(r.decrypted > 100, "{} decrypted {}", r.name, r.decrypted);
    }

    let uplink = srtp_payloads(&alice_sent);
    let bob = srtp_payloads(&taps[0]);
    let carol = srtp_payloads(&taps[1]);
    let mut compared = 0;
    for (key, up) in &uplink {
        if !alice.ssrcs.contains(&key.0) {
            continue;
        }
        let (Some(b), Some(c)) = (bob.get(key), carol.get(key)) else {
            continue;
        };
        // Same length: the same packet, forwarded as it came.
        assert_eq!((up.len(), b.len()), (c.len(), c.len()), "packet {key:?}");
        assert_ne!(
            up, b,
            "Alice's uplink and Bob's downlink share a key: {key:?}"
        );
        assert_ne!(
            up, c,
            "Alice's uplink and Carol's downlink share a key: {key:?}"
        );
        assert_ne!(b, c, "Bob's and Carol's downlinks share a key: {key:?}");
        compared += 1;
    }
    // Bob and Carol were there together for about 3 s of Alice's 80 packets per second.
    assert!(
        compared > 100,
        "only {compared} packets were seen on all three legs"
    );
}
