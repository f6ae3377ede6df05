//! The aws-lc-rs backend.

use aws_lc_rs::{aead, cipher, hkdf, hmac};

use super::AeadKey;
use super::ctr_hmac::{CtrCipher, MacKey, MacRunning};
use crate::Error;
use crate::suite::{Hash, MAX_HASH_LEN};

fn hmac_alg(hash: Hash) -> hmac::Algorithm {
    match hash {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha512 => hmac::HMAC_SHA512,
    }
}

pub(super) fn hkdf_extract(
    hash: Hash,
    salt: &[u8],
    ikm: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    // HKDF-Extract(salt, ikm) = HMAC(salt, ikm); an empty salt is the same key as Nh zeros.
    // aws-lc-rs keeps its `Prk` opaque, so compute it as the HMAC to expose the secret.
    let tag = hmac::sign(&hmac::Key::new(hmac_alg(hash), salt), ikm);
    let prk = tag.as_ref();
    out.get_mut(..prk.len())
        .ok_or(Error::Crypto)?
        .copy_from_slice(prk);
    Ok(())
}

struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

pub(super) fn hkdf_expand(
    hash: Hash,
    prk: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Error> {
    let alg = match hash {
        Hash::Sha256 => hkdf::HKDF_SHA256,
        Hash::Sha512 => hkdf::HKDF_SHA512,
    };
    hkdf::Prk::new_less_safe(alg, prk)
        .expand(info, OkmLen(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| Error::Crypto)
}

struct Gcm {
    key: aead::LessSafeKey,
}

pub(super) fn gcm(key: &[u8]) -> Result<Box<dyn AeadKey>, Error> {
    let alg = if key.len() == 16 {
        &aead::AES_128_GCM
    } else {
        &aead::AES_256_GCM
    };
    let key = aead::UnboundKey::new(alg, key).map_err(|_| Error::Crypto)?;
    Ok(Box::new(Gcm {
        key: aead::LessSafeKey::new(key),
    }))
}

impl AeadKey for Gcm {
    #[inline]
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        let text_len = buf.len().checked_sub(16).ok_or(Error::BufferTooSmall {
            needed: 16,
            available: buf.len(),
        })?;
        let (text, tag_out) = buf.split_at_mut(text_len);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(*nonce),
                aead::Aad::from(aad),
                text,
            )
            .map_err(|_| Error::Crypto)?;
        match (
            tag_out.first_chunk_mut::<16>(),
            tag.as_ref().first_chunk::<16>(),
        ) {
            (Some(out), Some(tag)) => *out = *tag,
            _ => return Err(Error::Crypto),
        }
        Ok(())
    }

    #[inline]
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        self.key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(*nonce),
                aead::Aad::from(aad),
                buf,
            )
            .map(|_| ())
            .map_err(|_| Error::AuthenticationFailed)
    }
}

pub(super) struct Ctr {
    key: cipher::EncryptingKey,
}

impl Ctr {
    pub(super) fn new(key: &[u8]) -> Result<Self, Error> {
        let alg = if key.len() == 16 {
            &cipher::AES_128
        } else {
            &cipher::AES_256
        };
        let key = cipher::UnboundCipherKey::new(alg, key).map_err(|_| Error::Crypto)?;
        Ok(Self {
            key: cipher::EncryptingKey::ctr(key).map_err(|_| Error::Crypto)?,
        })
    }
}

impl CtrCipher for Ctr {
    #[inline]
    fn apply(&self, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let context = cipher::EncryptionContext::Iv128(aws_lc_rs::iv::FixedLength::from(*iv));
        self.key
            .less_safe_encrypt(data, context)
            .map(|_| ())
            .map_err(|_| Error::Crypto)
    }
}

pub(crate) struct HmacKey {
    key: hmac::Key,
}

impl HmacKey {
    pub(crate) fn new(hash: Hash, key: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac_alg(hash), key),
        }
    }
}

impl MacKey for HmacKey {
    type Running = hmac::Context;

    #[inline]
    fn start(&self) -> hmac::Context {
        hmac::Context::with_key(&self.key)
    }
}

impl MacRunning for hmac::Context {
    #[inline]
    fn update(&mut self, data: &[u8]) {
        hmac::Context::update(self, data);
    }

    #[inline]
    fn finish(self, out: &mut [u8; MAX_HASH_LEN]) -> usize {
        let tag = self.sign();
        let tag = tag.as_ref();
        for (o, t) in out.iter_mut().zip(tag.iter()) {
            *o = *t;
        }
        tag.len().min(MAX_HASH_LEN)
    }
}
