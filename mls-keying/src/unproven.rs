//! Keys for KIDs no frame has authenticated yet: a cheap check of a frame's tag under such a
//! KID, so that a forger who names a fresh KID per frame costs about what a genuine frame does.
//!
//! A new KID's key is the SFrame key schedule (RFC 9605 section 4.4.2) of that KID: two
//! one-block `HKDF-Expand`s of the epoch's `sframe_secret`, then the AEAD key setup. The core's
//! [`KidKeyDeriver`](sframe_core::KidKeyDeriver) computes the same through the configured
//! backend: aws-lc-rs copies a large HMAC context and finalises in several calls per expand,
//! and its AES-GCM key setup precomputes tables for bulk data (together about 1.4 us here,
//! several genuine frames). Here the `sframe_secret` is an HMAC whose pads are hashed once per
//! epoch (RustCrypto `hmac`/`sha2`, SHA-NI where the CPU has it), so an expand is two SHA
//! compressions; and the tag is checked without decrypting: for AES-GCM, the AES key
//! expansion, `H` and `E(K, J0)` and one GHASH over header, metadata and ciphertext (RFC 9605
//! section 4.4, NIST SP 800-38D); for AES-CTR + HMAC, the HMAC of RFC 9605 section 4.5.1
//! (no AES at all). The frame is only read.
//!
//! Only a frame whose tag checks goes on to the core's derivation and installation (which runs
//! the key schedule again and opens the frame, once per KID that a member really uses); a frame
//! whose tag does not is refused without it, and its key is kept in a bounded cache.

use aes::cipher::BlockCipherEncrypt;
use aes::{Aes128Enc as Aes128, Aes256Enc as Aes256};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use hmac::{Hmac, KeyInit, Mac};
use sframe_core::{CipherSuite, MAX_KEY_LEN, MAX_TAG_LEN, NONCE_LEN, nonce};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
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
    // T(i - 1): a block before the last is always whole in `out`, so it is read back from there.
    let mut previous = 0..0;
    while written < out.len() {
        let mut mac = prk.clone();
        mac.update(out.get(previous.clone()).unwrap_or_default());
        mac.update(label);
        mac.update(&kid.to_be_bytes());
        mac.update(&suite.to_be_bytes());
        mac.update(&[counter]);
        let mut block = mac.finalize().into_bytes();
        let take = block.len().min(out.len() - written);
        if let (Some(dst), Some(src)) = (out.get_mut(written..written + take), block.get(..take)) {
            dst.copy_from_slice(src);
        }
        block.as_mut_slice().zeroize();
        previous = written..written + take;
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
    ) -> (Zeroizing<[u8; MAX_KEY_LEN]>, Zeroizing<[u8; NONCE_LEN]>) {
        let mut key = Zeroizing::new([0u8; MAX_KEY_LEN]);
        let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
        if let Some(k) = key.get_mut(..suite.key_len()) {
            self.expand(KEY_LABEL, kid, suite, k);
        }
        self.expand(SALT_LABEL, kid, suite, salt.as_mut_slice());
        (key, salt)
    }

    /// The key of `kid`, ready to check frames' tags (only the derived bytes are kept: the
    /// AES or HMAC key is set up per check, which is cheap, so that a cached key is small).
    pub(crate) fn derive(&self, suite: CipherSuite, kid: u64) -> UnprovenKey {
        let (key, salt) = self.key_and_salt(suite, kid);
        UnprovenKey {
            kid,
            suite,
            key,
            salt,
        }
    }
}

enum Aes {
    Aes128(Aes128),
    Aes256(Aes256),
}

impl Aes {
    fn encrypt(&self, block: &mut aes::Block) {
        match self {
            Self::Aes128(a) => a.encrypt_block(block),
            Self::Aes256(a) => a.encrypt_block(block),
        }
    }
}

/// What checks a tag: the AES key and GHASH key of an AES-GCM suite, or the HMAC key (its
/// pads hashed) of an AES-CTR + HMAC suite. Zeroized on drop by the RustCrypto crates.
// Unboxed on purpose: it lives on the stack for one check, and a box would cost an allocation
// per forged frame.
#[allow(clippy::large_enum_variant)]
enum TagCheck {
    Gcm { aes: Aes, ghash: GHash },
    HmacSha256(Hmac<Sha256>),
    HmacSha512(Hmac<Sha512>),
}

impl TagCheck {
    fn new(suite: CipherSuite, key: &[u8]) -> Option<Self> {
        let key = key.get(..suite.key_len())?;
        Some(match suite.enc_key_len() {
            None => Self::gcm(key)?,
            Some(enc) => {
                let auth = key.get(enc..)?;
                match suite.hash_len() {
                    32 => Self::HmacSha256(<Hmac<Sha256> as KeyInit>::new_from_slice(auth).ok()?),
                    _ => Self::HmacSha512(<Hmac<Sha512> as KeyInit>::new_from_slice(auth).ok()?),
                }
            }
        })
    }

    fn gcm(key: &[u8]) -> Option<Self> {
        let aes = match key.len() {
            16 => Aes::Aes128(<Aes128 as aes::cipher::KeyInit>::new_from_slice(key).ok()?),
            _ => Aes::Aes256(<Aes256 as aes::cipher::KeyInit>::new_from_slice(key).ok()?),
        };
        let mut h = aes::Block::default();
        aes.encrypt(&mut h);
        let ghash = GHash::new(&h);
        h.as_mut_slice().zeroize();
        Some(Self::Gcm { aes, ghash })
    }
}

/// The HMAC tag of RFC 9605 section 4.5.1: over `len(aad) || len(ct) || Nt` (8 bytes each,
/// big-endian), the nonce, the AAD and the ciphertext.
fn hmac_tag<M: Mac + Clone>(
    mac: &M,
    tag_len: usize,
    nonce: &[u8],
    aad: [&[u8]; 2],
    ct: &[u8],
) -> Zeroizing<[u8; MAX_TAG_LEN]> {
    let mut m = mac.clone();
    let aad_len = aad[0].len() + aad[1].len();
    m.update(&(aad_len as u64).to_be_bytes());
    m.update(&(ct.len() as u64).to_be_bytes());
    m.update(&(tag_len as u64).to_be_bytes());
    m.update(nonce);
    m.update(aad[0]);
    m.update(aad[1]);
    m.update(ct);
    let mut full = m.finalize().into_bytes();
    let mut out = Zeroizing::new([0u8; MAX_TAG_LEN]);
    for (o, f) in out.iter_mut().zip(full.iter()) {
        *o = *f;
    }
    full.as_mut_slice().zeroize();
    out
}

/// A KID's key derived for a frame, not installed: [`UnprovenKey::authenticates`] checks a
/// frame's tag without changing anything. Zeroized on drop; `Debug` shows only the KID.
pub(crate) struct UnprovenKey {
    kid: u64,
    suite: CipherSuite,
    key: Zeroizing<[u8; MAX_KEY_LEN]>,
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

    /// Whether the tag of `frame` (`header || ciphertext || tag`, the header `header_len`
    /// bytes and carrying `ctr`) is right for this key and `metadata` (compared in constant
    /// time). The frame is only read. `scratch` holds `header || metadata` for GHASH when the
    /// metadata is not empty.
    pub(crate) fn authenticates(
        &self,
        ctr: u64,
        header_len: usize,
        metadata: &[u8],
        frame: &[u8],
        scratch: &mut Vec<u8>,
    ) -> bool {
        let Some((header, body)) = frame.split_at_checked(header_len) else {
            return false;
        };
        let tag_len = self.suite.tag_len();
        let Some(check) = TagCheck::new(self.suite, self.key.as_slice()) else {
            return false;
        };
        let Some((ct, tag)) = body
            .len()
            .checked_sub(tag_len)
            .and_then(|n| body.split_at_checked(n))
        else {
            return false;
        };
        let nonce = Zeroizing::new(nonce(&self.salt, ctr));
        let expected: Zeroizing<[u8; MAX_TAG_LEN]> = match &check {
            TagCheck::Gcm { aes, ghash } => {
                let aad: &[u8] = if metadata.is_empty() {
                    header
                } else {
                    scratch.clear();
                    scratch.extend_from_slice(header);
                    scratch.extend_from_slice(metadata);
                    scratch
                };
                let mut g = ghash.clone();
                g.update_padded(aad);
                g.update_padded(ct);
                let mut lengths = ghash::Block::default();
                lengths[..8].copy_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
                lengths[8..].copy_from_slice(&((ct.len() as u64) * 8).to_be_bytes());
                g.update(&[lengths]);
                let mut t = g.finalize();
                let mut mask = aes::Block::default();
                mask[..NONCE_LEN].copy_from_slice(nonce.as_slice());
                mask[15] = 1;
                aes.encrypt(&mut mask);
                let mut out = Zeroizing::new([0u8; MAX_TAG_LEN]);
                for ((o, a), b) in out.iter_mut().zip(t.iter()).zip(mask.iter()) {
                    *o = a ^ b;
                }
                t.as_mut_slice().zeroize();
                mask.as_mut_slice().zeroize();
                out
            }
            TagCheck::HmacSha256(m) => hmac_tag(m, tag_len, &nonce[..], [header, metadata], ct),
            TagCheck::HmacSha512(m) => hmac_tag(m, tag_len, &nonce[..], [header, metadata], ct),
        };
        expected
            .get(..tag.len())
            .is_some_and(|e| bool::from(e.ct_eq(tag)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sframe_core::{Backend, KeySchedule};

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
    fn the_tag_of_a_genuine_frame_checks_and_of_a_changed_one_does_not() {
        for suite in SUITES {
            for &backend in Backend::ALL {
                let base = [3u8; 16];
                let kid = 0x77;
                let mut sender = sframe_core::Sender::with_backend(suite, backend);
                sender.add_key(kid, &base).unwrap();
                let d = UnprovenDeriver::new(suite, &base).unwrap();
                let key = d.derive(suite, kid);
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
                        &frame,
                        &mut scratch
                    ));
                    assert_eq!(frame, before, "{suite:?} {backend:?}");
                    let last = frame.len() - 1;
                    frame[last] ^= 1;
                    assert!(!key.authenticates(
                        header.ctr,
                        header_len,
                        metadata,
                        &frame,
                        &mut scratch
                    ));
                    assert!(!key.authenticates(header.ctr, 500, metadata, &frame, &mut scratch));
                }
            }
        }
    }
}
