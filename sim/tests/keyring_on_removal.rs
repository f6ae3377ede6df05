//! The `sframe-mls` behaviour behind the meeting leader's commits: a commit that removes a
//! member makes senders switch at once, even when a joiner takes the removed member's leaf
//! in the same commit (the engine commits leaves and joins together).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test that cannot run its setup should panic"
)]

use std::time::Duration;

use sframe_core::CipherSuite;
use sframe_mls::{KeyringConfig, MemberConfig, MlsMember};

fn member(name: &str) -> MlsMember {
    let mut keyring = KeyringConfig::new(CipherSuite::Aes128GcmSha256_128);
    keyring.switch_at_once_on_removal = true;
    MlsMember::new(name.as_bytes(), MemberConfig::new(keyring)).unwrap()
}

/// A leader at leaf 0 with members at leaves 1 and 2, sending under epoch 1.
fn group() -> MlsMember {
    let t = Duration::ZERO;
    let mut leader = member("leader");
    leader.create_group(t).unwrap();
    let (mut a, mut b) = (member("a"), member("b"));
    let kps = [a.key_package().unwrap(), b.key_package().unwrap()];
    let out = leader.commit(t, &kps, &[]).unwrap();
    leader.merge_pending_commit().unwrap();
    assert_eq!(out.added, [1, 2]);
    let welcome = out.welcome.unwrap();
    a.join(t, &welcome).unwrap();
    b.join(t, &welcome).unwrap();
    for leaf in [1, 2] {
        leader.keyring_mut().acknowledge(t, leaf, 1);
    }
    assert_eq!(leader.keyring().sending_epoch(), Some(1));
    leader
}

/// What `sframe meeting` does: a commit of leaves only. The leader switches at once, so
/// the removed member gets no frame of the new epoch's time under the old one.
#[test]
fn a_commit_that_only_removes_switches_at_once() {
    let mut leader = group();
    leader.commit(Duration::ZERO, &[], &[1]).unwrap();
    assert_eq!(leader.keyring().sending_epoch(), Some(2));
}

/// Regression: the keyring used to detect removals by comparing the epochs' leaf indices,
/// and a joiner in the same commit takes the removed member's leaf, so senders did not
/// switch at once and the removed member could decrypt until the grace period ended.
#[test]
fn a_commit_that_reuses_a_removed_leaf_switches_at_once() {
    let mut leader = group();
    let mut c = member("c");
    let out = leader
        .commit(Duration::ZERO, &[c.key_package().unwrap()], &[1])
        .unwrap();
    assert_eq!(out.added, [1], "the joiner takes the removed member's leaf");
    assert_eq!(
        leader.keyring().sending_epoch(),
        Some(2),
        "the removal is a removal even though the leaf is taken again"
    );
}
