//! Property tests: header round-trips, header parsing of arbitrary bytes, encrypt/decrypt
//! round-trips for every suite and backend, single-bit flips, and forged ratchet KIDs.

#![forbid(unsafe_code)]

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use sframe_core::{
    Backend, CipherSuite, Header, RatchetKid, Receiver, ReceiverConfig, Sender,
    SframeError as Error,
};

/// A KID or CTR whose header field takes 0 (compact, 0-7) to 8 extra bytes, each length
/// equally likely.
fn field_value() -> impl Strategy<Value = u64> {
    (0u32..=8).prop_flat_map(|extra| match extra {
        0 => (0u64..8).boxed(),
        8 => ((1u64 << 56)..=u64::MAX).boxed(),
        n => ((1u64 << (8 * (n - 1))).max(8)..(1u64 << (8 * n))).boxed(),
    })
}

/// Extra bytes a KID or CTR field takes.
fn field_len(v: u64) -> usize {
    if v < 8 {
        0
    } else {
        8 - v.leading_zeros() as usize / 8
    }
}

fn suite() -> impl Strategy<Value = CipherSuite> {
    select(CipherSuite::ALL.to_vec())
}

fn backend() -> impl Strategy<Value = Backend> {
    select(Backend::ALL.to_vec())
}

fn bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), len)
}

fn pair(
    suite: CipherSuite,
    backend: Backend,
    kid: u64,
    ctr: u64,
    base_key: &[u8],
) -> Result<(Sender, Receiver), Error> {
    let mut sender = Sender::with_backend(suite, backend);
    sender.add_key_with_counter(kid, base_key, ctr)?;
    let mut receiver = Receiver::with_config(suite, backend, ReceiverConfig::default());
    receiver.add_key(kid, base_key)?;
    Ok((sender, receiver))
}

fn encrypt(
    sender: &mut Sender,
    kid: u64,
    metadata: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut frame = payload.to_vec();
    sender.encrypt(kid, metadata, &mut frame)?;
    Ok(frame)
}

/// A frame that must be rejected: an error, and one about the peer's input.
fn assert_rejected(result: Result<&mut [u8], Error>, what: &str) -> Result<(), TestCaseError> {
    match result {
        Ok(plaintext) => Err(TestCaseError::fail(format!(
            "{what} was accepted, giving {} plaintext bytes",
            plaintext.len()
        ))),
        Err(e) => {
            prop_assert!(
                e.is_peer_input(),
                "{what}: {e:?} is not classed as peer input"
            );
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn header_encode_then_parse_gives_kid_ctr_and_length_back(
        kid in field_value(),
        ctr in field_value(),
        body in bytes(0..8),
    ) {
        let header = Header::new(kid, ctr);
        let mut buf = [0u8; 32];
        let n = header.encode(&mut buf)?;
        prop_assert_eq!(n, 1 + field_len(kid) + field_len(ctr));
        prop_assert_eq!(n, header.len());
        let encoded = header.to_bytes();
        prop_assert_eq!(&buf[..n], encoded.as_ref());
        let frame = [&buf[..n], &body].concat();
        prop_assert_eq!(Header::parse(&frame)?, (header, n));
    }

    #[test]
    fn header_parse_of_any_bytes_is_an_error_or_reencodes_to_the_same_prefix(
        input in bytes(0..24),
    ) {
        match Header::parse(&input) {
            Ok((header, n)) => {
                prop_assert!(n <= input.len());
                prop_assert_eq!(n, header.len());
                let encoded = header.to_bytes();
                prop_assert_eq!(encoded.as_ref(), &input[..n]);
            }
            Err(e) => prop_assert!(matches!(e, Error::MalformedHeader(_)), "{:?}", e),
        }
    }

    #[test]
    fn encrypt_then_decrypt_round_trips_for_every_suite_backend_and_buffer_kind(
        suite in suite(),
        backend in backend(),
        kid in field_value(),
        ctr in field_value(),
        base_key in bytes(1..65),
        metadata in bytes(0..65),
        payload in bytes(0..2048),
        api in 0..3usize,
    ) {
        let (mut sender, mut receiver) = pair(suite, backend, kid, ctr, &base_key)?;
        let expected_len = sender.encrypted_len(kid, payload.len())?;
        let plaintext = match api {
            0 => {
                let mut frame = encrypt(&mut sender, kid, &metadata, &payload)?;
                prop_assert_eq!(frame.len(), expected_len);
                receiver.decrypt(&metadata, &mut frame)?;
                frame
            }
            1 => {
                let mut frame = BytesMut::from(payload.as_slice());
                sender.encrypt(kid, &metadata, &mut frame)?;
                prop_assert_eq!(frame.len(), expected_len);
                receiver.decrypt(&metadata, &mut frame)?;
                frame.to_vec()
            }
            _ => {
                let header_len = sender.header_len(kid)?;
                let mut buf = vec![0xA5; expected_len + 3];
                let range = header_len..header_len + payload.len();
                buf[range.clone()].copy_from_slice(&payload);
                let frame_len = sender.encrypt_in_place(kid, &metadata, &mut buf, range)?.len();
                prop_assert_eq!(frame_len, expected_len);
                receiver.decrypt_in_place(&metadata, &mut buf[..frame_len])?.to_vec()
            }
        };
        prop_assert_eq!(plaintext, payload);
    }

    #[test]
    fn any_single_bit_flip_is_rejected_and_the_next_good_frame_still_decrypts(
        suite in suite(),
        backend in backend(),
        kid in field_value(),
        ctr in field_value().prop_map(|c| c.min(u64::MAX - 1)),
        base_key in bytes(1..65),
        metadata in bytes(1..33),
        payload in bytes(1..512),
        region in 0..4usize,
        at in any::<Index>(),
        bit in 0..8u8,
    ) {
        let (mut sender, mut receiver) = pair(suite, backend, kid, ctr, &base_key)?;
        let first = encrypt(&mut sender, kid, &metadata, &payload)?;
        let second = encrypt(&mut sender, kid, &metadata, &payload)?;

        let header_len = Header::new(kid, ctr).len();
        let tag_start = header_len + payload.len();
        let mut frame = first.clone();
        let mut md = metadata.clone();
        let (name, target) = match region {
            0 => ("header", &mut frame[..header_len]),
            1 => ("ciphertext", &mut frame[header_len..tag_start]),
            2 => ("tag", &mut frame[tag_start..]),
            _ => ("metadata", md.as_mut_slice()),
        };
        let i = at.index(target.len());
        target[i] ^= 1 << bit;
        prop_assert_eq!(frame.len() - tag_start, suite.tag_len());
        assert_rejected(
            receiver.decrypt_in_place(&md, &mut frame),
            &format!("{suite} on {} with bit {bit} of {name} byte {i} flipped", backend.name()),
        )?;

        let mut good = first;
        prop_assert_eq!(receiver.decrypt_in_place(&metadata, &mut good)?, payload.as_slice());
        let mut next = second;
        prop_assert_eq!(receiver.decrypt_in_place(&metadata, &mut next)?, payload.as_slice());
    }

    #[test]
    fn a_forged_kid_ratchet_steps_ahead_does_not_move_the_receiver(
        suite in suite(),
        backend in backend(),
        generation in 0u64..1_000,
        (r_bits, ahead) in (2u8..=8).prop_flat_map(|r| (Just(r), 1u64..(1u64 << r).min(20))),
        forged_ctr in field_value(),
        base_key in bytes(1..65),
        attacker_key in bytes(1..65),
        metadata in bytes(0..17),
        payload in bytes(0..256),
    ) {
        prop_assume!(attacker_key != base_key);
        let mut sender = Sender::with_backend(suite, backend);
        let kid0 = sender.add_ratcheting_key(generation, r_bits, &base_key)?;
        let mut receiver = Receiver::with_config(suite, backend, ReceiverConfig::default());
        receiver.add_ratcheting_key(RatchetKid::new(generation, r_bits, 0)?, &base_key)?;

        // A well-formed frame under a KID `ahead` steps on, sealed with a key the attacker made up.
        let forged_kid = RatchetKid::new(generation, r_bits, ahead)?.kid();
        let mut attacker = Sender::with_backend(suite, backend);
        attacker.add_key_with_counter(forged_kid, &attacker_key, forged_ctr)?;
        let mut forged = encrypt(&mut attacker, forged_kid, &metadata, &payload)?;
        assert_rejected(
            receiver.decrypt_in_place(&metadata, &mut forged),
            &format!("a forged frame {ahead} steps ahead ({suite}, {})", backend.name()),
        )?;
        prop_assert!(!receiver.has_key(forged_kid));
        prop_assert!(receiver.has_key(kid0));

        // The current step still decrypts...
        let mut frame = encrypt(&mut sender, kid0, &metadata, &payload)?;
        prop_assert_eq!(receiver.decrypt_in_place(&metadata, &mut frame)?, payload.as_slice());
        // ...and so does the real next step.
        let kid1 = sender.ratchet(kid0)?;
        let mut frame = encrypt(&mut sender, kid1, &metadata, &payload)?;
        prop_assert_eq!(receiver.decrypt_in_place(&metadata, &mut frame)?, payload.as_slice());
        prop_assert!(receiver.has_key(kid1));
    }
}
