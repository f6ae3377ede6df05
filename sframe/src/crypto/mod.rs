//! The crypto backends, behind one small internal trait.
//!
//! SFrame needs three things from a crypto library: HKDF (extract and expand) over SHA-256 or
//! SHA-512 for the key schedule, and a keyed AEAD per suite for the frames. [`Backend`] names
//! the library; [`AeadKey`] is what a backend returns for one key, with the AES key schedule
//! and HMAC pads computed once when the key is installed, never per frame.
//!
//! The AES-CTR + HMAC construction of RFC 9605 section 4.5.1 is written once ([`ctr_hmac`])
//! over two primitives each backend provides: AES-CTR and HMAC.

use crate::suite::{AeadKind, Hash};
use crate::{CipherSuite, Error};

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
pub(crate) mod ctr_hmac;
pub mod primitives;
#[cfg(feature = "rustcrypto")]
mod rust_crypto;

#[cfg(not(any(feature = "aws-lc-rs", feature = "rustcrypto")))]
compile_error!(
    "sframe-core needs a crypto backend: enable the `aws-lc-rs` or `rustcrypto` feature"
);

/// A crypto library that implements every suite.
///
/// Every backend compiled in passes the same known-answer tests; they differ only in speed and
/// in what they need to build (aws-lc-rs needs a C compiler; RustCrypto is pure Rust).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// aws-lc-rs (feature `aws-lc-rs`, on by default).
    #[cfg(feature = "aws-lc-rs")]
    AwsLc,
    /// The RustCrypto crates (feature `rustcrypto`).
    #[cfg(feature = "rustcrypto")]
    RustCrypto,
}

impl Default for Backend {
    /// aws-lc-rs when compiled in (the fastest AES-GCM measured here), else RustCrypto.
    fn default() -> Self {
        #[cfg(feature = "aws-lc-rs")]
        return Self::AwsLc;
        #[cfg(not(feature = "aws-lc-rs"))]
        return Self::RustCrypto;
    }
}

impl Backend {
    /// The backends compiled into this build.
    pub const ALL: &'static [Backend] = &[
        #[cfg(feature = "aws-lc-rs")]
        Self::AwsLc,
        #[cfg(feature = "rustcrypto")]
        Self::RustCrypto,
    ];

    /// A short name: `aws-lc-rs` or `rustcrypto`.
    pub const fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "aws-lc-rs")]
            Self::AwsLc => "aws-lc-rs",
            #[cfg(feature = "rustcrypto")]
            Self::RustCrypto => "rustcrypto",
        }
    }

    /// `HKDF-Extract(salt, ikm)` into `out` (exactly `Nh` bytes).
    pub(crate) fn hkdf_extract(
        self,
        hash: Hash,
        salt: &[u8],
        ikm: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        match self {
            #[cfg(feature = "aws-lc-rs")]
            Self::AwsLc => aws_lc::hkdf_extract(hash, salt, ikm, out),
            #[cfg(feature = "rustcrypto")]
            Self::RustCrypto => rust_crypto::hkdf_extract(hash, salt, ikm, out),
        }
    }

    /// `HKDF-Expand(prk, info, out.len())`, the info given as parts to concatenate.
    pub(crate) fn hkdf_expand(
        self,
        hash: Hash,
        prk: &[u8],
        info: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), Error> {
        match self {
            #[cfg(feature = "aws-lc-rs")]
            Self::AwsLc => aws_lc::hkdf_expand(hash, prk, info, out),
            #[cfg(feature = "rustcrypto")]
            Self::RustCrypto => rust_crypto::hkdf_expand(hash, prk, info, out),
        }
    }

    /// `prk` as an HMAC key with its pads computed once, for many one-block HKDF-Expands.
    pub(crate) fn expand_key(self, hash: Hash, prk: &[u8]) -> Result<ExpandKey, Error> {
        match (self, hash) {
            #[cfg(feature = "aws-lc-rs")]
            (Self::AwsLc, _) => Ok(ExpandKey::AwsLc(Box::new(aws_lc::HmacKey::new(hash, prk)))),
            #[cfg(feature = "rustcrypto")]
            (Self::RustCrypto, Hash::Sha256) => {
                Ok(ExpandKey::Sha256(Box::new(rust_crypto::HmacKey::new(prk)?)))
            }
            #[cfg(feature = "rustcrypto")]
            (Self::RustCrypto, Hash::Sha512) => {
                Ok(ExpandKey::Sha512(Box::new(rust_crypto::HmacKey::new(prk)?)))
            }
        }
    }

    /// The keyed AEAD of `suite`, its key schedule computed now.
    pub(crate) fn aead_key(
        self,
        suite: CipherSuite,
        key: &[u8],
    ) -> Result<Box<dyn AeadKey>, Error> {
        if key.len() != suite.key_len() {
            return Err(Error::InvalidKeyLength {
                expected: suite.key_len(),
                actual: key.len(),
            });
        }
        match (self, suite.aead()) {
            #[cfg(feature = "aws-lc-rs")]
            (Self::AwsLc, AeadKind::Gcm { .. }) => aws_lc::gcm(key),
            #[cfg(feature = "aws-lc-rs")]
            (Self::AwsLc, AeadKind::CtrHmac { enc_key_len }) => {
                let (enc, auth) = key.split_at(enc_key_len);
                Ok(Box::new(ctr_hmac::CtrHmac::new(
                    aws_lc::Ctr::new(enc)?,
                    aws_lc::HmacKey::new(suite.hash(), auth),
                    suite.tag_len(),
                )))
            }
            #[cfg(feature = "rustcrypto")]
            (Self::RustCrypto, AeadKind::Gcm { .. }) => rust_crypto::gcm(key),
            #[cfg(feature = "rustcrypto")]
            (Self::RustCrypto, AeadKind::CtrHmac { enc_key_len }) => {
                let (enc, auth) = key.split_at(enc_key_len);
                let ctr = rust_crypto::Ctr::new(enc)?;
                let tag_len = suite.tag_len();
                Ok(match suite.hash() {
                    Hash::Sha256 => Box::new(ctr_hmac::CtrHmac::new(
                        ctr,
                        rust_crypto::HmacKey::<sha2::Sha256>::new(auth)?,
                        tag_len,
                    )),
                    Hash::Sha512 => Box::new(ctr_hmac::CtrHmac::new(
                        ctr,
                        rust_crypto::HmacKey::<sha2::Sha512>::new(auth)?,
                        tag_len,
                    )),
                })
            }
        }
    }
}

/// An HKDF pseudorandom key as an HMAC key with its pads computed once (zeroized on drop by
/// the backend): an `HKDF-Expand` of at most one hash length then costs one HMAC over the
/// info, without the key setup.
pub(crate) enum ExpandKey {
    #[cfg(feature = "aws-lc-rs")]
    AwsLc(Box<aws_lc::HmacKey>),
    #[cfg(feature = "rustcrypto")]
    Sha256(Box<rust_crypto::HmacKey<sha2::Sha256>>),
    #[cfg(feature = "rustcrypto")]
    Sha512(Box<rust_crypto::HmacKey<sha2::Sha512>>),
}

impl ExpandKey {
    /// `HKDF-Expand(prk, info, out.len())` (RFC 5869): `T(i) = HMAC(prk, T(i-1) || info || i)`,
    /// concatenated and truncated; `out` at most 255 hash lengths.
    pub(crate) fn expand(&self, info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        use ctr_hmac::{MacKey, MacRunning};
        fn run<M: MacKey>(mac: &M, info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
            let mut t = [0u8; crate::suite::MAX_HASH_LEN];
            let mut t_len = 0;
            let mut result = Ok(());
            let mut written = 0;
            let mut counter = 1u8;
            while written < out.len() {
                let mut running = mac.start();
                running.update(t.get(..t_len).unwrap_or(&[]));
                for part in info {
                    running.update(part);
                }
                running.update(&[counter]);
                t_len = running.finish(&mut t);
                let take = t_len.min(out.len() - written);
                match (out.get_mut(written..written + take), t.get(..take)) {
                    (Some(o), Some(src)) if take > 0 => o.copy_from_slice(src),
                    _ => {
                        result = Err(Error::Crypto);
                        break;
                    }
                }
                written += take;
                counter = match counter.checked_add(1) {
                    Some(c) => c,
                    None if written >= out.len() => counter,
                    None => {
                        result = Err(Error::Crypto);
                        break;
                    }
                };
            }
            zeroize::Zeroize::zeroize(&mut t);
            result
        }
        match self {
            #[cfg(feature = "aws-lc-rs")]
            Self::AwsLc(k) => run(k.as_ref(), info, out),
            #[cfg(feature = "rustcrypto")]
            Self::Sha256(k) => run(k.as_ref(), info, out),
            #[cfg(feature = "rustcrypto")]
            Self::Sha512(k) => run(k.as_ref(), info, out),
        }
    }
}

/// One AEAD key, expanded and ready. Implemented by every backend for every suite.
///
/// Both methods work on `text || tag` laid out contiguously, as in an SFrame frame.
pub(crate) trait AeadKey: Send + Sync {
    /// Encrypts `buf[..buf.len() - tag_len]` in place and writes the tag into the last
    /// `tag_len` bytes.
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error>;

    /// Checks the tag in the last `tag_len` bytes (in constant time) and only then decrypts
    /// the rest in place. On failure the buffer's ciphertext is left as it was.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error>;
}
