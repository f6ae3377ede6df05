//! The keyring state machine without MLS: rollover, the drop-free switch, the buffer of
//! frames for unknown epochs, retirement, and bad input.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use sframe_core::{CipherSuite, Header};
use sframe_mls::{
    DropCause, EpochKeys, Event, Keyring, KeyringConfig, PendingLimits, Received, RetireReason,
    SframeMlsError as Error, SwitchReason,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn config(epoch_bits: u8) -> KeyringConfig {
    let mut c = KeyringConfig::new(SUITE);
    c.epoch_bits = epoch_bits;
    c.switch_grace = ms(500);
    c.retire_after = ms(2000);
    c.pending = PendingLimits {
        max_frames: 4,
        max_bytes: 1000,
        max_age: ms(1000),
    };
    c
}

/// A distinct base key per epoch (a stand-in for the MLS exporter).
fn base_key(epoch: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&epoch.to_be_bytes());
    k[8] = 0x5f;
    k
}

fn keys(epoch: u64, own: u32, members: &[u32]) -> EpochKeys {
    EpochKeys::new(epoch, &base_key(epoch), Some(own), members.iter().copied()).unwrap()
}

fn events(ring: &mut Keyring) -> Vec<Event> {
    std::iter::from_fn(|| ring.poll_event()).collect()
}

fn frame(ring: &mut Keyring, context: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = payload.to_vec();
    ring.encrypt(context, b"md", &mut f).unwrap();
    f
}

fn plaintext(ring: &mut Keyring, now: Duration, mut f: Vec<u8>) -> Result<Vec<u8>, Error> {
    match ring.decrypt(now, 0, b"md", &mut f)? {
        Received::Plaintext { data, .. } => Ok(data.to_vec()),
        Received::Buffered => Ok(b"<buffered>".to_vec()),
    }
}

fn epoch_of(f: &[u8], epoch_bits: u8) -> u64 {
    Header::parse(f).unwrap().0.kid & ((1 << epoch_bits) - 1)
}

#[test]
fn a_new_epoch_takes_the_slot_of_the_one_with_the_same_low_bits() {
    let mut ring = Keyring::new(config(2)).unwrap();
    for epoch in 1..=4 {
        ring.add_epoch(ms(epoch), keys(epoch, 0, &[0, 1])).unwrap();
    }
    assert_eq!(ring.epochs().collect::<Vec<_>>(), [1, 2, 3, 4]);
    events(&mut ring);
    ring.add_epoch(ms(5), keys(5, 0, &[0, 1])).unwrap();
    assert_eq!(ring.epochs().collect::<Vec<_>>(), [2, 3, 4, 5]);
    let ev = events(&mut ring);
    assert!(ev.contains(&Event::Retired {
        epoch: 1,
        reason: RetireReason::Rollover
    }));
    // The sender was still on epoch 1 (nobody acknowledged anything): forced forward.
    assert!(ev.contains(&Event::Switched {
        from: Some(1),
        to: 5,
        reason: SwitchReason::Forced
    }));
    // A jump of more than 2^E epochs clears every epoch whose low bits a future one could use.
    ring.add_epoch(ms(6), keys(9, 0, &[0, 1])).unwrap();
    assert_eq!(ring.epochs().collect::<Vec<_>>(), [9]);
}

#[test]
fn with_no_epoch_bits_every_epoch_replaces_the_last() {
    let mut ring = Keyring::new(config(0)).unwrap();
    ring.add_epoch(ms(0), keys(1, 0, &[0, 1])).unwrap();
    ring.add_epoch(ms(1), keys(2, 0, &[0, 1])).unwrap();
    assert_eq!(ring.epochs().collect::<Vec<_>>(), [2]);
    assert_eq!(ring.sending_epoch(), Some(2));
}

#[test]
fn the_sender_waits_for_every_acknowledgement_then_switches() {
    let mut alice = Keyring::new(config(2)).unwrap();
    let mut bob = Keyring::new(config(2)).unwrap();
    alice.add_epoch(ms(0), keys(1, 0, &[0, 1, 2])).unwrap();
    bob.add_epoch(ms(0), keys(1, 1, &[0, 1, 2])).unwrap();
    alice.add_epoch(ms(10), keys(2, 0, &[0, 1, 2])).unwrap();
    // Alice can decrypt epoch 2 already, but still sends under epoch 1.
    assert_eq!(alice.sending_epoch(), Some(1));
    let f = frame(&mut alice, 0, b"still one");
    assert_eq!(epoch_of(&f, 2), 1);
    assert_eq!(plaintext(&mut bob, ms(11), f).unwrap(), b"still one");
    assert_eq!(alice.poll_timeout(), Some(ms(510)));
    alice.acknowledge(ms(20), 1, 2);
    assert_eq!(
        alice.sending_epoch(),
        Some(1),
        "member 2 has not acknowledged"
    );
    alice.acknowledge(ms(30), 2, 2);
    assert_eq!(alice.sending_epoch(), Some(2));
    let ev = events(&mut alice);
    assert_eq!(
        ev.last(),
        Some(&Event::Switched {
            from: Some(1),
            to: 2,
            reason: SwitchReason::AllAcknowledged
        })
    );
    // Counters are fresh under the new epoch's key.
    let f = frame(&mut alice, 0, b"two");
    assert_eq!(Header::parse(&f).unwrap().0.ctr, 0);
    // Bob does not hold epoch 2 yet: the frame waits, and decrypts when the epoch arrives.
    assert_eq!(plaintext(&mut bob, ms(31), f).unwrap(), b"<buffered>");
    events(&mut bob);
    bob.add_epoch(ms(40), keys(2, 1, &[0, 1, 2])).unwrap();
    let decrypted: Vec<_> = events(&mut bob)
        .into_iter()
        .filter_map(|e| match e {
            Event::Decrypted(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(decrypted.len(), 1);
    assert_eq!(decrypted[0].plaintext(), b"two");
    assert_eq!(decrypted[0].token, 0);
    assert_eq!(
        (decrypted[0].info.epoch, decrypted[0].info.sender_index),
        (2, 0)
    );
    assert_eq!(decrypted[0].received_at, ms(31));
}

#[test]
fn the_grace_period_bounds_the_wait_and_old_epochs_retire_on_time() {
    let mut alice = Keyring::new(config(2)).unwrap();
    alice.add_epoch(ms(0), keys(1, 0, &[0, 1])).unwrap();
    alice.add_epoch(ms(100), keys(2, 0, &[0, 1])).unwrap();
    // A third epoch before the switch does not push the deadline out.
    alice.add_epoch(ms(400), keys(3, 0, &[0, 1])).unwrap();
    assert_eq!(alice.poll_timeout(), Some(ms(600)));
    alice.handle_timeout(ms(599));
    assert_eq!(alice.sending_epoch(), Some(1));
    events(&mut alice);
    alice.handle_timeout(ms(600));
    assert_eq!(alice.sending_epoch(), Some(3));
    assert_eq!(
        events(&mut alice),
        [Event::Switched {
            from: Some(1),
            to: 3,
            reason: SwitchReason::GraceExpired
        }]
    );
    // Epoch 1 was superseded at 100 ms, epoch 2 at 400 ms: retired 2 s later each.
    assert_eq!(alice.poll_timeout(), Some(ms(2100)));
    alice.handle_timeout(ms(2100));
    assert_eq!(alice.epochs().collect::<Vec<_>>(), [2, 3]);
    alice.handle_timeout(ms(2400));
    assert_eq!(alice.epochs().collect::<Vec<_>>(), [3]);
    assert_eq!(
        events(&mut alice),
        [
            Event::Retired {
                epoch: 1,
                reason: RetireReason::Expired
            },
            Event::Retired {
                epoch: 2,
                reason: RetireReason::Expired
            }
        ]
    );
    assert_eq!(alice.poll_timeout(), None);
}

#[test]
fn buffered_frames_expire_or_overflow_and_are_reported() {
    let mut alice = Keyring::new(config(2)).unwrap();
    alice.add_epoch(ms(0), keys(2, 0, &[0, 1])).unwrap();
    let mut bob = Keyring::new(config(2)).unwrap();
    bob.add_epoch(ms(0), keys(1, 1, &[0, 1])).unwrap();
    // Six frames of epoch 2 for a buffer of four: the two oldest overflow.
    for i in 0..6u8 {
        // The token tells the frames apart in the reports; the metadata is authenticated.
        let mut f = vec![i; 10];
        alice.encrypt(0, &[i], &mut f).unwrap();
        assert_eq!(
            bob.decrypt(ms(u64::from(i)), u64::from(i), &[i], &mut f),
            Ok(Received::Buffered)
        );
    }
    assert_eq!(bob.pending().0, 4);
    let dropped: Vec<_> = events(&mut bob)
        .into_iter()
        .filter_map(|e| match e {
            Event::Dropped(d) => Some((d.token, d.cause)),
            _ => None,
        })
        .collect();
    assert_eq!(
        dropped,
        [(0, DropCause::Overflow), (1, DropCause::Overflow)]
    );
    // The rest expire 1 s after they arrived: frames 2 and 3 at 1003 ms.
    assert_eq!(bob.poll_timeout(), Some(ms(1002)));
    bob.handle_timeout(ms(1003));
    let expired: Vec<_> = events(&mut bob)
        .into_iter()
        .filter_map(|e| match e {
            Event::Dropped(d) => Some((d.token, d.cause)),
            _ => None,
        })
        .collect();
    assert_eq!(expired, [(2, DropCause::Expired), (3, DropCause::Expired)]);
    assert_eq!(bob.pending().0, 2);
    // A frame bigger than the whole byte budget is refused outright.
    let mut alice_big = frame(&mut alice, 0, &[0u8; 1200]);
    let big_kid = Header::parse(&alice_big).unwrap().0.kid;
    assert_eq!(
        bob.decrypt(ms(1004), 9, b"", &mut alice_big),
        Err(Error::UnknownEpoch { kid: big_kid })
    );
    // Metadata is authenticated: a buffered frame with the wrong metadata fails when its
    // epoch comes, and is reported.
    let mut f = frame(&mut alice, 0, b"x");
    assert_eq!(
        bob.decrypt(ms(1005), 9, b"not md", &mut f),
        Ok(Received::Buffered)
    );
    bob.add_epoch(ms(1006), keys(2, 1, &[0, 1])).unwrap();
    let outcomes: Vec<_> = events(&mut bob)
        .into_iter()
        .filter_map(|e| match e {
            Event::Decrypted(d) => Some(Ok(d.token)),
            Event::Dropped(d) => Some(Err(d.cause)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            Ok(4),
            Ok(5),
            Err(DropCause::Undecryptable(Error::Frame(
                sframe_core::SframeError::AuthenticationFailed
            )))
        ]
    );
}

#[test]
fn bad_input_is_typed_and_changes_nothing() {
    // Epoch 1 has members at leaves 0, 1 and 3 (leaf 2 blank): S = 2.
    let mut alice = Keyring::new(config(2)).unwrap();
    alice.add_epoch(ms(0), keys(1, 0, &[0, 1, 3])).unwrap();
    let mut bob = Keyring::new(config(2)).unwrap();
    bob.add_epoch(ms(0), keys(1, 1, &[0, 1, 3])).unwrap();
    // A KID naming leaf 2, not a member of epoch 1.
    let mut mallory = Keyring::new(config(2)).unwrap();
    mallory.add_epoch(ms(0), keys(1, 2, &[0, 1, 2, 3])).unwrap();
    let mut f = frame(&mut mallory, 0, b"hi");
    assert_eq!(
        bob.decrypt(ms(1), 9, b"md", &mut f),
        Err(Error::UnknownSender {
            epoch: 1,
            sender_index: 2
        })
    );
    assert_eq!(bob.receive_key_count(), 0);
    // A forged frame under a real member's KID: the key derived for it is dropped again.
    let mut f = frame(&mut alice, 0, b"hi");
    let last = f.len() - 1;
    f[last] ^= 1;
    assert_eq!(
        bob.decrypt(ms(1), 9, b"md", &mut f),
        Err(Error::Frame(sframe_core::SframeError::AuthenticationFailed))
    );
    assert_eq!(bob.receive_key_count(), 0);
    // Malformed headers.
    assert!(matches!(
        bob.decrypt(ms(1), 9, b"md", &mut []),
        Err(Error::Frame(sframe_core::SframeError::MalformedHeader(_)))
    ));
    // A frame from epoch 5 = 1 + 2^E: it names epoch 1's slot, fails authentication there,
    // and is not buffered.
    let mut ahead = Keyring::new(config(2)).unwrap();
    ahead.add_epoch(ms(0), keys(5, 0, &[0, 1])).unwrap();
    let mut f = frame(&mut ahead, 0, b"from the future");
    assert_eq!(epoch_of(&f, 2), 1);
    assert_eq!(
        bob.decrypt(ms(1), 9, b"md", &mut f),
        Err(Error::Frame(sframe_core::SframeError::AuthenticationFailed))
    );
    assert_eq!(bob.pending(), (0, 0));
    // Epoch misuse.
    assert_eq!(
        bob.add_epoch(ms(2), keys(1, 1, &[0, 1])),
        Err(Error::EpochKnown(1))
    );
    bob.add_epoch(ms(2), keys(3, 1, &[0, 1])).unwrap();
    assert_eq!(
        bob.add_epoch(ms(3), keys(2, 1, &[0, 1])),
        Err(Error::StaleEpoch {
            epoch: 2,
            newest: 3
        })
    );
    let short = EpochKeys::new(4, &[1u8; 32], Some(1), [0, 1]).unwrap();
    assert_eq!(
        bob.add_epoch(ms(3), short),
        Err(Error::BaseKeyLength {
            expected: 16,
            actual: 32
        })
    );
    assert_eq!(bob.epochs().collect::<Vec<_>>(), [1, 3]);
    // A fixed S too small for a member's index (the RFC's S never is).
    assert_eq!(
        EpochKeys::new(4, &base_key(4), Some(8), [0, 8])
            .unwrap()
            .with_sender_bits(3)
            .map(|k| k.sender_bits()),
        Err(Error::SenderIndexOutOfRange {
            sender_index: 8,
            max: 7
        })
    );
    assert_eq!(
        EpochKeys::new(4, &base_key(4), Some(8), [0, 8])
            .unwrap()
            .sender_bits(),
        4
    );
    // An own index outside the roster that does not fit the roster's S.
    assert_eq!(
        EpochKeys::new(4, &base_key(4), Some(8), [0]).map(|k| k.sender_bits()),
        Err(Error::SenderIndexOutOfRange {
            sender_index: 8,
            max: 0
        })
    );
    // After all that, good frames still decrypt.
    let f = frame(&mut alice, 0, b"fine");
    assert_eq!(plaintext(&mut bob, ms(4), f).unwrap(), b"fine");
    assert_eq!(bob.receive_key_count(), 1);
    // Misuse on the sending side.
    let mut empty = Keyring::new(config(2)).unwrap();
    assert_eq!(empty.send_kid_for(0), Err(Error::NoSendEpoch));
    let mut observer = Keyring::new(config(2)).unwrap();
    observer
        .add_epoch(ms(0), EpochKeys::new(1, &base_key(1), None, [0]).unwrap())
        .unwrap();
    assert_eq!(observer.send_kid_for(0), Err(Error::NotASender));
    assert_eq!(
        alice.send_kid_for(1 << 60),
        Err(Error::ContextOutOfRange {
            context: 1 << 60,
            max: (1 << 60) - 1
        })
    );
    let mut bad = config(2);
    bad.retire_after = ms(10);
    assert!(matches!(Keyring::new(bad), Err(Error::InvalidConfig(_))));
    // Any E a peer may use fits a KID (E = 17 was refused before issue 15); past 64 bits not.
    for e in [17, 20, 63, 64] {
        assert!(Keyring::new(config(e)).is_ok(), "E = {e}");
    }
    bad = config(65);
    assert!(matches!(Keyring::new(bad), Err(Error::InvalidConfig(_))));
    bad = config(2);
    bad.max_epochs = 0;
    assert!(matches!(Keyring::new(bad), Err(Error::InvalidConfig(_))));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(9605);
    let mut ring = Keyring::new(config(3)).unwrap();
    ring.add_epoch(ms(0), keys(1, 0, &[0, 1, 2, 3])).unwrap();
    let mut outcomes = [0usize; 2];
    for i in 0..20_000u64 {
        let len = rng.random_range(0..64);
        let mut f: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        match ring.decrypt(ms(i), 9, b"", &mut f) {
            Ok(Received::Plaintext { .. }) => panic!("a random frame authenticated"),
            Ok(Received::Buffered) => outcomes[0] += 1,
            Err(e) => {
                assert!(e.is_peer_input());
                outcomes[1] += 1;
            }
        }
        ring.handle_timeout(ms(i));
    }
    assert_eq!(outcomes[0] + outcomes[1], 20_000);
    assert_eq!(ring.receive_key_count(), 0);
}

#[test]
fn clear_forgets_everything() {
    let mut ring = Keyring::new(config(2)).unwrap();
    ring.add_epoch(ms(0), keys(1, 0, &[0, 1])).unwrap();
    ring.add_epoch(ms(0), keys(2, 0, &[0, 1])).unwrap();
    events(&mut ring);
    let mut other = Keyring::new(config(2)).unwrap();
    other.add_epoch(ms(0), keys(3, 1, &[0, 1])).unwrap();
    let mut f = frame(&mut other, 0, b"later");
    assert_eq!(
        ring.decrypt(ms(1), 9, b"md", &mut f),
        Ok(Received::Buffered)
    );
    ring.clear();
    let ev = events(&mut ring);
    assert_eq!(ev.len(), 3);
    assert!(matches!(&ev[2], Event::Dropped(d) if d.cause == DropCause::Cleared));
    assert_eq!(ring.send_kid_for(0), Err(Error::NoSendEpoch));
    assert_eq!(ring.epochs().count(), 0);
}

#[test]
fn a_removal_can_switch_the_sender_at_once() {
    let mut c = config(2);
    c.switch_at_once_on_removal = true;
    let mut alice = Keyring::new(c).unwrap();
    alice.add_epoch(ms(0), keys(1, 0, &[0, 1, 2])).unwrap();
    // An epoch that only adds: wait for acknowledgements as usual.
    alice.add_epoch(ms(10), keys(2, 0, &[0, 1, 2, 3])).unwrap();
    assert_eq!(alice.sending_epoch(), Some(1));
    // An epoch that removes member 2 (relative to the epoch in use): switch now.
    alice.add_epoch(ms(20), keys(3, 0, &[0, 1, 3])).unwrap();
    assert_eq!(alice.sending_epoch(), Some(3));
    assert_eq!(
        events(&mut alice).last(),
        Some(&Event::Switched {
            from: Some(1),
            to: 3,
            reason: SwitchReason::MemberRemoved
        })
    );
    // Member 2 (still holding epochs 1 and 2) cannot read what Alice sends now.
    let mut carol = Keyring::new(config(2)).unwrap();
    carol.add_epoch(ms(0), keys(1, 2, &[0, 1, 2])).unwrap();
    carol.add_epoch(ms(10), keys(2, 2, &[0, 1, 2, 3])).unwrap();
    let f = frame(&mut alice, 0, b"after the removal");
    assert_eq!(plaintext(&mut carol, ms(21), f).unwrap(), b"<buffered>");
    // With the option off, the same epoch waits for the acknowledgements.
    let mut off = config(2);
    off.switch_at_once_on_removal = false;
    let mut bob = Keyring::new(off).unwrap();
    bob.add_epoch(ms(0), keys(1, 0, &[0, 1, 2])).unwrap();
    bob.add_epoch(ms(20), keys(3, 0, &[0, 1, 3])).unwrap();
    assert_eq!(bob.sending_epoch(), Some(1));
}

/// Regression: in one commit a joiner takes the leaf a leaver vacated (MLS fills the leftmost
/// blank leaf), so the rosters before and after are equal. The removal must still count.
#[test]
fn a_removal_whose_leaf_a_joiner_reuses_still_switches_at_once() {
    let mut c = config(2);
    c.switch_at_once_on_removal = true;
    let mut alice = Keyring::new(c).unwrap();
    alice.add_epoch(ms(0), keys(1, 0, &[0, 1, 2])).unwrap();
    // Leaf 2 left and a newcomer took leaf 2: same roster.
    let mut same_roster = Keyring::new(c).unwrap();
    same_roster
        .add_epoch(ms(0), keys(1, 0, &[0, 1, 2]))
        .unwrap();
    same_roster
        .add_epoch(ms(10), keys(2, 0, &[0, 1, 2]))
        .unwrap();
    assert_eq!(
        same_roster.sending_epoch(),
        Some(1),
        "without being told, no removal is seen"
    );
    alice
        .add_epoch(ms(10), keys(2, 0, &[0, 1, 2]).with_removed([2]))
        .unwrap();
    assert_eq!(alice.sending_epoch(), Some(2));
    assert_eq!(
        events(&mut alice).last(),
        Some(&Event::Switched {
            from: Some(1),
            to: 2,
            reason: SwitchReason::MemberRemoved
        })
    );
}

#[test]
fn a_large_e_holds_at_most_max_epochs() {
    // (E, max_epochs, context): at E = 63 with S = 1 the KID has no context bits left.
    for (e, max_epochs, context) in [(20u8, 16usize, 3u64), (63, 3, 0), (5, 40, 3)] {
        let mut c = config(e);
        c.max_epochs = max_epochs;
        // The effective window: the smaller of max_epochs and 2^E.
        let window = max_epochs.min(1usize.checked_shl(u32::from(e)).unwrap_or(usize::MAX));
        let mut alice = Keyring::new(c).unwrap();
        let mut bob = Keyring::new(c).unwrap();
        let mut frames = Vec::new();
        for epoch in 1..=100u64 {
            alice.add_epoch(ms(epoch), keys(epoch, 0, &[0, 1])).unwrap();
            bob.add_epoch(ms(epoch), keys(epoch, 1, &[0, 1])).unwrap();
            alice.acknowledge(ms(epoch), 1, epoch);
            assert_eq!(alice.sending_epoch(), Some(epoch));
            frames.push((epoch, frame(&mut alice, context, b"x")));
            let held: Vec<u64> = bob.epochs().collect();
            let oldest = epoch.saturating_sub(window as u64 - 1).max(1);
            assert_eq!(
                held,
                (oldest..=epoch).collect::<Vec<_>>(),
                "E {e}, epoch {epoch}"
            );
            assert!(held.len() <= max_epochs);
        }
        // The oldest went for a rollover, and each held epoch still reads its frames, with
        // the sender and context its KID names under E.
        let retired: Vec<Event> = events(&mut bob)
            .into_iter()
            .filter(|ev| matches!(ev, Event::Retired { .. }))
            .collect();
        assert_eq!(retired.len(), 100 - window, "E {e}");
        assert!(retired.iter().all(|ev| matches!(
            ev,
            Event::Retired {
                reason: RetireReason::Rollover,
                ..
            }
        )));
        for (epoch, mut f) in frames.into_iter().rev().take(window) {
            let Received::Plaintext { info, data } =
                bob.decrypt(ms(101), 9, b"md", &mut f).unwrap()
            else {
                panic!("epoch {epoch} is held")
            };
            assert_eq!(
                (info.epoch, info.sender_index, info.context, &data[..]),
                (epoch, 0, context, &b"x"[..])
            );
        }
    }
}

#[test]
fn acknowledgements_that_arrive_before_the_epoch_count() {
    // Members 1, 2 and 3 acknowledge epoch 2 (3 even epoch 3) before Alice has it; 4 is not
    // in epoch 2, and 2 acknowledges only epoch 1 again afterwards (no step back).
    let mut alice = Keyring::new(config(2)).unwrap();
    alice
        .add_epoch(ms(0), keys(1, 0, &[0, 1, 2, 3, 4]))
        .unwrap();
    alice.acknowledge(ms(1), 1, 2);
    alice.acknowledge(ms(2), 2, 2);
    alice.acknowledge(ms(3), 2, 1);
    alice.acknowledge(ms(4), 4, 2);
    alice.add_epoch(ms(10), keys(2, 0, &[0, 1, 2, 3])).unwrap();
    // Epoch 2 removed member 4: the sender switches at once, acknowledgements or not.
    let ev = events(&mut alice);
    assert!(ev.contains(&Event::Switched {
        from: Some(1),
        to: 2,
        reason: SwitchReason::MemberRemoved
    }));
    // Epoch 3 only adds nobody and removes nobody: 1 acknowledged ahead for 3, 2 and 3 have
    // to; the count starts from the acknowledgements that came ahead.
    alice.acknowledge(ms(11), 1, 3);
    alice.acknowledge(ms(12), 3, 4);
    alice.add_epoch(ms(20), keys(3, 0, &[0, 1, 2, 3])).unwrap();
    assert_eq!(
        alice.sending_epoch(),
        Some(2),
        "member 2 has not acknowledged 3"
    );
    alice.acknowledge(ms(21), 2, 3);
    assert_eq!(alice.sending_epoch(), Some(3));
    assert_eq!(
        events(&mut alice).last(),
        Some(&Event::Switched {
            from: Some(2),
            to: 3,
            reason: SwitchReason::AllAcknowledged
        })
    );
    // Epoch 4: member 3 acknowledged it long ago (at ms 12), 1 and 2 acknowledge now.
    alice.add_epoch(ms(30), keys(4, 0, &[0, 1, 2, 3])).unwrap();
    alice.acknowledge(ms(31), 1, 4);
    assert_eq!(alice.sending_epoch(), Some(3));
    alice.acknowledge(ms(32), 2, 4);
    assert_eq!(alice.sending_epoch(), Some(4));
}

#[test]
fn every_member_acknowledged_ahead_switches_at_once() {
    let mut alice = Keyring::new(config(2)).unwrap();
    alice.add_epoch(ms(0), keys(1, 0, &[0, 1, 2])).unwrap();
    alice.acknowledge(ms(1), 1, 2);
    alice.acknowledge(ms(2), 2, 5);
    alice.add_epoch(ms(10), keys(2, 0, &[0, 1, 2])).unwrap();
    assert_eq!(alice.sending_epoch(), Some(2));
    assert_eq!(
        events(&mut alice).last(),
        Some(&Event::Switched {
            from: Some(1),
            to: 2,
            reason: SwitchReason::AllAcknowledged
        })
    );
}
