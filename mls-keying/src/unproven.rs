//! Keys for KIDs no frame has authenticated yet: a cheap check of a frame's tag under such a
//! KID, so that a forger who names a fresh KID per frame costs about what a genuine frame does.
//!
//! A new KID's key is the SFrame key schedule (RFC 9605 section 4.4.2) of that KID: two
//! one-block `HKDF-Expand`s of the epoch's `sframe_secret`, then the AEAD key setup. The core's
//! [`KidKeyDeriver`](sframe_core::KidKeyDeriver) computes the same through the configured
//! backend: aws-lc-rs copies a large HMAC context and finalises in several calls per expand,
//! and its AES-GCM key setup precomputes tables for bulk data (together about 1.4 us here,
//! several genuine frames). Here the `sframe_secret` is an HMAC key whose pads are hashed once
//! per epoch, kept as the two SHA-2 chaining values, and HMAC runs on `sha2`'s compression
//! function directly (SHA-NI or AVX2 where the CPU has them): an expand writes its padded
//! blocks whole and is its two compressions and a few copies (through the `hmac` crate, the
//! state copies, finalisation and byte-by-byte zeroizing cost about as much again). The tag is
//! checked without decrypting: for AES-GCM, the AES key expansion, `H` and `E(K, J0)` and one
//! GHASH over header, metadata and ciphertext (RFC 9605 section 4.4, NIST SP 800-38D); for
//! AES-CTR + HMAC, the HMAC of RFC 9605 section 4.5.1 (no AES at all). The frame is only read.
//! Intermediate secrets are wiped with plain stores behind `zeroize::optimization_barrier`
//! (whole vector stores, not one volatile store per byte).
//!
//! Only a frame whose tag checks goes on to the core's derivation and installation (which runs
//! the key schedule again and opens the frame, once per KID that a member really uses); a frame
//! whose tag does not is refused without it, and its key is kept in a bounded cache.

use aes::cipher::consts::U16;
use aes::cipher::{BlockCipherEncrypt, BlockSizeUser};
use aes::{Aes128Enc as Aes128, Aes256Enc as Aes256};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use hmac::{Hmac, KeyInit, Mac};
use sframe_core::{CipherSuite, MAX_KEY_LEN, MAX_TAG_LEN, NONCE_LEN, nonce};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, optimization_barrier};

const KEY_LABEL: &[u8] = b"SFrame 1.0 Secret key ";
const SALT_LABEL: &[u8] = b"SFrame 1.0 Secret salt ";

/// The longest SHA-2 block (SHA-512's).
const MAX_BLOCK_LEN: usize = 128;
/// The longest SHA-2 output (SHA-512's).
const MAX_HASH_LEN: usize = 64;

/// A SHA-2 compression function (`sha2`'s, SHA-NI or AVX2 where the CPU has them) and what
/// the padding needs to know: HMAC is built on it here so that an expand is its two
/// compressions and little else (the `hmac` crate's state is cloned, finalised and zeroized
/// byte by byte per MAC, about as much again as the compressions).
trait Sha2 {
    type State: Copy + Zeroize;
    /// The initial hash value (FIPS 180-4 section 5.3).
    const IV: Self::State;
    const BLOCK_LEN: usize;
    const OUT_LEN: usize;
    /// The bytes of the message length at the end of the padding (FIPS 180-4 section 5.1).
    const LEN_LEN: usize;
    /// Compresses every whole block of `blocks`.
    fn compress(state: &mut Self::State, blocks: &[u8]);
    /// The state as the hash output (big-endian words), into `out[..OUT_LEN]`.
    fn output(state: &Self::State, out: &mut [u8; MAX_HASH_LEN]);
}

struct Sha256;

impl Sha2 for Sha256 {
    type State = [u32; 8];
    const IV: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    const BLOCK_LEN: usize = 64;
    const OUT_LEN: usize = 32;
    const LEN_LEN: usize = 8;

    fn compress(state: &mut [u32; 8], blocks: &[u8]) {
        sha2::block_api::compress256(state, blocks.as_chunks::<64>().0);
    }

    fn output(state: &[u32; 8], out: &mut [u8; MAX_HASH_LEN]) {
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
    }
}

struct Sha512;

impl Sha2 for Sha512 {
    type State = [u64; 8];
    const IV: [u64; 8] = [
        0x6a09_e667_f3bc_c908,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    const BLOCK_LEN: usize = 128;
    const OUT_LEN: usize = 64;
    const LEN_LEN: usize = 16;

    fn compress(state: &mut [u64; 8], blocks: &[u8]) {
        sha2::block_api::compress512(state, blocks.as_chunks::<128>().0);
    }

    fn output(state: &[u64; 8], out: &mut [u8; MAX_HASH_LEN]) {
        for (o, w) in out.chunks_exact_mut(8).zip(state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
    }
}

/// Zeroes `buf` with plain (vectorised) stores that the compiler cannot drop, rather than the
/// byte-by-byte volatile writes of `Zeroize` for byte arrays.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    optimization_barrier(buf);
}

/// Writes the padding of a message of `len` bytes in all (FIPS 180-4 section 5.1) into
/// `buf[from..end]`, where the message's last block or two end at `end`.
fn pad<H: Sha2>(buf: &mut [u8; MAX_BLOCK_LEN], from: usize, end: usize, len: u64) {
    let len_at = end.saturating_sub(H::LEN_LEN);
    if let Some(zeros) = buf.get_mut(from..len_at) {
        zeros.fill(0);
    }
    if let Some(b) = buf.get_mut(from) {
        *b = 0x80;
    }
    let bits = u128::from(len).wrapping_mul(8).to_be_bytes();
    if let (Some(dst), Some(src)) = (buf.get_mut(len_at..end), bits.get(16 - H::LEN_LEN..)) {
        dst.copy_from_slice(src);
    }
}

/// A SHA-2 hash in progress, resumable from a chaining value (an HMAC pad already hashed).
/// State and buffer are zeroed on drop.
struct Hasher<H: Sha2> {
    state: H::State,
    buf: [u8; MAX_BLOCK_LEN],
    /// Bytes in `buf`, always under `H::BLOCK_LEN`.
    buffered: usize,
    /// Bytes hashed so far, the ones compressed into `state` before `resume` included.
    len: u64,
}

impl<H: Sha2> Hasher<H> {
    fn resume(state: H::State, len: u64) -> Self {
        Self {
            state,
            buf: [0; MAX_BLOCK_LEN],
            buffered: 0,
            len,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.buffered > 0 {
            let take = (H::BLOCK_LEN - self.buffered).min(data.len());
            let Some((head, rest)) = data.split_at_checked(take) else {
                return;
            };
            if let Some(dst) = self.buf.get_mut(self.buffered..self.buffered + take) {
                dst.copy_from_slice(head);
            }
            self.buffered += take;
            data = rest;
            if self.buffered < H::BLOCK_LEN {
                return;
            }
            H::compress(
                &mut self.state,
                self.buf.get(..H::BLOCK_LEN).unwrap_or_default(),
            );
            self.buffered = 0;
        }
        let whole = data.len() - data.len() % H::BLOCK_LEN;
        let Some((blocks, rest)) = data.split_at_checked(whole) else {
            return;
        };
        H::compress(&mut self.state, blocks);
        if let Some(dst) = self.buf.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
            self.buffered = rest.len();
        }
    }

    /// Pads (FIPS 180-4 section 5.1), compresses the last block or two and writes the hash
    /// into `out[..H::OUT_LEN]`.
    fn finish(&mut self, out: &mut [u8; MAX_HASH_LEN]) {
        let bits = u128::from(self.len).wrapping_mul(8).to_be_bytes();
        let len_at = H::BLOCK_LEN - H::LEN_LEN;
        if let Some(b) = self.buf.get_mut(self.buffered) {
            *b = 0x80;
        }
        let mut from = self.buffered + 1;
        if from > len_at {
            if let Some(rest) = self.buf.get_mut(from..H::BLOCK_LEN) {
                rest.fill(0);
            }
            H::compress(
                &mut self.state,
                self.buf.get(..H::BLOCK_LEN).unwrap_or_default(),
            );
            from = 0;
        }
        if let Some(zeros) = self.buf.get_mut(from..len_at) {
            zeros.fill(0);
        }
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(len_at..H::BLOCK_LEN),
            bits.get(bits.len() - H::LEN_LEN..),
        ) {
            dst.copy_from_slice(src);
        }
        H::compress(
            &mut self.state,
            self.buf.get(..H::BLOCK_LEN).unwrap_or_default(),
        );
        self.buffered = 0;
        H::output(&self.state, out);
    }
}

impl<H: Sha2> Drop for Hasher<H> {
    fn drop(&mut self) {
        self.state.zeroize();
        wipe(&mut self.buf);
    }
}

/// An HMAC key (RFC 2104) as the chaining values after its inner and outer padded blocks: a
/// MAC is then the message's compressions plus one for the outer hash. Zeroized on drop.
struct HmacKey<H: Sha2> {
    inner: H::State,
    outer: H::State,
}

impl<H: Sha2> HmacKey<H> {
    /// `None` for a key longer than a block (never the case here: PRKs and HMAC keys of the
    /// suites are one hash output long).
    fn new(key: &[u8]) -> Option<Self> {
        if key.len() > H::BLOCK_LEN {
            return None;
        }
        let mut block = [0u8; MAX_BLOCK_LEN];
        let mut pad = |byte: u8| {
            for (i, b) in block.iter_mut().take(H::BLOCK_LEN).enumerate() {
                *b = key.get(i).copied().unwrap_or(0) ^ byte;
            }
            let mut state = H::IV;
            H::compress(&mut state, block.get(..H::BLOCK_LEN).unwrap_or_default());
            state
        };
        let keyed = Self {
            inner: pad(0x36),
            outer: pad(0x5c),
        };
        wipe(&mut block);
        Some(keyed)
    }

    /// The MAC of `parts` concatenated, into `out[..H::OUT_LEN]`, when the inner message and
    /// its padding fit `scratch` (two SHA-256 blocks or one SHA-512 block: an expand's
    /// `T(i - 1) || label || KID || suite || i` always does). The blocks are written whole and
    /// compressed in one call, then the outer block in `scratch` again; `scratch` is left
    /// holding secrets, for the caller to wipe once. `false` if the message is too long.
    fn mac_short(
        &self,
        parts: &[&[u8]],
        scratch: &mut [u8; MAX_BLOCK_LEN],
        out: &mut [u8; MAX_HASH_LEN],
    ) -> bool {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let blocks = (len + 1 + H::LEN_LEN).div_ceil(H::BLOCK_LEN);
        let end = blocks * H::BLOCK_LEN;
        if end > MAX_BLOCK_LEN {
            return false;
        }
        let mut at = 0;
        for part in parts {
            if let Some(dst) = scratch.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
        let mut state = self.inner;
        pad::<H>(scratch, at, end, (H::BLOCK_LEN + len) as u64);
        H::compress(&mut state, scratch.get(..end).unwrap_or_default());
        H::output(&state, out);
        if let (Some(dst), Some(src)) = (scratch.get_mut(..H::OUT_LEN), out.get(..H::OUT_LEN)) {
            dst.copy_from_slice(src);
        }
        state = self.outer;
        pad::<H>(
            scratch,
            H::OUT_LEN,
            H::BLOCK_LEN,
            (H::BLOCK_LEN + H::OUT_LEN) as u64,
        );
        H::compress(&mut state, scratch.get(..H::BLOCK_LEN).unwrap_or_default());
        H::output(&state, out);
        state.zeroize();
        true
    }

    fn start(&self) -> Hasher<H> {
        Hasher::resume(self.inner, H::BLOCK_LEN as u64)
    }

    /// The MAC of what went into `inner` (from [`HmacKey::start`]), into `out[..H::OUT_LEN]`.
    fn finish(&self, mut inner: Hasher<H>, out: &mut [u8; MAX_HASH_LEN]) {
        inner.finish(out);
        let mut outer = Hasher::<H>::resume(self.outer, H::BLOCK_LEN as u64);
        outer.update(out.get(..H::OUT_LEN).unwrap_or_default());
        outer.finish(out);
    }
}

impl<H: Sha2> Drop for HmacKey<H> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// An epoch's `sframe_secret = HKDF-Extract("", base_key)` as an HMAC key with its pads hashed.
/// Zeroized on drop; `Debug` shows nothing of it.
pub(crate) struct UnprovenDeriver(Prk);

enum Prk {
    Sha256(HmacKey<Sha256>),
    Sha512(HmacKey<Sha512>),
}

impl core::fmt::Debug for UnprovenDeriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("UnprovenDeriver(redacted)")
    }
}

/// `HKDF-Extract("", ikm)` keyed for the expands: the PRK is `HMAC(0^Nh, ikm)` (with the
/// `hmac` crate: once per epoch, and `ikm` may be longer than a block).
fn extract<M: Mac + KeyInit, H: Sha2>(ikm: &[u8]) -> Option<HmacKey<H>> {
    let mut mac = <M as KeyInit>::new_from_slice(&[]).ok()?;
    mac.update(ikm);
    let mut prk = mac.finalize().into_bytes();
    let keyed = HmacKey::new(&prk);
    prk.as_mut_slice().zeroize();
    keyed
}

/// `HKDF-Expand(prk, label || kid || suite, out.len())` (RFC 5869). `scratch` is left holding
/// secrets, for the caller to wipe.
fn expand<H: Sha2>(
    prk: &HmacKey<H>,
    label: &[u8],
    kid: u64,
    suite: u16,
    scratch: &mut [u8; MAX_BLOCK_LEN],
    out: &mut [u8],
) {
    // T(i), kept for T(i + 1).
    let mut block = [0u8; MAX_HASH_LEN];
    let mut previous = [0u8; MAX_HASH_LEN];
    let kid = kid.to_be_bytes();
    let suite = suite.to_be_bytes();
    let mut written = 0;
    let mut counter = 1u8;
    while written < out.len() {
        let t = if counter > 1 {
            previous = block;
            previous.get(..H::OUT_LEN).unwrap_or_default()
        } else {
            &[]
        };
        let parts: [&[u8]; 5] = [t, label, &kid, &suite, &[counter]];
        if !prk.mac_short(&parts, scratch, &mut block) {
            let mut mac = prk.start();
            for part in parts {
                mac.update(part);
            }
            prk.finish(mac, &mut block);
        }
        let take = H::OUT_LEN.min(out.len() - written);
        if let (Some(dst), Some(src)) = (out.get_mut(written..written + take), block.get(..take)) {
            dst.copy_from_slice(src);
        }
        written += take;
        counter = counter.wrapping_add(1);
    }
    wipe(&mut block);
    wipe(&mut previous);
}

impl UnprovenDeriver {
    /// Runs `HKDF-Extract` on the epoch's base key with the suite's hash.
    pub(crate) fn new(suite: CipherSuite, base_key: &[u8]) -> Option<Self> {
        match suite.hash_len() {
            32 => extract::<Hmac<sha2::Sha256>, Sha256>(base_key).map(Prk::Sha256),
            _ => extract::<Hmac<sha2::Sha512>, Sha512>(base_key).map(Prk::Sha512),
        }
        .map(Self)
    }

    fn expand(
        &self,
        label: &[u8],
        kid: u64,
        suite: CipherSuite,
        scratch: &mut [u8; MAX_BLOCK_LEN],
        out: &mut [u8],
    ) {
        match &self.0 {
            Prk::Sha256(m) => expand(m, label, kid, suite.id(), scratch, out),
            Prk::Sha512(m) => expand(m, label, kid, suite.id(), scratch, out),
        }
    }

    /// The key of `kid`, ready to check frames' tags (only the derived bytes are kept: the
    /// AES or HMAC key is set up per check, which is cheap, so that a cached key is small).
    pub(crate) fn derive(&self, suite: CipherSuite, kid: u64) -> UnprovenKey {
        let mut key = UnprovenKey {
            kid,
            suite,
            key: [0u8; MAX_KEY_LEN],
            salt: [0u8; NONCE_LEN],
        };
        let mut scratch = [0u8; MAX_BLOCK_LEN];
        if let Some(k) = key.key.get_mut(..suite.key_len()) {
            self.expand(KEY_LABEL, kid, suite, &mut scratch, k);
        }
        self.expand(SALT_LABEL, kid, suite, &mut scratch, &mut key.salt);
        wipe(&mut scratch);
        key
    }
}

/// The GCM tag (NIST SP 800-38D section 7.2) of `aad` and `ct` under `key` (the AES key) and
/// `nonce` (96 bits, so `J0 = nonce || 1`), into `out[..16]`, without decrypting.
fn gcm_tag<C: BlockCipherEncrypt + BlockSizeUser<BlockSize = U16> + aes::cipher::KeyInit>(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
    out: &mut [u8; MAX_TAG_LEN],
) -> bool {
    let Ok(key) = aes::cipher::Key::<C>::try_from(key) else {
        return false;
    };
    let aes = C::new(&key);
    // H = E(K, 0^128) and the mask E(K, J0), in one call.
    let mut blocks = [aes::Block::default(); 2];
    let [_, mask] = &mut blocks;
    if let Some(n) = mask.get_mut(..NONCE_LEN) {
        n.copy_from_slice(nonce);
    }
    mask[15] = 1;
    aes.encrypt_blocks(&mut blocks);
    drop(aes);
    let [h, mask] = &mut blocks;
    let mut ghash = GHash::new(h);
    h.as_mut_slice().zeroize();
    ghash.update_padded(aad);
    ghash.update_padded(ct);
    let mut lengths = ghash::Block::default();
    lengths[..8].copy_from_slice(&(aad.len() as u64).wrapping_mul(8).to_be_bytes());
    lengths[8..].copy_from_slice(&(ct.len() as u64).wrapping_mul(8).to_be_bytes());
    ghash.update(&[lengths]);
    let mut t = ghash.finalize();
    for ((o, a), b) in out.iter_mut().zip(t.iter()).zip(mask.iter()) {
        *o = a ^ b;
    }
    t.as_mut_slice().zeroize();
    mask.as_mut_slice().zeroize();
    true
}

/// The HMAC tag of RFC 9605 section 4.5.1, untruncated, into `out`: over
/// `len(aad) || len(ct) || Nt` (8 bytes each, big-endian), the nonce, the AAD and the
/// ciphertext, keyed with the second part of the key.
fn hmac_tag<H: Sha2>(
    auth_key: &[u8],
    tag_len: usize,
    nonce: &[u8],
    aad: [&[u8]; 2],
    ct: &[u8],
    out: &mut [u8; MAX_HASH_LEN],
) -> bool {
    let Some(key) = HmacKey::<H>::new(auth_key) else {
        return false;
    };
    let mut mac = key.start();
    let aad_len = aad[0].len() + aad[1].len();
    mac.update(&(aad_len as u64).to_be_bytes());
    mac.update(&(ct.len() as u64).to_be_bytes());
    mac.update(&(tag_len as u64).to_be_bytes());
    mac.update(nonce);
    mac.update(aad[0]);
    mac.update(aad[1]);
    mac.update(ct);
    key.finish(mac, out);
    true
}

/// A KID's key derived for a frame, not installed: [`UnprovenKey::authenticates`] checks a
/// frame's tag without changing anything. Zeroized on drop; `Debug` shows only the KID.
pub(crate) struct UnprovenKey {
    kid: u64,
    suite: CipherSuite,
    key: [u8; MAX_KEY_LEN],
    salt: [u8; NONCE_LEN],
}

impl Drop for UnprovenKey {
    fn drop(&mut self) {
        wipe(&mut self.key);
        wipe(&mut self.salt);
    }
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

    /// `sframe_key`: the suite's `Nk` bytes.
    pub(crate) fn key(&self) -> &[u8] {
        self.key.get(..self.suite.key_len()).unwrap_or_default()
    }

    /// `sframe_salt`.
    pub(crate) fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// `(sframe_key, sframe_salt)`; the key is `suite.key_len()` bytes of the first.
    #[cfg(test)]
    fn key_and_salt(&self) -> (&[u8; MAX_KEY_LEN], &[u8; NONCE_LEN]) {
        (&self.key, &self.salt)
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
        let suite = self.suite;
        let tag_len = suite.tag_len();
        let Some((header, body)) = frame.split_at_checked(header_len) else {
            return false;
        };
        let Some((ct, tag)) = body
            .len()
            .checked_sub(tag_len)
            .and_then(|n| body.split_at_checked(n))
        else {
            return false;
        };
        let Some(key) = self.key.get(..suite.key_len()) else {
            return false;
        };
        let mut nonce = nonce(&self.salt, ctr);
        // The expected tag, untruncated (GCM's 16 bytes, or the whole HMAC).
        let mut expected = [0u8; MAX_HASH_LEN];
        let computed = match suite.enc_key_len() {
            None => {
                let aad: &[u8] = if metadata.is_empty() {
                    header
                } else {
                    scratch.clear();
                    scratch.extend_from_slice(header);
                    scratch.extend_from_slice(metadata);
                    scratch
                };
                match expected.first_chunk_mut::<MAX_TAG_LEN>() {
                    Some(out) if key.len() == 16 => gcm_tag::<Aes128>(key, &nonce, aad, ct, out),
                    Some(out) => gcm_tag::<Aes256>(key, &nonce, aad, ct, out),
                    None => false,
                }
            }
            Some(enc) => {
                let auth = key.get(enc..).unwrap_or_default();
                let aad = [header, metadata];
                match suite.hash_len() {
                    32 => hmac_tag::<Sha256>(auth, tag_len, &nonce[..], aad, ct, &mut expected),
                    _ => hmac_tag::<Sha512>(auth, tag_len, &nonce[..], aad, ct, &mut expected),
                }
            }
        };
        // Both sides as 16 bytes, zero beyond the tag (all tags are at most 16 bytes),
        // compared in constant time.
        let mut got = [0u8; MAX_TAG_LEN];
        let mut want = [0u8; MAX_TAG_LEN];
        let fits = match (got.get_mut(..tag.len()), want.get_mut(..tag.len())) {
            (Some(g), Some(w)) => {
                g.copy_from_slice(tag);
                w.copy_from_slice(expected.get(..tag.len()).unwrap_or_default());
                true
            }
            _ => false,
        };
        // Two 64-bit halves: `subtle` compares `u128` only with its `i128` feature, which
        // the wasm build does not have.
        let half = |b: &[u8; MAX_TAG_LEN], i: usize| {
            let mut h = [0u8; 8];
            h.copy_from_slice(b.get(i * 8..i * 8 + 8).unwrap_or(&[0; 8]));
            u64::from_ne_bytes(h)
        };
        let same = half(&got, 0).ct_eq(&half(&want, 0)) & half(&got, 1).ct_eq(&half(&want, 1));
        let good = computed && fits && bool::from(same);
        wipe(&mut expected);
        wipe(&mut want);
        wipe(&mut nonce);
        good
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
                    let derived = d.derive(suite, kid);
                    let (key, salt) = derived.key_and_salt();
                    assert_eq!(&key[..suite.key_len()], ks.key.expose(), "{suite:?} {kid}");
                    assert_eq!(&salt[..], ks.salt.expose(), "{suite:?} {kid}");
                }
            }
        }
    }

    /// Every split of messages around the block and padding boundaries.
    fn messages() -> impl Iterator<Item = Vec<u8>> {
        (0..=300usize).map(|len| (0..len).map(|i| (i * 7 + len) as u8).collect())
    }

    fn hash<H: Sha2>(msg: &[u8], split: usize) -> Vec<u8> {
        let mut h = Hasher::<H>::resume(H::IV, 0);
        let (a, b) = msg.split_at(split.min(msg.len()));
        h.update(a);
        h.update(b);
        let mut out = [0u8; MAX_HASH_LEN];
        h.finish(&mut out);
        out[..H::OUT_LEN].to_vec()
    }

    #[test]
    fn the_hashes_are_sha256_and_sha512() {
        use sha2::Digest;
        for msg in messages() {
            for split in [0, 1, 55, 64, 111, 128, 200] {
                assert_eq!(
                    hash::<Sha256>(&msg, split),
                    sha2::Sha256::digest(&msg).to_vec(),
                    "{} {split}",
                    msg.len()
                );
                assert_eq!(
                    hash::<Sha512>(&msg, split),
                    sha2::Sha512::digest(&msg).to_vec(),
                    "{} {split}",
                    msg.len()
                );
            }
        }
    }

    fn mac<H: Sha2>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let key = HmacKey::<H>::new(key).unwrap();
        let mut m = key.start();
        for chunk in msg.chunks(37) {
            m.update(chunk);
        }
        let mut out = [0u8; MAX_HASH_LEN];
        key.finish(m, &mut out);
        out[..H::OUT_LEN].to_vec()
    }

    #[test]
    fn the_macs_are_hmac() {
        for key_len in [0, 1, 32, 64, 128] {
            let key: Vec<u8> = (0..key_len).map(|i| i as u8 ^ 0xa5).collect();
            for msg in messages() {
                if key_len <= 64 {
                    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
                    m.update(&msg);
                    assert_eq!(
                        mac::<Sha256>(&key, &msg),
                        m.finalize().into_bytes().to_vec()
                    );
                }
                let mut m = <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(&key).unwrap();
                m.update(&msg);
                assert_eq!(
                    mac::<Sha512>(&key, &msg),
                    m.finalize().into_bytes().to_vec()
                );
            }
        }
        // The one-shot MAC of the expands, split into parts at every place, up to where it
        // declines (then the streaming one is used).
        let key = [0x5cu8; 64];
        let mut scratch = [0u8; MAX_BLOCK_LEN];
        for msg in messages() {
            for at in [0, msg.len() / 3, msg.len()] {
                let (a, b) = msg.split_at(at);
                let mut out = [0u8; MAX_HASH_LEN];
                let short = HmacKey::<Sha256>::new(&key[..32]).unwrap();
                if short.mac_short(&[a, b], &mut scratch, &mut out) {
                    assert_eq!(
                        out[..32],
                        mac::<Sha256>(&key[..32], &msg)[..],
                        "{}",
                        msg.len()
                    );
                } else {
                    assert!(msg.len() > 128 - 9, "{}", msg.len());
                }
                let short = HmacKey::<Sha512>::new(&key).unwrap();
                if short.mac_short(&[a, b], &mut scratch, &mut out) {
                    assert_eq!(out[..], mac::<Sha512>(&key, &msg)[..], "{}", msg.len());
                } else {
                    assert!(msg.len() > 128 - 17, "{}", msg.len());
                }
            }
        }
        assert!(HmacKey::<Sha256>::new(&[0; 65]).is_none());
        assert!(HmacKey::<Sha512>::new(&[0; 129]).is_none());
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
                let frames = [0usize, 7, 16, 17, 100, 1200].map(|n| vec![0x42u8; n]);
                let metadatas = [&b""[..], b"metadata", &[1u8; 70]];
                for (plain, metadata) in frames.iter().flat_map(|f| metadatas.map(|m| (f, m))) {
                    let mut frame = plain.clone();
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
                    // Another counter (nonce), a changed ciphertext byte, a changed tag byte.
                    assert!(!key.authenticates(
                        header.ctr + 1,
                        header_len,
                        metadata,
                        &frame,
                        &mut scratch
                    ));
                    if frame.len() > header_len + suite.tag_len() {
                        frame[header_len] ^= 0x80;
                        assert!(!key.authenticates(
                            header.ctr,
                            header_len,
                            metadata,
                            &frame,
                            &mut scratch
                        ));
                        frame[header_len] ^= 0x80;
                    }
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
