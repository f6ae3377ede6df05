//! `Debug` output never shows key material: not the base key, nor the derived secret, key or
//! salt, in hex (either case, with or without `0x`) or as a decimal byte array, in `{:?}` or
//! `{:#?}` form.

#![forbid(unsafe_code)]

use std::fmt::Debug;

use sframe_core::{Aead, Backend, CipherSuite, KeySchedule, RatchetKid, Receiver, Secret, Sender};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A recognisable base key: 64 distinct bytes.
fn base_key() -> Vec<u8> {
    (0..64u8)
        .map(|i| 0xC0 ^ i.wrapping_mul(37) ^ 0x5a)
        .collect()
}

/// How many consecutive key bytes count as a leak.
const WINDOW: usize = 4;

/// Every window of `WINDOW` consecutive bytes of `secret`, in the forms a `Debug` impl could
/// print them (hex joined or comma-listed, either case; `0x`-prefixed; decimal), whitespace
/// removed.
fn leak_patterns(secret: &[u8]) -> Vec<String> {
    secret
        .windows(WINDOW)
        .flat_map(|w| {
            let hex: Vec<String> = w.iter().map(|b| format!("{b:02x}")).collect();
            let decimal = w.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
            let prefixed = hex
                .iter()
                .map(|h| format!("0x{h}"))
                .collect::<Vec<_>>()
                .join(",");
            let (joined, listed) = (hex.concat(), hex.join(","));
            [
                joined.to_uppercase(),
                joined,
                listed.to_uppercase(),
                listed,
                decimal,
                prefixed,
            ]
        })
        .collect()
}

/// The first pattern of any secret found in `text`, whitespace ignored.
fn leak_in_text(text: &str, secrets: &[&[u8]]) -> Option<String> {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    secrets
        .iter()
        .flat_map(|secret| leak_patterns(secret))
        .find(|p| squeezed.contains(p))
        .map(|p| format!("{p} in {text}"))
}

/// A leak in `{:?}` or `{:#?}` of `value`.
fn leak_in(value: &impl Debug, secrets: &[&[u8]]) -> Option<String> {
    leak_in_text(&format!("{value:?}"), secrets)
        .or_else(|| leak_in_text(&format!("{value:#?}"), secrets))
}

#[test]
fn the_leak_detector_finds_key_bytes_in_every_form_it_looks_for() {
    let key = base_key();
    let part = &key[17..23];
    let forms = [
        format!("{part:?}"),
        format!("{part:#?}"),
        format!("{part:x?}"),
        format!("{part:X?}"),
        format!("{part:#x?}"),
        hex::encode(part),
        hex::encode_upper(part),
        format!("Key {{ bytes: {part:?}, len: 6 }}"),
    ];
    for form in &forms {
        assert!(
            leak_in_text(form, &[&key]).is_some(),
            "not detected: {form}"
        );
    }
    assert!(leak_in(&part.to_vec(), &[&key]).is_some());
    assert_eq!(leak_in(&"Secret(64 bytes, redacted)", &[&key]), None);
    assert_eq!(
        leak_in_text(&format!("{:?}", &key[..3]), &[&key]),
        None,
        "3 bytes are no leak"
    );
}

#[test]
fn debug_of_sender_receiver_secret_key_schedule_and_aead_shows_no_key_bytes() -> TestResult {
    let key = base_key();
    let mut checked = 0;
    for suite in CipherSuite::ALL {
        for &backend in Backend::ALL {
            let kid = 0x77;
            let schedule = KeySchedule::derive(backend, suite, kid, &key)?;
            let aead_key: Vec<u8> = key.iter().copied().cycle().take(suite.key_len()).collect();
            let secrets: [&[u8]; 5] = [
                &key,
                schedule.secret.expose(),
                schedule.key.expose(),
                schedule.salt.expose(),
                &aead_key,
            ];
            let at = format!("{suite} on {}", backend.name());

            let mut sender = Sender::with_backend(suite, backend);
            sender.add_key(kid, &key)?;
            let ratchet_kid = sender.add_ratcheting_key(5, 4, &key)?;
            let mut frame = b"a frame".to_vec();
            sender.encrypt(kid, b"metadata", &mut frame)?;

            let mut receiver = Receiver::with_config(suite, backend, Default::default());
            receiver.add_key(kid, &key)?;
            receiver.add_ratcheting_key(RatchetKid::new(5, 4, 0)?, &key)?;
            receiver.decrypt(b"metadata", &mut frame)?;
            let next = sender.ratchet(ratchet_kid)?;
            let mut frame = b"after the ratchet".to_vec();
            sender.encrypt(next, &[], &mut frame)?;
            receiver.decrypt(&[], &mut frame)?;

            let secret = Secret::new(&key)?;
            let aead = Aead::new(backend, suite, &aead_key)?;

            assert_eq!(leak_in(&sender, &secrets), None, "Sender, {at}");
            assert_eq!(leak_in(&receiver, &secrets), None, "Receiver, {at}");
            assert_eq!(leak_in(&secret, &secrets), None, "Secret, {at}");
            assert_eq!(leak_in(&schedule, &secrets), None, "KeySchedule, {at}");
            assert_eq!(leak_in(&aead, &secrets), None, "Aead, {at}");
            checked += 1;
        }
    }
    assert_eq!(checked, CipherSuite::ALL.len() * Backend::ALL.len());
    Ok(())
}
