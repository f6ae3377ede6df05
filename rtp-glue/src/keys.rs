//! Per-SSRC SFrame keys (draft-ietf-avtcore-rtp-sframe, "SFrame SDP RTP Key Management"):
//!
//! ```text
//! ssrc_key = HKDF-Expand(HKDF-Extract(SSRC, base_key), "SFrame 1.0 RTP Stream", CipherSuite.Nh)
//! ```
//! with the SSRC as a 4-byte big-endian salt and the suite's own hash. The result is the base
//! key of that stream's SFrame key schedule; every stream keeps the same KID.
//!
//! The derivation runs through `sframe-core`'s crypto backends ([`hkdf_secret`]) and the
//! result stays in the core's zeroizing [`Secret`]; the draft's test vectors (all eight suites)
//! pin it down in the tests below.

use sframe_core::{Backend, CipherSuite, Secret, hkdf_secret};

use crate::error::Error;

/// The HKDF-Expand label of the draft.
pub const SSRC_KEY_LABEL: &[u8] = b"SFrame 1.0 RTP Stream";

/// Derives the per-SSRC base key of `ssrc` from the session's `base_key`, on the default
/// backend.
///
/// # Errors
/// [`Error::KeyDerivation`] for an empty base key.
pub fn ssrc_base_key(suite: CipherSuite, base_key: &[u8], ssrc: u32) -> Result<Secret, Error> {
    ssrc_base_key_with(Backend::default(), suite, base_key, ssrc)
}

/// As [`ssrc_base_key`], on `backend`.
///
/// # Errors
/// [`Error::KeyDerivation`] for an empty base key.
pub fn ssrc_base_key_with(
    backend: Backend,
    suite: CipherSuite,
    base_key: &[u8],
    ssrc: u32,
) -> Result<Secret, Error> {
    hkdf_secret(backend, suite, &ssrc.to_be_bytes(), base_key, SSRC_KEY_LABEL)
        .map_err(|_| Error::KeyDerivation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// test-vectors/test-vectors-per-ssrc-key-derivation.json of the draft's repository.
    #[test]
    fn draft_test_vectors_all_suites() {
        let base_128 = unhex("000102030405060708090a0b0c0d0e0f");
        let base_256 = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let sha256_a = "f309f118aecdacfbc165cc080022b297100bbb55e483b002d762000a0faa684d";
        let sha256_b = "06e5d1b8c6e01f10b592bd2e13ff4b37182b895ec8330d5cc6ec690704043b5f";
        let sha512_a = "4715e2a3e3ecb408c83135a30b8e660c75a3488dbd4d9dd3553a01b39df76bc4\
                        3a5a0b130159edd90353b09c810e849db7398182ac7c1dea072a2c1b6bac7dda";
        let sha512_b = "f7891c6b18d88a93ba7638875b87146df4cb9693ca3837b480e9221539e86c1c\
                        98391cb1273423b33f94abe7f67c1070997a588084a54391ebda18b3d6ff92f1";
        let (ssrc_a, ssrc_b) = (0x1234_5678, 0x9876_5432);
        for id in 1..=8u16 {
            let suite = CipherSuite::from_id(id).unwrap();
            let (base, a, b) = if id <= 4 {
                (&base_128, sha256_a, sha256_b)
            } else {
                (&base_256, sha512_a, sha512_b)
            };
            assert_eq!(
                ssrc_base_key(suite, base, ssrc_a).unwrap().expose(),
                unhex(a),
                "suite {id}, SSRC a"
            );
            assert_eq!(
                ssrc_base_key(suite, base, ssrc_b).unwrap().expose(),
                unhex(b),
                "suite {id}, SSRC b"
            );
        }
    }

    #[test]
    fn empty_base_key_is_refused() {
        assert_eq!(
            ssrc_base_key(CipherSuite::Aes128GcmSha256_128, &[], 1),
            Err(Error::KeyDerivation)
        );
    }
}
