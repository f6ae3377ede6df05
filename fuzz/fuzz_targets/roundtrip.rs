//! Fuzz target `roundtrip`: for any suite, backend pair, KID, first counter, base key,
//! metadata and payload (up to 8 KiB), encrypting gives a frame of exactly header + payload +
//! tag bytes whose header parses back to the KID and counter, and the `Vec` and in-place
//! encryption paths on two different senders (each on a fuzzed backend) give the same bytes.
//! A receiver (on a third fuzzed backend) rejects that frame with any single bit flipped, with
//! one bit of the metadata flipped, and truncated by one byte: a flip in the ciphertext or tag
//! and a metadata flip are exactly `AuthenticationFailed`; a flip in the header (which changes
//! the KID or CTR, as every (KID, CTR) has exactly one encoding) is a peer-input error and
//! never `Ok`. None of those rejections changes the receiver: the genuine frame then decrypts
//! to the payload, and feeding it again is `Error::Replay`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sframe_core::{
    Backend, CipherSuite, Header, MAX_HEADER_LEN, Receiver, ReceiverConfig, Sender,
    SframeError as Error,
};

const MAX_PAYLOAD: usize = 8 * 1024;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Index into `CipherSuite::ALL` (mod 8).
    suite: u8,
    /// Bit 0: backend of the `Vec` sender; bit 1: of the in-place sender; bit 2: of the
    /// receiver; bit 3: decrypt the genuine frame through `Receiver::decrypt` (a `Vec`).
    flags: u8,
    kid: u64,
    ctr: u64,
    /// The base key is the first `1 + key_len % 32` bytes of `key`.
    key_len: u8,
    key: [u8; 32],
    /// The bit of the frame to flip (mod the frame's bit length).
    flip: u32,
    /// The bit of the metadata to flip (mod its bit length).
    metadata_flip: u16,
    metadata: &'a [u8],
    payload: &'a [u8],
}

fn backend(flags: u8, bit: u8) -> Backend {
    Backend::ALL[usize::from((flags >> bit) & 1) % Backend::ALL.len()]
}

fuzz_target!(|input: Input<'_>| {
    let suite = CipherSuite::ALL[usize::from(input.suite) % CipherSuite::ALL.len()];
    let (kid, ctr, metadata) = (input.kid, input.ctr, input.metadata);
    let base_key = &input.key[..1 + usize::from(input.key_len) % input.key.len()];
    let payload = &input.payload[..input.payload.len().min(MAX_PAYLOAD)];
    let tag_len = suite.tag_len();
    let header = Header::new(kid, ctr);
    let header_len = header.len();
    let name = suite.name();

    // Sender A: the growable-buffer path.
    let mut sender_a = Sender::with_backend(suite, backend(input.flags, 0));
    sender_a
        .add_key_with_counter(kid, base_key, ctr)
        .unwrap_or_else(|e| panic!("add_key: {e}"));
    assert_eq!(sender_a.next_counter(kid), Ok(ctr));
    assert_eq!(
        sender_a.encrypted_len(kid, payload.len()),
        Ok(header_len + payload.len() + tag_len)
    );
    let mut frame = payload.to_vec();
    sender_a
        .encrypt(kid, metadata, &mut frame)
        .unwrap_or_else(|e| panic!("{name}: encrypt: {e}"));
    assert_eq!(
        frame.len(),
        header_len + payload.len() + tag_len,
        "{name}: frame length"
    );
    assert_eq!(
        Header::parse(&frame),
        Ok((header, header_len)),
        "{name}: frame header"
    );
    assert_eq!(
        sender_a.next_counter(kid),
        ctr.checked_add(1).ok_or(Error::CounterExhausted { kid }),
        "{name}: the counter did not advance by one"
    );

    // Sender B: in place, in a larger buffer full of garbage, the plaintext not at the start.
    let mut sender_b = Sender::with_backend(suite, backend(input.flags, 1));
    sender_b
        .add_key_with_counter(kid, base_key, ctr)
        .unwrap_or_else(|e| panic!("add_key: {e}"));
    let mut buf = vec![0xa5; MAX_HEADER_LEN + payload.len() + tag_len + 3];
    let start = MAX_HEADER_LEN;
    buf[start..start + payload.len()].copy_from_slice(payload);
    let in_place = sender_b
        .encrypt_in_place(kid, metadata, &mut buf, start..start + payload.len())
        .unwrap_or_else(|e| panic!("{name}: encrypt_in_place: {e}"));
    assert_eq!(
        in_place,
        &frame[..],
        "{name}: Vec and in-place encryption differ"
    );
    assert!(
        buf[..start - header_len].iter().all(|&b| b == 0xa5),
        "wrote before the header"
    );
    assert!(
        buf[start + payload.len() + tag_len..]
            .iter()
            .all(|&b| b == 0xa5),
        "wrote after the tag"
    );

    let config = ReceiverConfig::default();
    let mut receiver = Receiver::with_config(suite, backend(input.flags, 2), config);
    receiver
        .add_key(kid, base_key)
        .unwrap_or_else(|e| panic!("receiver add_key: {e}"));

    // One bit flipped anywhere in the frame.
    let bit = input.flip as usize % (frame.len() * 8);
    let mut flipped = frame.clone();
    flipped[bit / 8] ^= 1 << (bit % 8);
    match receiver.decrypt_in_place(metadata, &mut flipped) {
        Ok(plaintext) => panic!(
            "{name}: frame with bit {bit} flipped decrypted (to {} bytes)",
            plaintext.len()
        ),
        Err(e) if bit / 8 >= header_len => {
            assert_eq!(
                e,
                Error::AuthenticationFailed,
                "{name}: flip in the body, bit {bit}"
            );
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::MalformedHeader(_)
                        | Error::TruncatedFrame { .. }
                        | Error::UnknownKid(_)
                        | Error::AuthenticationFailed
                ),
                "{name}: flip in the header, bit {bit}: {e:?}"
            );
        }
    }

    // One bit of the metadata flipped.
    if !metadata.is_empty() {
        let bit = usize::from(input.metadata_flip) % (metadata.len() * 8);
        let mut other = metadata.to_vec();
        other[bit / 8] ^= 1 << (bit % 8);
        let mut copy = frame.clone();
        assert_eq!(
            receiver
                .decrypt_in_place(&other, &mut copy)
                .map(|p| p.len()),
            Err(Error::AuthenticationFailed),
            "{name}: metadata with bit {bit} flipped"
        );
    }

    // The last byte cut off.
    let mut short = frame[..frame.len() - 1].to_vec();
    let shortened = receiver
        .decrypt_in_place(metadata, &mut short)
        .map(|p| p.len());
    if frame.len() - 1 < header_len + tag_len {
        assert_eq!(
            shortened,
            Err(Error::TruncatedFrame {
                needed: header_len + tag_len,
                available: frame.len() - 1
            })
        );
    } else {
        assert_eq!(
            shortened,
            Err(Error::AuthenticationFailed),
            "{name}: truncated frame"
        );
    }

    // The genuine frame still decrypts, once.
    let mut replay = frame.clone();
    if input.flags & 0x08 != 0 {
        receiver
            .decrypt(metadata, &mut frame)
            .unwrap_or_else(|e| panic!("{name}: decrypt: {e}"));
        assert_eq!(frame, payload, "{name}: decrypt (Vec) gave other plaintext");
    } else {
        match receiver.decrypt_in_place(metadata, &mut frame) {
            Ok(plaintext) => assert_eq!(plaintext, payload, "{name}: other plaintext"),
            Err(e) => panic!("{name}: the genuine frame failed after the bad ones: {e:?}"),
        }
    }
    assert_eq!(
        receiver
            .decrypt_in_place(metadata, &mut replay)
            .map(|p| p.len()),
        Err(Error::Replay { kid, ctr }),
        "{name}: the replayed frame"
    );
});
