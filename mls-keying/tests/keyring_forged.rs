//! Attack class: forged frames at the keyring (issue 14, case 6, and the rule for peer input).
//!
//! A member of the current epoch (or anyone who can send frames) forges frames whose KID names
//! a member with a context never used: before, each cost a full SFrame key schedule and left
//! nothing for the next. The rule now: forged or malformed input changes no state (no key
//! installed, nothing buffered beyond the documented pending bound), leaves no memory behind
//! beyond the bounded cache of unproven keys, and the next genuine frame decrypts. Its cost
//! against a genuine frame is measured in benches/forged.rs (criterion), not here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sframe_core::{CipherSuite, Sender};
use sframe_mls::{
    EpochKeys, FreshKidBudget, Keyring, KeyringConfig, KidLayout, Received, SframeMlsError as Error,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
/// The RFC 9605 section 5.2 `S` of the group below, leaves 0 to 3 (what `EpochKeys::new` derives).
const SENDER_BITS: u8 = 2;

/// Every forgery is checked here (no budget): these tests are about the check itself. How a
/// flood is throttled per stream is `fresh_kid_flood.rs`.
fn config(suite: CipherSuite) -> KeyringConfig {
    let mut config = KeyringConfig::new(suite);
    config.fresh_kid_failures = FreshKidBudget::UNLIMITED;
    config
}

fn ring(own: u32) -> Keyring {
    let mut ring = Keyring::new(config(SUITE)).unwrap();
    ring.add_epoch(
        Duration::ZERO,
        // Leaf 2 is blank: a sender index that fits in S but names no member.
        EpochKeys::new(1, &[9; 16], Some(own), [0, 1, 3]).unwrap(),
    )
    .unwrap();
    while ring.poll_event().is_some() {}
    ring
}

fn genuine(sender: &mut Keyring, context: u64) -> Vec<u8> {
    let mut f = b"genuine".to_vec();
    sender.encrypt(context, b"md", &mut f).unwrap();
    f
}

fn decrypts(receiver: &mut Keyring, mut f: Vec<u8>) -> bool {
    matches!(
        receiver.decrypt(Duration::ZERO, 0, b"md", &mut f),
        Ok(Received::Plaintext { data, .. }) if data == b"genuine"
    )
}

#[test]
fn forged_frames_under_fresh_kids_change_nothing() {
    let layout = KidLayout::new(KeyringConfig::new(SUITE).epoch_bits, SENDER_BITS).unwrap();
    let mut alice = ring(1);
    let mut bob = ring(0);
    assert!(decrypts(&mut bob, genuine(&mut alice, 0)));
    let keys_before = bob.receive_key_count();
    let mut mallory = Sender::new(SUITE);
    for context in 1..5_001u64 {
        let kid = layout.kid(context, 1, 1).unwrap();
        mallory.add_key(kid, b"a guess").unwrap();
        let mut f = vec![0u8; 40];
        mallory.encrypt(kid, b"md", &mut f).unwrap();
        mallory.remove_key(kid);
        let r = bob.decrypt(Duration::ZERO, 0, b"md", &mut f);
        assert!(matches!(
            r,
            Err(Error::Frame(sframe_core::SframeError::AuthenticationFailed))
        ));
    }
    assert_eq!(
        bob.receive_key_count(),
        keys_before,
        "no key installed by a forgery"
    );
    assert_eq!(bob.pending(), (0, 0), "nothing buffered");
    assert!(bob.poll_event().is_none(), "nothing to report");
    // The genuine stream goes on, and a genuine new context decrypts at once.
    assert!(decrypts(&mut bob, genuine(&mut alice, 0)));
    assert!(decrypts(&mut bob, genuine(&mut alice, 3)));
    assert_eq!(bob.receive_key_count(), keys_before + 1);
}

#[test]
fn a_forged_frame_first_does_not_spoil_the_genuine_kid() {
    // The forgery names exactly the KID Alice's next stream uses: the key derived for it is
    // kept as unproven, and Alice's genuine frame then installs it.
    let layout = KidLayout::new(KeyringConfig::new(SUITE).epoch_bits, SENDER_BITS).unwrap();
    let mut alice = ring(1);
    let mut bob = ring(0);
    let kid = layout.kid(7, 1, 1).unwrap();
    let mut mallory = Sender::new(SUITE);
    mallory.add_key(kid, b"a guess").unwrap();
    for _ in 0..3 {
        let mut f = vec![0u8; 40];
        mallory.encrypt(kid, b"md", &mut f).unwrap();
        assert!(bob.decrypt(Duration::ZERO, 0, b"md", &mut f).is_err());
    }
    assert_eq!(bob.receive_key_count(), 0);
    assert!(decrypts(&mut bob, genuine(&mut alice, 7)));
    assert!(decrypts(&mut bob, genuine(&mut alice, 7)));
    assert_eq!(bob.receive_key_count(), 1);
    // Further forgeries under the now-installed KID still fail.
    let mut f = vec![0u8; 40];
    mallory.encrypt(kid, b"md", &mut f).unwrap();
    assert!(bob.decrypt(Duration::ZERO, 0, b"md", &mut f).is_err());
}

#[test]
fn malformed_frames_and_unknown_senders_change_nothing() {
    let layout = KidLayout::new(KeyringConfig::new(SUITE).epoch_bits, SENDER_BITS).unwrap();
    let mut alice = ring(1);
    let mut bob = ring(0);
    let good = genuine(&mut alice, 0);
    // Truncated, header-only, garbage, a non-member's KID.
    for len in 0..good.len() {
        let mut f = good[..len].to_vec();
        assert!(
            bob.decrypt(Duration::ZERO, 0, b"md", &mut f).is_err(),
            "len {len}"
        );
    }
    let stranger = layout.kid(0, 2, 1).unwrap();
    let mut s = Sender::new(SUITE);
    s.add_key(stranger, &[9; 16]).unwrap();
    let mut f = b"x".to_vec();
    s.encrypt(stranger, b"md", &mut f).unwrap();
    assert!(matches!(
        bob.decrypt(Duration::ZERO, 0, b"md", &mut f),
        Err(Error::UnknownSender {
            sender_index: 2,
            ..
        })
    ));
    assert_eq!(bob.receive_key_count(), 0);
    assert!(decrypts(&mut bob, good));
}

#[test]
fn every_suite_accepts_a_genuine_fresh_kid_and_refuses_a_changed_one() {
    // The first frame under a KID is checked by the keyring's own tag check
    // (src/unproven.rs) before the core derives and installs the key: a genuine one must pass
    // it for every suite, frame size and metadata, and any changed byte must not.
    for suite in CipherSuite::ALL {
        let ring = |own: u32| {
            let mut ring = Keyring::new(config(suite)).unwrap();
            let base = vec![9u8; suite.key_len()];
            ring.add_epoch(
                Duration::ZERO,
                EpochKeys::new(1, &base, Some(own), [0, 1, 3]).unwrap(),
            )
            .unwrap();
            ring
        };
        let mut alice = ring(1);
        let mut bob = ring(0);
        let mut context = 0;
        for len in [0usize, 1, 15, 16, 17, 55, 64, 100, 129, 1200] {
            for metadata in [&b""[..], b"md", &[7u8; 70]] {
                context += 1;
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut f = plain.clone();
                alice.encrypt(context, metadata, &mut f).unwrap();
                // Every byte changed in turn: a changed header may name another KID or epoch
                // (refused or buffered); a changed ciphertext or tag, or other metadata, fails
                // to authenticate. Nothing is installed.
                let (_, header_len) = sframe_core::Header::parse(&f).unwrap();
                for i in 0..f.len() {
                    let mut changed = f.clone();
                    changed[i] ^= 0x40;
                    let r = bob.decrypt(Duration::ZERO, 0, metadata, &mut changed);
                    if i < header_len {
                        assert!(!matches!(r, Ok(Received::Plaintext { .. })), "{suite:?}");
                    } else {
                        assert!(
                            matches!(
                                r,
                                Err(Error::Frame(sframe_core::SframeError::AuthenticationFailed))
                            ),
                            "{suite:?} len {len} byte {i}: {r:?}"
                        );
                    }
                }
                let mut other_md = f.clone();
                assert!(matches!(
                    bob.decrypt(Duration::ZERO, 0, b"other", &mut other_md),
                    Err(Error::Frame(sframe_core::SframeError::AuthenticationFailed))
                ));
                assert_eq!(bob.receive_key_count(), context as usize - 1, "{suite:?}");
                match bob.decrypt(Duration::ZERO, 0, metadata, &mut f) {
                    Ok(Received::Plaintext { data, .. }) => assert_eq!(data, &plain[..]),
                    other => panic!("{suite:?} len {len}: {other:?}"),
                }
                assert_eq!(bob.receive_key_count(), context as usize, "{suite:?}");
            }
        }
    }
}
