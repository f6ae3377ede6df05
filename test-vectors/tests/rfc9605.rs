//! Known-answer tests: the RFC 9605 vectors (headers, AES-128-CTR-HMAC AEAD, SFrame for suites
//! 1-5) and the post-RFC AES-256-CTR-HMAC vectors (AEAD and SFrame for suites 6-8).
//!
//! The SFrame vectors go through every API path (`Vec<u8>`, `bytes::BytesMut`, `&mut [u8]` with
//! garbage around the frame, at offset 0 and at an offset) on every backend in `Backend::ALL`.
//! Each test counts what it checked, so an emptied vector file fails it.

#![forbid(unsafe_code)]

use bytes::BytesMut;
use sframe_core::{
    Aead, Backend, CipherSuite, Header, HeaderError, KeySchedule, Receiver, ReceiverConfig, Sender,
    SframeError as Error, derive_subkeys, nonce,
};
use sframe_test_vectors::{AesCtrHmacVector, SframeVector};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// What every buffer is filled with before a test writes into it.
const GARBAGE: u8 = 0xA5;
/// Garbage bytes before the frame in the "at an offset" runs, and after it in every run.
const LEAD: usize = 13;
const TAIL: usize = 11;

fn suite(id: u16) -> TestResult<CipherSuite> {
    Ok(CipherSuite::from_id(id).ok_or_else(|| format!("no cipher suite with id {id}"))?)
}

fn all_garbage(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == GARBAGE)
}

/// Both backends are asked for in Cargo.toml; a build with fewer would check less than it says.
fn backends() -> &'static [Backend] {
    assert_eq!(
        Backend::ALL.len(),
        2,
        "expected aws-lc-rs and rustcrypto: {:?}",
        Backend::ALL
    );
    Backend::ALL
}

// ---------------------------------------------------------------------------------------------
// Headers

#[test]
fn header_vectors_encode_to_the_listed_bytes() -> TestResult {
    let vectors = sframe_test_vectors::rfc9605()?.header;
    let mut checked = 0;
    for v in &vectors {
        let header = Header::new(v.kid, v.ctr);
        let n = v.encoded.len();
        assert_eq!(header.len(), n, "{v:?}");
        assert_eq!(header.to_bytes().as_ref(), v.encoded, "to_bytes {v:?}");

        let mut buf = [GARBAGE; 32];
        assert_eq!(header.encode(&mut buf)?, n, "{v:?}");
        assert_eq!(&buf[..n], v.encoded, "encode {v:?}");
        assert!(
            all_garbage(&buf[n..]),
            "encode wrote past the header: {v:?}"
        );

        let mut exact = vec![GARBAGE; n];
        assert_eq!(header.encode(&mut exact)?, n);
        assert_eq!(exact, v.encoded);
        let mut short = vec![GARBAGE; n - 1];
        assert_eq!(
            header.encode(&mut short),
            Err(Error::BufferTooSmall {
                needed: n,
                available: n - 1
            }),
            "{v:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 289);
    Ok(())
}

#[test]
fn header_vectors_parse_to_kid_ctr_and_the_full_header_length() -> TestResult {
    let vectors = sframe_test_vectors::rfc9605()?.header;
    let mut checked = 0;
    for v in &vectors {
        let n = v.encoded.len();
        let expected = Ok((Header::new(v.kid, v.ctr), n));
        assert_eq!(Header::parse(&v.encoded), expected, "{v:?}");

        // Followed by a body: the length still covers the header alone.
        let mut frame = v.encoded.clone();
        frame.extend_from_slice(&[GARBAGE; 20]);
        assert_eq!(Header::parse(&frame), expected, "{v:?} with a body");

        // One byte short: a typed truncation error with both lengths.
        assert_eq!(
            Header::parse(&v.encoded[..n - 1]),
            Err(Error::MalformedHeader(HeaderError::Truncated {
                needed: n,
                available: n - 1
            })),
            "{v:?} cut short"
        );
        checked += 1;
    }
    assert_eq!(checked, 289);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Raw AES-CTR-HMAC AEAD (RFC 9605 section 4.5.1)

/// Checks `derive_subkeys`, seal and open for each vector on every backend; returns how many
/// vectors were checked.
fn check_aead_vectors(vectors: &[AesCtrHmacVector], suites: &[u16]) -> TestResult<usize> {
    let ids: Vec<u16> = vectors.iter().map(|v| v.cipher_suite).collect();
    assert_eq!(ids, suites);
    let mut checked = 0;
    for v in vectors {
        let suite = suite(v.cipher_suite)?;
        let (enc_key, auth_key) =
            derive_subkeys(suite, &v.key).ok_or_else(|| format!("no subkeys for {suite}"))?;
        assert_eq!(enc_key, v.enc_key, "enc_key, {suite}");
        assert_eq!(auth_key, v.auth_key, "auth_key, {suite}");
        assert_eq!(Some(enc_key.len()), suite.enc_key_len());
        assert_eq!(v.ct.len(), v.pt.len() + suite.tag_len(), "{suite}");
        let nonce: [u8; 12] = v.nonce.as_slice().try_into()?;

        for &backend in backends() {
            let aead = Aead::new(backend, suite, &v.key)?;
            let at = format!("{suite} on {}", backend.name());

            // Seal: plaintext, then a tag slot full of garbage.
            let mut buf = v.pt.clone();
            buf.resize(v.ct.len(), GARBAGE);
            aead.seal_in_place(&nonce, &v.aad, &mut buf)?;
            assert_eq!(buf, v.ct, "seal, {at}");

            let mut buf = v.ct.clone();
            assert_eq!(
                aead.open_in_place(&nonce, &v.aad, &mut buf)?,
                v.pt,
                "open, {at}"
            );

            let mut buf = v.ct.clone();
            let wrong_aad = aead
                .open_in_place(&nonce, b"", &mut buf)
                .map(|pt| pt.to_vec());
            assert_eq!(
                wrong_aad,
                Err(Error::AuthenticationFailed),
                "open with no AAD, {at}"
            );
            assert_eq!(
                buf, v.ct,
                "a failed open left the ciphertext as it was, {at}"
            );
        }
        checked += 1;
    }
    Ok(checked)
}

#[test]
fn aes128_ctr_hmac_aead_vectors_subkeys_seal_and_open_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::rfc9605()?.aes_ctr_hmac;
    assert_eq!(check_aead_vectors(&vectors, &[1, 2, 3])?, 3);
    Ok(())
}

#[test]
fn aes256_ctr_hmac_aead_vectors_subkeys_seal_and_open_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::aes256_ctr_hmac()?;
    assert_eq!(check_aead_vectors(&vectors, &[6, 7, 8])?, 3);
    Ok(())
}

#[test]
fn derive_subkeys_is_none_for_gcm_and_for_a_wrong_key_length() {
    assert_eq!(
        derive_subkeys(CipherSuite::Aes128GcmSha256_128, &[0; 16]),
        None
    );
    assert_eq!(
        derive_subkeys(CipherSuite::Aes256GcmSha512_128, &[0; 32]),
        None
    );
    assert_eq!(
        derive_subkeys(CipherSuite::Aes128CtrHmacSha256_80, &[0; 47]),
        None
    );
    assert_eq!(
        derive_subkeys(CipherSuite::Aes256CtrHmacSha512_32, &[0; 48]),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Full SFrame vectors

/// Key schedule, labels, nonce, AAD, and the AEAD alone keyed with `sframe_key`.
fn check_intermediates(v: &SframeVector, backend: Backend) -> TestResult {
    let suite = suite(v.cipher_suite)?;
    let at = format!("{suite} on {}", backend.name());
    assert_eq!(
        KeySchedule::key_label(suite, v.kid),
        v.sframe_key_label,
        "key label, {at}"
    );
    assert_eq!(
        KeySchedule::salt_label(suite, v.kid),
        v.sframe_salt_label,
        "salt label, {at}"
    );

    let schedule = KeySchedule::derive(backend, suite, v.kid, &v.base_key)?;
    assert_eq!(
        schedule.secret.expose(),
        v.sframe_secret,
        "sframe_secret, {at}"
    );
    assert_eq!(schedule.key.expose(), v.sframe_key, "sframe_key, {at}");
    assert_eq!(schedule.salt.expose(), v.sframe_salt, "sframe_salt, {at}");

    let salt: [u8; 12] = schedule.salt.expose().try_into()?;
    let frame_nonce = nonce(&salt, v.ctr);
    assert_eq!(frame_nonce.as_slice(), v.nonce, "nonce, {at}");

    let header = Header::new(v.kid, v.ctr).to_bytes();
    let header = header.as_ref();
    assert_eq!(
        [header, &v.metadata].concat(),
        v.aad,
        "aad = header || metadata, {at}"
    );
    assert!(v.ct.starts_with(header), "ct starts with the header, {at}");

    let aead = Aead::new(backend, suite, &v.sframe_key)?;
    let mut body = v.pt.clone();
    body.resize(v.pt.len() + suite.tag_len(), GARBAGE);
    aead.seal_in_place(&frame_nonce, &v.aad, &mut body)?;
    assert_eq!(
        body,
        v.ct[header.len()..],
        "AEAD(sframe_key, nonce, aad, pt), {at}"
    );
    Ok(())
}

fn sender_at(v: &SframeVector, backend: Backend) -> TestResult<Sender> {
    let mut sender = Sender::with_backend(suite(v.cipher_suite)?, backend);
    sender.add_key_with_counter(v.kid, &v.base_key, v.ctr)?;
    Ok(sender)
}

fn receiver_for(v: &SframeVector, backend: Backend) -> TestResult<Receiver> {
    let config = ReceiverConfig::default();
    let mut receiver = Receiver::with_config(suite(v.cipher_suite)?, backend, config);
    receiver.add_key(v.kid, &v.base_key)?;
    Ok(receiver)
}

/// `encrypt` into a `Vec` and a `BytesMut`, and `encrypt_in_place` into a garbage-filled slice
/// with the frame at offset 0 and at offset `LEAD`; each from a fresh sender at `ctr`.
fn check_encrypt_paths(v: &SframeVector, backend: Backend) -> TestResult {
    let suite = suite(v.cipher_suite)?;
    let at = format!("{suite} on {}", backend.name());

    let mut sender = sender_at(v, backend)?;
    let mut frame = v.pt.clone();
    sender.encrypt(v.kid, &v.metadata, &mut frame)?;
    assert_eq!(frame, v.ct, "encrypt into Vec<u8>, {at}");
    assert_eq!(sender.next_counter(v.kid)?, v.ctr + 1, "{at}");

    let mut frame = BytesMut::from(v.pt.as_slice());
    sender_at(v, backend)?.encrypt(v.kid, &v.metadata, &mut frame)?;
    assert_eq!(frame.as_ref(), v.ct, "encrypt into BytesMut, {at}");

    for lead in [0, LEAD] {
        let mut sender = sender_at(v, backend)?;
        let header_len = sender.header_len(v.kid)?;
        assert_eq!(sender.encrypted_len(v.kid, v.pt.len())?, v.ct.len(), "{at}");
        let mut buf = vec![GARBAGE; lead + v.ct.len() + TAIL];
        let start = lead + header_len;
        let plaintext = start..start + v.pt.len();
        buf[plaintext.clone()].copy_from_slice(&v.pt);
        let frame = sender.encrypt_in_place(v.kid, &v.metadata, &mut buf, plaintext)?;
        assert_eq!(frame, v.ct, "encrypt_in_place at offset {lead}, {at}");
        let end = lead + v.ct.len();
        assert_eq!(
            buf[lead..end],
            v.ct,
            "the frame sits at offset {lead}, {at}"
        );
        assert!(
            all_garbage(&buf[..lead]),
            "bytes before the frame touched, {at}"
        );
        assert!(
            all_garbage(&buf[end..]),
            "bytes after the frame touched, {at}"
        );
    }
    Ok(())
}

/// `decrypt` of a `Vec` and a `BytesMut`, and `decrypt_in_place` of a frame inside a
/// garbage-filled buffer at offset 0 and at offset `LEAD`; each with a fresh receiver.
fn check_decrypt_paths(v: &SframeVector, backend: Backend) -> TestResult {
    let suite = suite(v.cipher_suite)?;
    let at = format!("{suite} on {}", backend.name());
    let header_len = v.ct.len() - v.pt.len() - suite.tag_len();

    let mut buf = v.ct.clone();
    receiver_for(v, backend)?.decrypt(&v.metadata, &mut buf)?;
    assert_eq!(buf, v.pt, "decrypt a Vec<u8>, {at}");

    let mut buf = BytesMut::from(v.ct.as_slice());
    receiver_for(v, backend)?.decrypt(&v.metadata, &mut buf)?;
    assert_eq!(buf.as_ref(), v.pt, "decrypt a BytesMut, {at}");

    for lead in [0, LEAD] {
        let mut receiver = receiver_for(v, backend)?;
        let end = lead + v.ct.len();
        let mut buf = vec![GARBAGE; end + TAIL];
        buf[lead..end].copy_from_slice(&v.ct);
        let plaintext = receiver.decrypt_in_place(&v.metadata, &mut buf[lead..end])?;
        assert_eq!(plaintext, v.pt, "decrypt_in_place at offset {lead}, {at}");
        let pt_start = lead + header_len;
        assert_eq!(
            buf[pt_start..pt_start + v.pt.len()],
            v.pt,
            "decrypted in place, {at}"
        );
        assert!(
            all_garbage(&buf[..lead]),
            "bytes before the frame touched, {at}"
        );
        assert!(
            all_garbage(&buf[end..]),
            "bytes after the frame touched, {at}"
        );

        // The same frame again is a replay; with other metadata it does not authenticate.
        let mut again = v.ct.clone();
        let replay = receiver
            .decrypt_in_place(&v.metadata, &mut again)
            .map(|p| p.to_vec());
        assert_eq!(
            replay,
            Err(Error::Replay {
                kid: v.kid,
                ctr: v.ctr
            }),
            "{at}"
        );
        let mut fresh = receiver_for(v, backend)?;
        let mut other = v.ct.clone();
        let wrong_metadata = fresh
            .decrypt_in_place(b"other", &mut other)
            .map(|p| p.to_vec());
        assert_eq!(wrong_metadata, Err(Error::AuthenticationFailed), "{at}");
    }
    Ok(())
}

/// Runs `check` on every vector and backend; returns how many vectors passed on all backends.
fn for_every_backend(
    vectors: &[SframeVector],
    check: fn(&SframeVector, Backend) -> TestResult,
) -> TestResult<usize> {
    let mut checked = 0;
    for v in vectors {
        for &backend in backends() {
            check(v, backend)?;
        }
        checked += 1;
    }
    Ok(checked)
}

#[test]
fn rfc9605_sframe_vectors_key_schedule_labels_nonce_and_aad_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::rfc9605()?.sframe;
    assert_eq!(for_every_backend(&vectors, check_intermediates)?, 5);
    Ok(())
}

#[test]
fn rfc9605_sframe_vectors_encrypt_via_vec_bytesmut_and_slices_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::rfc9605()?.sframe;
    assert_eq!(for_every_backend(&vectors, check_encrypt_paths)?, 5);
    Ok(())
}

#[test]
fn rfc9605_sframe_vectors_decrypt_via_vec_bytesmut_and_slices_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::rfc9605()?.sframe;
    assert_eq!(for_every_backend(&vectors, check_decrypt_paths)?, 5);
    Ok(())
}

#[test]
fn aes256_sframe_vectors_key_schedule_labels_nonce_and_aad_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::aes256_sframe()?;
    assert_eq!(for_every_backend(&vectors, check_intermediates)?, 3);
    Ok(())
}

#[test]
fn aes256_sframe_vectors_encrypt_via_vec_bytesmut_and_slices_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::aes256_sframe()?;
    assert_eq!(for_every_backend(&vectors, check_encrypt_paths)?, 3);
    Ok(())
}

#[test]
fn aes256_sframe_vectors_decrypt_via_vec_bytesmut_and_slices_on_every_backend() -> TestResult {
    let vectors = sframe_test_vectors::aes256_sframe()?;
    assert_eq!(for_every_backend(&vectors, check_decrypt_paths)?, 3);
    Ok(())
}

#[test]
fn every_suite_has_exactly_one_sframe_vector() -> TestResult {
    let mut ids: Vec<u16> = sframe_test_vectors::rfc9605()?
        .sframe
        .iter()
        .map(|v| v.cipher_suite)
        .collect();
    ids.extend(
        sframe_test_vectors::aes256_sframe()?
            .iter()
            .map(|v| v.cipher_suite),
    );
    let all: Vec<u16> = CipherSuite::ALL.iter().map(|s| s.id()).collect();
    assert_eq!(ids, all);
    Ok(())
}
