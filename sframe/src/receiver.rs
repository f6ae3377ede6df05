//! The receiving side: the key store (KID -> key), replay windows and ratchet following.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use crate::buffer::FrameBuffer;
use crate::crypto::Backend;
use crate::header::Header;
use crate::key::{FrameKey, KidKey, Secret, ratchet_base_key};
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

/// How many removed KIDs a [`Receiver`] remembers the replay window of (the most recently
/// removed ones; see [`Receiver::remove_key`]). With the default 1024-counter window that is
/// at most 64 x 144 bytes, about 9 KiB, per receiver.
pub const REMEMBERED_KIDS: usize = 64;

/// The keys by KID: a slab of entries, a map from KID to slot, and the slot of the last KID
/// looked up (consecutive frames nearly always share a KID, so most lookups skip the hash).
/// Also the replay windows of the [`REMEMBERED_KIDS`] KIDs removed last.
#[derive(Debug, Default)]
struct KeyStore {
    slots: Vec<(u64, RecvKey)>,
    index: KidMap<usize>,
    last: Option<(u64, usize)>,
    /// Replay windows of removed KIDs that had authenticated a frame, oldest first.
    removed: VecDeque<(u64, ReplayWindow)>,
}

impl KeyStore {
    #[inline]
    fn get_mut(&mut self, kid: u64) -> Option<&mut RecvKey> {
        let slot = match self.last {
            Some((last, slot)) if last == kid => slot,
            _ => {
                let slot = *self.index.get(&kid)?;
                self.last = Some((kid, slot));
                slot
            }
        };
        self.slots.get_mut(slot).map(|(_, key)| key)
    }

    fn contains_key(&self, kid: &u64) -> bool {
        self.index.contains_key(kid)
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    /// Inserts or replaces the key for `kid`.
    fn insert(&mut self, kid: u64, key: RecvKey) {
        match self.index.get(&kid) {
            Some(&slot) => {
                if let Some(entry) = self.slots.get_mut(slot) {
                    entry.1 = key;
                }
            }
            None => {
                self.index.insert(kid, self.slots.len());
                self.slots.push((kid, key));
            }
        }
    }

    /// Removes the key of `kid` (zeroizing it) and remembers its replay window if it ever
    /// accepted a counter.
    fn remove(&mut self, kid: &u64) -> Option<RecvKey> {
        let slot = self.index.remove(kid)?;
        self.last = None;
        if slot >= self.slots.len() {
            return None;
        }
        let (_, mut key) = self.slots.swap_remove(slot);
        // The entry that was last now sits in `slot`.
        if let Some(&(moved, _)) = self.slots.get(slot) {
            self.index.insert(moved, slot);
        }
        if let Some(window) = key.replay.take()
            && window.highest().is_some()
        {
            self.forget(*kid);
            if self.removed.len() >= REMEMBERED_KIDS {
                self.removed.pop_front();
            }
            self.removed.push_back((*kid, window));
        }
        Some(key)
    }

    /// Takes the remembered replay window of `kid`, if any.
    fn take_remembered(&mut self, kid: u64) -> Option<ReplayWindow> {
        let pos = self.removed.iter().position(|(k, _)| *k == kid)?;
        self.removed.remove(pos).map(|(_, w)| w)
    }

    /// The remembered replay window of `kid`, if any.
    fn remembered(&self, kid: u64) -> Option<&ReplayWindow> {
        self.removed.iter().find(|(k, _)| *k == kid).map(|(_, w)| w)
    }

    /// Drops the remembered replay window of `kid`; returns whether there was one.
    fn forget(&mut self, kid: u64) -> bool {
        self.take_remembered(kid).is_some()
    }
}

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
    /// Steps after the current one already derived (in order, at most `max_forward`): a frame
    /// that names one of them, forged or not, costs an AEAD attempt, not a key derivation.
    ahead: VecDeque<Step>,
}

/// A derived ratchet step: its position, base key and expanded frame key.
#[derive(Debug)]
struct Step {
    at: RatchetKid,
    base_key: Secret,
    key: FrameKey,
}

/// Decrypts frames: holds a key per KID, optional replay windows, and ratchets.
///
/// # Peer input
/// Bad input never changes state: a frame that fails to parse, is a replay, names an unknown
/// KID or fails to authenticate leaves the receiver exactly as it was (nothing allocated,
/// nothing kept), and the next good frame decrypts. It costs at most one AEAD attempt over the
/// frame, like a genuine frame, with one exception that is bounded: a forged KID up to
/// [`RatchetPolicy::max_forward`] steps ahead of a followed ratchet makes the receiver derive
/// those steps once (they are kept, so naming them again costs one AEAD attempt).
///
/// # Bounds
/// Memory is what the application installed: one key (and replay window) per KID added,
/// per ratchet at most `max_forward` steps derived ahead and `keep_previous` steps behind, and
/// the replay windows of the [`REMEMBERED_KIDS`] KIDs removed last. A peer cannot add to it.
///
/// # Replay protection across re-installs
/// A KID's counters form one sequence for the life of the receiver, as they do for a
/// [`Sender`](crate::Sender), which resumes a re-installed KID after the last counter it used:
/// removing a KID keeps its replay window (for the [`REMEMBERED_KIDS`] KIDs removed last), and
/// adding it again restores that window, so frames seen before the removal are still
/// [`Error::Replay`]. To install an unrelated key under a used KID, whose sender counts from 0
/// again, call [`Receiver::forget_kid`] first. Beyond the bound, the oldest removed KID's
/// window is forgotten: an application that re-installs long-removed KIDs with the same base
/// key must track that itself (or never reuse a base key under a KID, as MLS keying does not).
#[derive(Debug)]
pub struct Receiver {
    suite: CipherSuite,
    backend: Backend,
    config: ReceiverConfig,
    keys: KeyStore,
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
            keys: KeyStore::default(),
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
        let replay = self.fresh_window(kid);
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

    /// The replay window a key newly installed under `kid` starts with: the one remembered
    /// from its last removal, else an empty one (`None` without replay protection).
    fn fresh_window(&mut self, kid: u64) -> Option<ReplayWindow> {
        let size = self.config.replay_window?;
        Some(
            self.keys
                .take_remembered(kid)
                .unwrap_or_else(|| ReplayWindow::new(size)),
        )
    }

    /// Forgets the replay window remembered for a removed `kid` (see the type's docs), so that
    /// a key installed under it next starts with an empty window. Returns whether one was
    /// remembered. A KID that has a key installed is not affected.
    pub fn forget_kid(&mut self, kid: u64) -> bool {
        self.keys.forget(kid)
    }

    /// Follows a ratcheting sender whose current position is `at`, with `base_key` the base
    /// key of that step.
    ///
    /// # Errors
    /// [`Error::KidInUse`] if the KID or generation is already followed;
    /// [`Error::EmptyBaseKey`]; [`Error::InvalidKeyLength`] for a base key longer than
    /// [`MAX_SECRET_LEN`](crate::MAX_SECRET_LEN). On error nothing is installed.
    pub fn add_ratcheting_key(&mut self, at: RatchetKid, base_key: &[u8]) -> Result<(), Error> {
        if self
            .ratchets
            .iter()
            .any(|r| r.at.generation() == at.generation())
        {
            return Err(Error::KidInUse(at.kid()));
        }
        // Every fallible step before the first change.
        let base = Secret::new(base_key)?;
        self.insert(at.kid(), base_key, Some(at.generation()))?;
        self.ratchets.push(RecvRatchet {
            at,
            base_key: base,
            previous: VecDeque::new(),
            frames: 0,
            ahead: VecDeque::new(),
        });
        Ok(())
    }

    /// Removes the key for `kid`, zeroizing it; if it is a ratchet's current step, the whole
    /// ratchet goes (its previous steps too). Returns whether there was a key. The KID's replay
    /// window is remembered (see the type's docs).
    pub fn remove_key(&mut self, kid: u64) -> bool {
        let Some(removed) = self.keys.remove(&kid) else {
            return false;
        };
        if let Some(generation) = removed.ratchet
            && let Some(pos) = self
                .ratchets
                .iter()
                .position(|r| r.at.generation() == generation && r.at.kid() == kid)
        {
            let ratchet = self.ratchets.swap_remove(pos);
            for (old, _) in ratchet.previous {
                self.keys.remove(&old);
            }
        }
        true
    }

    /// Where the followed ratchet of `generation` stands (its current step), if there is one.
    pub fn ratchet_position(&self, generation: u64) -> Option<RatchetKid> {
        self.ratchets
            .iter()
            .find(|r| r.at.generation() == generation)
            .map(|r| r.at)
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
        self.decrypt_with_header(metadata, frame)
            .map(|(_, data)| data)
    }

    /// As [`Receiver::decrypt_in_place`], and returns the frame's header too (no second
    /// parse for a caller that needs the KID or counter).
    ///
    /// # Errors
    /// As [`Receiver::decrypt_in_place`].
    pub fn decrypt_with_header<'a>(
        &mut self,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<(Header, &'a mut [u8]), Error> {
        let (header, header_len) = Header::parse(frame)?;
        let tag_len = self.suite.tag_len();
        let needed = header_len + tag_len;
        let available = frame.len();
        if available < needed {
            return Err(Error::TruncatedFrame { needed, available });
        }
        let Header { kid, ctr } = header;
        match self.keys.get_mut(kid) {
            Some(entry) => {
                if let Some(window) = &entry.replay
                    && window.check(ctr) != ReplayCheck::Fresh
                {
                    return Err(Error::Replay { kid, ctr });
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
        Ok((
            header,
            frame
                .get_mut(header_len..available - tag_len)
                .unwrap_or(&mut []),
        ))
    }

    /// Installs a key derived with [`KidKeyDeriver`](crate::KidKeyDeriver) (the same key
    /// [`Receiver::add_key`] would install with the deriver's base key).
    ///
    /// # Errors
    /// [`Error::KidInUse`]; [`Error::InvalidConfig`] if the key is for another suite.
    pub fn add_kid_key(&mut self, key: KidKey) -> Result<(), Error> {
        let kid = key.kid();
        if self.keys.contains_key(&kid) {
            return Err(Error::KidInUse(kid));
        }
        if key.suite() != self.suite {
            return Err(Error::InvalidConfig("key derived for another cipher suite"));
        }
        let replay = self.fresh_window(kid);
        self.keys.insert(
            kid,
            RecvKey {
                key: key.key,
                replay,
                ratchet: None,
            },
        );
        Ok(())
    }

    /// Decrypts a frame whose KID may have no key installed yet, trying `candidate`, a key
    /// derived for that KID but not proven: the key is installed (taken out of `candidate`)
    /// only if the frame authenticates and its counter is not a replay (against the window
    /// remembered for the KID, if any). If the frame's KID has a key installed already, or
    /// `candidate` is `None`, this is [`Receiver::decrypt_in_place`].
    ///
    /// This is how a caller that derives keys on demand (a keyring deriving the key of any
    /// member's KID) keeps forged frames from leaving anything behind: on error the receiver is
    /// unchanged and `candidate` stays with the caller (to cache, so that a forger repeating a
    /// KID does not cost a derivation per frame).
    ///
    /// # Errors
    /// As [`Receiver::decrypt_in_place`]; [`Error::InvalidConfig`] if `candidate` is for
    /// another KID or suite.
    pub fn decrypt_with_new_key<'a>(
        &mut self,
        candidate: &mut Option<KidKey>,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let (header, header_len) = Header::parse(frame)?;
        let Header { kid, ctr } = header;
        let key = match candidate {
            Some(key) if !self.keys.contains_key(&kid) => key,
            _ => return self.decrypt_in_place(metadata, frame),
        };
        if key.kid() != kid || key.suite() != self.suite {
            return Err(Error::InvalidConfig(
                "candidate key is for another KID or suite",
            ));
        }
        let tag_len = self.suite.tag_len();
        let needed = header_len + tag_len;
        let available = frame.len();
        if available < needed {
            return Err(Error::TruncatedFrame { needed, available });
        }
        if self.config.replay_window.is_some()
            && let Some(window) = self.keys.remembered(kid)
            && window.check(ctr) != ReplayCheck::Fresh
        {
            return Err(Error::Replay { kid, ctr });
        }
        key.key
            .open(ctr, header_len, metadata, frame, &mut self.aad)?;
        // Authenticated: commit.
        if let Some(key) = candidate.take() {
            let mut replay = self.fresh_window(kid);
            if let Some(window) = &mut replay {
                window.accept(ctr);
            }
            self.keys.insert(
                kid,
                RecvKey {
                    key: key.key,
                    replay,
                    ratchet: None,
                },
            );
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
        let steps = usize::try_from(steps).map_err(|_| Error::RatchetOutOfWindow { kid })?;
        let (backend, suite) = (self.backend, self.suite);
        let Some(ratchet) = self.ratchets.get_mut(idx) else {
            return Err(Error::UnknownKid(kid));
        };
        // Derive (once) every step up to the one the frame names.
        while ratchet.ahead.len() < steps {
            let (prev_at, prev_base) = match ratchet.ahead.back() {
                Some(step) => (step.at, &step.base_key),
                None => (ratchet.at, &ratchet.base_key),
            };
            let at = prev_at.next();
            let base_key = ratchet_base_key(backend, suite, prev_base.expose())?;
            let key = FrameKey::new(backend, suite, at.kid(), base_key.expose())?;
            ratchet.ahead.push_back(Step { at, base_key, key });
        }
        let step = ratchet
            .ahead
            .get(steps - 1)
            .ok_or(Error::RatchetOutOfWindow { kid })?;
        step.key
            .open(ctr, header_len, metadata, frame, &mut self.aad)?;

        // Authenticated: commit. Steps skipped over are dropped (zeroized); later ones stay.
        for _ in 1..steps {
            ratchet.ahead.pop_front();
        }
        let Some(Step { at, base_key, key }) = ratchet.ahead.pop_front() else {
            return Err(Error::RatchetOutOfWindow { kid });
        };
        let old_kid = ratchet.at.kid();
        ratchet.at = at;
        ratchet.base_key = base_key;
        ratchet.frames = ratchet.frames.saturating_add(1);
        ratchet.previous.push_back((old_kid, ratchet.frames));
        // The step's key is new: a window remembered for an earlier use of this KID (the step
        // bits wrapped) belongs to another key and goes.
        self.keys.forget(kid);
        let mut replay = self.config.replay_window.map(ReplayWindow::new);
        if let Some(window) = &mut replay {
            window.accept(ctr);
        }
        self.keys.insert(
            kid,
            RecvKey {
                key,
                replay,
                ratchet: Some(at.generation()),
            },
        );
        while ratchet.previous.len() > policy.keep_previous {
            if let Some((old, _)) = ratchet.previous.pop_front() {
                self.keys.remove(&old);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sender;

    const SUITE: CipherSuite = CipherSuite::Aes128CtrHmacSha256_80;

    fn frame(sender: &mut Sender, kid: u64, text: &[u8]) -> Vec<u8> {
        let mut f = text.to_vec();
        sender.encrypt(kid, b"md", &mut f).unwrap();
        f
    }

    fn open(receiver: &mut Receiver, mut f: Vec<u8>) -> Result<Vec<u8>, Error> {
        receiver.decrypt_in_place(b"md", &mut f).map(|p| p.to_vec())
    }

    fn pair(kid: u64) -> (Sender, Receiver) {
        let mut s = Sender::new(SUITE);
        s.add_key(kid, b"base").unwrap();
        let mut r = Receiver::new(SUITE);
        r.add_key(kid, b"base").unwrap();
        (s, r)
    }

    #[test]
    fn unknown_kid_carries_the_kid() {
        let (mut s, mut r) = pair(1);
        s.add_key(77, b"other").unwrap();
        let f = frame(&mut s, 77, b"x");
        assert_eq!(open(&mut r, f.clone()), Err(Error::UnknownKid(77)));
        // The caller fetches the key and retries the same frame.
        r.add_key(77, b"other").unwrap();
        assert_eq!(open(&mut r, f), Ok(b"x".to_vec()));
    }

    #[test]
    fn replays_are_rejected_after_authentication_only() {
        let (mut s, mut r) = pair(1);
        let first = frame(&mut s, 1, b"one");
        let second = frame(&mut s, 1, b"two");
        // A forged copy of `second` (bad tag) must not mark counter 1 as seen.
        let mut forged = second.clone();
        if let Some(last) = forged.last_mut() {
            *last ^= 1;
        }
        assert_eq!(open(&mut r, forged), Err(Error::AuthenticationFailed));
        assert_eq!(open(&mut r, second.clone()), Ok(b"two".to_vec()));
        assert_eq!(
            open(&mut r, first.clone()),
            Ok(b"one".to_vec()),
            "reordered, inside window"
        );
        assert_eq!(open(&mut r, second), Err(Error::Replay { kid: 1, ctr: 1 }));
        assert_eq!(open(&mut r, first), Err(Error::Replay { kid: 1, ctr: 0 }));
    }

    #[test]
    fn truncated_and_malformed_frames_are_typed() {
        let (mut s, mut r) = pair(1);
        let good = frame(&mut s, 1, b"payload");
        assert_eq!(
            open(&mut r, good[..good.len() - 11].to_vec()),
            Err(Error::TruncatedFrame {
                needed: 11,
                available: good.len() - 11
            })
        );
        assert!(matches!(
            open(&mut r, vec![0xff, 1]),
            Err(Error::MalformedHeader(_))
        ));
        assert_eq!(open(&mut r, good), Ok(b"payload".to_vec()));
    }

    #[test]
    fn the_key_store_keeps_every_kid_reachable_across_removals() {
        let mut s = Sender::new(SUITE);
        let mut r = Receiver::new(SUITE);
        for kid in 0..6 {
            s.add_key(kid, format!("key {kid}").as_bytes()).unwrap();
            r.add_key(kid, format!("key {kid}").as_bytes()).unwrap();
        }
        // Warm the last-hit cache on KID 5, then remove KID 1 (KID 5 moves into its slot)
        // and KID 5's old slot no longer exists.
        open(&mut r, frame(&mut s, 5, b"five")).unwrap();
        assert!(r.remove_key(1));
        assert!(r.remove_key(0));
        assert_eq!(r.key_count(), 4);
        for kid in 2..6 {
            assert_eq!(
                open(&mut r, frame(&mut s, kid, b"x")),
                Ok(b"x".to_vec()),
                "KID {kid}"
            );
        }
        for kid in 0..2 {
            assert_eq!(
                open(&mut r, frame(&mut s, kid, b"x")),
                Err(Error::UnknownKid(kid))
            );
        }
        // Re-adding a removed KID works and does not disturb the others.
        r.add_key(1, b"key 1").unwrap();
        assert_eq!(open(&mut r, frame(&mut s, 1, b"one")), Ok(b"one".to_vec()));
        assert_eq!(
            open(&mut r, frame(&mut s, 5, b"five")),
            Ok(b"five".to_vec())
        );
    }

    #[test]
    fn keys_from_a_schedule_are_the_keys_add_key_installs() {
        for &backend in Backend::ALL {
            for suite in CipherSuite::ALL.iter().copied() {
                let mut s = Sender::with_backend(suite, backend);
                s.add_key(9, b"base").unwrap();
                let deriver = crate::key::KidKeyDeriver::new(backend, suite, b"base").unwrap();
                let schedule = crate::key::KeySchedule::derive(backend, suite, 9, b"base").unwrap();
                let (key, salt) = (schedule.key.expose(), schedule.salt.expose());
                let mut r = Receiver::with_config(suite, backend, ReceiverConfig::default());
                r.add_kid_key(deriver.key_from_schedule(9, key, salt).unwrap())
                    .unwrap();
                let mut f = b"x".to_vec();
                s.encrypt(9, b"md", &mut f).unwrap();
                assert_eq!(open(&mut r, f), Ok(b"x".to_vec()), "{suite:?}");
                // Bytes of the wrong length are refused.
                assert!(deriver.key_from_schedule(9, &key[1..], salt).is_err());
                assert!(deriver.key_from_schedule(9, key, &salt[1..]).is_err());
            }
        }
    }

    #[test]
    fn keys_from_a_deriver_are_the_keys_add_key_installs() {
        for &backend in Backend::ALL {
            for suite in CipherSuite::ALL.iter().copied() {
                let mut s = Sender::with_backend(suite, backend);
                s.add_key(9, b"base").unwrap();
                s.add_key(10, b"base").unwrap();
                let deriver = crate::key::KidKeyDeriver::new(backend, suite, b"base").unwrap();
                let mut r = Receiver::with_config(suite, backend, ReceiverConfig::default());
                // Through the candidate path...
                let mut f = b"x".to_vec();
                s.encrypt(9, b"md", &mut f).unwrap();
                let mut candidate = Some(deriver.derive(9).unwrap());
                let mut forged = f.clone();
                if let Some(last) = forged.last_mut() {
                    *last ^= 1;
                }
                assert_eq!(
                    r.decrypt_with_new_key(&mut candidate, b"md", &mut forged),
                    Err(Error::AuthenticationFailed)
                );
                assert!(candidate.is_some() && !r.has_key(9), "{suite:?}");
                assert_eq!(
                    r.decrypt_with_new_key(&mut candidate, b"md", &mut f)
                        .map(|p| p.to_vec()),
                    Ok(b"x".to_vec())
                );
                assert!(candidate.is_none() && r.has_key(9));
                // ...and installed directly.
                r.add_kid_key(deriver.derive(10).unwrap()).unwrap();
                let mut g = b"z".to_vec();
                s.encrypt(10, b"md", &mut g).unwrap();
                assert_eq!(open(&mut r, g), Ok(b"z".to_vec()));
                // A candidate for another KID is caller misuse.
                let mut h = b"w".to_vec();
                s.add_key(11, b"base").unwrap();
                s.encrypt(11, b"md", &mut h).unwrap();
                let mut wrong = Some(deriver.derive(12).unwrap());
                assert!(matches!(
                    r.decrypt_with_new_key(&mut wrong, b"md", &mut h),
                    Err(Error::InvalidConfig(_))
                ));
            }
        }
    }

    #[test]
    fn removing_a_key_stops_decryption() {
        let (mut s, mut r) = pair(4);
        let f = frame(&mut s, 4, b"x");
        assert!(r.remove_key(4));
        assert!(!r.remove_key(4));
        assert_eq!(open(&mut r, f), Err(Error::UnknownKid(4)));
    }

    fn ratchet_pair(policy: RatchetPolicy) -> (Sender, Receiver, u64) {
        let mut s = Sender::new(SUITE);
        let kid = s.add_ratcheting_key(5, 4, b"ratchet base").unwrap();
        let config = ReceiverConfig {
            ratchet: policy,
            ..ReceiverConfig::default()
        };
        let mut r = Receiver::with_config(SUITE, Backend::default(), config);
        r.add_ratcheting_key(RatchetKid::new(5, 4, 0).unwrap(), b"ratchet base")
            .unwrap();
        (s, r, kid)
    }

    #[test]
    fn receiver_follows_a_ratchet_and_keeps_the_previous_step_for_a_while() {
        let policy = RatchetPolicy {
            max_forward: 4,
            keep_previous: 1,
            previous_lifetime_frames: 3,
        };
        let (mut s, mut r, kid0) = ratchet_pair(policy);
        let late = frame(&mut s, kid0, b"late step 0");
        let kid1 = s.ratchet(kid0).unwrap();
        let kid2 = s.ratchet(kid1).unwrap();
        // Two steps ahead at once.
        assert_eq!(
            open(&mut r, frame(&mut s, kid2, b"step 2")),
            Ok(b"step 2".to_vec())
        );
        assert!(r.has_key(kid2) && r.has_key(kid0) && !r.has_key(kid1));
        // The previous step still opens a late frame...
        assert_eq!(open(&mut r, late), Ok(b"late step 0".to_vec()));
        // ...until enough frames authenticated under the new step.
        for _ in 0..3 {
            open(&mut r, frame(&mut s, kid2, b"more")).unwrap();
        }
        assert!(!r.has_key(kid0));
    }

    #[test]
    fn a_forged_kid_does_not_move_the_ratchet() {
        let (mut s, mut r, kid0) = ratchet_pair(RatchetPolicy::default());
        // A frame that claims step 1 but was made with some other key.
        let mut mallory = Sender::new(SUITE);
        mallory.add_key(kid0 + 1, b"not the ratchet key").unwrap();
        let forged = frame(&mut mallory, kid0 + 1, b"forged");
        assert_eq!(open(&mut r, forged), Err(Error::AuthenticationFailed));
        assert!(!r.has_key(kid0 + 1));
        assert_eq!(
            open(&mut r, frame(&mut s, kid0, b"still")),
            Ok(b"still".to_vec())
        );
        let kid1 = s.ratchet(kid0).unwrap();
        assert_eq!(
            open(&mut r, frame(&mut s, kid1, b"real")),
            Ok(b"real".to_vec())
        );
    }

    #[test]
    fn steps_derived_for_a_forgery_stay_correct_for_the_real_frames() {
        let (mut s, mut r, kid0) = ratchet_pair(RatchetPolicy::default());
        let kid1 = s.ratchet(kid0).unwrap();
        let kid2 = s.ratchet(kid1).unwrap();
        let kid3 = s.ratchet(kid2).unwrap();
        // A forgery naming step 3 makes the receiver derive steps 1 to 3, and commits nothing.
        let mut mallory = Sender::new(SUITE);
        mallory.add_key(kid3, b"guess").unwrap();
        for _ in 0..3 {
            let forged = frame(&mut mallory, kid3, b"forged");
            assert_eq!(open(&mut r, forged), Err(Error::AuthenticationFailed));
        }
        assert!(!r.has_key(kid1) && !r.has_key(kid3));
        // Real frames: a fresh sender at step 1 (same chain), then step 3 from the cache.
        let mut s1 = Sender::new(SUITE);
        let base1 = ratchet_base_key(Backend::default(), SUITE, b"ratchet base").unwrap();
        s1.add_key(kid1, base1.expose()).unwrap();
        assert_eq!(
            open(&mut r, frame(&mut s1, kid1, b"one")),
            Ok(b"one".to_vec())
        );
        assert_eq!(
            open(&mut r, frame(&mut s, kid3, b"three")),
            Ok(b"three".to_vec())
        );
        assert!(r.has_key(kid3) && r.has_key(kid1) && !r.has_key(kid2));
        assert_eq!(
            r.ratchet_position(5).map(|at| (at.step(), at.kid())),
            Some((3, kid3))
        );
        assert_eq!(r.ratchet_position(6), None);
    }

    #[test]
    fn a_ratchet_too_far_ahead_is_refused() {
        let policy = RatchetPolicy {
            max_forward: 2,
            ..RatchetPolicy::default()
        };
        let (mut s, mut r, mut kid) = ratchet_pair(policy);
        for _ in 0..3 {
            kid = s.ratchet(kid).unwrap();
        }
        assert_eq!(
            open(&mut r, frame(&mut s, kid, b"x")),
            Err(Error::RatchetOutOfWindow { kid })
        );
    }
}
