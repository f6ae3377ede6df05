//! The pure-Rust RustCrypto backend.

use aes::{Aes128Enc, Aes256Enc};
use aes_gcm::aead::{AeadInOut, KeyInit, inout::InOutBuf};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use ctr::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

use super::AeadKey;
use super::ctr_hmac::{CtrCipher, MacKey, MacRunning};
use crate::Error;
use crate::suite::{Hash, MAX_HASH_LEN};

pub(super) fn hkdf_extract(
    hash: Hash,
    salt: &[u8],
    ikm: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    fn extract<D: hmac::EagerHash>(salt: &[u8], ikm: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let (prk, _) = hkdf::Hkdf::<D>::extract(Some(salt), ikm);
        out.get_mut(..prk.len())
            .ok_or(Error::Crypto)?
            .copy_from_slice(&prk);
        Ok(())
    }
    match hash {
        Hash::Sha256 => extract::<Sha256>(salt, ikm, out),
        Hash::Sha512 => extract::<Sha512>(salt, ikm, out),
    }
}

pub(super) fn hkdf_expand(
    hash: Hash,
    prk: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Error> {
    fn expand<D: hmac::EagerHash>(prk: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        hkdf::Hkdf::<D>::from_prk(prk)
            .map_err(|_| Error::Crypto)?
            .expand_multi_info(info, out)
            .map_err(|_| Error::Crypto)
    }
    match hash {
        Hash::Sha256 => expand::<Sha256>(prk, info, out),
        Hash::Sha512 => expand::<Sha512>(prk, info, out),
    }
}

struct Gcm<A>(A);

pub(super) fn gcm(key: &[u8]) -> Result<Box<dyn AeadKey>, Error> {
    Ok(if key.len() == 16 {
        Box::new(Gcm(
            Aes128Gcm::new_from_slice(key).map_err(|_| Error::Crypto)?
        ))
    } else {
        Box::new(Gcm(
            Aes256Gcm::new_from_slice(key).map_err(|_| Error::Crypto)?
        ))
    })
}

impl<A> AeadKey for Gcm<A>
where
    A: AeadInOut<NonceSize = aes_gcm::aead::consts::U12, TagSize = aes_gcm::aead::consts::U16>
        + Send
        + Sync,
{
    #[inline]
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        let text_len = buf.len().checked_sub(16).ok_or(Error::BufferTooSmall {
            needed: 16,
            available: buf.len(),
        })?;
        let (text, tag_out) = buf.split_at_mut(text_len);
        let tag = self
            .0
            .encrypt_inout_detached(&(*nonce).into(), aad, InOutBuf::from(text))
            .map_err(|_| Error::Crypto)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    #[inline]
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        let text_len = buf
            .len()
            .checked_sub(16)
            .ok_or(Error::AuthenticationFailed)?;
        let (text, tag) = buf.split_at_mut(text_len);
        let tag: [u8; 16] = (&*tag)
            .try_into()
            .map_err(|_| Error::AuthenticationFailed)?;
        self.0
            .decrypt_inout_detached(&(*nonce).into(), aad, InOutBuf::from(text), &tag.into())
            .map_err(|_| Error::AuthenticationFailed)
    }
}

pub(super) enum Ctr {
    Aes128(Aes128Enc),
    Aes256(Aes256Enc),
}

impl Ctr {
    pub(super) fn new(key: &[u8]) -> Result<Self, Error> {
        Ok(if key.len() == 16 {
            Self::Aes128(Aes128Enc::new_from_slice(key).map_err(|_| Error::Crypto)?)
        } else {
            Self::Aes256(Aes256Enc::new_from_slice(key).map_err(|_| Error::Crypto)?)
        })
    }
}

fn apply_with<B>(cipher: &B, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error>
where
    B: ctr::cipher::BlockCipherEncrypt
        + ctr::cipher::BlockSizeUser<BlockSize = ctr::cipher::consts::U16>
        + Clone,
{
    // The expanded key is copied, not recomputed. RFC 9605 increments the whole counter
    // block; Ctr32BE increments its last 32 bits, the same for frames under 2^32 blocks
    // (the frame layer refuses longer ones).
    let core =
        ctr::CtrCore::<B, ctr::flavors::Ctr32BE>::inner_iv_init(cipher.clone(), &(*iv).into());
    StreamCipherCoreWrapper::from_core(core)
        .try_apply_keystream(data)
        .map_err(|_| Error::FrameTooLarge)
}

impl Ctr {
    /// AES-CTR with the whole 16-byte counter block incremented (big endian, mod 2^128), as
    /// SRTP's AES-CM and NIST SP 800-38A define it.
    pub(super) fn apply_full_counter(&self, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error> {
        fn with<B>(cipher: &B, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error>
        where
            B: ctr::cipher::BlockCipherEncrypt
                + ctr::cipher::BlockSizeUser<BlockSize = ctr::cipher::consts::U16>
                + Clone,
        {
            let core = ctr::CtrCore::<B, ctr::flavors::Ctr128BE>::inner_iv_init(
                cipher.clone(),
                &(*iv).into(),
            );
            StreamCipherCoreWrapper::from_core(core)
                .try_apply_keystream(data)
                .map_err(|_| Error::Crypto)
        }
        match self {
            Self::Aes128(c) => with(c, iv, data),
            Self::Aes256(c) => with(c, iv, data),
        }
    }
}

impl CtrCipher for Ctr {
    #[inline]
    fn apply(&self, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error> {
        match self {
            Self::Aes128(c) => apply_with(c, iv, data),
            Self::Aes256(c) => apply_with(c, iv, data),
        }
    }
}

pub(crate) struct HmacKey<D: hmac::EagerHash> {
    key: Hmac<D>,
}

impl<D: hmac::EagerHash> HmacKey<D> {
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            key: Hmac::<D>::new_from_slice(key).map_err(|_| Error::Crypto)?,
        })
    }
}

impl<D> MacKey for HmacKey<D>
where
    D: hmac::EagerHash,
    Hmac<D>: Clone + Send + Sync,
{
    type Running = Hmac<D>;

    #[inline]
    fn start(&self) -> Hmac<D> {
        self.key.clone()
    }
}

impl<D> MacRunning for Hmac<D>
where
    D: hmac::EagerHash,
{
    #[inline]
    fn update(&mut self, data: &[u8]) {
        Mac::update(self, data);
    }

    #[inline]
    fn finish(self, out: &mut [u8; MAX_HASH_LEN]) -> usize {
        let tag = self.finalize().into_bytes();
        for (o, t) in out.iter_mut().zip(tag.iter()) {
            *o = *t;
        }
        tag.len().min(MAX_HASH_LEN)
    }
}
