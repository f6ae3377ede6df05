//! Malformed input at the SFU while three participants talk: random datagrams, STUN garbage,
#![allow(clippy::unwrap_used)]
//! truncated RTP, unknown SSRCs and replayed SRTP packets from another socket, and malformed
//! or out-of-place MLS messages on a participant's data channel. The SFU refuses each one and
//! counts it exactly; the group and the media carry on.

mod common;

use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use sframe_webrtc::{MlsMessage, ParticipantConfig, ParticipantHandle, SfuStats};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// How the SFU should classify `d` when no peer connection claims it.
#[derive(Default, Debug, PartialEq, Eq)]
struct Expected {
    unparsed: u64,
    stun: u64,
    dtls: u64,
    rtp: u64,
}

impl Expected {
    fn add(&mut self, d: &[u8]) {
        if str0m::net::DatagramRecv::try_from(d).is_err() {
            self.unparsed += 1;
            return;
        }
        match d[0] {
            0..=3 => self.stun += 1,
            20..=63 => self.dtls += 1,
            _ => self.rtp += 1,
        }
    }

    fn of(a: &SfuStats, b: &SfuStats) -> Self {
        Self {
            unparsed: b.refused_unparsed - a.refused_unparsed,
            stun: b.refused_stun - a.refused_stun,
            dtls: b.refused_dtls - a.refused_dtls,
            rtp: b.refused_rtp - a.refused_rtp,
        }
    }
}

fn datagrams(replayed: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut out = Vec::new();
    // Random datagrams, 1 to 1200 bytes.
    for _ in 0..40 {
        let n = 1 + (rng.next() % 1200) as usize;
        out.push(rng.bytes(n));
    }
    // STUN garbage: a binding request header, a random transaction, random attributes.
    for i in 0..20 {
        let mut d = vec![0x00, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42];
        d.extend(rng.bytes(12 + i % 16));
        out.push(d);
    }
    // Truncated RTP: version 2, fewer than 12 header bytes.
    for n in 1..12 {
        let mut d = vec![0x80, 96];
        d.extend(rng.bytes(n));
        d.truncate(n);
        out.push(d);
    }
    // Whole RTP packets of unknown SSRCs.
    for i in 0..20u16 {
        let mut d = vec![0x80, 96];
        d.extend(i.to_be_bytes());
        d.extend(rng.bytes(4 + 4 + 100));
        out.push(d);
    }
    // Real SRTP (and SRTCP) packets of a participant, replayed from another socket.
    out.extend(replayed.iter().cloned());
    out
}

#[test]
fn the_sfu_refuses_injected_input_and_keeps_forwarding() {
    let sfu = common::sfu();
    let (tap_tx, tap_rx) = mpsc::channel();
    let mut alice = ParticipantConfig::new(&sfu.url(), "alice", Duration::from_secs(60));
    alice.tap = Some(tap_tx);
    let alice = ParticipantHandle::spawn(alice).unwrap();
    let joined = |p: &ParticipantHandle| p.progress().joined.load(Ordering::SeqCst);
    assert!(common::wait_until(Duration::from_secs(15), || joined(
        &alice
    )));
    // Bob sends malformed MLS messages (and well-framed ones the delivery service refuses) on
    // his data channel as soon as he is in the group.
    let mut bob = ParticipantConfig::new(&sfu.url(), "bob", Duration::from_secs(60));
    let mut wrong_version = MlsMessage::Ack { leaf: 1, epoch: 1 }.encode();
    wrong_version[0] = 9;
    let mut bad_length = MlsMessage::Ack { leaf: 1, epoch: 1 }.encode();
    bad_length[5] += 1;
    bob.raw_mls = vec![
        // (Not an empty message: str0m's SCTP does not carry those.)
        vec![1],
        vec![0xff; 40],
        wrong_version,
        bad_length,
        // Framed well, refused by the delivery service: a commit nobody asked for, an
        // acknowledgement in another member's name, a message only the SFU sends.
        MlsMessage::Commit {
            epoch: 7,
            commit: vec![1; 20],
            welcome: vec![],
            ratchet_tree: vec![],
            added: vec![],
        }
        .encode(),
        MlsMessage::Ack { leaf: 0, epoch: 1 }.encode(),
        MlsMessage::Create.encode(),
    ];
    let bob = ParticipantHandle::spawn(bob).unwrap();
    let carol = common::join(&sfu, "carol", 60.0);
    assert!(common::wait_until(Duration::from_secs(15), || joined(&bob) && joined(&carol)));
    // Let the group settle (every commit and acknowledgement through).
    std::thread::sleep(Duration::from_secs(2));
    let replayed: Vec<Vec<u8>> = tap_rx
        .try_iter()
        .filter(|d| (128..=191).contains(&d[0]))
        .take(30)
        .collect();
    assert_eq!(replayed.len(), 30, "alice sent SRTP to replay");
    let before = sfu.stats();
    let decrypted_before: Vec<u64> = [&alice, &bob, &carol]
        .iter()
        .map(|p| p.progress().decrypted.load(Ordering::SeqCst))
        .collect();

    let injected = datagrams(&replayed);
    let mut expected = Expected::default();
    let injector = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in &injected {
        expected.add(d);
        injector.send_to(d, sfu.udp_addr()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let total = injected.len() as u64;
    let refused =
        |s: &SfuStats| s.refused_unparsed + s.refused_stun + s.refused_dtls + s.refused_rtp;
    assert!(common::wait_until(Duration::from_secs(5), || refused(
        &sfu.stats()
    ) - refused(
        &before
    ) >= total));
    std::thread::sleep(Duration::from_secs(1));
    let after = sfu.stats();
    eprintln!("injected {total}: expected {expected:?}; SFU before {before:#?} after {after:#?}");
    assert_eq!(
        Expected::of(&before, &after),
        expected,
        "every injected datagram refused, by kind"
    );
    assert_eq!(after.refused_by_peer, before.refused_by_peer);
    assert_eq!(
        after.delivery.epoch, before.delivery.epoch,
        "the group did not change"
    );

    // The media kept flowing to everyone.
    let progressed = common::wait_until(Duration::from_secs(5), || {
        [&alice, &bob, &carol]
            .iter()
            .zip(&decrypted_before)
            .all(|(p, &b)| p.progress().decrypted.load(Ordering::SeqCst) > b + 100)
    });
    assert!(progressed, "participants kept decrypting");

    for p in [&alice, &bob, &carol] {
        p.leave();
    }
    let reports: Vec<_> = [alice, bob, carol]
        .into_iter()
        .map(|p| p.join().unwrap())
        .collect();
    let stats = sfu.stop();
    // Bob's four malformed messages and three refused ones, exactly; nothing else.
    assert_eq!(stats.mls_malformed, 4);
    assert_eq!(stats.mls_refused, 3);
    assert_eq!(stats.delivery.refused, 3);
    assert_eq!(stats.plaintext_seen, 0);
    let code = reports[0].security_codes.clone();
    for r in &reports {
        assert_eq!(r.rollover_drops, 0, "{}", r.name);
        assert_eq!(r.corrupt, 0, "{}", r.name);
        for (epoch, c) in &r.security_codes {
            if let Some(a) = code.get(epoch) {
                assert_eq!(a, c, "{} epoch {epoch}", r.name);
            }
        }
    }
}
