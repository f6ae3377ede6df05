//! Low-level primitives for protocols that sit next to SFrame, such as SRTP (RFC 3711,
//! RFC 7714): AES in counter mode with a caller-built 16-byte counter block, HMAC-SHA1, and
//! AES-GCM with any additional data.
//!
//! Each type is built once per key (the AES key schedule, the HMAC pads) and then used for any
//! number of packets without allocating. All go through the same [`Backend`] as SFrame itself:
//! aws-lc-rs by default, RustCrypto with the `rustcrypto` feature.
//!
//! These are building blocks, not a protocol: nonce uniqueness and key separation are the
//! caller's job.
//!
//! ```
//! use sframe_core::Backend;
//! use sframe_core::primitives::{AesCtr, AesGcm, HmacSha1};
//!
//! let backend = Backend::default();
//! let ctr = AesCtr::new(backend, &[1; 16])?;
//! let mut data = *b"counter mode";
//! ctr.apply_keystream(&[0; 16], &mut data)?;
//! ctr.apply_keystream(&[0; 16], &mut data)?; // the same keystream again: back to plaintext
//! assert_eq!(&data, b"counter mode");
//!
//! let mac = HmacSha1::new(backend, b"key")?;
//! let tag = mac.sign(&[b"The quick brown fox ", b"jumps over the lazy dog"]);
//! assert_eq!(tag[..4], [0xde, 0x7c, 0x9b, 0x85]);
//! assert!(mac.verify_truncated(&[b"The quick brown fox jumps over the lazy dog"], &tag[..10]));
//!
//! let gcm = AesGcm::new(backend, &[2; 16])?;
//! let mut buf = *b"payload\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"; // room for the tag
//! gcm.seal(&[3; 12], b"header", &mut buf)?;
//! assert_eq!(gcm.open(&[3; 12], b"header", &mut buf)?, b"payload");
//! # Ok::<(), sframe_core::SframeError>(())
//! ```

use subtle::ConstantTimeEq;

use super::{AeadKey, Backend};
use crate::Error;

#[cfg(feature = "aws-lc-rs")]
use super::aws_lc;
#[cfg(feature = "rustcrypto")]
use super::rust_crypto;

/// Length of an AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;
/// Length of an HMAC-SHA1 output.
pub const SHA1_LEN: usize = 20;

fn check_aes_key(key: &[u8]) -> Result<(), Error> {
    match key.len() {
        16 | 32 => Ok(()),
        n => Err(Error::InvalidKeyLength {
            expected: 16,
            actual: n,
        }),
    }
}

/// AES-128 or AES-256 in counter mode, the key schedule computed once.
///
/// The counter block is the caller's 16 bytes, incremented as a big-endian integer per block
/// (RFC 3711 section 4.1.1's AES-CM, NIST SP 800-38A CTR).
pub struct AesCtr {
    inner: CtrImpl,
}

// Built once per key and kept: an indirection per packet would cost more than the size.
#[allow(clippy::large_enum_variant)]
enum CtrImpl {
    #[cfg(feature = "aws-lc-rs")]
    AwsLc(aws_lc::Ctr),
    #[cfg(feature = "rustcrypto")]
    RustCrypto(rust_crypto::Ctr),
}

impl core::fmt::Debug for AesCtr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AesCtr").finish_non_exhaustive()
    }
}

impl AesCtr {
    /// Expands `key` (16 bytes: AES-128, 32 bytes: AES-256).
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] for any other length.
    pub fn new(backend: Backend, key: &[u8]) -> Result<Self, Error> {
        check_aes_key(key)?;
        let inner = match backend {
            #[cfg(feature = "aws-lc-rs")]
            Backend::AwsLc => CtrImpl::AwsLc(aws_lc::Ctr::new(key)?),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => CtrImpl::RustCrypto(rust_crypto::Ctr::new(key)?),
        };
        Ok(Self { inner })
    }

    /// XORs the keystream that starts at counter block `iv` into `data`.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the backend refuses (the RustCrypto backend refuses more than 2^32
    /// blocks from one counter block).
    #[inline]
    pub fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error> {
        match &self.inner {
            #[cfg(feature = "aws-lc-rs")]
            CtrImpl::AwsLc(c) => super::ctr_hmac::CtrCipher::apply(c, iv, data),
            #[cfg(feature = "rustcrypto")]
            CtrImpl::RustCrypto(c) => c.apply_full_counter(iv, data),
        }
    }
}

/// HMAC-SHA1 (RFC 2104) with its pads computed once, for SRTP's authentication tags (SHA-1
/// is used here only as HMAC's hash, where its collisions do not matter).
pub struct HmacSha1 {
    inner: HmacImpl,
}

// Built once per key and kept: an indirection per packet would cost more than the size.
#[allow(clippy::large_enum_variant)]
enum HmacImpl {
    #[cfg(feature = "aws-lc-rs")]
    AwsLc(aws_lc_rs::hmac::Key),
    #[cfg(feature = "rustcrypto")]
    RustCrypto(hmac::Hmac<sha1::Sha1>),
}

impl core::fmt::Debug for HmacSha1 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HmacSha1").finish_non_exhaustive()
    }
}

impl HmacSha1 {
    /// Keys an HMAC-SHA1 with `key` (any length).
    ///
    /// # Errors
    /// [`Error::Crypto`] if the backend refuses the key (none does today).
    pub fn new(backend: Backend, key: &[u8]) -> Result<Self, Error> {
        let inner = match backend {
            #[cfg(feature = "aws-lc-rs")]
            Backend::AwsLc => HmacImpl::AwsLc(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                key,
            )),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => {
                use hmac::KeyInit;
                HmacImpl::RustCrypto(
                    hmac::Hmac::<sha1::Sha1>::new_from_slice(key).map_err(|_| Error::Crypto)?,
                )
            }
        };
        Ok(Self { inner })
    }

    /// The HMAC of the concatenation of `parts`.
    #[inline]
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        let mut out = [0u8; SHA1_LEN];
        match &self.inner {
            #[cfg(feature = "aws-lc-rs")]
            HmacImpl::AwsLc(key) => {
                let mut ctx = aws_lc_rs::hmac::Context::with_key(key);
                for p in parts {
                    ctx.update(p);
                }
                let tag = ctx.sign();
                for (o, t) in out.iter_mut().zip(tag.as_ref()) {
                    *o = *t;
                }
            }
            #[cfg(feature = "rustcrypto")]
            HmacImpl::RustCrypto(key) => {
                use hmac::Mac;
                let mut mac = key.clone();
                for p in parts {
                    mac.update(p);
                }
                for (o, t) in out.iter_mut().zip(mac.finalize().into_bytes().iter()) {
                    *o = *t;
                }
            }
        }
        out
    }

    /// Checks, in constant time, that `tag` (1 to 20 bytes) is the start of the HMAC of the
    /// concatenation of `parts`.
    #[inline]
    pub fn verify_truncated(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let full = self.sign(parts);
        match full.get(..tag.len()) {
            Some(expected) if !tag.is_empty() => expected.ct_eq(tag).into(),
            _ => false,
        }
    }
}

/// AES-128-GCM or AES-256-GCM with a 12-byte nonce and a 16-byte tag, the key expanded once.
pub struct AesGcm {
    key: Box<dyn AeadKey>,
}

impl core::fmt::Debug for AesGcm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AesGcm").finish_non_exhaustive()
    }
}

impl AesGcm {
    /// Expands `key` (16 bytes: AES-128-GCM, 32 bytes: AES-256-GCM).
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] for any other length.
    pub fn new(backend: Backend, key: &[u8]) -> Result<Self, Error> {
        check_aes_key(key)?;
        let key = match backend {
            #[cfg(feature = "aws-lc-rs")]
            Backend::AwsLc => aws_lc::gcm(key)?,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => rust_crypto::gcm(key)?,
        };
        Ok(Self { key })
    }

    /// Encrypts `buf[..buf.len() - 16]` in place and writes the tag into the last 16 bytes.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `buf` is shorter than a tag.
    #[inline]
    pub fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        self.key.seal(nonce, aad, buf)
    }

    /// Checks the tag in the last 16 bytes of `buf` and decrypts the rest in place; returns
    /// the plaintext (`buf` without its tag). On failure the text is not left as it was on
    /// every backend (aws-lc-rs zeroes it): keep a copy if it is needed afterwards.
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] if the tag does not match (or `buf` is shorter than a
    /// tag).
    #[inline]
    pub fn open<'a>(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let text_len = buf
            .len()
            .checked_sub(GCM_TAG_LEN)
            .ok_or(Error::AuthenticationFailed)?;
        self.key.open(nonce, aad, buf)?;
        Ok(buf.split_at_mut(text_len).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    #[test]
    fn aes_ctr_sp800_38a_f5_1_every_backend() {
        // NIST SP 800-38A F.5.1 CTR-AES128.Encrypt.
        let key = unhex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv: [u8; 16] = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .try_into()
            .unwrap();
        let pt = unhex(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51
             30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        );
        let ct = unhex(
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff
             5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
        );
        for &b in Backend::ALL {
            let ctr = AesCtr::new(b, &key).unwrap();
            let mut data = pt.clone();
            ctr.apply_keystream(&iv, &mut data).unwrap();
            assert_eq!(data, ct, "{b:?}");
            // The 128-bit counter carries across all 16 bytes.
            let mut a = vec![0u8; 48];
            ctr.apply_keystream(&[0xff; 16], &mut a).unwrap();
            let mut b2 = vec![0u8; 32];
            ctr.apply_keystream(&[0; 16], &mut b2).unwrap();
            assert_eq!(a[16..], b2[..], "{b:?}: counter wraps mod 2^128");
            assert!(AesCtr::new(b, &[0; 24]).is_err());
        }
    }

    #[test]
    fn hmac_sha1_rfc2202_every_backend() {
        // RFC 2202 test cases 1, 2 and 6.
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
        ];
        for &b in Backend::ALL {
            for (key, data, tag) in cases {
                let mac = HmacSha1::new(b, key).unwrap();
                let (x, y) = data.split_at(3);
                assert_eq!(mac.sign(&[x, y]).to_vec(), unhex(tag), "{b:?}");
                assert!(mac.verify_truncated(&[data], &unhex(tag)[..4]));
                let mut bad = unhex(tag);
                bad[0] ^= 1;
                assert!(!mac.verify_truncated(&[data], &bad[..10]));
                assert!(!mac.verify_truncated(&[data], &[]));
            }
        }
    }

    #[test]
    fn aes_gcm_round_trip_and_tamper_every_backend() {
        // GCM spec (McGrew-Viega) test case 4: AES-128, 60-byte plaintext, 20-byte AAD.
        let key = unhex("feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let pt = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let ct_tag = unhex(
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091
             5bc94fbc3221a5db94fae95ae7121a47",
        );
        for &b in Backend::ALL {
            let gcm = AesGcm::new(b, &key).unwrap();
            let mut buf = pt.clone();
            buf.extend_from_slice(&[0xee; 16]);
            gcm.seal(&nonce, &aad, &mut buf).unwrap();
            assert_eq!(buf, ct_tag, "{b:?}");
            let mut bad = buf.clone();
            bad[3] ^= 1;
            assert_eq!(
                gcm.open(&nonce, &aad, &mut bad),
                Err(Error::AuthenticationFailed)
            );
            assert_eq!(gcm.open(&nonce, &aad, &mut buf).unwrap(), &pt[..]);
            assert!(gcm.open(&nonce, &aad, &mut [0u8; 15]).is_err());
            assert!(AesGcm::new(b, &[0; 24]).is_err());
        }
    }
}
