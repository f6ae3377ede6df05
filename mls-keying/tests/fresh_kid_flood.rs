//! Attack class: a flood of forged frames under fresh KIDs, which cost a key check each (for
//! AES-256-GCM five to six genuine frames' worth; no cheaper check exists). Failed checks are
//! budgeted per incoming stream (`FreshKidBudget`): past the budget, a frame under a new KID on
//! that stream is refused without a check (`Throttled`) until the budget refills. Genuine frames
//! never spend it, other streams are untouched, and frames under KIDs that have a key are never
//! throttled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sframe_core::{CipherSuite, Sender, SframeError};
use sframe_mls::{
    EpochKeys, FreshKidBudget, Keyring, KeyringConfig, KidLayout, Received, SframeMlsError as Error,
};

const SUITE: CipherSuite = CipherSuite::Aes256GcmSha512_128;
const T: Duration = Duration::from_secs(1);
const MALLORY: u64 = 7;
const ALICE: u64 = 8;

fn ring(own: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    ring.add_epoch(
        Duration::ZERO,
        EpochKeys::new(1, &[9; 32], Some(own), 0..4).unwrap(),
    )
    .unwrap();
    while ring.poll_event().is_some() {}
    ring
}

/// A frame under member 1's KID for `context`, sealed with a guessed key.
fn forged(context: u64) -> Vec<u8> {
    let layout = KidLayout::new(KeyringConfig::new(SUITE).epoch_bits, 2).unwrap();
    let kid = layout.kid(context, 1, 1).unwrap();
    let mut mallory = Sender::new(SUITE);
    mallory.add_key(kid, b"a guess").unwrap();
    let mut f = vec![0u8; 100];
    mallory.encrypt(kid, b"", &mut f).unwrap();
    f
}

fn genuine(sender: &mut Keyring, context: u64) -> Vec<u8> {
    let mut f = b"genuine".to_vec();
    sender.encrypt(context, b"", &mut f).unwrap();
    f
}

fn open(r: &mut Keyring, at: Duration, stream: u64, mut f: Vec<u8>) -> Result<bool, Error> {
    r.decrypt_from(at, stream, 0, b"", &mut f)
        .map(|got| matches!(got, Received::Plaintext { data, .. } if data == b"genuine"))
}

#[test]
fn a_flood_costs_the_budget_then_nothing_and_only_on_its_stream() {
    let mut alice = ring(1);
    let mut bob = ring(0);
    let budget = FreshKidBudget::DEFAULT;
    let (mut throttled, mut failed) = (0, 0);
    for context in 100..10_100 {
        match open(&mut bob, T, MALLORY, forged(context)) {
            Err(Error::Throttled { .. }) => throttled += 1,
            Err(Error::Frame(SframeError::AuthenticationFailed)) => failed += 1,
            other => panic!("a forgery got {other:?}"),
        }
    }
    assert_eq!(failed, budget.burst, "the burst was checked");
    assert_eq!(throttled, 10_000 - budget.burst, "the rest cost a lookup");
    assert_eq!(bob.fresh_kid_checks(), u64::from(budget.burst));
    assert_eq!(bob.receive_key_count(), 0, "nothing installed");

    // Another stream is untouched: Alice's first frame under a new KID decrypts at once.
    assert_eq!(open(&mut bob, T, ALICE, genuine(&mut alice, 1)), Ok(true));
    // On Mallory's stream a new KID waits for the budget to refill (1/32 s a check)...
    let same_stream = genuine(&mut alice, 2);
    assert!(matches!(
        open(&mut bob, T, MALLORY, same_stream.clone()),
        Err(Error::Throttled { .. })
    ));
    // ... and then goes through: nothing was lost but time.
    let later = T + Duration::from_millis(40);
    assert_eq!(open(&mut bob, later, MALLORY, same_stream), Ok(true));
    // A KID that has a key is never throttled, on any stream.
    assert_eq!(open(&mut bob, T, MALLORY, genuine(&mut alice, 1)), Ok(true));
}

#[test]
fn genuine_frames_under_new_kids_never_spend_the_budget() {
    let mut bob = ring(0);
    let mut senders: Vec<Keyring> = (1..4).map(ring).collect();
    // Every member's first frame of 600 streams at the same instant, on one stream.
    let mut checked = 0;
    for context in 0..600 {
        for s in &mut senders {
            assert_eq!(open(&mut bob, T, MALLORY, genuine(s, context)), Ok(true));
            checked += 1;
        }
    }
    assert_eq!(bob.fresh_kid_checks(), checked);
}

#[test]
fn without_a_budget_every_forgery_is_checked() {
    let mut config = KeyringConfig::new(SUITE);
    config.fresh_kid_failures = FreshKidBudget::UNLIMITED;
    let mut bob = Keyring::new(config).unwrap();
    bob.add_epoch(
        Duration::ZERO,
        EpochKeys::new(1, &[9; 32], Some(0), 0..4).unwrap(),
    )
    .unwrap();
    for context in 100..1_100 {
        assert_eq!(
            open(&mut bob, T, MALLORY, forged(context)),
            Err(Error::Frame(SframeError::AuthenticationFailed))
        );
    }
    assert_eq!(bob.fresh_kid_checks(), 1_000);
}
