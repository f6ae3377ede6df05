//! Two participants and an SFU for two seconds: each decrypts the other, nothing is lost to
//! key rollover, the SFU never sees plaintext and shuts down cleanly.

mod common;

#[test]
fn two_participants_decrypt_each_other() {
    let sfu = common::sfu();
    let alice = common::join(&sfu, "alice", 4.0);
    assert!(common::wait_until(
        std::time::Duration::from_secs(10),
        || alice
            .progress()
            .joined
            .load(std::sync::atomic::Ordering::SeqCst)
    ));
    let bob = common::join(&sfu, "bob", 2.0);
    let bob = bob.join().expect("bob");
    let alice = alice.join().expect("alice");
    let stats = sfu.stop();
    eprintln!("{alice:#?}\n{bob:#?}\n{stats:#?}");
    assert!(bob.decrypted > 50, "bob decrypted {}", bob.decrypted);
    assert!(alice.decrypted > 50, "alice decrypted {}", alice.decrypted);
    assert_eq!(alice.rollover_drops + bob.rollover_drops, 0);
    assert_eq!(alice.corrupt + bob.corrupt, 0);
    assert_eq!(stats.plaintext_seen, 0);
    assert_eq!(stats.peers_now, 0);
}
