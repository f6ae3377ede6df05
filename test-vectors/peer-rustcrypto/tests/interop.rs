//! Interoperability with the crates.io `sframe` 2.1 crate (`sframe_peer` here), built with its
//! `rust-crypto` backend, which has the AES-CTR-HMAC suites its default `ring` backend lacks.
//!
//! For every suite both implementations support: 1,000 random frames encrypted by us and
//! decrypted by the peer, and 1,000 encrypted by the peer and decrypted by us. Every frame is
//! also encrypted by the other side from the same (base key, KID, CTR, metadata, payload), and
//! the two frames must be byte-identical. The frames are drawn from a seeded RNG: KID and CTR
//! each spread over all header field lengths (compact values 0-7 and 1 to 8 extra bytes),
//! metadata 0-64 bytes, payloads 0 to 64 KiB - 1 skewed towards small ones, base keys 1-64
//! bytes. Our side alternates between the backends in `Backend::ALL`.
//!
//! Suites covered: 1-3 (AES_128_CTR_HMAC_SHA256_80/_64/_32), 4 (AES_128_GCM_SHA256_128) and
//! 5 (AES_256_GCM_SHA512_128). Suites 6-8 (AES-256-CTR-HMAC, after RFC 9605) exist in no backend
//! of the peer. The check itself is the workspace's (`test-vectors/tests/support/peer_interop.rs`,
//! included by path): the peer's backends are mutually exclusive features, so this project lives
//! outside the workspace and builds the peer with `rust-crypto`.

#![forbid(unsafe_code)]

#[path = "../../tests/support/peer_interop.rs"]
mod peer_interop;

use peer_interop::{Direction, TestResult, check_direction};
use sframe_core::CipherSuite;
use sframe_peer::CipherSuite as PeerSuite;

/// The peer's name for one of our suites, if its rust-crypto build has it.
fn peer_suite(suite: CipherSuite) -> Option<PeerSuite> {
    match suite {
        CipherSuite::Aes128CtrHmacSha256_80 => Some(PeerSuite::AesCtr128HmacSha256_80),
        CipherSuite::Aes128CtrHmacSha256_64 => Some(PeerSuite::AesCtr128HmacSha256_64),
        CipherSuite::Aes128CtrHmacSha256_32 => Some(PeerSuite::AesCtr128HmacSha256_32),
        CipherSuite::Aes128GcmSha256_128 => Some(PeerSuite::AesGcm128Sha256),
        CipherSuite::Aes256GcmSha512_128 => Some(PeerSuite::AesGcm256Sha512),
        _ => None,
    }
}

fn skipped(_: CipherSuite) -> &'static str {
    "the peer has no AES-256-CTR-HMAC suites"
}

#[test]
fn our_frames_decrypt_with_the_peer_and_match_its_bytes_for_every_shared_suite() -> TestResult {
    check_direction(
        Direction::OursToPeer,
        0x5f7a_11ce_0000_0001,
        peer_suite,
        skipped,
        &[1, 2, 3, 4, 5],
    )
}

#[test]
fn peer_frames_decrypt_with_ours_and_match_our_bytes_for_every_shared_suite() -> TestResult {
    check_direction(
        Direction::PeerToOurs,
        0x5f7a_11ce_0000_0002,
        peer_suite,
        skipped,
        &[1, 2, 3, 4, 5],
    )
}
