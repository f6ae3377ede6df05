//! The receiving side: the key store (KID -> key), replay windows and ratchet following.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use crate::buffer::FrameBuffer;
use crate::crypto::Backend;
use crate::header::Header;
use crate::key::{FrameKey, Secret, ratchet_base_key};
use crate::ratchet::{RatchetKid, RatchetPolicy};
use crate::replay::{ReplayCheck, ReplayWindow};
use crate::{CipherSuite, Error};

/// How a [`Receiver`] treats what arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// If set, each KID gets a replay window of this many counters and a frame whose counter
    /// was seen (or is older than the window) is [`Error::Replay`].
    pub replay_window: Option<u32>,
    /// How ratcheting senders are followed.
    pub ratchet: RatchetPolicy,
}

impl Default for ReceiverConfig {
    /// A replay window of 1024 counters and the default ratchet policy.
    fn default() -> Self {
        Self {
            replay_window: Some(1024),
            ratchet: RatchetPolicy::default(),
        }
    }
}

/// A cheap hasher for KIDs. KIDs in the map are only ever inserted by the application, so a
/// peer choosing KIDs cannot lengthen a chain; it can only miss.
#[derive(Default)]
struct KidHasher(u64);

impl Hasher for KidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, v: u64) {
        // Fibonacci hashing; the high bits (which hashbrown uses) mix in every input bit.
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type KidMap<V> = HashMap<u64, V, BuildHasherDefault<KidHasher>>;

#[derive(Debug)]
struct RecvKey {
    key: FrameKey,
    replay: Option<ReplayWindow>,
    /// The generation of the ratchet this key is a step of.
    ratchet: Option<u64>,
}

#[derive(Debug)]
struct RecvRatchet {
    at: RatchetKid,
    base_key: Secret,
    /// Previous steps still kept: their KID and the value of `frames` when they were retired.
    previous: VecDeque<(u64, u64)>,
    /// Frames authenticated under this ratchet's current steps.
    frames: u64,
}

/// Decrypts frames: holds a key per KID, optional replay windows, and ratchets.
///
/// Bad input never changes state: a frame that fails to parse or authenticate leaves the
/// receiver exactly as it was, and the next good frame decrypts.
#[derive(Debug)]
pub struct Receiver {
    suite: CipherSuite,
    backend: Backend,
    config: ReceiverConfig,
    keys: KidMap<RecvKey>,
    ratchets: Vec<RecvRatchet>,
    aad: Vec<u8>,
}

impl Receiver {
    /// A receiver for `suite` on the default backend with the default configuration.
    pub fn new(suite: CipherSuite) -> Self {
        Self::with_config(suite, Backend::default(), ReceiverConfig::default())
    }

    /// A receiver with an explicit backend and configuration.
    pub fn with_config(suite: CipherSuite, backend: Backend, config: ReceiverConfig) -> Self {
        Self {
            suite,
            backend,
            config,
            keys: KidMap::default(),
            ratchets: Vec::new(),
            aad: Vec::new(),
        }
    }

    /// The cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Installs `base_key` under `kid` (the key schedule runs now, once).
    ///
    /// # Errors
    /// [`Error::KidInUse`]; [`Error::EmptyBaseKey`].
    pub fn add_key(&mut self, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        self.insert(kid, base_key, None)
    }

    fn insert(&mut self, kid: u64, base_key: &[u8], ratchet: Option<u64>) -> Result<(), Error> {
        if self.keys.contains_key(&kid) {
            return Err(Error::KidInUse(kid));
        }
        let key = FrameKey::new(self.backend, self.suite, kid, base_key)?;
        let replay = self.config.replay_window.map(ReplayWindow::new);
        self.keys.insert(
            kid,
            RecvKey {
                key,
                replay,
                ratchet,
            },
        );
        Ok(())
    }

    /// Follows a ratcheting sender whose current position is `at`, with `base_key` the base
    /// key of that step.
    ///
    /// # Errors
    /// [`Error::KidInUse`] if the KID or generation is already followed.
    pub fn add_ratcheting_key(&mut self, at: RatchetKid, base_key: &[u8]) -> Result<(), Error> {
        if self
            .ratchets
            .iter()
            .any(|r| r.at.generation() == at.generation())
        {
            return Err(Error::KidInUse(at.kid()));
        }
        self.insert(at.kid(), base_key, Some(at.generation()))?;
        self.ratchets.push(RecvRatchet {
            at,
            base_key: Secret::new(base_key)?,
            previous: VecDeque::new(),
            frames: 0,
        });
        Ok(())
    }

    /// Removes the key for `kid`, zeroizing it; if it is a ratchet's current step, the whole
    /// ratchet goes (its previous steps too). Returns whether there was a key.
    pub fn remove_key(&mut self, kid: u64) -> bool {
        let Some(removed) = self.keys.remove(&kid) else {
            return false;
        };
        if let Some(generation) = removed.ratchet {
            if let Some(pos) = self
                .ratchets
                .iter()
                .position(|r| r.at.generation() == generation && r.at.kid() == kid)
            {
                let ratchet = self.ratchets.swap_remove(pos);
                for (old, _) in ratchet.previous {
                    self.keys.remove(&old);
                }
            }
        }
        true
    }

    /// Whether a key for `kid` is installed.
    pub fn has_key(&self, kid: u64) -> bool {
        self.keys.contains_key(&kid)
    }

    /// The number of keys installed (ratchet steps included).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Decrypts `frame` (`header || ciphertext || tag`) in place and returns the plaintext, a
    /// sub-slice of `frame`. `metadata` must be what the sender authenticated with it.
    ///
    /// # Errors
    /// Bad peer input: [`Error::MalformedHeader`], [`Error::TruncatedFrame`],
    /// [`Error::UnknownKid`] (carrying the KID), [`Error::AuthenticationFailed`],
    /// [`Error::Replay`], [`Error::RatchetOutOfWindow`]. On any error the receiver's state is
    /// unchanged; on authentication failure the frame's bytes are too (other than what the
    /// backend may have scribbled over the ciphertext).
    pub fn decrypt_in_place<'a>(
        &mut self,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let (header, header_len) = Header::parse(frame)?;
        let tag_len = self.suite.tag_len();
        let needed = header_len + tag_len;
        let available = frame.len();
        if available < needed {
            return Err(Error::TruncatedFrame { needed, available });
        }
        let Header { kid, ctr } = header;
        match self.keys.get_mut(&kid) {
            Some(entry) => {
                if let Some(window) = &entry.replay {
                    if window.check(ctr) != ReplayCheck::Fresh {
                        return Err(Error::Replay { kid, ctr });
                    }
                }
                entry
                    .key
                    .open(ctr, header_len, metadata, frame, &mut self.aad)?;
                if let Some(window) = &mut entry.replay {
                    window.accept(ctr);
                }
                if let Some(generation) = entry.ratchet {
                    self.count_ratchet_frame(generation, kid);
                }
            }
            None => self.ratchet_forward(header, header_len, metadata, frame)?,
        }
        Ok(frame
            .get_mut(header_len..available - tag_len)
            .unwrap_or(&mut []))
    }

    /// Decrypts the frame that fills `buf` and leaves only the plaintext in it (O(1) for
    /// [`bytes::BytesMut`]; a move for [`Vec<u8>`]).
    ///
    /// # Errors
    /// As [`Receiver::decrypt_in_place`].
    pub fn decrypt<B: FrameBuffer>(&mut self, metadata: &[u8], buf: &mut B) -> Result<(), Error> {
        let bytes = buf.bytes_mut();
        let total = bytes.len();
        let plain_len = self.decrypt_in_place(metadata, bytes)?.len();
        let start = total - plain_len - self.suite.tag_len();
        buf.keep(start, start + plain_len);
        Ok(())
    }

    /// A frame under a ratchet's current step authenticated: age its previous steps.
    fn count_ratchet_frame(&mut self, generation: u64, kid: u64) {
        let lifetime = self.config.ratchet.previous_lifetime_frames;
        let Some(ratchet) = self
            .ratchets
            .iter_mut()
            .find(|r| r.at.generation() == generation)
        else {
            return;
        };
        if ratchet.at.kid() != kid {
            return; // a late frame under a previous step
        }
        ratchet.frames = ratchet.frames.saturating_add(1);
        while let Some(&(old, retired_at)) = ratchet.previous.front() {
            if ratchet.frames - retired_at < lifetime {
                break;
            }
            ratchet.previous.pop_front();
            self.keys.remove(&old);
        }
    }

    /// The KID is not installed: if it names a later step of a followed ratchet (within the
    /// window), derive that step and try it; move the ratchet only if the frame authenticates.
    fn ratchet_forward(
        &mut self,
        header: Header,
        header_len: usize,
        metadata: &[u8],
        frame: &mut [u8],
    ) -> Result<(), Error> {
        let Header { kid, ctr } = header;
        let policy = self.config.ratchet;
        let Some(idx) = self.ratchets.iter().position(|r| r.at.owns(kid)) else {
            return Err(Error::UnknownKid(kid));
        };
        let Some(ratchet) = self.ratchets.get(idx) else {
            return Err(Error::UnknownKid(kid));
        };
        let steps = ratchet.at.steps_to(kid);
        // Half the step space counts as "ahead", the rest as "behind" (long deleted).
        let half = 1u64 << (ratchet.at.r_bits() - 1);
        if steps == 0 || steps > u64::from(policy.max_forward).min(half) {
            return Err(Error::RatchetOutOfWindow { kid });
        }
        let mut at = ratchet.at;
        let mut base = ratchet.base_key.clone();
        for _ in 0..steps {
            base = ratchet_base_key(self.backend, self.suite, base.expose())?;
            at = at.next();
        }
        let key = FrameKey::new(self.backend, self.suite, kid, base.expose())?;
        key.open(ctr, header_len, metadata, frame, &mut self.aad)?;

        // Authenticated: commit.
        let mut replay = self.config.replay_window.map(ReplayWindow::new);
        if let Some(window) = &mut replay {
            window.accept(ctr);
        }
        let generation = at.generation();
        self.keys.insert(
            kid,
            RecvKey {
                key,
                replay,
                ratchet: Some(generation),
            },
        );
        let Some(ratchet) = self.ratchets.get_mut(idx) else {
            return Ok(());
        };
        let old_kid = ratchet.at.kid();
        ratchet.at = at;
        ratchet.base_key = base;
        ratchet.frames = ratchet.frames.saturating_add(1);
        ratchet.previous.push_back((old_kid, ratchet.frames));
        while ratchet.previous.len() > policy.keep_previous {
            if let Some((old, _)) = ratchet.previous.pop_front() {
                self.keys.remove(&old);
            }
        }
        Ok(())
    }
}
