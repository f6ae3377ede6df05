//! Keys for KIDs no frame has authenticated yet: a cheap first check of a frame under such a
//! KID, so that a forger who names a fresh KID per frame costs little more than a genuine
//! frame.
//!
//! A new KID's key is the SFrame key schedule (RFC 9605 section 4.4.2) of that KID: two
//! one-block `HKDF-Expand`s of the epoch's `sframe_secret`, then the AEAD key setup. The core's
//! [`KidKeyDeriver`](sframe_core::KidKeyDeriver) computes the same through the configured
//! backend, whose HMAC (aws-lc-rs) copies a large context and finalises in several calls per
//! expand. Here the `sframe_secret` is kept as an HMAC whose pads are hashed once per epoch
//! (RustCrypto `hmac`/`sha2`, SHA-NI where the CPU has it), so an expand is two compression
//! calls and a copy of the hash state. The AEAD is the configured backend's.
//!
//! Only a frame that authenticates under an [`UnprovenKey`] goes on to the core's derivation
//! and installation (which runs the key schedule again, once per KID that a member really
//! uses); a frame that does not is refused without it, and its key is kept in a bounded cache.

use hmac::{Hmac, KeyInit, Mac};
use sframe_core::{Aead, Backend, CipherSuite, MAX_SECRET_LEN, NONCE_LEN, nonce};
use sha2::{Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

const KEY_LABEL: &[u8] = b"SFrame 1.0 Secret key ";
const SALT_LABEL: &[u8] = b"SFrame 1.0 Secret salt ";

/// An epoch's `sframe_secret = HKDF-Extract("", base_key)` as an HMAC key with its pads hashed.
/// Zeroized on drop (`hmac`'s `zeroize` feature); `Debug` shows nothing of it.
pub(crate) enum UnprovenDeriver {
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl core::fmt::Debug for UnprovenDeriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("UnprovenDeriver(redacted)")
    }
}

/// `HKDF-Extract("", ikm)` keyed for the expands: the PRK is `HMAC(0^Nh, ikm)`.
fn extract<M: Mac + KeyInit + Clone>(ikm: &[u8]) -> Option<M> {
    let mut mac = <M as KeyInit>::new_from_slice(&[]).ok()?;
    mac.update(ikm);
    let mut prk = mac.finalize().into_bytes();
    let keyed = <M as KeyInit>::new_from_slice(&prk).ok();
    prk.as_mut_slice().zeroize();
    keyed
}

/// `HKDF-Expand(prk, label || kid || suite, out.len())` (RFC 5869).
fn expand<M: Mac + Clone>(prk: &M, label: &[u8], kid: u64, suite: u16, out: &mut [u8]) {
    let mut written = 0;
    let mut counter = 1u8;
    let mut previous = Zeroizing::new([0u8; 64]);
    let mut previous_len = 0;
    while written < out.len() {
        let mut mac = prk.clone();
        mac.update(previous.get(..previous_len).unwrap_or_default());
        mac.update(label);
        mac.update(&kid.to_be_bytes());
        mac.update(&suite.to_be_bytes());
        mac.update(&[counter]);
        let mut block = mac.finalize().into_bytes();
        let take = block.len().min(out.len() - written);
        if let (Some(dst), Some(src)) = (out.get_mut(written..written + take), block.get(..take)) {
            dst.copy_from_slice(src);
        }
        if let Some(dst) = previous.get_mut(..block.len()) {
            dst.copy_from_slice(&block);
            previous_len = block.len();
        }
        block.as_mut_slice().zeroize();
        written += take;
        counter = counter.wrapping_add(1);
    }
}

impl UnprovenDeriver {
    /// Runs `HKDF-Extract` on the epoch's base key with the suite's hash.
    pub(crate) fn new(suite: CipherSuite, base_key: &[u8]) -> Option<Self> {
        match suite.hash_len() {
            32 => extract(base_key).map(Self::Sha256),
            _ => extract(base_key).map(Self::Sha512),
        }
    }

    fn expand(&self, label: &[u8], kid: u64, suite: CipherSuite, out: &mut [u8]) {
        match self {
            Self::Sha256(m) => expand(m, label, kid, suite.id(), out),
            Self::Sha512(m) => expand(m, label, kid, suite.id(), out),
        }
    }

    /// `(sframe_key, sframe_salt)` of `kid`; the key is `suite.key_len()` bytes of the first.
    pub(crate) fn key_and_salt(
        &self,
        suite: CipherSuite,
        kid: u64,
    ) -> (Zeroizing<[u8; MAX_SECRET_LEN]>, Zeroizing<[u8; NONCE_LEN]>) {
        let mut key = Zeroizing::new([0u8; MAX_SECRET_LEN]);
        let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
        if let Some(k) = key.get_mut(..suite.key_len()) {
            self.expand(KEY_LABEL, kid, suite, k);
        }
        self.expand(SALT_LABEL, kid, suite, salt.as_mut_slice());
        (key, salt)
    }

    /// The key of `kid`, ready to check frames.
    pub(crate) fn derive(
        &self,
        backend: Backend,
        suite: CipherSuite,
        kid: u64,
    ) -> Result<UnprovenKey, sframe_core::SframeError> {
        let (key, salt) = self.key_and_salt(suite, kid);
        let aead = Aead::new(
            backend,
            suite,
            key.get(..suite.key_len()).unwrap_or_default(),
        )?;
        Ok(UnprovenKey { kid, aead, salt })
    }
}

/// A KID's key derived for a frame, not installed: [`UnprovenKey::authenticates`] tells
/// whether a frame is genuine without leaving anything behind. Zeroized on drop; `Debug` shows
/// only the KID.
pub(crate) struct UnprovenKey {
    kid: u64,
    aead: Aead,
    salt: Zeroizing<[u8; NONCE_LEN]>,
}

impl core::fmt::Debug for UnprovenKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnprovenKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl UnprovenKey {
    pub(crate) fn kid(&self) -> u64 {
        self.kid
    }

    /// Whether `frame` (`header || ciphertext || tag`, the header `header_len` bytes and
    /// carrying `ctr`) authenticates under this key with `metadata`. The frame's bytes are the
    /// same afterwards when it does (it is opened, then sealed again: AES-GCM and AES-CTR +
    /// HMAC are deterministic, so sealing the plaintext under the same nonce gives back the
    /// same bytes); when it does not they may not be (aws-lc-rs zeroes the text of a failed
    /// open), as with any refused frame. `scratch` holds `header || metadata` when the
    /// metadata is not empty.
    pub(crate) fn authenticates(
        &self,
        ctr: u64,
        header_len: usize,
        metadata: &[u8],
        frame: &mut [u8],
        scratch: &mut Vec<u8>,
    ) -> bool {
        let Some((header, body)) = frame.split_at_mut_checked(header_len) else {
            return false;
        };
        let aad: &[u8] = if metadata.is_empty() {
            header
        } else {
            scratch.clear();
            scratch.extend_from_slice(header);
            scratch.extend_from_slice(metadata);
            scratch
        };
        let nonce = Zeroizing::new(nonce(&self.salt, ctr));
        if self.aead.open_in_place(&nonce, aad, body).is_err() {
            return false;
        }
        // Genuine: put the ciphertext back for the installing path, which opens it again.
        self.aead.seal_in_place(&nonce, aad, body).is_ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sframe_core::KeySchedule;

    const SUITES: [CipherSuite; 8] = [
        CipherSuite::Aes128CtrHmacSha256_80,
        CipherSuite::Aes128CtrHmacSha256_64,
        CipherSuite::Aes128CtrHmacSha256_32,
        CipherSuite::Aes128GcmSha256_128,
        CipherSuite::Aes256GcmSha512_128,
        CipherSuite::Aes256CtrHmacSha512_80,
        CipherSuite::Aes256CtrHmacSha512_64,
        CipherSuite::Aes256CtrHmacSha512_32,
    ];

    #[test]
    fn the_same_key_and_salt_as_the_core_key_schedule() {
        for suite in SUITES {
            for base in [&[1u8; 16][..], &[0xa5; 32], b"x"] {
                let d = UnprovenDeriver::new(suite, base).unwrap();
                for kid in [0, 1, 0x1234, u64::MAX, 1 << 63, 0xdead_beef_cafe] {
                    let ks = KeySchedule::derive(Backend::default(), suite, kid, base).unwrap();
                    let (key, salt) = d.key_and_salt(suite, kid);
                    assert_eq!(&key[..suite.key_len()], ks.key.expose(), "{suite:?} {kid}");
                    assert_eq!(&salt[..], ks.salt.expose(), "{suite:?} {kid}");
                }
            }
        }
    }

    #[test]
    fn a_genuine_frame_authenticates_and_is_left_as_it_was() {
        for suite in SUITES {
            for &backend in Backend::ALL {
                let base = [3u8; 16];
                let kid = 0x77;
                let mut sender = sframe_core::Sender::with_backend(suite, backend);
                sender.add_key(kid, &base).unwrap();
                let d = UnprovenDeriver::new(suite, &base).unwrap();
                let key = d.derive(backend, suite, kid).unwrap();
                for metadata in [&b""[..], b"metadata"] {
                    let mut frame = b"a frame".to_vec();
                    sender.encrypt(kid, metadata, &mut frame).unwrap();
                    let (header, header_len) = sframe_core::Header::parse(&frame).unwrap();
                    let before = frame.clone();
                    let mut scratch = Vec::new();
                    assert!(key.authenticates(
                        header.ctr,
                        header_len,
                        metadata,
                        &mut frame,
                        &mut scratch
                    ));
                    assert_eq!(frame, before, "{suite:?} {backend:?}");
                    let last = frame.len() - 1;
                    frame[last] ^= 1;
                    assert!(!key.authenticates(
                        header.ctr,
                        header_len,
                        metadata,
                        &mut frame,
                        &mut scratch
                    ));
                    assert!(!key.authenticates(
                        header.ctr,
                        500,
                        metadata,
                        &mut frame,
                        &mut scratch
                    ));
                }
            }
        }
    }
}
