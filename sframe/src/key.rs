//! Keys: secrets that zeroize, the key schedule of RFC 9605 section 4.4.2, and the per-KID
//! frame key that seals and opens frames.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{AeadKey, Backend, ExpandKey};
use crate::suite::{MAX_HASH_LEN, MAX_KEY_LEN, NONCE_LEN};
use crate::{CipherSuite, Error};

/// The longest secret a [`Secret`] holds.
pub const MAX_SECRET_LEN: usize = 128;

/// Secret bytes (a base key, a derived key): held on the stack, zeroized on drop, and never
/// printed (`Debug` shows only the length).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: [u8; MAX_SECRET_LEN],
    len: usize,
}

impl Secret {
    /// Copies `bytes` into a new secret.
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] for more than [`MAX_SECRET_LEN`] bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        let mut s = Self {
            bytes: [0; MAX_SECRET_LEN],
            len: bytes.len(),
        };
        s.bytes
            .get_mut(..bytes.len())
            .ok_or(Error::InvalidKeyLength {
                expected: MAX_SECRET_LEN,
                actual: bytes.len(),
            })?
            .copy_from_slice(bytes);
        Ok(s)
    }

    /// A secret of `len` zero bytes to fill in.
    pub(crate) fn zeroed(len: usize) -> Result<Self, Error> {
        if len > MAX_SECRET_LEN {
            return Err(Error::Crypto);
        }
        Ok(Self {
            bytes: [0; MAX_SECRET_LEN],
            len,
        })
    }

    /// The secret bytes. Handle with care.
    pub fn expose(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        self.bytes.get_mut(..self.len).unwrap_or(&mut [])
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the secret has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, redacted)", self.len)
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for Secret {}

const KEY_LABEL: &[u8] = b"SFrame 1.0 Secret key ";
const SALT_LABEL: &[u8] = b"SFrame 1.0 Secret salt ";

/// The outputs of the key schedule for one KID (RFC 9605 section 4.4.2).
///
/// ```text
/// sframe_secret = HKDF-Extract("", base_key)
/// sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID || suite, AEAD.Nk)
/// sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID || suite, AEAD.Nn)
/// ```
/// KID is a big-endian u64 and the suite a big-endian u16.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchedule {
    /// `sframe_secret` (`Nh` bytes).
    pub secret: Secret,
    /// `sframe_key` (`AEAD.Nk` bytes).
    pub key: Secret,
    /// `sframe_salt` (`AEAD.Nn` bytes).
    pub salt: Secret,
}

impl KeySchedule {
    /// Runs the key schedule for `kid` from `base_key`.
    ///
    /// # Errors
    /// [`Error::EmptyBaseKey`] for an empty base key.
    pub fn derive(
        backend: Backend,
        suite: CipherSuite,
        kid: u64,
        base_key: &[u8],
    ) -> Result<Self, Error> {
        let secret = extract(backend, suite, base_key)?;
        let (key, salt) = expand(backend, suite, &secret, kid)?;
        Ok(Self { secret, key, salt })
    }

    /// The label `"SFrame 1.0 Secret key " || KID || suite` (for checking against vectors).
    pub fn key_label(suite: CipherSuite, kid: u64) -> Vec<u8> {
        [KEY_LABEL, &kid.to_be_bytes(), &suite.id().to_be_bytes()].concat()
    }

    /// The label `"SFrame 1.0 Secret salt " || KID || suite`.
    pub fn salt_label(suite: CipherSuite, kid: u64) -> Vec<u8> {
        [SALT_LABEL, &kid.to_be_bytes(), &suite.id().to_be_bytes()].concat()
    }
}

/// `sframe_secret = HKDF-Extract("", base_key)`: the same for every KID.
fn extract(backend: Backend, suite: CipherSuite, base_key: &[u8]) -> Result<Secret, Error> {
    if base_key.is_empty() {
        return Err(Error::EmptyBaseKey);
    }
    let mut secret = Secret::zeroed(suite.hash_len())?;
    backend.hkdf_extract(suite.hash(), &[], base_key, secret.expose_mut())?;
    Ok(secret)
}

/// `(sframe_key, sframe_salt)` of `kid` from `sframe_secret`.
fn expand(
    backend: Backend,
    suite: CipherSuite,
    secret: &Secret,
    kid: u64,
) -> Result<(Secret, Secret), Error> {
    let hash = suite.hash();
    let kid_bytes = kid.to_be_bytes();
    let suite_bytes = suite.id().to_be_bytes();
    let mut key = Secret::zeroed(suite.key_len())?;
    backend.hkdf_expand(
        hash,
        secret.expose(),
        &[KEY_LABEL, &kid_bytes, &suite_bytes],
        key.expose_mut(),
    )?;
    let mut salt = Secret::zeroed(NONCE_LEN)?;
    backend.hkdf_expand(
        hash,
        secret.expose(),
        &[SALT_LABEL, &kid_bytes, &suite_bytes],
        salt.expose_mut(),
    )?;
    Ok((key, salt))
}

/// A base key after the KID-independent half of the key schedule (`HKDF-Extract`), ready to
/// derive the key of any KID with the two `HKDF-Expand`s alone: for a caller that derives
/// many KIDs from one base key (an MLS epoch gives every member's every stream a KID).
/// Zeroized on drop; `Debug` shows no key bytes.
pub struct KidKeyDeriver {
    backend: Backend,
    suite: CipherSuite,
    /// `sframe_secret` as an HMAC key, its pads computed once.
    prk: ExpandKey,
}

impl fmt::Debug for KidKeyDeriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KidKeyDeriver")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl KidKeyDeriver {
    /// Runs `HKDF-Extract` on `base_key`.
    ///
    /// # Errors
    /// [`Error::EmptyBaseKey`].
    pub fn new(backend: Backend, suite: CipherSuite, base_key: &[u8]) -> Result<Self, Error> {
        let secret = extract(backend, suite, base_key)?;
        Ok(Self {
            backend,
            suite,
            prk: backend.expand_key(suite.hash(), secret.expose())?,
        })
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The key of `kid`, expanded for the AEAD: what [`crate::Receiver::add_key`] would
    /// install, not installed anywhere yet.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the backend fails.
    pub fn derive(&self, kid: u64) -> Result<KidKey, Error> {
        let kid_bytes = kid.to_be_bytes();
        let suite_bytes = self.suite.id().to_be_bytes();
        let mut key = Secret::zeroed(self.suite.key_len())?;
        self.prk
            .expand(&[KEY_LABEL, &kid_bytes, &suite_bytes], key.expose_mut())?;
        let mut salt = Secret::zeroed(NONCE_LEN)?;
        self.prk
            .expand(&[SALT_LABEL, &kid_bytes, &suite_bytes], salt.expose_mut())?;
        Ok(KidKey {
            kid,
            key: FrameKey::from_schedule(self.backend, self.suite, &key, &salt)?,
        })
    }

    /// The key of `kid` from its key schedule's output, `sframe_key` and `sframe_salt` (RFC
    /// 9605 section 4.4.2), for a caller that has already run the schedule for it (e.g. a
    /// cheaper check of a frame's tag) and would otherwise derive it twice. Only the AEAD key
    /// setup runs. Bytes that are not what [`KidKeyDeriver::derive`] computes give a key under
    /// which no genuine frame authenticates.
    ///
    /// # Errors
    /// [`Error::Crypto`] if `key` is not the suite's `Nk` bytes or `salt` not `Nn`, or the
    /// backend fails.
    pub fn key_from_schedule(&self, kid: u64, key: &[u8], salt: &[u8]) -> Result<KidKey, Error> {
        if key.len() != self.suite.key_len() || salt.len() != NONCE_LEN {
            return Err(Error::Crypto);
        }
        Ok(KidKey {
            kid,
            key: FrameKey::from_parts(self.backend, self.suite, key, salt)?,
        })
    }
}

/// The key of one KID, derived (and its AEAD key schedule run) but not installed: see
/// [`crate::Receiver::decrypt_with_new_key`]. Zeroized on drop; `Debug` shows only the KID.
pub struct KidKey {
    kid: u64,
    pub(crate) key: FrameKey,
}

impl fmt::Debug for KidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KidKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KidKey {
    /// The KID this key is for.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.key.suite
    }
}

/// One ratchet step of RFC 9605 section 5.1:
/// `next = HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)`.
///
/// # Errors
/// [`Error::EmptyBaseKey`] for an empty base key.
pub fn ratchet_base_key(
    backend: Backend,
    suite: CipherSuite,
    base_key: &[u8],
) -> Result<Secret, Error> {
    if base_key.is_empty() {
        return Err(Error::EmptyBaseKey);
    }
    let hash = suite.hash();
    let mut prk = Secret::zeroed(suite.hash_len())?;
    backend.hkdf_extract(hash, &[], base_key, prk.expose_mut())?;
    let mut next = Secret::zeroed(suite.hash_len())?;
    backend.hkdf_expand(
        hash,
        prk.expose(),
        &[b"SFrame 1.0 Ratchet"],
        next.expose_mut(),
    )?;
    Ok(next)
}

/// `HKDF-Expand(HKDF-Extract(salt, ikm), info, Nh)` with the hash of `suite`, as a secret of
/// `Nh` bytes: the derivation other SFrame key schemes build on (draft-ietf-avtcore-rtp-sframe
/// derives per-SSRC base keys this way, the SSRC as the salt).
///
/// # Errors
/// [`Error::EmptyBaseKey`] for an empty `ikm`.
pub fn hkdf_secret(
    backend: Backend,
    suite: CipherSuite,
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
) -> Result<Secret, Error> {
    if ikm.is_empty() {
        return Err(Error::EmptyBaseKey);
    }
    let hash = suite.hash();
    let mut prk = Secret::zeroed(suite.hash_len())?;
    backend.hkdf_extract(hash, salt, ikm, prk.expose_mut())?;
    let mut out = Secret::zeroed(suite.hash_len())?;
    backend.hkdf_expand(hash, prk.expose(), &[info], out.expose_mut())?;
    Ok(out)
}

/// The nonce for counter `ctr`: the salt XOR the counter, big-endian in the last 8 bytes.
#[inline]
pub fn nonce(salt: &[u8; NONCE_LEN], ctr: u64) -> [u8; NONCE_LEN] {
    let mut n = *salt;
    let (_, low) = n.split_at_mut(NONCE_LEN - 8);
    for (b, c) in low.iter_mut().zip(ctr.to_be_bytes()) {
        *b ^= c;
    }
    n
}

/// The longest plaintext one frame may carry: AES-GCM's limit (2^36 - 32 bytes) and within
/// the 2^32 blocks of AES-CTR's 32-bit block counter.
pub const MAX_FRAME_PLAINTEXT: u64 = (1 << 36) - 32;

/// The key for one KID, expanded once: the AEAD's key schedule and the salt.
pub(crate) struct FrameKey {
    suite: CipherSuite,
    aead: Box<dyn AeadKey>,
    salt: [u8; NONCE_LEN],
}

impl Drop for FrameKey {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

impl fmt::Debug for FrameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// Where the AAD comes from: the header in the frame, or header || metadata in a scratch
/// buffer that the owning sender or receiver reuses (so no allocation after warm-up).
#[inline(always)]
fn aad<'a>(header: &'a [u8], metadata: &[u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if metadata.is_empty() {
        header
    } else {
        scratch.clear();
        // Room for the longest header: a counter that lengthens the header later must not
        // reallocate. Only metadata longer than any before can grow the scratch.
        scratch.reserve(crate::header::MAX_HEADER_LEN + metadata.len());
        scratch.extend_from_slice(header);
        scratch.extend_from_slice(metadata);
        scratch
    }
}

impl FrameKey {
    pub(crate) fn new(
        backend: Backend,
        suite: CipherSuite,
        kid: u64,
        base_key: &[u8],
    ) -> Result<Self, Error> {
        let schedule = KeySchedule::derive(backend, suite, kid, base_key)?;
        Self::from_schedule(backend, suite, &schedule.key, &schedule.salt)
    }

    fn from_schedule(
        backend: Backend,
        suite: CipherSuite,
        key: &Secret,
        salt: &Secret,
    ) -> Result<Self, Error> {
        Self::from_parts(backend, suite, key.expose(), salt.expose())
    }

    fn from_parts(
        backend: Backend,
        suite: CipherSuite,
        key: &[u8],
        salt: &[u8],
    ) -> Result<Self, Error> {
        let mut nonce_salt = [0u8; NONCE_LEN];
        nonce_salt.copy_from_slice(salt.get(..NONCE_LEN).ok_or(Error::Crypto)?);
        Ok(Self {
            suite,
            aead: backend.aead_key(suite, key)?,
            salt: nonce_salt,
        })
    }

    /// Seals the frame `frame = header || plaintext || tag room`, the header already written
    /// in its first `header_len` bytes.
    #[inline(always)]
    pub(crate) fn seal(
        &self,
        ctr: u64,
        header_len: usize,
        metadata: &[u8],
        frame: &mut [u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let available = frame.len();
        if header_len > available {
            return Err(Error::BufferTooSmall {
                needed: header_len,
                available,
            });
        }
        let (header, body) = frame.split_at_mut(header_len);
        let aad = aad(header, metadata, scratch);
        self.aead.seal(&nonce(&self.salt, ctr), aad, body)
    }

    /// Opens `frame = header || ciphertext || tag` in place.
    #[inline(always)]
    pub(crate) fn open(
        &self,
        ctr: u64,
        header_len: usize,
        metadata: &[u8],
        frame: &mut [u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let available = frame.len();
        if header_len > available {
            return Err(Error::TruncatedFrame {
                needed: header_len,
                available,
            });
        }
        let (header, body) = frame.split_at_mut(header_len);
        let aad = aad(header, metadata, scratch);
        self.aead.open(&nonce(&self.salt, ctr), aad, body)
    }
}

/// The raw AEAD of a suite (RFC 9605 section 4.4 `AEAD.Encrypt`/`AEAD.Decrypt`), for known-answer
/// tests and benchmarks. Frames go through [`crate::Sender`] and [`crate::Receiver`].
pub struct Aead {
    suite: CipherSuite,
    key: Box<dyn AeadKey>,
}

impl fmt::Debug for Aead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aead")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl Aead {
    /// Expands `key` (`AEAD.Nk` bytes) for `suite`.
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] if `key` is not `suite.key_len()` bytes.
    pub fn new(backend: Backend, suite: CipherSuite, key: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            suite,
            key: backend.aead_key(suite, key)?,
        })
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Encrypts `buf[..len - Nt]` in place and writes the tag into the last `Nt` bytes.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `buf` is shorter than the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<(), Error> {
        if buf.len() < self.suite.tag_len() {
            return Err(Error::BufferTooSmall {
                needed: self.suite.tag_len(),
                available: buf.len(),
            });
        }
        self.key.seal(nonce, aad, buf)
    }

    /// Verifies the tag in the last `Nt` bytes and decrypts the rest in place, returning it.
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] if the tag does not verify or `buf` is too short.
    pub fn open_in_place<'a>(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let text_len = buf
            .len()
            .checked_sub(self.suite.tag_len())
            .ok_or(Error::AuthenticationFailed)?;
        self.key.open(nonce, aad, buf)?;
        Ok(buf.get_mut(..text_len).unwrap_or(&mut []))
    }
}

/// For the AES-CTR + HMAC suites, RFC 9605 section 4.5.1 `derive_subkeys`: the key split into
/// `(enc_key, auth_key)`. `None` for the GCM suites or a key of the wrong length.
pub fn derive_subkeys(suite: CipherSuite, key: &[u8]) -> Option<(&[u8], &[u8])> {
    let nka = suite.enc_key_len()?;
    (key.len() == suite.key_len()).then(|| key.split_at(nka))
}

// Compile-time checks that the fixed-size buffers fit every suite.
const _: () = assert!(MAX_KEY_LEN <= MAX_SECRET_LEN && MAX_HASH_LEN <= MAX_SECRET_LEN);
