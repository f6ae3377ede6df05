//! The wasm crate's participant against native `sframe-mls` keyrings on the aws-lc-rs
//! backend: frames cross both ways, the KIDs are RFC 9605 section 5.2's
//! (`KidLayout::kid(context, leaf, epoch)`), and an epoch change drops nothing.

// Test helpers outside #[test] functions: a failed expect is a failed test.
#![allow(clippy::expect_used)]

use std::time::Duration;

use sframe_core::{Backend, CipherSuite, Header};
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, KidLayout, Received};
use sframe_wasm::{PLAINTEXT_OFFSET, Participant};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const MEMBERS: [u32; 3] = [0, 1, 2];
const T0: Duration = Duration::ZERO;

fn native(leaf: u32, epoch: u64, key: &[u8]) -> Keyring {
    let mut config = KeyringConfig::new(SUITE);
    config.backend = Backend::AwsLc;
    let mut ring = Keyring::new(config).expect("valid config");
    ring.add_epoch(
        T0,
        EpochKeys::new(epoch, key, Some(leaf), MEMBERS).expect("epoch"),
    )
    .expect("first epoch");
    ring
}

fn seal(p: &mut Participant, now: Duration, context: u64, plaintext: &[u8]) -> Vec<u8> {
    let mut buf = vec![0xAA; PLAINTEXT_OFFSET + plaintext.len() + 16];
    buf[PLAINTEXT_OFFSET..][..plaintext.len()].copy_from_slice(plaintext);
    let frame = p
        .encrypt(now, context, None, &mut buf, plaintext.len())
        .expect("sent");
    buf[frame].to_vec()
}

#[test]
fn wasm_frames_decrypt_natively_under_the_rfc_kid() {
    let key = [0x42; 16];
    let mut browser = Participant::new(SUITE, Some(1), 4).expect("participant");
    browser.add_epoch(T0, 5, &key, &MEMBERS).expect("epoch");
    let mut native = native(2, 5, &key);
    // S = 2 for leaves 0..=2, E = 4: KID = (context << 6) | (leaf << 4) | (epoch mod 16).
    let layout = KidLayout::new(4, 2).expect("layout");
    for (i, context) in [0u64, 1, 1, 0, 3].into_iter().enumerate() {
        let plaintext = vec![i as u8; 100 + i];
        let mut frame = seal(&mut browser, T0, context, &plaintext);
        let (header, _) = Header::parse(&frame).expect("header");
        assert_eq!(header.kid, layout.kid(context, 1, 5).expect("fits"));
        assert_eq!(header.kid, (context << 6) | (1 << 4) | 5);
        let Received::Plaintext { info, data } =
            native.decrypt(T0, 0, b"", &mut frame).expect("authentic")
        else {
            panic!("epoch 5 is known")
        };
        assert_eq!(
            (info.sender_index, info.epoch, info.context),
            (1, 5, context)
        );
        assert_eq!(data, &plaintext[..]);
    }
}

#[test]
fn native_frames_decrypt_in_the_wasm_participant() {
    let key = [0x17; 16];
    let mut browser = Participant::new(SUITE, Some(1), 4).expect("participant");
    browser.add_epoch(T0, 3, &key, &MEMBERS).expect("epoch");
    let mut native = native(2, 3, &key);
    for i in 0..50u8 {
        let plaintext = vec![i; 1 + usize::from(i) * 37];
        let mut frame = plaintext.clone();
        native
            .encrypt(u64::from(i % 2), b"", &mut frame)
            .expect("sent");
        let opened = browser.decrypt(T0, &mut frame).expect("authentic");
        assert_eq!(&frame[opened.plaintext.clone()], &plaintext[..]);
        assert_eq!((opened.sender_index, opened.epoch), (2, 3));
        assert_eq!(opened.context, u64::from(i % 2));
    }
    let stats = browser.stats();
    assert_eq!((stats.decrypted, stats.recv_dropped_total()), (50, 0));
    assert_eq!(stats.decrypted_by_sender.get(&2), Some(&50));
}

#[test]
fn an_epoch_change_drops_no_frame() {
    let (k1, k2) = ([1u8; 16], [2u8; 16]);
    let mut alice = Participant::new(SUITE, Some(0), 4).expect("participant");
    let mut bob = Participant::new(SUITE, Some(1), 4).expect("participant");
    let mut native = native(2, 1, &k1);
    for p in [&mut alice, &mut bob] {
        p.add_epoch(T0, 1, &k1, &MEMBERS).expect("epoch 1");
    }
    let mut sent_by_epoch = [0u64; 3];
    for tick in 0..200u64 {
        let now = Duration::from_millis(tick * 10);
        if tick == 50 {
            // The page installs epoch 2 everywhere before anyone acknowledges it.
            bob.add_epoch(now, 2, &k2, &MEMBERS).expect("epoch 2");
            alice.add_epoch(now, 2, &k2, &MEMBERS).expect("epoch 2");
            native
                .add_epoch(
                    now,
                    EpochKeys::new(2, &k2, Some(2), MEMBERS).expect("epoch"),
                )
                .expect("epoch 2");
            assert_eq!(alice.sending_epoch(), Some(1), "waits for the others");
        }
        if tick == 60 {
            alice.acknowledge(now, 1, 2);
            alice.acknowledge(now, 2, 2);
            assert_eq!(alice.sending_epoch(), Some(2));
        }
        let mut frame = seal(&mut alice, now, 1, &tick.to_be_bytes());
        let copy = frame.clone();
        let opened = bob.decrypt(now, &mut frame).expect("no drop");
        sent_by_epoch[opened.epoch as usize] += 1;
        let mut frame = copy;
        assert!(matches!(
            native.decrypt(now, 0, b"", &mut frame),
            Ok(Received::Plaintext { .. })
        ));
    }
    assert_eq!(sent_by_epoch, [0, 60, 140]);
    assert_eq!(bob.stats().recv_dropped_total(), 0);
    assert_eq!(alice.stats().switches, 2, "to epoch 1, then to epoch 2");
    assert_eq!(alice.stats().encrypted_by_epoch.get(&2), Some(&140));
}
