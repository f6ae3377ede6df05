//! The openmls adapter: epochs reach the keyring from staged commits and Welcomes before they
//! are merged, rosters and own leaf indices are mapped, security codes agree, and malformed or
//! foreign MLS messages are typed errors that change nothing.

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

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Encrypts on `from` (context 0) and decrypts on `to`; the plaintext, or the error.
fn send(from: &mut MlsMember, to: &mut MlsMember, text: &[u8]) -> Result<Vec<u8>, String> {
    let mut frame = text.to_vec();
    from.keyring_mut()
        .encrypt(0, b"", &mut frame)
        .map_err(|e| e.to_string())?;
    match to.keyring_mut().decrypt(ms(0), 0, b"", &mut frame) {
        Ok(Received::Plaintext { data, .. }) => Ok(data.to_vec()),
        Ok(Received::Buffered) => Err("buffered".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn epochs_flow_from_staged_commits_and_welcomes() {
    let mut alice = member("alice");
    let mut bob = member("bob");
    let mut carol = member("carol");
    alice.create_group(ms(0)).unwrap();
    assert_eq!(alice.keyring().epochs().collect::<Vec<_>>(), [0]);
    let code0 = alice.security_code().unwrap();

    let kps = vec![bob.key_package().unwrap(), carol.key_package().unwrap()];
    let out = alice.commit(ms(10), &kps, &[]).unwrap();
    assert_eq!((out.epoch, out.added.as_slice()), (1, &[1, 2][..]));
    // Exported from the pending commit: the keyring holds epoch 1, the group is still at 0.
    assert_eq!(alice.epoch(), Some(0));
    assert_eq!(alice.keyring().epochs().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(alice.keyring().sending_epoch(), Some(0));
    let merged = alice.merge_pending_commit().unwrap();
    assert_eq!(merged.added, [1, 2]);
    assert_eq!(alice.epoch(), Some(1));

    let welcome = out.welcome.unwrap();
    let joined_bob = bob.join(ms(20), &welcome).unwrap();
    let joined_carol = carol.join(ms(20), &welcome).unwrap();
    assert_eq!(
        (bob.own_leaf_index(), carol.own_leaf_index()),
        (Some(1), Some(2))
    );
    assert_eq!(joined_bob.epoch, 1);
    // Same security code for everyone in epoch 1, different from epoch 0's.
    let code1 = alice.security_code().unwrap();
    assert_eq!(joined_bob.security_code, Some(code1));
    assert_eq!(joined_carol.security_code, Some(code1));
    assert_ne!(code0.groups(), code1.groups());
    assert_eq!(code1.epoch(), 1);

    // The joiners send under epoch 1 at once; Alice still sends under 0 until they acknowledge.
    assert_eq!(send(&mut bob, &mut carol, b"hi").unwrap(), b"hi");
    assert_eq!(
        send(&mut bob, &mut alice, b"hi alice").unwrap(),
        b"hi alice"
    );
    alice.keyring_mut().acknowledge(ms(30), 1, 1);
    alice.keyring_mut().acknowledge(ms(30), 2, 1);
    assert_eq!(alice.keyring().sending_epoch(), Some(1));
    assert_eq!(
        send(&mut alice, &mut carol, b"all on 1").unwrap(),
        b"all on 1"
    );

    // Alice removes Carol. Bob stages the commit: he decrypts epoch 2 before merging it.
    let out = alice.commit(ms(40), &[], &[2]).unwrap();
    alice.merge_pending_commit().unwrap();
    let staged = bob.stage_commit(ms(50), &out.commit).unwrap();
    assert_eq!((staged.epoch, staged.removed.as_slice()), (2, &[2][..]));
    assert!(!staged.self_removed);
    assert_eq!(bob.epoch(), Some(1));
    alice.keyring_mut().acknowledge(ms(50), 1, 2);
    assert_eq!(alice.keyring().sending_epoch(), Some(2));
    assert_eq!(send(&mut alice, &mut bob, b"epoch 2").unwrap(), b"epoch 2");
    let merged = bob.merge_staged_commit().unwrap();
    assert_eq!(merged.security_code, alice.security_code());
    assert_eq!(staged.security_code, alice.security_code());
    assert_eq!(bob.members(), [0, 1]);

    // Carol learns she was removed; no epoch 2 for her keyring, so epoch 2 frames never
    // decrypt there.
    let removed = carol.process_commit(ms(50), &out.commit).unwrap();
    assert!(removed.self_removed);
    assert!(carol.is_removed());
    assert_eq!(carol.keyring().epochs().collect::<Vec<_>>(), [1]);
    assert_eq!(
        send(&mut alice, &mut carol, b"secret").unwrap_err(),
        "buffered"
    );
    assert_eq!(
        carol.commit(ms(60), &[], &[]).unwrap_err(),
        MlsError::Removed
    );
    assert_eq!(alice.roster_corrections() + bob.roster_corrections(), 0);
}

#[test]
fn malformed_and_foreign_messages_change_nothing() {
    let mut alice = member("alice");
    let mut bob = member("bob");
    alice.create_group(ms(0)).unwrap();
    let out = alice
        .commit(ms(1), &[bob.key_package().unwrap()], &[])
        .unwrap();
    alice.merge_pending_commit().unwrap();
    bob.join(ms(2), out.welcome.as_ref().unwrap()).unwrap();

    let before = bob.keyring().epochs().collect::<Vec<_>>();
    // Garbage, truncations, and the wrong kind of message.
    assert!(matches!(
        bob.stage_commit(ms(3), b"\x00\x01garbage"),
        Err(MlsError::Malformed(_))
    ));
    let next = alice.commit(ms(3), &[], &[]).unwrap();
    for cut in [0, 1, 5, next.commit.len() / 2, next.commit.len() - 1] {
        assert!(
            matches!(
                bob.stage_commit(ms(3), &next.commit[..cut]),
                Err(MlsError::Malformed(_))
            ),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        bob.stage_commit(ms(3), out.welcome.as_ref().unwrap()),
        Err(MlsError::Malformed(_))
    ));
    assert!(matches!(
        bob.join(ms(3), &next.commit),
        Err(MlsError::Malformed(_))
    ));
    assert!(matches!(
        alice.commit(ms(3), &[b"not a key package".to_vec()], &[]),
        Err(MlsError::Malformed(_))
    ));
    // A commit from another group, and a replay of the Welcome's epoch-1 commit.
    let mut mallory = member("mallory");
    mallory.create_group(ms(0)).unwrap();
    let foreign = mallory.commit(ms(3), &[], &[]).unwrap();
    assert!(matches!(
        bob.stage_commit(ms(3), &foreign.commit),
        Err(MlsError::Rejected(_))
    ));
    assert!(matches!(
        bob.stage_commit(ms(3), &out.commit),
        Err(MlsError::Rejected(_))
    ));
    // Removing a leaf that is not in the group.
    alice.merge_pending_commit().unwrap();
    assert!(matches!(
        alice.commit(ms(4), &[], &[7]),
        Err(MlsError::Rejected(_))
    ));
    assert_eq!(bob.keyring().epochs().collect::<Vec<_>>(), before);
    assert_eq!(bob.epoch(), Some(1));
    // The real commit still works afterwards.
    assert_eq!(bob.process_commit(ms(5), &next.commit).unwrap().epoch, 2);
    assert_eq!(bob.security_code(), alice.security_code());
}
