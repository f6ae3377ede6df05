//! A participant killed mid-meeting (its thread and socket gone, nothing said to the SFU) is
//! timed out and removed from the group with a commit, and the others keep decrypting each
//! other in the new epoch.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

#[test]
fn a_killed_participant_is_removed_and_the_others_carry_on() {
    let sfu = common::sfu_with_timeout(Duration::from_secs(2));
    let alice = common::join(&sfu, "alice", 60.0);
    let joined = |p: &sframe_webrtc::ParticipantHandle| p.progress().joined.load(Ordering::SeqCst);
    assert!(common::wait_until(Duration::from_secs(15), || joined(
        &alice
    )));
    let bob = common::join(&sfu, "bob", 60.0);
    let carol = common::join(&sfu, "carol", 60.0);
    assert!(common::wait_until(Duration::from_secs(15), || joined(&bob) && joined(&carol)));
    std::thread::sleep(Duration::from_secs(2));
    let before = sfu.stats();
    assert_eq!(before.members.len(), 3);
    let epoch = before.delivery.epoch.unwrap();

    let carol = carol.kill().unwrap();
    assert!(!carol.removed);
    // Timed out after 2 s of silence, then removed with a commit.
    assert!(common::wait_until(Duration::from_secs(8), || {
        let s = sfu.stats();
        s.members.len() == 2 && s.delivery.epoch > Some(epoch)
    }));
    let after_removal = sfu.stats();
    assert_eq!(after_removal.peers_timed_out, 1);
    assert_eq!(after_removal.delivery.commits, before.delivery.commits + 1);
    assert!(!after_removal.members.contains_key("carol"));
    let new_epoch = after_removal.delivery.epoch.unwrap();
    // Alice and Bob reach the new epoch and keep decrypting each other.
    assert!(common::wait_until(Duration::from_secs(5), || {
        [&alice, &bob]
            .iter()
            .all(|p| p.progress().epoch.load(Ordering::SeqCst) == new_epoch)
    }));
    let counts: Vec<u64> = [&alice, &bob]
        .iter()
        .map(|p| p.progress().decrypted.load(Ordering::SeqCst))
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    for (p, c) in [&alice, &bob].iter().zip(counts) {
        // Two seconds of the other's audio and video are about 160 frames (half of that
        // allows for a loaded machine running debug builds).
        assert!(p.progress().decrypted.load(Ordering::SeqCst) >= c + 80);
    }
    alice.leave();
    bob.leave();
    let (alice, bob) = (alice.join().unwrap(), bob.join().unwrap());
    let stats = sfu.stop();
    for r in [&alice, &bob] {
        assert_eq!(r.rollover_drops, 0, "{}", r.name);
        assert_eq!(r.corrupt, 0, "{}", r.name);
        assert!(r.epochs.contains(&new_epoch));
        assert_eq!(
            r.security_codes.get(&new_epoch),
            alice.security_codes.get(&new_epoch)
        );
    }
    assert_eq!(stats.plaintext_seen, 0);
    assert_eq!(stats.peers_now, 0);
}
