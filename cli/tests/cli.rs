//! The `sframe` binary, run as a process: round trips, the RFC 9605 vectors, `inspect`, and
//! every failure's exit status and one-line message.

#![allow(
    clippy::expect_used,
    reason = "a test that cannot run its setup should panic"
)]

mod common;

use common::{sframe, words};
use serde_json::Value;

const KEY: &str = "000102030405060708090a0b0c0d0e0f";
const METADATA: &str = "4945544620534672616d65205747";

/// Suite id, registry name and tag length, from RFC 9605 section 8.1 and
/// draft-barnes-sframe-iana-256 (written out here rather than taken from sframe-core).
const SUITES: [(u16, &str, usize); 8] = [
    (1, "AES_128_CTR_HMAC_SHA256_80", 10),
    (2, "AES_128_CTR_HMAC_SHA256_64", 8),
    (3, "AES_128_CTR_HMAC_SHA256_32", 4),
    (4, "AES_128_GCM_SHA256_128", 16),
    (5, "AES_256_GCM_SHA512_128", 16),
    (6, "AES_256_CTR_HMAC_SHA512_80", 10),
    (7, "AES_256_CTR_HMAC_SHA512_64", 8),
    (8, "AES_256_CTR_HMAC_SHA512_32", 4),
];

/// The suite argument spelled three ways in turn: number, registry name, hex id.
fn suite_arg(index: usize, id: u16, name: &str) -> String {
    match index % 3 {
        0 => id.to_string(),
        1 => name.to_owned(),
        _ => format!("0x{id:04x}"),
    }
}

/// The length of the header for (kid, ctr), by RFC 9605 section 4.3 (computed here, not by
/// the code under test).
fn header_len(kid: u64, ctr: u64) -> usize {
    let field = |v: u64| {
        if v < 8 {
            0
        } else {
            8 - v.leading_zeros() as usize / 8
        }
    };
    1 + field(kid) + field(ctr)
}

/// `encrypt --suite S --base-key KEY --kid K --ctr C`.
fn encrypt_args<'a>(suite: &'a str, kid: &'a str, ctr: &'a str) -> Vec<&'a str> {
    let mut args = with(decrypt_args(suite, kid), &["--ctr", ctr]);
    args[0] = "encrypt";
    args
}

fn decrypt_args<'a>(suite: &'a str, kid: &'a str) -> Vec<&'a str> {
    vec!["decrypt", "--suite", suite, "--base-key", KEY, "--kid", kid]
}

fn with<'a>(mut args: Vec<&'a str>, more: &[&'a str]) -> Vec<&'a str> {
    args.extend_from_slice(more);
    args
}

/// A raw frame of suite 4 under KID 0x123, CTR 0x4567, metadata [`METADATA`].
fn gcm_frame(plaintext: &[u8]) -> Vec<u8> {
    let args = with(
        encrypt_args("4", "0x123", "0x4567"),
        &["--metadata", METADATA],
    );
    sframe(&args, plaintext).ok()
}

fn gcm_decrypt_args() -> Vec<&'static str> {
    with(decrypt_args("4", "0x123"), &["--metadata", METADATA])
}

#[test]
fn round_trip_every_suite_raw_and_hex_with_and_without_metadata() {
    // Every byte value, and the ones a text-mode pipe would mangle.
    let mut plaintext: Vec<u8> = (0..=255u8).collect();
    plaintext.extend_from_slice(b"\r\n\n\r\x1a\x00\xff");
    let mut runs = 0;
    for (i, &(id, name, tag_len)) in SUITES.iter().enumerate() {
        let suite = suite_arg(i, id, name);
        // A different header shape per suite: compact, 1-byte and 8-byte fields.
        let (kid, ctr) = [(3u64, 5u64), (0x123, 0x4567), (u64::MAX, 0), (9, u64::MAX)][i % 4];
        let (kid, ctr) = (kid.to_string(), ctr.to_string());
        let expected_len = header_len(kid.parse().expect("kid"), ctr.parse().expect("ctr"))
            + plaintext.len()
            + tag_len;
        for metadata in [None, Some(METADATA)] {
            let extra: Vec<&str> = metadata.map_or(vec![], |m| vec!["--metadata", m]);
            let enc = with(encrypt_args(&suite, &kid, &ctr), &extra);
            let dec = with(decrypt_args(&suite, &kid), &extra);

            let frame = sframe(&enc, &plaintext).ok();
            assert_eq!(frame.len(), expected_len, "suite {id}: header || ct || tag");
            let header = header_len(kid.parse().expect("kid"), ctr.parse().expect("ctr"));
            assert_ne!(
                &frame[header..header + plaintext.len()],
                &plaintext[..],
                "suite {id}"
            );
            assert_eq!(sframe(&dec, &frame).ok(), plaintext, "suite {id}, raw");

            let hex_in = format!("{}\n", hex::encode(&plaintext));
            let hex_frame = sframe(&with(enc.clone(), &["--hex"]), hex_in.as_bytes()).ok_hex();
            assert_eq!(
                hex_frame, frame,
                "suite {id}: --hex encrypts the same bytes"
            );
            let hex_frame_in = format!("{}\n", hex::encode(&hex_frame));
            let back = sframe(&with(dec.clone(), &["--hex"]), hex_frame_in.as_bytes()).ok_hex();
            assert_eq!(back, plaintext, "suite {id}, hex");

            // An empty plaintext is a frame of header and tag.
            let empty = sframe(&enc, b"").ok();
            assert_eq!(empty.len(), expected_len - plaintext.len());
            assert_eq!(sframe(&dec, &empty).ok(), b"");
            runs += 1;
        }
    }
    assert_eq!(runs, 16);
}

#[test]
fn rfc9605_vectors_are_reproduced() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../test-vectors/vectors/test-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read the RFC 9605 test vectors");
    let json: Value = serde_json::from_str(&text).expect("parse the test vectors");
    let vectors = json["sframe"].as_array().expect("an `sframe` array");
    let field = |v: &Value, name: &str| v[name].as_str().expect(name).to_owned();
    let mut suites = Vec::new();
    for v in vectors {
        let suite = v["cipher_suite"]
            .as_u64()
            .expect("cipher_suite")
            .to_string();
        let kid = v["kid"].as_u64().expect("kid").to_string();
        let ctr = v["ctr"].as_u64().expect("ctr").to_string();
        let (base_key, metadata) = (field(v, "base_key"), field(v, "metadata"));
        let (pt, ct) = (field(v, "pt"), field(v, "ct"));
        let key_args = [
            "--base-key",
            base_key.as_str(),
            "--metadata",
            metadata.as_str(),
        ];

        let mut enc = vec!["encrypt", "--suite", &suite, "--kid", &kid, "--ctr", &ctr];
        enc.extend_from_slice(&key_args);
        let out = sframe(&with(enc.clone(), &["--hex"]), pt.as_bytes()).ok();
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            format!("{ct}\n"),
            "suite {suite}"
        );
        let raw_pt = hex::decode(&pt).expect("pt");
        let raw_ct = hex::decode(&ct).expect("ct");
        assert_eq!(sframe(&enc, &raw_pt).ok(), raw_ct, "suite {suite}, raw");

        let mut dec = vec!["decrypt", "--suite", &suite, "--kid", &kid];
        dec.extend_from_slice(&key_args);
        assert_eq!(
            sframe(&with(dec.clone(), &["--hex"]), ct.as_bytes()).ok_hex(),
            raw_pt
        );
        assert_eq!(sframe(&dec, &raw_ct).ok(), raw_pt, "suite {suite}, raw");
        suites.push(suite);
    }
    assert_eq!(
        suites,
        ["1", "2", "3", "4", "5"],
        "the file covers the RFC's five suites"
    );
}

#[test]
fn inspect_prints_the_header_as_one_json_line() {
    let cases: [(u64, u64, &[u8]); 4] = [
        (0x123, 0x4567, b"draft-ietf-sframe-enc"),
        (3, 5, b""),
        (u64::MAX, u64::MAX, b"x"),
        (8, 0, &[0u8; 1000]),
    ];
    for (kid, ctr, pt) in cases {
        let (kid_s, ctr_s) = (kid.to_string(), ctr.to_string());
        let frame = sframe(&encrypt_args("4", &kid_s, &ctr_s), pt).ok();
        for hex_input in [false, true] {
            let out = if hex_input {
                sframe(
                    &["inspect", "--hex"],
                    format!("{}\n", hex::encode(&frame)).as_bytes(),
                )
            } else {
                sframe(&["inspect"], &frame)
            }
            .ok();
            let out = String::from_utf8(out).expect("utf-8");
            let line = out.strip_suffix('\n').expect("ends with a newline");
            assert!(!line.contains('\n'), "one line: {out:?}");
            let json: Value = serde_json::from_str(line).expect("inspect prints JSON");
            let object = json.as_object().expect("a JSON object");
            assert_eq!(object.len(), 4, "{line}");
            let header = header_len(kid, ctr);
            assert_eq!(json["kid"].as_u64(), Some(kid), "{line}");
            assert_eq!(json["ctr"].as_u64(), Some(ctr), "{line}");
            assert_eq!(json["header_len"].as_u64(), Some(header as u64), "{line}");
            // Ciphertext + the 16-byte GCM tag.
            assert_eq!(
                json["payload_len"].as_u64(),
                Some(pt.len() as u64 + 16),
                "{line}"
            );
        }
    }
}

#[test]
fn hex_input_tolerates_whitespace_newlines_and_upper_case() {
    let frame = gcm_frame(b"spaced out");
    let hex = hex::encode_upper(&frame);
    let mut spaced = String::from("\n  ");
    for (i, c) in hex.chars().enumerate() {
        spaced.push(c);
        spaced.push_str(match i % 7 {
            0 => " ",
            3 => "\r\n",
            5 => "\t",
            _ => "",
        });
    }
    spaced.push_str("\n\n");
    let out = sframe(&with(gcm_decrypt_args(), &["--hex"]), spaced.as_bytes()).ok_hex();
    assert_eq!(out, b"spaced out");
}

#[test]
fn wrong_metadata_key_or_suite_fails_authentication() {
    let frame = gcm_frame(b"payload");
    let no_metadata = decrypt_args("4", "0x123");
    sframe(&no_metadata, &frame).fails(1, &["authentication failed"]);
    let other = with(
        decrypt_args("4", "0x123"),
        &["--metadata", "4945544620534672616d652057"],
    );
    sframe(&other, &frame).fails(1, &["authentication failed"]);
    let wrong_key = words("decrypt --suite 4 --base-key 00 --kid 0x123");
    sframe(&with(wrong_key, &["--metadata", METADATA]), &frame)
        .fails(1, &["authentication failed"]);
    let other_suite = with(decrypt_args("5", "0x123"), &["--metadata", METADATA]);
    sframe(&other_suite, &frame).fails(1, &["authentication failed"]);
    // The same frame with the right arguments does decrypt.
    assert_eq!(sframe(&gcm_decrypt_args(), &frame).ok(), b"payload");
}

#[test]
fn wrong_kid_is_a_mismatch_naming_both_kids() {
    let frame = gcm_frame(b"payload");
    let args = with(decrypt_args("4", "292"), &["--metadata", METADATA]);
    sframe(&args, &frame).fails(1, &["KID mismatch", "291", "292"]);
}

#[test]
fn every_flipped_bit_after_the_kid_fails_authentication() {
    let frame = gcm_frame(b"draft-ietf-sframe-enc");
    // The header is 99 | 01 23 (KID) | 45 67 (CTR): flip the CTR bytes and everything after.
    assert_eq!(frame[..5], [0x99, 0x01, 0x23, 0x45, 0x67]);
    let mut flipped_frames = 0;
    for i in 3..frame.len() {
        let mut bad = frame.clone();
        bad[i] ^= 1 << (i % 8);
        sframe(&gcm_decrypt_args(), &bad).fails(1, &["authentication failed"]);
        flipped_frames += 1;
    }
    assert_eq!(flipped_frames, 5 - 3 + 21 + 16);
}

#[test]
fn truncated_frames_and_headers_are_named() {
    let frame = gcm_frame(b"payload");
    let args = gcm_decrypt_args();
    // Shorter than header (5) + tag (16).
    sframe(&args, &frame[..20]).fails(1, &["truncated frame", "21"]);
    sframe(&args, &frame[..5]).fails(1, &["truncated frame"]);
    // Cut inside the header.
    sframe(&args, &frame[..3]).fails(1, &["malformed SFrame header", "truncated header"]);
    sframe(&args, b"").fails(1, &["malformed SFrame header"]);
    sframe(&["inspect"], &frame[..4]).fails(1, &["malformed SFrame header", "truncated"]);
    sframe(&["inspect"], b"").fails(1, &["malformed SFrame header"]);
    // Long enough to parse but missing its last byte: the tag no longer matches.
    sframe(&args, &frame[..frame.len() - 1]).fails(1, &["authentication failed"]);
}

#[test]
fn non_minimal_headers_are_malformed() {
    // KID 5 written in an extended one-byte field.
    let bad = [
        0x80, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    sframe(&["inspect"], &bad).fails(1, &["malformed SFrame header", "non-minimal"]);
    let args = with(decrypt_args("4", "5"), &[]);
    sframe(&args, &bad).fails(1, &["malformed SFrame header", "non-minimal"]);
}

#[test]
fn bad_hex_on_stdin_names_stdin() {
    let dec = with(gcm_decrypt_args(), &["--hex"]);
    sframe(&dec, b"hello world\n").fails(1, &["stdin", "bad hex", "'h'", "offset 0"]);
    sframe(&dec, b"9901 23zz").fails(1, &["stdin", "bad hex", "'z'", "offset 7"]);
    sframe(&dec, b"990\n").fails(1, &["stdin", "bad hex", "odd number of hex digits (3)"]);
    sframe(&dec, b"99\xff\x00").fails(1, &["stdin", "bad hex", "0xff"]);
    let enc = with(encrypt_args("4", "1", "1"), &["--hex"]);
    sframe(&enc, b"not hex").fails(1, &["stdin", "bad hex"]);
    sframe(&["inspect", "--hex"], b"0x99").fails(1, &["stdin", "bad hex", "'x'"]);
}

#[test]
fn bad_hex_in_arguments_names_the_argument() {
    let bad_key = words("encrypt --suite 4 --base-key zz --kid 1 --ctr 1");
    sframe(&bad_key, b"").fails(2, &["--base-key", "bad hex", "'z'"]);
    let odd_key = words("decrypt --suite 4 --base-key abc --kid 1");
    sframe(&odd_key, b"").fails(2, &["--base-key", "bad hex", "odd"]);
    let bad_metadata = with(encrypt_args("4", "1", "1"), &["--metadata", "0g"]);
    sframe(&bad_metadata, b"").fails(2, &["--metadata", "bad hex", "'g'"]);
}

#[test]
fn unknown_suites_are_usage_errors() {
    for suite in ["0", "9", "0x0009", "65536", "AES_999", ""] {
        sframe(&encrypt_args(suite, "1", "1"), b"x").fails(2, &["--suite", "unknown cipher suite"]);
        sframe(&decrypt_args(suite, "1"), b"x").fails(2, &["--suite", "unknown cipher suite"]);
    }
    // Names are accepted in any case.
    sframe(&encrypt_args("aes_128_gcm_sha256_128", "1", "1"), b"x").ok();
}

#[test]
fn empty_base_key_is_a_usage_error() {
    let enc = [
        &words("encrypt --suite 4 --base-key")[..],
        &["", "--kid", "1", "--ctr", "1"],
    ]
    .concat();
    sframe(&enc, b"x").fails(2, &["empty base key"]);
    let dec = [
        &words("decrypt --suite 1 --base-key")[..],
        &["", "--kid", "1"],
    ]
    .concat();
    sframe(&dec, b"x").fails(2, &["empty base key"]);
}

#[test]
fn usage_errors_are_one_line() {
    sframe(&[], b"").fails(2, &["no subcommand", "encrypt", "decrypt", "inspect"]);
    sframe(&["frobnicate"], b"").fails(2, &["unrecognized subcommand", "frobnicate"]);
    sframe(&["encrypt"], b"").fails(2, &["required", "--suite", "--base-key", "--kid", "--ctr"]);
    sframe(&["decrypt", "--suite", "4"], b"").fails(2, &["required", "--base-key", "--kid"]);
    sframe(&["inspect", "--bogus"], b"").fails(2, &["--bogus"]);
    sframe(&encrypt_args("4", "-1", "0"), b"").fails(2, &["--kid", "invalid digit"]);
    sframe(&encrypt_args("4", "1", "18446744073709551616"), b"").fails(2, &["--ctr", "too large"]);
    sframe(&encrypt_args("4", "0xg", "0"), b"").fails(2, &["--kid"]);
}

#[test]
fn help_reads_well() {
    let top = String::from_utf8(sframe(&["--help"], b"").ok()).expect("utf-8");
    for needle in "RFC 9605, encrypt, decrypt, inspect, Examples:, Exit status".split(", ") {
        assert!(
            top.contains(needle),
            "sframe --help lacks {needle:?}:\n{top}"
        );
    }
    let subcommands: [(&str, Vec<&str>); 3] = [
        (
            "encrypt",
            words("--suite --base-key --kid --ctr --metadata --hex"),
        ),
        (
            "decrypt",
            words("--suite --base-key --kid --metadata --hex"),
        ),
        ("inspect", vec!["--hex", "payload_len", "ciphertext + tag"]),
    ];
    for (name, needles) in subcommands {
        for flag in ["-h", "--help"] {
            let help = String::from_utf8(sframe(&[name, flag], b"").ok()).expect("utf-8");
            assert!(help.contains("Examples:"), "sframe {name} {flag}:\n{help}");
            for needle in &needles {
                assert!(
                    help.contains(needle),
                    "sframe {name} {flag} lacks {needle:?}:\n{help}"
                );
            }
        }
    }
    let long = String::from_utf8(sframe(&["encrypt", "--help"], b"").ok()).expect("utf-8");
    for (_, name, _) in SUITES {
        assert!(long.contains(name), "encrypt --help lists {name}");
    }
}

/// The flags reach the benches and one object comes out (contents: sframe-benches' tests/json.rs).
#[test]
fn bench_json_and_bench_srtp_json_print_one_object() {
    let args = words("bench --suite 4 --suite 1 --size 160 --rounds 1 --round-ms 1 --json");
    let run = sframe(&args, b"");
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let json: Value = serde_json::from_slice(&run.stdout).expect("one JSON object");
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(4));
    let args = words("bench --srtp --size 160 --rounds 1 --round-ms 1 --json");
    let run = sframe(&args, b"");
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let json: Value = serde_json::from_slice(&run.stdout).expect("one JSON object");
    assert_eq!(json["srtp"].as_array().map(Vec::len), Some(8));
    assert!(json["sfu"]["pps_ours"].as_f64().is_some_and(|p| p > 0.0));
}

#[test]
fn bench_rejects_a_zero_size_in_one_line() {
    let run = sframe(&["bench", "--size", "0"], b"");
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("--size"));
}
