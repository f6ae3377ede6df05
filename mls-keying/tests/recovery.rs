//! Every receiver recovers on its own (issue 14): after a burst of undecryptable frames, after
//! a missed epoch, and after a sender restarts its counters under a new KID. (After a storm of
//! sequence numbers: rtp-glue/tests/depacketizer_storm.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sframe_core::{CipherSuite, Receiver, Sender};
use sframe_mls::{EpochKeys, Event, Keyring, KeyringConfig, Received};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn keys(epoch: u64, own: u32) -> EpochKeys {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&epoch.to_be_bytes());
    EpochKeys::new(epoch, &k, Some(own), 0..3).unwrap()
}

fn ring(own: u32, epoch: u64) -> Keyring {
    let mut r = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    r.add_epoch(ms(0), keys(epoch, own)).unwrap();
    r
}

fn frame(ring: &mut Keyring, text: &[u8]) -> Vec<u8> {
    let mut f = text.to_vec();
    ring.encrypt(0, b"md", &mut f).unwrap();
    f
}

fn plaintext(ring: &mut Keyring, now: Duration, mut f: Vec<u8>) -> Option<Vec<u8>> {
    match ring.decrypt(now, 0, b"md", &mut f) {
        Ok(Received::Plaintext { data, .. }) => Some(data.to_vec()),
        _ => None,
    }
}

#[test]
fn after_a_burst_of_undecryptable_frames() {
    let mut alice = ring(1, 1);
    let mut bob = ring(0, 1);
    assert!(plaintext(&mut bob, ms(0), frame(&mut alice, b"a")).is_some());
    // 2,000 frames damaged in transit (every byte position in turn flipped).
    for i in 0..2_000usize {
        let mut f = frame(&mut alice, b"damaged frame");
        let at = i % f.len();
        f[at] ^= 0x40;
        assert!(plaintext(&mut bob, ms(1), f).is_none());
    }
    // The next good frame decrypts, no reset needed.
    assert_eq!(
        plaintext(&mut bob, ms(2), frame(&mut alice, b"b")),
        Some(b"b".to_vec())
    );
}

#[test]
fn after_a_missed_epoch() {
    let mut alice = ring(1, 1);
    let mut bob = ring(0, 1);
    assert!(plaintext(&mut bob, ms(0), frame(&mut alice, b"e1")).is_some());
    // Epoch 2 reaches Alice only; Bob misses that commit entirely.
    alice.add_epoch(ms(10), keys(2, 1)).unwrap();
    alice.handle_timeout(ms(600)); // the grace ends: Alice sends under epoch 2
    assert_eq!(alice.sending_epoch(), Some(2));
    let held = frame(&mut alice, b"e2");
    // Bob holds it: its epoch is not known.
    let mut f = held.clone();
    assert!(matches!(
        bob.decrypt(ms(610), 0, b"md", &mut f),
        Ok(Received::Buffered)
    ));
    // Then epoch 3, which Bob does get (e.g. from a Welcome after being re-added).
    alice.add_epoch(ms(700), keys(3, 1)).unwrap();
    alice.handle_timeout(ms(1300));
    assert_eq!(alice.sending_epoch(), Some(3));
    bob.add_epoch(ms(1300), keys(3, 0)).unwrap();
    assert_eq!(
        plaintext(&mut bob, ms(1310), frame(&mut alice, b"e3")),
        Some(b"e3".to_vec())
    );
    // The frame held for epoch 2 is given up with a cause, not kept forever.
    bob.handle_timeout(ms(5000));
    let dropped = std::iter::from_fn(|| bob.poll_event())
        .filter(|e| matches!(e, Event::Dropped(_)))
        .count();
    assert_eq!(dropped, 1);
    assert_eq!(bob.pending(), (0, 0));
}

#[test]
fn after_a_sender_restarts_its_counters_under_a_new_kid() {
    // Core: a sender process restarts with a new KID and counts from 0 again.
    let mut r = Receiver::new(SUITE);
    let mut old = Sender::new(SUITE);
    old.add_key(1, b"old key").unwrap();
    r.add_key(1, b"old key").unwrap();
    for _ in 0..100 {
        let mut f = b"old".to_vec();
        old.encrypt(1, &[], &mut f).unwrap();
        r.decrypt_in_place(&[], &mut f).unwrap();
    }
    let mut restarted = Sender::new(SUITE);
    restarted.add_key(2, b"new key").unwrap();
    r.add_key(2, b"new key").unwrap();
    let mut f = b"new".to_vec();
    restarted.encrypt(2, &[], &mut f).unwrap();
    assert_eq!(r.decrypt_in_place(&[], &mut f).unwrap(), b"new");

    // Keyring: a restarted member has a fresh keyring (counters from 0) and sends on a new
    // context, so a new KID; Bob's keyring decrypts it at once.
    let mut alice = ring(1, 1);
    let mut bob = ring(0, 1);
    for _ in 0..10 {
        assert!(plaintext(&mut bob, ms(0), frame(&mut alice, b"before")).is_some());
    }
    let mut alice = ring(1, 1);
    let mut f = b"after".to_vec();
    alice.encrypt(1, b"md", &mut f).unwrap();
    assert_eq!(plaintext(&mut bob, ms(1), f), Some(b"after".to_vec()));
    // Under the old KID its counters restarted at 0: those are replays to Bob, refused, as
    // the SFrame rule says (a KID's counter never repeats).
    assert!(plaintext(&mut bob, ms(2), frame(&mut alice, b"reused")).is_none());
}
