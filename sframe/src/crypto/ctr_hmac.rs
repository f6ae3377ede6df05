//! RFC 9605 section 4.5.1: an AEAD from AES-CTR and a truncated HMAC.
//!
//! ```text
//! enc_key, auth_key = key[..Nka], key[Nka..]
//! ct  = AES-CTR(enc_key, nonce || 0x00000000, pt)
//! tag = HMAC(auth_key, len(aad) || len(ct) || Nt || nonce || aad || ct)[..Nt]   (lengths: u64 BE)
//! ```
//!
//! Decryption checks the tag (constant time) before it decrypts anything.

use subtle::ConstantTimeEq;

use super::AeadKey;
use crate::Error;
use crate::suite::MAX_HASH_LEN;

/// AES-CTR with an expanded key.
pub(crate) trait CtrCipher: Send + Sync {
    /// XORs the keystream starting at counter block `iv` into `data`.
    fn apply(&self, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error>;
}

/// HMAC with its inner and outer pads computed once.
pub(crate) trait MacKey: Send + Sync {
    /// A running HMAC computation.
    type Running: MacRunning;
    /// Starts an HMAC computation (a copy of the precomputed state).
    fn start(&self) -> Self::Running;
}

/// A running HMAC computation.
pub(crate) trait MacRunning {
    fn update(&mut self, data: &[u8]);
    /// Writes the full HMAC output into `out`, returning its length.
    fn finish(self, out: &mut [u8; MAX_HASH_LEN]) -> usize;
}

/// The section 4.5.1 AEAD over a CTR cipher and a MAC.
pub(crate) struct CtrHmac<C, M> {
    ctr: C,
    mac: M,
    tag_len: usize,
}

impl<C: CtrCipher, M: MacKey> CtrHmac<C, M> {
    pub(crate) fn new(ctr: C, mac: M, tag_len: usize) -> Self {
        Self { ctr, mac, tag_len }
    }

    fn tag(&self, nonce: &[u8; 12], aad: &[u8], ct: &[u8], out: &mut [u8; MAX_HASH_LEN]) {
        let mut mac = self.mac.start();
        let mut lengths = [0u8; 24];
        let (aad_len, rest) = lengths.split_at_mut(8);
        let (ct_len, tag_len) = rest.split_at_mut(8);
        aad_len.copy_from_slice(&(aad.len() as u64).to_be_bytes());
        ct_len.copy_from_slice(&(ct.len() as u64).to_be_bytes());
        tag_len.copy_from_slice(&(self.tag_len as u64).to_be_bytes());
        mac.update(&lengths);
        mac.update(nonce);
        mac.update(aad);
        mac.update(ct);
        mac.finish(out);
    }

    fn split<'a>(&self, buf: &'a mut [u8]) -> Result<(&'a mut [u8], &'a mut [u8]), Error> {
        let text_len = buf
            .len()
            .checked_sub(self.tag_len)
            .ok_or(Error::BufferTooSmall {
                needed: self.tag_len,
                available: buf.len(),
            })?;
        Ok(buf.split_at_mut(text_len))
    }
}

fn counter_block(nonce: &[u8; 12]) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..12].copy_from_slice(nonce);
    iv
}

impl<C: CtrCipher, M: MacKey> AeadKey for CtrHmac<C, M> {
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        let (text, tag_out) = self.split(buf)?;
        self.ctr.apply(&counter_block(nonce), text)?;
        let mut full = [0u8; MAX_HASH_LEN];
        self.tag(nonce, aad, text, &mut full);
        tag_out.copy_from_slice(full.get(..self.tag_len).ok_or(Error::Crypto)?);
        Ok(())
    }

    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        let (text, tag_in) = self.split(buf)?;
        let mut full = [0u8; MAX_HASH_LEN];
        self.tag(nonce, aad, text, &mut full);
        let expected = full.get(..self.tag_len).ok_or(Error::Crypto)?;
        if !bool::from(expected.ct_eq(tag_in)) {
            return Err(Error::AuthenticationFailed);
        }
        self.ctr.apply(&counter_block(nonce), text)
    }
}
