//! SFrame (RFC 9605) test vectors, loaded with serde.
//!
//! The vector files live in `vectors/` beside this crate (see `vectors/README.md` for where
//! each came from) and are compiled into the crate with `include_str!`, so the tests do not
//! depend on the working directory. Every byte string in the files is a hex string; the types
//! here hold them decoded.
//!
//! ```
//! let rfc = sframe_test_vectors::rfc9605()?;
//! assert_eq!(rfc.header.len(), 289);
//! assert_eq!(rfc.aes_ctr_hmac.len(), 3);
//! assert_eq!(rfc.sframe.len(), 5);
//! assert_eq!(sframe_test_vectors::aes256_ctr_hmac()?.len(), 3);
//! assert_eq!(sframe_test_vectors::aes256_sframe()?.len(), 3);
//! # Ok::<(), sframe_test_vectors::LoadError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::fmt;

use serde::{Deserialize, Deserializer};

/// `vectors/test-vectors.json`: the official RFC 9605 vector file.
pub const RFC9605_JSON: &str = include_str!("../vectors/test-vectors.json");
/// `vectors/aes256-ctr-hmac.json`: raw AEAD vectors for suites 6-8 (draft-barnes-sframe-iana-256),
/// converted from the upstream `aes256-ctr-hmac.md`.
pub const AES256_CTR_HMAC_JSON: &str = include_str!("../vectors/aes256-ctr-hmac.json");
/// `vectors/test-vectors-aes256.json`: full SFrame vectors for suites 6-8.
pub const AES256_SFRAME_JSON: &str = include_str!("../vectors/test-vectors-aes256.json");

/// One header vector: `encoded` is the SFrame header for (`kid`, `ctr`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderVector {
    /// Key ID.
    pub kid: u64,
    /// Counter.
    pub ctr: u64,
    /// The encoded header: config byte, then KID, then CTR.
    #[serde(deserialize_with = "hex_bytes")]
    pub encoded: Vec<u8>,
}

/// One raw AES-CTR-HMAC AEAD vector (RFC 9605 section 4.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AesCtrHmacVector {
    /// Cipher suite id.
    pub cipher_suite: u16,
    /// The AEAD key (`enc_key || auth_key`).
    #[serde(deserialize_with = "hex_bytes")]
    pub key: Vec<u8>,
    /// The AES-CTR key, as split off by `derive_subkeys`.
    #[serde(deserialize_with = "hex_bytes")]
    pub enc_key: Vec<u8>,
    /// The HMAC key, as split off by `derive_subkeys`.
    #[serde(deserialize_with = "hex_bytes")]
    pub auth_key: Vec<u8>,
    /// The AEAD nonce.
    #[serde(deserialize_with = "hex_bytes")]
    pub nonce: Vec<u8>,
    /// Additional authenticated data.
    #[serde(deserialize_with = "hex_bytes")]
    pub aad: Vec<u8>,
    /// Plaintext.
    #[serde(deserialize_with = "hex_bytes")]
    pub pt: Vec<u8>,
    /// Ciphertext followed by the tag.
    #[serde(deserialize_with = "hex_bytes")]
    pub ct: Vec<u8>,
}

/// One full SFrame vector: key schedule, nonce, AAD and the encrypted frame.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SframeVector {
    /// Cipher suite id.
    pub cipher_suite: u16,
    /// Key ID the base key is installed under.
    pub kid: u64,
    /// Counter of the frame.
    pub ctr: u64,
    /// The base key.
    #[serde(deserialize_with = "hex_bytes")]
    pub base_key: Vec<u8>,
    /// HKDF-Expand info for the key: `"SFrame 1.0 Secret key " || KID (8 bytes) || suite (2 bytes)`.
    #[serde(deserialize_with = "hex_bytes")]
    pub sframe_key_label: Vec<u8>,
    /// HKDF-Expand info for the salt.
    #[serde(deserialize_with = "hex_bytes")]
    pub sframe_salt_label: Vec<u8>,
    /// `HKDF-Extract("", base_key)`.
    #[serde(deserialize_with = "hex_bytes")]
    pub sframe_secret: Vec<u8>,
    /// The AEAD key (`Nk` bytes).
    #[serde(deserialize_with = "hex_bytes")]
    pub sframe_key: Vec<u8>,
    /// The salt (`Nn` bytes).
    #[serde(deserialize_with = "hex_bytes")]
    pub sframe_salt: Vec<u8>,
    /// Metadata: authenticated, not encrypted, not part of `ct`.
    #[serde(deserialize_with = "hex_bytes")]
    pub metadata: Vec<u8>,
    /// The AEAD nonce: salt XOR counter.
    #[serde(deserialize_with = "hex_bytes")]
    pub nonce: Vec<u8>,
    /// The AEAD AAD: header || metadata.
    #[serde(deserialize_with = "hex_bytes")]
    pub aad: Vec<u8>,
    /// Plaintext.
    #[serde(deserialize_with = "hex_bytes")]
    pub pt: Vec<u8>,
    /// The SFrame ciphertext: header || encrypted data || tag.
    #[serde(deserialize_with = "hex_bytes")]
    pub ct: Vec<u8>,
}

/// `vectors/test-vectors.json`, the RFC 9605 file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc9605Vectors {
    /// 289 header vectors.
    pub header: Vec<HeaderVector>,
    /// Raw AEAD vectors for suites 1-3.
    pub aes_ctr_hmac: Vec<AesCtrHmacVector>,
    /// Full SFrame vectors for suites 1-5.
    pub sframe: Vec<SframeVector>,
}

/// `vectors/aes256-ctr-hmac.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AesCtrHmacFile {
    aes_ctr_hmac: Vec<AesCtrHmacVector>,
}

/// `vectors/test-vectors-aes256.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Aes256SframeFile {
    sframe_aes_256_ctr_hmac: Vec<SframeVector>,
}

/// A vector file that could not be parsed.
#[derive(Debug)]
pub struct LoadError {
    file: &'static str,
    source: serde_json::Error,
}

impl LoadError {
    /// The file (relative to `vectors/`) that failed.
    pub fn file(&self) -> &'static str {
        self.file
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vectors/{}: {}", self.file, self.source)
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn parse<T: for<'de> Deserialize<'de>>(file: &'static str, json: &str) -> Result<T, LoadError> {
    serde_json::from_str(json).map_err(|source| LoadError { file, source })
}

/// Parses a file in the layout of `test-vectors.json`.
pub fn parse_rfc9605(json: &str) -> Result<Rfc9605Vectors, LoadError> {
    parse("test-vectors.json", json)
}

/// Parses a file in the layout of `aes256-ctr-hmac.json`.
pub fn parse_aes256_ctr_hmac(json: &str) -> Result<Vec<AesCtrHmacVector>, LoadError> {
    parse::<AesCtrHmacFile>("aes256-ctr-hmac.json", json).map(|f| f.aes_ctr_hmac)
}

/// Parses a file in the layout of `test-vectors-aes256.json`.
pub fn parse_aes256_sframe(json: &str) -> Result<Vec<SframeVector>, LoadError> {
    parse::<Aes256SframeFile>("test-vectors-aes256.json", json).map(|f| f.sframe_aes_256_ctr_hmac)
}

/// The RFC 9605 vectors: headers, AES-128-CTR-HMAC AEAD (suites 1-3), SFrame (suites 1-5).
pub fn rfc9605() -> Result<Rfc9605Vectors, LoadError> {
    parse_rfc9605(RFC9605_JSON)
}

/// The raw AEAD vectors for AES-256-CTR-HMAC (suites 6-8).
pub fn aes256_ctr_hmac() -> Result<Vec<AesCtrHmacVector>, LoadError> {
    parse_aes256_ctr_hmac(AES256_CTR_HMAC_JSON)
}

/// The SFrame vectors for AES-256-CTR-HMAC (suites 6-8).
pub fn aes256_sframe() -> Result<Vec<SframeVector>, LoadError> {
    parse_aes256_sframe(AES256_SFRAME_JSON)
}

fn hex_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <&str>::deserialize(deserializer)?;
    hex::decode(text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_parse_with_the_expected_counts() -> Result<(), LoadError> {
        let rfc = rfc9605()?;
        assert_eq!(
            (rfc.header.len(), rfc.aes_ctr_hmac.len(), rfc.sframe.len()),
            (289, 3, 5)
        );
        assert_eq!(aes256_ctr_hmac()?.len(), 3);
        assert_eq!(aes256_sframe()?.len(), 3);
        Ok(())
    }

    #[test]
    fn bad_input_is_an_error_naming_the_file() {
        let odd_hex = r#"{"aes_ctr_hmac":[{"cipher_suite":6,"key":"0","enc_key":"","auth_key":"",
            "nonce":"","aad":"","pt":"","ct":""}]}"#;
        let err = parse_aes256_ctr_hmac(odd_hex).err();
        assert_eq!(
            err.as_ref().map(LoadError::file),
            Some("aes256-ctr-hmac.json")
        );
        assert!(err.is_some_and(|e| e.to_string().contains("Odd number of digits")));
        assert!(parse_rfc9605(r#"{"header":[],"aes_ctr_hmac":[],"sframe":[],"x":1}"#).is_err());
        assert!(parse_aes256_sframe("").is_err());
        assert!(parse_rfc9605(r#"{"header":[],"aes_ctr_hmac":[],"sframe":[]}"#).is_ok());
    }
}
