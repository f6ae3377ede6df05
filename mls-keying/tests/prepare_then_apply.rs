//! openmls's work on a commit or Welcome done ahead of time (`MlsMember::prepare_commit`,
//! `prepare_welcome`, on another thread), then applied at the member's own time
//! (`MlsMember::apply`): the same epochs, rosters, security codes and keys as processing the
//! message in one step, and nothing reaches the keyring before `apply`.

#![allow(clippy::unwrap_used)]

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

fn roundtrip(from: &mut MlsMember, to: &mut MlsMember) -> bool {
    let mut frame = b"prepared".to_vec();
    from.keyring_mut().encrypt(0, b"", &mut frame).unwrap();
    matches!(
        to.keyring_mut().decrypt(ms(0), 0, b"", &mut frame),
        Ok(Received::Plaintext { data, .. }) if data == b"prepared"
    )
}

#[test]
fn prepared_on_another_thread_then_applied_equals_processing_at_once() {
    fn send_it<T: Send>(t: T) -> T {
        t
    }
    let mut alice = member("alice");
    let mut bob = member("bob");
    let mut carol = member("carol");
    let mut dave = member("dave");
    alice.create_group(ms(0)).unwrap();
    let kps = [bob.key_package().unwrap(), carol.key_package().unwrap()];
    let out = alice.commit(ms(10), &kps, &[]).unwrap();
    alice.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();

    // Bob prepares on another thread and applies later; Carol joins in one step.
    let (mut bob, prepared) = std::thread::scope(|s| {
        s.spawn(|| {
            let mut bob = send_it(bob);
            let p = bob.prepare_welcome(&welcome).unwrap();
            (bob, send_it(p))
        })
        .join()
        .unwrap()
    });
    assert!(
        bob.keyring().epochs().next().is_none(),
        "nothing before apply"
    );
    let joined_bob = bob.apply(ms(20), prepared).unwrap();
    let joined_carol = carol.join(ms(20), &welcome).unwrap();
    assert_eq!(
        (joined_bob.epoch, joined_bob.added.as_slice()),
        (1, &[1][..])
    );
    assert_eq!(joined_bob.security_code, joined_carol.security_code);
    assert_eq!(joined_bob.sender_bits, joined_carol.sender_bits);
    // (Alice keeps sending under epoch 0 until everyone acknowledged epoch 1.)
    assert!(roundtrip(&mut bob, &mut carol) && roundtrip(&mut carol, &mut bob));

    // A commit adding Dave and removing Carol: Bob prepares, Carol processes at once.
    let out = alice
        .commit(ms(30), &[dave.key_package().unwrap()], &[2])
        .unwrap();
    alice.merge_pending_commit().unwrap();
    let prepared = bob.prepare_commit(&out.commit).unwrap();
    assert_eq!(
        bob.keyring().epochs().collect::<Vec<_>>(),
        [1],
        "nothing before apply"
    );
    let applied = bob.apply(ms(40), prepared).unwrap();
    let carol_out = carol.process_commit(ms(40), &out.commit).unwrap();
    assert!(carol_out.self_removed);
    assert_eq!((applied.epoch, applied.removed.as_slice()), (2, &[2][..]));
    assert_eq!(applied.added, [2], "Dave takes the leaf Carol left");
    assert_eq!(applied.security_code, alice.security_code());
    dave.join(ms(50), &out.welcome.unwrap()).unwrap();
    assert!(roundtrip(&mut alice, &mut bob) && roundtrip(&mut bob, &mut dave));

    // Garbage is refused when preparing, and the member goes on.
    assert!(matches!(
        bob.prepare_commit(b"not mls"),
        Err(MlsError::Malformed(_))
    ));
    assert!(matches!(
        bob.prepare_welcome(b"not mls"),
        Err(MlsError::Malformed(_))
    ));
    assert!(roundtrip(&mut dave, &mut bob));
}
