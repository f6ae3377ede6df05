//! The sending side: per-KID keys and counters.

use std::collections::HashMap;
use std::ops::Range;

use crate::buffer::FrameBuffer;
use crate::crypto::Backend;
use crate::header::{Header, KidPart, MAX_HEADER_LEN, copy_prefix};
use crate::key::{FrameKey, MAX_FRAME_PLAINTEXT, Secret, ratchet_base_key};
use crate::ratchet::RatchetKid;
use crate::{CipherSuite, Error};

/// Encrypts frames under one or more KIDs, each with its own counter.
///
/// A counter never repeats under a KID: each frame takes the next value, exhausting `u64` is
/// [`Error::CounterExhausted`] (never a wrap), and a KID that is removed and installed again
/// resumes after the last counter it used, whatever starting counter is asked for (see
/// [`Sender::add_key_with_counter`]).
#[derive(Debug)]
pub struct Sender {
    suite: CipherSuite,
    backend: Backend,
    keys: Vec<SendKey>,
    /// The next unused counter of every KID that was removed (`None`: all were used).
    retired: HashMap<u64, Option<u64>>,
    /// Scratch for `header || metadata`, reused frame after frame.
    aad: Vec<u8>,
}

#[derive(Debug)]
struct SendKey {
    kid: u64,
    /// The header bits the KID fixes, computed once.
    kid_part: KidPart,
    key: FrameKey,
    /// The next counter to use; `None` once `u64::MAX` has been used.
    next_ctr: Option<u64>,
    /// Set for keys that ratchet (RFC 9605 section 5.1).
    ratchet: Option<SendRatchet>,
}

#[derive(Debug)]
struct SendRatchet {
    at: RatchetKid,
    base_key: Secret,
}

impl Sender {
    /// A sender for `suite` on the default backend.
    pub fn new(suite: CipherSuite) -> Self {
        Self::with_backend(suite, Backend::default())
    }

    /// A sender for `suite` on `backend`.
    pub fn with_backend(suite: CipherSuite, backend: Backend) -> Self {
        Self {
            suite,
            backend,
            keys: Vec::new(),
            retired: HashMap::new(),
            aad: Vec::new(),
        }
    }

    /// The cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Installs `base_key` under `kid`, its counter starting at 0 (or where the KID's last
    /// use stopped). The key schedule runs now, once.
    ///
    /// # Errors
    /// [`Error::KidInUse`] if `kid` already has a key; [`Error::EmptyBaseKey`].
    pub fn add_key(&mut self, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        self.add_key_with_counter(kid, base_key, self.first_unused(kid))
    }

    /// Installs `base_key` under `kid` with its first counter `first_ctr`.
    ///
    /// # Errors
    /// [`Error::CounterReuse`] if this sender already used counters at or above `first_ctr`
    /// under `kid`; [`Error::KidInUse`]; [`Error::EmptyBaseKey`].
    pub fn add_key_with_counter(
        &mut self,
        kid: u64,
        base_key: &[u8],
        first_ctr: u64,
    ) -> Result<(), Error> {
        self.install(kid, base_key, first_ctr, None)
    }

    fn install(
        &mut self,
        kid: u64,
        base_key: &[u8],
        first_ctr: u64,
        ratchet: Option<SendRatchet>,
    ) -> Result<(), Error> {
        if self.keys.iter().any(|k| k.kid == kid) {
            return Err(Error::KidInUse(kid));
        }
        match self.retired.get(&kid) {
            Some(None) => return Err(Error::CounterExhausted { kid }),
            Some(&Some(next_unused)) if first_ctr < next_unused => {
                return Err(Error::CounterReuse { kid, next_unused });
            }
            _ => {}
        }
        let key = FrameKey::new(self.backend, self.suite, kid, base_key)?;
        self.keys.push(SendKey {
            kid,
            kid_part: KidPart::new(kid),
            key,
            next_ctr: Some(first_ctr),
            ratchet,
        });
        Ok(())
    }

    /// Installs a ratcheting key (RFC 9605 section 5.1): `r_bits` low bits of the KID count
    /// ratchet steps, the bits above are `generation`. The first KID is `generation << r_bits`,
    /// returned.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `r_bits` is 0 or leaves no room for `generation`.
    pub fn add_ratcheting_key(
        &mut self,
        generation: u64,
        r_bits: u8,
        base_key: &[u8],
    ) -> Result<u64, Error> {
        let at = RatchetKid::new(generation, r_bits, 0)?;
        let kid = at.kid();
        let ratchet = SendRatchet {
            at,
            base_key: Secret::new(base_key)?,
        };
        self.install(kid, base_key, self.first_unused(kid), Some(ratchet))?;
        Ok(kid)
    }

    /// Ratchets the key installed under `kid` one step forward: derives the next base key,
    /// installs it under the next KID (its counter from 0, or where an earlier use of that KID
    /// stopped) and removes (zeroizes) the old one. Returns the new KID.
    ///
    /// All or nothing: every check and the derivation run first; on error the sender is
    /// exactly as it was and `kid` still encrypts.
    ///
    /// # Errors
    /// [`Error::NoSendKey`] if `kid` has no key or is not a ratcheting key;
    /// [`Error::KidInUse`] if the next step's KID already has a key;
    /// [`Error::CounterExhausted`] if the next step's KID used up its counters before.
    pub fn ratchet(&mut self, kid: u64) -> Result<u64, Error> {
        let idx = self.index(kid)?;
        let Some(ratchet) = self.keys.get(idx).and_then(|k| k.ratchet.as_ref()) else {
            return Err(Error::NoSendKey(kid));
        };
        let next_at = ratchet.at.next();
        let next_kid = next_at.kid();
        // Check: everything that can fail happens before the old key is touched.
        if self.keys.iter().any(|k| k.kid == next_kid) {
            return Err(Error::KidInUse(next_kid));
        }
        if self.retired.get(&next_kid) == Some(&None) {
            return Err(Error::CounterExhausted { kid: next_kid });
        }
        let next_base = ratchet_base_key(self.backend, self.suite, ratchet.base_key.expose())?;
        // R >= 1, so the next KID is never `kid`; after a wrap of the step bits it may have
        // been used before, and then resumes after its last counter.
        let start = self.first_unused(next_kid);
        let key = FrameKey::new(self.backend, self.suite, next_kid, next_base.expose())?;
        // Commit: nothing below can fail.
        self.remove_key(kid);
        self.keys.push(SendKey {
            kid: next_kid,
            kid_part: KidPart::new(next_kid),
            key,
            next_ctr: Some(start),
            ratchet: Some(SendRatchet {
                at: next_at,
                base_key: next_base,
            }),
        });
        Ok(next_kid)
    }

    /// Removes the key for `kid`, zeroizing it. Returns whether there was one. Its counter is
    /// remembered so that installing the KID again cannot repeat a nonce.
    pub fn remove_key(&mut self, kid: u64) -> bool {
        let Ok(idx) = self.index(kid) else {
            return false;
        };
        let key = self.keys.swap_remove(idx);
        // The key's counter only grew from the retired value it started at, if any.
        self.retired.insert(kid, key.next_ctr);
        true
    }

    /// The first counter a new key under `kid` may use (0 for a KID never used).
    fn first_unused(&self, kid: u64) -> u64 {
        match self.retired.get(&kid) {
            None => 0,
            Some(next) => next.unwrap_or(u64::MAX),
        }
    }

    /// The KIDs with a key installed.
    pub fn kids(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.iter().map(|k| k.kid)
    }

    /// The counter the next frame under `kid` will carry.
    ///
    /// # Errors
    /// [`Error::NoSendKey`]; [`Error::CounterExhausted`].
    pub fn next_counter(&self, kid: u64) -> Result<u64, Error> {
        let key = self
            .keys
            .get(self.index(kid)?)
            .ok_or(Error::NoSendKey(kid))?;
        key.next_ctr.ok_or(Error::CounterExhausted { kid })
    }

    /// Skips the counter of `kid` forward to `ctr` (never back: a counter already at or past
    /// it stays); returns the counter the next frame will carry. Counters never repeat either
    /// way. See [`counter_with_config_bit`](crate::counter_with_config_bit) for a use.
    ///
    /// # Errors
    /// [`Error::NoSendKey`]; [`Error::CounterExhausted`].
    pub fn skip_counter_to(&mut self, kid: u64, ctr: u64) -> Result<u64, Error> {
        let i = self.index(kid)?;
        let key = self.keys.get_mut(i).ok_or(Error::NoSendKey(kid))?;
        let next = key.next_ctr.ok_or(Error::CounterExhausted { kid })?;
        let next = next.max(ctr);
        key.next_ctr = Some(next);
        Ok(next)
    }

    /// The length of the header of the next frame under `kid`.
    ///
    /// # Errors
    /// As [`Sender::next_counter`].
    pub fn header_len(&self, kid: u64) -> Result<usize, Error> {
        Ok(Header::new(kid, self.next_counter(kid)?).len())
    }

    /// The length of the next frame under `kid` for `plain_len` bytes of plaintext: header,
    /// ciphertext and tag.
    ///
    /// # Errors
    /// As [`Sender::next_counter`].
    pub fn encrypted_len(&self, kid: u64, plain_len: usize) -> Result<usize, Error> {
        Ok(self.header_len(kid)? + plain_len + self.suite.tag_len())
    }

    /// The most a frame can grow by under this suite: [`MAX_HEADER_LEN`] plus the tag.
    pub fn max_overhead(&self) -> usize {
        MAX_HEADER_LEN + self.suite.tag_len()
    }

    fn index(&self, kid: u64) -> Result<usize, Error> {
        self.keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or(Error::NoSendKey(kid))
    }

    /// Encrypts in place without moving the plaintext.
    ///
    /// `buf[plaintext]` holds the plaintext. The header is written in the bytes just before it
    /// and the tag just after, and the frame (`header || ciphertext || tag`) is returned as a
    /// sub-slice of `buf`. So `plaintext.start` must be at least [`Sender::header_len`] and
    /// `buf` must have the tag's length after `plaintext.end`; reserving
    /// [`MAX_HEADER_LEN`] in front always suffices. To have the frame start at `buf[0]`, put
    /// the plaintext at exactly `header_len(kid)`.
    ///
    /// `metadata` is authenticated, not encrypted, and not part of the frame (RFC 9605
    /// section 4.4.3); the receiver must supply the same bytes.
    ///
    /// # Errors
    /// [`Error::NoSendKey`], [`Error::CounterExhausted`], [`Error::BufferTooSmall`],
    /// [`Error::FrameTooLarge`]. On error nothing is written and no counter is used.
    pub fn encrypt_in_place<'a>(
        &mut self,
        kid: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Error> {
        let idx = self.index(kid)?;
        let Self {
            keys, aad, suite, ..
        } = self;
        let key = keys.get_mut(idx).ok_or(Error::NoSendKey(kid))?;
        let ctr = key.next_ctr.ok_or(Error::CounterExhausted { kid })?;
        let (header, header_len) = key.kid_part.block(ctr);
        let tag_len = suite.tag_len();
        if plaintext.start > plaintext.end {
            return Err(Error::InvalidConfig("plaintext range is reversed"));
        }
        if (plaintext.end - plaintext.start) as u64 > MAX_FRAME_PLAINTEXT {
            return Err(Error::FrameTooLarge);
        }
        let start = plaintext
            .start
            .checked_sub(header_len)
            .ok_or(Error::BufferTooSmall {
                needed: header_len,
                available: plaintext.start,
            })?;
        let end = plaintext
            .end
            .checked_add(tag_len)
            .ok_or(Error::FrameTooLarge)?;
        let available = buf.len();
        let frame = buf.get_mut(start..end).ok_or(Error::BufferTooSmall {
            needed: end,
            available,
        })?;
        if frame.len() < header_len {
            return Err(Error::BufferTooSmall {
                needed: header_len,
                available: frame.len(),
            });
        }
        copy_prefix(frame, &header, header_len);
        key.key.seal(ctr, header_len, metadata, frame, aad)?;
        key.next_ctr = ctr.checked_add(1);
        Ok(frame)
    }

    /// Encrypts the plaintext that fills `buf`, leaving `header || ciphertext || tag` in it.
    /// Works for [`Vec<u8>`] and [`bytes::BytesMut`]; moves the plaintext up by the header
    /// length (see [`Sender::encrypt_in_place`] to avoid that).
    ///
    /// # Errors
    /// As [`Sender::encrypt_in_place`]; on error `buf` is unchanged.
    pub fn encrypt<B: FrameBuffer>(
        &mut self,
        kid: u64,
        metadata: &[u8],
        buf: &mut B,
    ) -> Result<(), Error> {
        let header_len = self.header_len(kid)?;
        let plain_len = buf.bytes_mut().len();
        if plain_len as u64 > MAX_FRAME_PLAINTEXT {
            return Err(Error::FrameTooLarge);
        }
        buf.grow(header_len, self.suite.tag_len());
        let range = header_len..header_len + plain_len;
        if let Err(e) = self.encrypt_in_place(kid, metadata, buf.bytes_mut(), range) {
            // Cannot happen after the checks above, but leave the buffer as it came.
            buf.keep(header_len, header_len + plain_len);
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

    fn encrypt_one(sender: &mut Sender, kid: u64) -> Result<Vec<u8>, Error> {
        let mut frame = b"frame".to_vec();
        sender.encrypt(kid, &[], &mut frame)?;
        Ok(frame)
    }

    fn ctr_of(frame: &[u8]) -> u64 {
        Header::parse(frame).map(|(h, _)| h.ctr).unwrap_or(u64::MAX)
    }

    #[test]
    fn counters_count_up_and_run_out_without_wrapping() {
        let mut s = Sender::new(SUITE);
        s.add_key_with_counter(1, b"key", u64::MAX - 1).unwrap();
        assert_eq!(ctr_of(&encrypt_one(&mut s, 1).unwrap()), u64::MAX - 1);
        assert_eq!(ctr_of(&encrypt_one(&mut s, 1).unwrap()), u64::MAX);
        assert_eq!(
            encrypt_one(&mut s, 1),
            Err(Error::CounterExhausted { kid: 1 })
        );
        // Still exhausted, and re-installing the KID cannot bring the counter back.
        assert_eq!(
            encrypt_one(&mut s, 1),
            Err(Error::CounterExhausted { kid: 1 })
        );
        assert!(s.remove_key(1));
        assert_eq!(
            s.add_key(1, b"key"),
            Err(Error::CounterExhausted { kid: 1 })
        );
    }

    #[test]
    fn a_reinstalled_kid_resumes_its_counter() {
        let mut s = Sender::new(SUITE);
        s.add_key_with_counter(9, b"key", 100).unwrap();
        for expected in 100..105 {
            assert_eq!(ctr_of(&encrypt_one(&mut s, 9).unwrap()), expected);
        }
        assert!(s.remove_key(9));
        assert_eq!(
            s.add_key_with_counter(9, b"key", 50),
            Err(Error::CounterReuse {
                kid: 9,
                next_unused: 105
            })
        );
        s.add_key(9, b"key").unwrap();
        assert_eq!(ctr_of(&encrypt_one(&mut s, 9).unwrap()), 105);
    }

    #[test]
    fn misuse_is_typed_and_changes_nothing() {
        let mut s = Sender::new(SUITE);
        assert_eq!(encrypt_one(&mut s, 3), Err(Error::NoSendKey(3)));
        assert_eq!(s.add_key(3, b""), Err(Error::EmptyBaseKey));
        s.add_key(3, b"key").unwrap();
        assert_eq!(s.add_key(3, b"key"), Err(Error::KidInUse(3)));
        // Too little room in front for the header, or behind for the tag.
        let mut buf = [0u8; 32];
        assert_eq!(
            s.encrypt_in_place(3, &[], &mut buf, 0..4).map(|f| f.len()),
            Err(Error::BufferTooSmall {
                needed: 1,
                available: 0
            })
        );
        assert_eq!(
            s.encrypt_in_place(3, &[], &mut buf, 1..20).map(|f| f.len()),
            Err(Error::BufferTooSmall {
                needed: 36,
                available: 32
            })
        );
        assert_eq!(
            s.next_counter(3),
            Ok(0),
            "a failed encrypt must not use a counter"
        );
        assert_eq!(s.encrypted_len(3, 10), Ok(1 + 10 + 16));
    }

    #[test]
    fn ratchet_moves_to_the_next_kid_and_forgets_the_old_one() {
        let mut s = Sender::new(SUITE);
        let kid0 = s.add_ratcheting_key(2, 3, b"key").unwrap();
        assert_eq!(kid0, 2 << 3);
        encrypt_one(&mut s, kid0).unwrap();
        let kid1 = s.ratchet(kid0).unwrap();
        assert_eq!(kid1, (2 << 3) | 1);
        assert_eq!(encrypt_one(&mut s, kid0), Err(Error::NoSendKey(kid0)));
        assert_eq!(ctr_of(&encrypt_one(&mut s, kid1).unwrap()), 0);
        assert_eq!(s.kids().collect::<Vec<_>>(), [kid1]);
        // A non-ratcheting key cannot ratchet.
        s.add_key(1, b"static").unwrap();
        assert_eq!(s.ratchet(1), Err(Error::NoSendKey(1)));
    }
}
