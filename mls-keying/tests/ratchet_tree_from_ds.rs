//! The ratchet tree supplied by the delivery service: a member's commits can leave the tree
//! out of the Welcome; a joiner then takes it from the delivery service. A Welcome without
//! the tree is refused alone, a tree of another group is refused, and neither changes
//! anything; with the right tree the joiner is in the epoch and media flows both ways.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sframe_core::CipherSuite;
use sframe_mls::{KeyringConfig, MemberConfig, MlsError, MlsMember, Received};

fn member(name: &str) -> MlsMember {
    MlsMember::new(
        name.as_bytes(),
        MemberConfig::new(KeyringConfig::new(CipherSuite::Aes128GcmSha256_128)),
    )
    .unwrap()
}

const T: Duration = Duration::ZERO;

fn send(from: &mut MlsMember, to: &mut MlsMember, text: &[u8]) -> Vec<u8> {
    let mut frame = text.to_vec();
    from.keyring_mut().encrypt(0, b"", &mut frame).unwrap();
    match to.keyring_mut().decrypt(T, 0, b"", &mut frame).unwrap() {
        Received::Plaintext { data, .. } => data.to_vec(),
        Received::Buffered => panic!("buffered"),
    }
}

#[test]
fn a_joiner_takes_the_tree_from_the_delivery_service() {
    let mut alice = member("alice");
    alice.create_group(T).unwrap();
    // A group of 20 first (Welcome with the tree), then one more whose Welcome has none.
    let others: Vec<Vec<u8>> = (0..19)
        .map(|i| member(&format!("m{i}")).key_package().unwrap())
        .collect();
    let with_tree = alice.commit(T, &others, &[]).unwrap().welcome.unwrap();
    alice.merge_pending_commit().unwrap();

    alice.set_ratchet_tree_in_welcome(false).unwrap();
    let (mut bob, mut carol, mut dave) = (member("bob"), member("carol"), member("dave"));
    let kps = [&mut bob, &mut carol, &mut dave].map(|m| m.key_package().unwrap());
    let out = alice.commit(T, &kps, &[]).unwrap();
    alice.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    assert!(
        welcome.len() < with_tree.len() / 2,
        "the Welcome without the tree is smaller: {} vs {}",
        welcome.len(),
        with_tree.len()
    );
    let tree = alice.ratchet_tree().unwrap();

    // Alone, the Welcome is not enough; the keyring gets nothing.
    assert!(matches!(bob.join(T, &welcome), Err(MlsError::Rejected(_))));
    assert_eq!(bob.epoch(), None);
    assert_eq!(bob.keyring().epochs().count(), 0);
    // openmls 0.9.2 consumed bob's key package on that first attempt (before it looked for
    // the tree), so even the right tree cannot bring him in with this Welcome: he needs a new
    // one. Recorded here so that a change in openmls shows.
    assert!(matches!(
        bob.join_with_ratchet_tree(T, &welcome, &tree),
        Err(MlsError::Rejected(_))
    ));

    // A tree of another group does not match the Welcome's tree hash.
    let mut eve = member("eve");
    eve.create_group(T).unwrap();
    let foreign = eve.ratchet_tree().unwrap();
    assert!(matches!(
        carol.join_with_ratchet_tree(T, &welcome, &foreign),
        Err(MlsError::Rejected(_))
    ));
    assert_eq!(carol.keyring().epochs().count(), 0);

    // Garbage is malformed and never reaches openmls; then the delivery service's tree: dave
    // is in, at alice's epoch, with the whole roster.
    assert!(matches!(
        dave.join_with_ratchet_tree(T, &welcome, b"\x05junk"),
        Err(MlsError::Malformed(_))
    ));
    let joined = dave.join_with_ratchet_tree(T, &welcome, &tree).unwrap();
    assert_eq!(Some(joined.epoch), alice.epoch());
    assert_eq!(dave.members(), alice.members());
    assert_eq!(dave.members().len(), 23);
    assert_eq!(dave.security_code(), alice.security_code());
    // Alice switches to the new epoch once its grace is over (nobody acknowledged here).
    alice.keyring_mut().handle_timeout(Duration::from_secs(10));
    assert_eq!(alice.keyring().sending_epoch(), alice.epoch());
    assert_eq!(send(&mut alice, &mut dave, b"hello dave"), b"hello dave");
    assert_eq!(send(&mut dave, &mut alice, b"hello alice"), b"hello alice");
}
