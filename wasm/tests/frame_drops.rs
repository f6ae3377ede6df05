//! Every frame that cannot be encrypted or decrypted is counted by cause and changes nothing:
//! the next genuine frame goes through. Counters never repeat. Bad lengths from the page are
//! typed errors, never panics.

// Test helpers outside #[test] functions: a failed expect is a failed test.
#![allow(clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use sframe_core::{CipherSuite, Header};
use sframe_wasm::{
    INPUT_OFFSET, Instance, PLAINTEXT_OFFSET, Participant, SframeWasmError, TransformDrop,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const T: Duration = Duration::ZERO;

fn pair() -> (Participant, Participant) {
    let mut a = Participant::new(SUITE, Some(0), 4).expect("participant");
    let mut b = Participant::new(SUITE, Some(1), 4).expect("participant");
    for p in [&mut a, &mut b] {
        p.add_epoch(T, 1, &[9; 16], &[0, 1]).expect("epoch");
    }
    (a, b)
}

fn seal(p: &mut Participant, plaintext: &[u8]) -> Vec<u8> {
    let mut buf = vec![0; PLAINTEXT_OFFSET + plaintext.len() + 16];
    buf[PLAINTEXT_OFFSET..][..plaintext.len()].copy_from_slice(plaintext);
    let frame = p
        .encrypt(T, 0, None, &mut buf, plaintext.len())
        .expect("sent");
    buf[frame].to_vec()
}

#[test]
fn each_cause_is_counted_and_the_next_frame_decrypts() {
    let (mut alice, mut bob) = (pair().0, pair().1);
    let genuine = seal(&mut alice, b"first");

    let mut tampered = genuine.clone();
    *tampered.last_mut().expect("tag") ^= 1;
    assert_eq!(
        bob.decrypt(T, &mut tampered),
        Err(TransformDrop::AuthenticationFailed)
    );
    assert_eq!(
        bob.decrypt(T, &mut [0xFF][..]),
        Err(TransformDrop::Malformed)
    );
    assert_eq!(
        bob.decrypt(T, &mut genuine[..3].to_vec()),
        Err(TransformDrop::Malformed)
    );

    // Epoch 7 is not installed; leaf 3 is not a member of epoch 1.
    let mut stranger = Participant::new(SUITE, Some(1), 4).expect("participant");
    stranger.add_epoch(T, 7, &[9; 16], &[0, 1]).expect("epoch");
    assert_eq!(
        bob.decrypt(T, &mut seal(&mut stranger, b"x")),
        Err(TransformDrop::UnknownEpoch)
    );
    // Leaf 2 is not a member of epoch 1 for a listener whose roster is 0, 1, 3 (S = 2 for
    // both rosters, so the KID splits the same way).
    let mut listener = Participant::new(SUITE, None, 4).expect("participant");
    listener
        .add_epoch(T, 1, &[9; 16], &[0, 1, 3])
        .expect("epoch");
    let mut third = Participant::new(SUITE, Some(2), 4).expect("participant");
    third
        .add_epoch(T, 1, &[9; 16], &[0, 1, 2, 3])
        .expect("epoch");
    assert_eq!(
        listener.decrypt(T, &mut seal(&mut third, b"x")),
        Err(TransformDrop::UnknownSender)
    );
    assert_eq!(listener.stats().recv_dropped_total(), 1);

    let mut first = genuine.clone();
    assert!(
        bob.decrypt(T, &mut first).is_ok(),
        "unchanged by the bad frames"
    );
    assert_eq!(
        bob.decrypt(T, &mut genuine.clone()),
        Err(TransformDrop::Replay)
    );

    let stats = bob.stats();
    assert_eq!(stats.decrypted, 1);
    let dropped: Vec<(TransformDrop, u64)> =
        stats.recv_dropped.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        dropped,
        [
            (TransformDrop::Malformed, 2),
            (TransformDrop::AuthenticationFailed, 1),
            (TransformDrop::Replay, 1),
            (TransformDrop::UnknownEpoch, 1),
        ]
    );
}

#[test]
fn sending_without_an_epoch_or_as_a_listener_is_a_counted_drop() {
    let mut early = Participant::new(SUITE, Some(0), 4).expect("participant");
    let mut buf = vec![0; 64];
    assert_eq!(
        early.encrypt(T, 0, None, &mut buf, 4),
        Err(TransformDrop::NoSendEpoch)
    );
    let mut listener = Participant::new(SUITE, None, 4).expect("participant");
    listener.add_epoch(T, 1, &[9; 16], &[0, 1]).expect("epoch");
    assert_eq!(
        listener.encrypt(T, 0, None, &mut buf, 4),
        Err(TransformDrop::NoSendEpoch)
    );
    // A plaintext that does not fit the buffer with its tag.
    let (mut alice, _) = pair();
    assert_eq!(
        alice.encrypt(T, 0, None, &mut buf, 60),
        Err(TransformDrop::Other)
    );
    assert_eq!(early.stats().send_dropped_total(), 1);
    assert_eq!(
        alice.stats().send_dropped.get(&TransformDrop::Other),
        Some(&1)
    );
    assert_eq!(alice.stats().encrypted, 0);
}

#[test]
fn counters_never_repeat() {
    let (mut alice, _) = pair();
    let mut seen = HashSet::new();
    for i in 0..2000u32 {
        let frame = seal(&mut alice, &i.to_le_bytes());
        let (header, _) = Header::parse(&frame).expect("header");
        assert_eq!(header.ctr, u64::from(i));
        assert!(seen.insert((header.kid, header.ctr)));
    }
}

#[test]
fn bad_lengths_from_the_page_are_errors() {
    let mut wasm = Instance::default();
    let h = wasm.create(4, Some(0), 4).expect("participant");
    wasm.reserve(10);
    let past_the_buffer = wasm.io().len();
    assert!(matches!(
        wasm.decrypt(h, 0.0, past_the_buffer),
        Err(SframeWasmError::BadInput(_))
    ));
    assert!(matches!(
        wasm.add_epoch(h, 0.0, 1, usize::MAX, 2),
        Err(SframeWasmError::BadInput(_))
    ));
    assert!(matches!(
        wasm.encrypt(h + 1, 0.0, 0, None, 1),
        Err(SframeWasmError::NoSuchParticipant(_))
    ));
    assert!(matches!(
        wasm.create(9, None, 4),
        Err(SframeWasmError::UnknownSuite(9))
    ));
    assert!(matches!(
        wasm.create(4, None, 65),
        Err(SframeWasmError::Keyring(_))
    ));
    // A wrong key length is the keyring's refusal, and leaves the participant as it was.
    wasm.reserve(8)[INPUT_OFFSET..][..8].copy_from_slice(&[1; 8]);
    assert!(matches!(
        wasm.add_epoch(h, 0.0, 1, 8, 0),
        Err(SframeWasmError::Keyring(_))
    ));
    assert_eq!(wasm.participant(h).expect("exists").sending_epoch(), None);
    assert!(wasm.free(h));
    assert!(!wasm.free(h));
    assert_eq!(wasm.create(4, Some(0), 4).expect("slot reused"), h);
}
