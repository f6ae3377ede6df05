//! Fuzz target `keyring`: arbitrary sequences of operations on the epoch `Keyring` of
//! `sframe-mls` (fuzzed suite, backend, E up to 64 and past it, max_epochs, grace and retire
//! times, buffer limits, replay window, own leaf index or receive-only): new epochs (number,
//! base key, roster, S derived from the roster as RFC 9605 section 5.2 does or fixed) given to
//! it and to
//! a peer keyring in any order, acknowledgements, rosters replaced, time steps and timeouts,
//! frames it encrypts, frames the peer encrypts delivered as they are, mutated or twice,
//! arbitrary bytes as frames, and `clear`. Nothing panics, and:
//!
//! - at most `min(2^E, max_epochs)` epochs are held, in increasing order, no two with the same
//!   low E bits;
//! - it never encrypts with a retired epoch: every frame it produces carries the KID of
//!   (context, own index, sending epoch) with the epoch's S and E, the sending epoch is held and
//!   not among the epochs its `Retired` events named (unless added again since), and the frame
//!   decrypts under that epoch's base key with a plain `sframe_core::Receiver`; `Switched` only
//!   names held epochs, and `sending_epoch` is the last one it named; encryption errors are
//!   exactly `NoSendEpoch` / `NotASender` / `ContextOutOfRange` when those hold;
//! - frames for epochs not held are buffered exactly when the documented limits allow
//!   (`max_frames > 0` and the frame and metadata fit `max_bytes`, else `UnknownEpoch`), and a
//!   model of the buffer kept here agrees with `pending()` after every operation, which stays
//!   within `max_frames` / `max_bytes`; every buffered frame comes out exactly once, as
//!   `Decrypted` or `Dropped`, and every drop has its cause: `Overflow` only for the oldest
//!   frames when a new one did not fit (exactly as many as needed), `Expired` only for frames
//!   `max_age` old at `handle_timeout` (and all of those), `Undecryptable` only for frames of the
//!   epoch just added (all of them come out then) with a peer-input error, `Cleared` only at
//!   `clear`;
//! - decryption: errors are peer-input errors and change nothing (epochs, buffer, receive keys,
//!   no events); a frame of a held epoch is never buffered; an unmodified peer frame of an epoch
//!   both hold decrypts to its payload with its KID's sender, context and counter (unless it is
//!   a replay, or the peer is not in the roster); a mutated frame or arbitrary bytes never
//!   decrypt (except by a 2^-32 guess under the 4-byte tags of the `_32` suites, or as a byte
//!   copy of a genuine frame);
//! - `add_epoch` fails exactly with `StaleEpoch` / `EpochKnown` / `BaseKeyLength` /
//!   `InvalidConfig` (E + S above 64) when those hold and then changes nothing; `EpochKeys`
//!   derive S from the roster (the smallest S holding its highest leaf) unless it is fixed;
//!   `Keyring::new` refuses exactly the invalid configurations;
//! - after `handle_timeout(now)`, `poll_timeout()` is `None` or later than `now`.
//!
//! Both keyrings are built per input (their state is what is fuzzed), so a crash reproduces
//! from its input alone.
#![no_main]

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sframe_core::{Backend, CipherSuite, Header};
use sframe_mls::{
    DropCause, EpochKeys, Event, FrameInfo, FreshKidBudget, Keyring, KeyringConfig, KidLayout,
    MAX_EPOCH_BITS, MAX_SENDER_BITS, PendingLimits, Received, RetireReason,
    SframeMlsError as Error, sender_bits_for,
};

/// The peer's leaf index; the keyring under test is leaf 0 (or receive-only).
const PEER: u32 = 1;
/// Rosters are subsets of leaves 0..8.
const LEAVES: u32 = 8;
/// Genuine frames kept for delivery.
const MAX_PEER_FRAMES: usize = 32;
const MAX_PAYLOAD: usize = 512;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// `CipherSuite::ALL[suite % 8]`.
    suite: u8,
    /// `Backend::ALL[backend % n]`.
    backend: u8,
    /// E = `epoch_bits % 66` (65 is invalid).
    epoch_bits: u8,
    /// `max_epochs % 20` (0 is invalid).
    max_epochs: u8,
    switch_grace_ms: u16,
    /// May be below `switch_grace_ms` (an invalid configuration).
    retire_after_ms: u16,
    switch_at_once_on_removal: bool,
    /// `max_frames % 9`.
    max_frames: u8,
    max_bytes: u16,
    max_age_ms: u16,
    replay_window: Option<u16>,
    receive_only: bool,
    ops: Vec<Op<'a>>,
}

#[derive(Arbitrary, Debug)]
enum Jump {
    Next,
    Skip(u8),
    /// The number after the newest created plus this (skipped if it overflows).
    Far(u64),
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    /// Creates the next epoch (given to nobody yet).
    NewEpoch {
        jump: Jump,
        /// The base key: these bytes repeated to `Nk` bytes, or to `len` bytes if given.
        key_seed: u32,
        len: Option<u8>,
        /// `None`: S from the roster (RFC 9605 section 5.2); `Some`: fixed S = `s % 34` (33 is
        /// invalid; below 3 some leaves may not fit).
        sender_bits: Option<u8>,
        /// Bit i: leaf i is a member.
        roster: u8,
    },
    /// Gives epoch `i` (mod the number created) to the keyring under test.
    AddEpoch(u8),
    /// Gives epoch `i` to the peer.
    PeerAddEpoch(u8),
    Acknowledge {
        leaf: u8,
        /// Epoch `i` of those created, or this raw epoch number.
        epoch: EpochRef,
        to_peer: bool,
    },
    /// Replaces the roster of epoch `i`.
    SetMembers {
        epoch: u8,
        roster: u8,
    },
    /// `now` advances.
    Tick(u16),
    /// `handle_timeout(now)` on both keyrings.
    Timeout,
    /// `now` jumps to `poll_timeout()` (if later), then `handle_timeout`.
    NextTimeout,
    /// The keyring under test encrypts.
    Encrypt {
        context: u64,
        metadata: &'a [u8],
        payload: &'a [u8],
        in_place: bool,
    },
    /// The peer encrypts a frame, kept for delivery.
    PeerEncrypt {
        context: u8,
        metadata: &'a [u8],
        payload: &'a [u8],
    },
    /// Delivers a kept peer frame (index mod the number kept), maybe mutated.
    Deliver {
        frame: u8,
        mutation: Mutation,
    },
    /// Arbitrary bytes as a frame.
    Raw {
        metadata: &'a [u8],
        frame: &'a [u8],
    },
    Clear,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum EpochRef {
    Created(u8),
    Raw(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Mutation {
    None,
    /// XOR the byte at `at` (mod the frame length) with `x | 1`.
    Frame {
        at: u16,
        x: u8,
    },
    /// XOR a byte of the metadata, or append one to empty metadata.
    Metadata {
        at: u8,
        x: u8,
    },
    /// Cut to `len` bytes (mod the frame length).
    Truncate(u16),
}

/// An epoch as created here.
struct Spec {
    epoch: u64,
    key: Vec<u8>,
    /// A fixed S, or `None` for the RFC's.
    fixed_sender_bits: Option<u8>,
    roster: Vec<u32>,
}

impl Spec {
    /// S as the keyring must use it: the fixed one, or the roster's.
    fn sender_bits(&self) -> u8 {
        self.fixed_sender_bits
            .unwrap_or_else(|| roster_bits(&self.roster))
    }
}

/// The RFC's S for a roster: the bits its highest leaf needs (the group's leaves up to its
/// rightmost member; 0 for an empty roster or leaf 0 alone).
fn roster_bits(roster: &[u32]) -> u8 {
    roster.iter().max().map_or(0, |&m| {
        (0..=32u8).find(|&s| u64::from(m) < 1 << s).unwrap_or(32)
    })
}

/// A frame the peer encrypted.
#[derive(Clone)]
struct Genuine {
    frame: Vec<u8>,
    metadata: Vec<u8>,
    payload: Vec<u8>,
    epoch: u64,
    context: u64,
    ctr: u64,
}

/// Where a frame given to `decrypt` came from.
#[derive(Clone)]
enum Origin {
    Genuine(Genuine),
    /// A genuine frame, changed.
    Mutated,
    Raw,
}

/// A frame in the keyring's buffer, as this target expects it.
struct Buffered {
    token: u64,
    kid: u64,
    frame: Vec<u8>,
    metadata: Vec<u8>,
    received_at: Duration,
    origin: Origin,
}

impl Buffered {
    fn size(&self) -> usize {
        self.frame.len() + self.metadata.len()
    }
}

/// What the events of an operation may contain.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum During {
    AddEpoch(u64),
    Acknowledge,
    Decrypt,
    Timeout,
    Clear,
    Quiet,
}

struct Run {
    config: KeyringConfig,
    own: Option<u32>,
    ring: Keyring,
    peer: Keyring,
    now: Duration,
    specs: Vec<Spec>,
    /// Epochs the keyring holds -> their spec.
    held: HashMap<u64, usize>,
    /// Epochs the peer holds -> their spec.
    peer_held: HashMap<u64, usize>,
    /// Epochs named by `Retired` events (and not added again since).
    retired: HashSet<u64>,
    peer_frames: VecDeque<Genuine>,
    /// Every genuine frame and its metadata.
    genuine_bytes: HashSet<(Vec<u8>, Vec<u8>)>,
    /// The buffer as expected: oldest first.
    pending: VecDeque<Buffered>,
    /// The token the next frame is given with (every frame gets its own).
    next_token: u64,
}

fn ms(v: u16) -> Duration {
    Duration::from_millis(u64::from(v))
}

fn roster(mask: u8) -> Vec<u32> {
    (0..LEAVES).filter(|i| mask >> i & 1 != 0).collect()
}

fn events(ring: &mut Keyring) -> Vec<Event> {
    std::iter::from_fn(|| ring.poll_event()).collect()
}

impl Run {
    fn new(input: &Input<'_>) -> Option<Self> {
        let suite = CipherSuite::ALL[usize::from(input.suite) % CipherSuite::ALL.len()];
        let backend = Backend::ALL[usize::from(input.backend) % Backend::ALL.len()];
        let config = KeyringConfig {
            suite,
            backend,
            epoch_bits: input.epoch_bits % (MAX_EPOCH_BITS + 2),
            max_epochs: usize::from(input.max_epochs % 20),
            switch_grace: ms(input.switch_grace_ms),
            retire_after: ms(input.retire_after_ms),
            switch_at_once_on_removal: input.switch_at_once_on_removal,
            pending: PendingLimits {
                max_frames: usize::from(input.max_frames % 9),
                max_bytes: usize::from(input.max_bytes),
                max_age: ms(input.max_age_ms),
            },
            replay_window: input.replay_window.map(u32::from),
            // A small budget, so that runs reach the throttle (a genuine frame under a new KID
            // may then be refused as `Throttled` until time refills it).
            fresh_kid_failures: FreshKidBudget {
                burst: 4,
                per_second: 8,
            },
        };
        let valid = config.epoch_bits <= MAX_EPOCH_BITS
            && config.max_epochs >= 1
            && config.retire_after >= config.switch_grace;
        let (ring, peer) = match (Keyring::new(config), Keyring::new(config)) {
            (Ok(ring), Ok(peer)) => {
                assert!(valid, "an invalid configuration was accepted: {config:?}");
                (ring, peer)
            }
            (Err(e), _) | (_, Err(e)) => {
                assert!(!valid, "a valid configuration was refused: {e:?}");
                assert!(matches!(e, Error::InvalidConfig(_)), "{e:?}");
                return None;
            }
        };
        Some(Self {
            config,
            own: (!input.receive_only).then_some(0),
            ring,
            peer,
            now: Duration::ZERO,
            specs: Vec::new(),
            held: HashMap::new(),
            peer_held: HashMap::new(),
            retired: HashSet::new(),
            peer_frames: VecDeque::new(),
            genuine_bytes: HashSet::new(),
            pending: VecDeque::new(),
            next_token: 0,
        })
    }

    fn low(&self, v: u64) -> u64 {
        v & u64::MAX
            .checked_shr(64 - u32::from(self.config.epoch_bits))
            .unwrap_or(0)
    }

    fn spec_index(&self, i: u8) -> Option<usize> {
        (!self.specs.is_empty()).then(|| usize::from(i) % self.specs.len())
    }

    fn new_epoch(&mut self, jump: &Jump, key_seed: u32, len: Option<u8>, sb: Option<u8>, mask: u8) {
        let Some(after) = self
            .specs
            .last()
            .map_or(Some(0), |s| s.epoch.checked_add(1))
        else {
            return;
        };
        let epoch = match *jump {
            Jump::Next => Some(after),
            Jump::Skip(n) => after.checked_add(u64::from(n)),
            Jump::Far(n) => after.checked_add(n),
        };
        let Some(epoch) = epoch else { return };
        let len = len.map_or(self.config.suite.key_len(), usize::from);
        let key = key_seed
            .to_le_bytes()
            .into_iter()
            .cycle()
            .take(len)
            .collect();
        self.specs.push(Spec {
            epoch,
            key,
            fixed_sender_bits: sb.map(|s| s % (MAX_SENDER_BITS + 2)),
            roster: roster(mask),
        });
    }

    /// `EpochKeys` of spec `i` for `own`, or `None` (checking the error) if they are invalid.
    fn epoch_keys(&self, i: usize, own: Option<u32>) -> Option<EpochKeys> {
        let s = &self.specs[i];
        let keys = EpochKeys::new(s.epoch, &s.key, own, s.roster.iter().copied());
        // With the roster's own S only an own index outside the roster can be too big.
        let rfc_s = roster_bits(&s.roster);
        let max_of = |bits: u8| u32::try_from((1u64 << bits.min(32)) - 1).unwrap_or(u32::MAX);
        let own_too_big = own.is_some_and(|o| o > max_of(rfc_s));
        if let Ok(k) = &keys {
            assert_eq!(k.sender_bits(), rfc_s, "S of roster {:?}", s.roster);
            let group_size = s.roster.iter().max().map_or(0, |&m| u64::from(m) + 1);
            assert_eq!(rfc_s, sender_bits_for(group_size));
        }
        let keys = match (keys, s.fixed_sender_bits) {
            (Ok(k), Some(fixed)) => k.with_sender_bits(fixed),
            (keys, _) => keys,
        };
        let too_big = own_too_big
            || s.roster
                .iter()
                .chain(own.iter())
                .any(|&m| m > max_of(s.sender_bits()));
        match keys {
            Ok(k) => {
                assert!(s.sender_bits() <= MAX_SENDER_BITS && !too_big && !s.key.is_empty());
                assert!(s.key.len() <= sframe_core::MAX_SECRET_LEN);
                assert_eq!(k.sender_bits(), s.sender_bits());
                Some(k)
            }
            Err(Error::InvalidConfig(_)) => {
                assert!(s.sender_bits() > MAX_SENDER_BITS && !own_too_big);
                None
            }
            Err(Error::SenderIndexOutOfRange { .. }) => {
                assert!(too_big);
                None
            }
            Err(Error::BaseKeyLength { .. }) => {
                assert!(s.key.is_empty() || s.key.len() > sframe_core::MAX_SECRET_LEN);
                None
            }
            Err(e) => panic!("EpochKeys::new: {e:?}"),
        }
    }

    fn add_epoch(&mut self, i: u8) {
        let Some(i) = self.spec_index(i) else { return };
        let Some(keys) = self.epoch_keys(i, self.own) else {
            return;
        };
        let epoch = self.specs[i].epoch;
        let before: Vec<u64> = self.ring.epochs().collect();
        let pending_before = self.ring.pending();
        let keys_before = self.ring.receive_key_count();
        match self.ring.add_epoch(self.now, keys) {
            Ok(()) => {
                let newest = before.last().copied();
                assert!(
                    newest.is_none_or(|n| n < epoch),
                    "epoch {epoch} after {newest:?}"
                );
                assert_eq!(self.specs[i].key.len(), self.config.suite.key_len());
                let bits =
                    u32::from(self.config.epoch_bits) + u32::from(self.specs[i].sender_bits());
                assert!(bits <= 64, "add_epoch accepted E + S = {bits}");
                self.held.insert(epoch, i);
                self.events(During::AddEpoch(epoch));
            }
            Err(e) => {
                let key_len = self.specs[i].key.len();
                let expected = match before.last() {
                    Some(&n) if n == epoch => Error::EpochKnown(epoch),
                    Some(&n) if n > epoch => Error::StaleEpoch { epoch, newest: n },
                    _ if key_len != self.config.suite.key_len() => Error::BaseKeyLength {
                        expected: self.config.suite.key_len(),
                        actual: key_len,
                    },
                    _ => {
                        let bits = self.config.epoch_bits + self.specs[i].sender_bits();
                        assert!(bits > 64, "add_epoch refused E + S = {bits}: {e:?}");
                        match e {
                            Error::InvalidConfig(_) => e,
                            _ => Error::InvalidConfig("E + S above 64"),
                        }
                    }
                };
                assert_eq!(e, expected, "add_epoch({epoch})");
                assert!(
                    self.ring.epochs().eq(before),
                    "a failed add_epoch changed the epochs"
                );
                assert_eq!(self.ring.pending(), pending_before);
                assert_eq!(self.ring.receive_key_count(), keys_before);
                self.events(During::Quiet);
            }
        }
    }

    fn peer_add_epoch(&mut self, i: u8) {
        let Some(i) = self.spec_index(i) else { return };
        let Some(keys) = self.epoch_keys(i, Some(PEER)) else {
            return;
        };
        let epoch = self.specs[i].epoch;
        if self.peer.add_epoch(self.now, keys).is_ok() {
            self.peer_held.insert(epoch, i);
        }
        self.peer_events();
    }

    /// The peer's events: forget retired epochs.
    fn peer_events(&mut self) {
        for e in events(&mut self.peer) {
            if let Event::Retired { epoch, .. } = e {
                self.peer_held.remove(&epoch);
            }
        }
    }

    fn epoch_number(&self, r: EpochRef) -> Option<u64> {
        match r {
            EpochRef::Created(i) => self.spec_index(i).map(|i| self.specs[i].epoch),
            EpochRef::Raw(e) => Some(e),
        }
    }

    fn timeout(&mut self) {
        self.ring.handle_timeout(self.now);
        self.events(During::Timeout);
        if let Some(t) = self.ring.poll_timeout() {
            assert!(
                t > self.now,
                "poll_timeout {t:?} not after handle_timeout({:?})",
                self.now
            );
        }
        self.peer.handle_timeout(self.now);
        self.peer_events();
    }

    fn encrypt(&mut self, context: u64, metadata: &[u8], payload: &[u8], in_place: bool) {
        let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
        let sending = self.ring.sending_epoch();
        let mut frame = payload.to_vec();
        let result = if in_place {
            let mut buf = vec![0u8; 32 + payload.len() + 16];
            buf[32..32 + payload.len()].copy_from_slice(payload);
            self.ring
                .encrypt_in_place(context, metadata, &mut buf, 32..32 + payload.len())
                .map(|f| f.to_vec())
        } else {
            self.ring
                .encrypt(context, metadata, &mut frame)
                .map(|()| frame)
        };
        let spec = sending
            .and_then(|e| self.held.get(&e))
            .map(|&i| &self.specs[i]);
        let layout = spec.map(|s| KidLayout::new(self.config.epoch_bits, s.sender_bits()));
        match result {
            Ok(frame) => {
                let (Some(epoch), Some(spec), Some(Ok(layout)), Some(own)) =
                    (sending, spec, layout, self.own)
                else {
                    panic!("encrypted without a held sending epoch or own index: {sending:?}");
                };
                assert!(
                    !self.retired.contains(&epoch),
                    "encrypted with epoch {epoch}, reported retired"
                );
                assert!(
                    self.ring.epochs().any(|e| e == epoch),
                    "sending epoch not held"
                );
                let (header, _) =
                    Header::parse(&frame).unwrap_or_else(|e| panic!("own frame: {e}"));
                let kid = layout
                    .kid(context, own, epoch)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(header.kid, kid, "KID of (context {context}, epoch {epoch})");
                // The frame is under that epoch's key.
                let mut receiver = sframe_core::Receiver::with_config(
                    self.config.suite,
                    self.config.backend,
                    sframe_core::ReceiverConfig::default(),
                );
                receiver
                    .add_key(kid, &spec.key)
                    .unwrap_or_else(|e| panic!("add_key: {e}"));
                let mut copy = frame.clone();
                let plain = receiver
                    .decrypt_in_place(metadata, &mut copy)
                    .unwrap_or_else(|e| panic!("own frame under epoch {epoch}'s key: {e}"));
                assert_eq!(plain, payload);
            }
            Err(e) => {
                let expected = match (sending, self.own, layout) {
                    (None, ..) => Some(Error::NoSendEpoch),
                    (Some(_), None, _) => Some(Error::NotASender),
                    (Some(_), Some(_), Some(Ok(l))) if context > l.max_context() => {
                        Some(Error::ContextOutOfRange {
                            context,
                            max: l.max_context(),
                        })
                    }
                    _ => None,
                };
                assert_eq!(Some(e), expected, "encrypt (sending {sending:?})");
            }
        }
        self.events(During::Quiet);
    }

    fn peer_encrypt(&mut self, context: u8, metadata: &[u8], payload: &[u8]) {
        let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
        let Some(epoch) = self.peer.sending_epoch() else {
            return;
        };
        let mut frame = payload.to_vec();
        if self
            .peer
            .encrypt(u64::from(context), metadata, &mut frame)
            .is_err()
        {
            return;
        }
        let ctr = Header::parse(&frame).map_or(0, |(h, _)| h.ctr);
        self.genuine_bytes
            .insert((frame.clone(), metadata.to_vec()));
        if self.peer_frames.len() == MAX_PEER_FRAMES {
            self.peer_frames.pop_front();
        }
        self.peer_frames.push_back(Genuine {
            frame,
            metadata: metadata.to_vec(),
            payload: payload.to_vec(),
            epoch,
            context: u64::from(context),
            ctr,
        });
        self.peer_events();
    }

    fn deliver(&mut self, i: u8, mutation: Mutation) {
        if self.peer_frames.is_empty() {
            return;
        }
        let g = self.peer_frames[usize::from(i) % self.peer_frames.len()].clone();
        let (mut frame, mut metadata) = (g.frame.clone(), g.metadata.clone());
        let origin = match mutation {
            Mutation::None => Origin::Genuine(g),
            Mutation::Frame { at, x } => {
                let at = usize::from(at) % frame.len();
                frame[at] ^= x | 1;
                Origin::Mutated
            }
            Mutation::Metadata { at, x } => {
                if metadata.is_empty() {
                    metadata.push(x);
                } else {
                    let at = usize::from(at) % metadata.len();
                    metadata[at] ^= x | 1;
                }
                Origin::Mutated
            }
            Mutation::Truncate(len) => {
                frame.truncate(usize::from(len) % frame.len());
                Origin::Mutated
            }
        };
        self.decrypt(&metadata, frame, origin);
    }

    /// A frame decrypted or handed out as plaintext: check it against where it came from.
    fn check_plaintext(
        &self,
        origin: &Origin,
        frame: &[u8],
        metadata: &[u8],
        info: &FrameInfo,
        data: &[u8],
    ) {
        let kid = Header::parse(frame).map_or(0, |(h, _)| h.kid);
        assert_eq!(
            self.low(kid),
            self.low(info.epoch),
            "epoch bits of KID {kid:#x}"
        );
        match origin {
            Origin::Genuine(g) => {
                assert_eq!(
                    data, g.payload,
                    "a genuine frame decrypted to something else"
                );
                if info.epoch == g.epoch {
                    assert_eq!(
                        (info.sender_index, info.context, info.ctr),
                        (PEER, g.context, g.ctr)
                    );
                }
            }
            Origin::Mutated | Origin::Raw => assert!(
                self.config.suite.tag_len() <= 4
                    || self
                        .genuine_bytes
                        .contains(&(frame.to_vec(), metadata.to_vec())),
                "a forged frame decrypted: {frame:02x?} metadata {metadata:02x?}"
            ),
        }
    }

    fn decrypt(&mut self, metadata: &[u8], frame: Vec<u8>, origin: Origin) {
        let epochs_before: Vec<u64> = self.ring.epochs().collect();
        let keys_before = self.ring.receive_key_count();
        let pending_before = self.ring.pending();
        let header = Header::parse(&frame);
        let held_low = header.as_ref().ok().map(|(h, _)| {
            epochs_before
                .iter()
                .any(|&e| self.low(e) == self.low(h.kid))
        });
        let size = frame.len() + metadata.len();
        let limits = self.config.pending;
        let fits = limits.max_frames > 0 && size <= limits.max_bytes;
        let mut buf = frame.clone();
        let token = self.next_token;
        self.next_token += 1;
        match self.ring.decrypt(self.now, token, metadata, &mut buf) {
            Ok(Received::Plaintext { info, data }) => {
                assert_eq!(held_low, Some(true), "plaintext from an epoch not held");
                let data = data.to_vec();
                self.check_plaintext(&origin, &frame, metadata, &info, &data);
                self.events(During::Quiet);
            }
            Ok(Received::Buffered) => {
                assert_eq!(held_low, Some(false), "buffered a frame of a held epoch");
                assert!(fits, "buffered {size} bytes against {limits:?}");
                let kid = header.map_or(0, |(h, _)| h.kid);
                // Overflow: the oldest frames, as few as make room.
                let mut evicted = 0;
                let mut bytes: usize = self.pending.iter().map(Buffered::size).sum();
                for b in &self.pending {
                    if self.pending.len() - evicted < limits.max_frames
                        && bytes + size <= limits.max_bytes
                    {
                        break;
                    }
                    evicted += 1;
                    bytes -= b.size();
                }
                self.pending.push_back(Buffered {
                    token,
                    kid,
                    frame,
                    metadata: metadata.to_vec(),
                    received_at: self.now,
                    origin,
                });
                let dropped = self.events(During::Decrypt);
                assert_eq!(dropped, evicted, "frames dropped for overflow");
            }
            Err(e) => {
                assert!(e.is_peer_input(), "bad frame reported as misuse: {e:?}");
                match (&header, e) {
                    (Err(pe), _) => assert_eq!(e, Error::Frame(*pe), "not the header's error"),
                    (Ok((h, _)), Error::UnknownEpoch { kid }) => {
                        assert_eq!(kid, h.kid);
                        assert_eq!(held_low, Some(false), "UnknownEpoch for a held epoch");
                        assert!(!fits, "a frame that fits the buffer refused");
                    }
                    (Ok(_), _) => assert_eq!(held_low, Some(true), "{e:?} for an epoch not held"),
                }
                if let Origin::Genuine(g) = &origin
                    && self.held.contains_key(&g.epoch)
                {
                    self.check_genuine_refusal(g.epoch, e);
                }
                assert!(
                    self.ring.epochs().eq(epochs_before),
                    "an error changed the epochs"
                );
                assert_eq!(
                    self.ring.pending(),
                    pending_before,
                    "an error changed the buffer"
                );
                assert_eq!(
                    self.ring.receive_key_count(),
                    keys_before,
                    "an error left a key"
                );
                self.events(During::Quiet);
            }
        }
    }

    fn set_members(&mut self, epoch: u64, roster: Vec<u32>) {
        let result = self.ring.set_members(epoch, roster.iter().copied());
        match self.held.get(&epoch).map(|&i| self.specs[i].sender_bits()) {
            None => assert!(matches!(result, Err(Error::InvalidConfig(_))), "{result:?}"),
            Some(s) => {
                let max = u32::try_from((1u64 << s) - 1).unwrap_or(u32::MAX);
                // The keyring names the highest leaf that does not fit.
                match roster.iter().copied().filter(|&m| m > max).max() {
                    Some(sender_index) => assert_eq!(
                        result,
                        Err(Error::SenderIndexOutOfRange { sender_index, max })
                    ),
                    None => {
                        assert_eq!(result, Ok(()));
                        assert_eq!(
                            self.ring.members(epoch).map(|r| r.to_vec()),
                            Some(roster.clone())
                        );
                    }
                }
            }
        }
        self.events(During::Quiet);
    }

    fn clear(&mut self) {
        self.ring.clear();
        self.events(During::Clear);
        assert_eq!(self.ring.epochs().count(), 0);
        assert_eq!(self.ring.sending_epoch(), None);
    }

    /// The buffered frames an operation may hand out, oldest first (indices into `pending`).
    fn candidates(&self, during: During) -> VecDeque<usize> {
        let max_age = self.config.pending.max_age;
        let all = 0..self.pending.len();
        match during {
            During::AddEpoch(epoch) => all
                .filter(|&i| self.low(self.pending[i].kid) == self.low(epoch))
                .collect(),
            During::Timeout => all
                .filter(|&i| self.pending[i].received_at.saturating_add(max_age) <= self.now)
                .collect(),
            During::Decrypt | During::Clear => all.collect(),
            During::Acknowledge | During::Quiet => VecDeque::new(),
        }
    }

    /// Drains the keyring's events and checks each against the operation and the model.
    /// Returns the number of frames dropped for overflow.
    fn events(&mut self, during: During) -> usize {
        let mut candidates = self.candidates(during);
        let mut taken = Vec::new();
        let mut overflow = 0;
        let mut last_switch = None;
        for ev in events(&mut self.ring) {
            match ev {
                Event::EpochReady { epoch } => {
                    assert_eq!(during, During::AddEpoch(epoch), "EpochReady {epoch}");
                    self.retired.remove(&epoch);
                    if let Some(own) = self.own {
                        self.peer.acknowledge(self.now, own, epoch);
                    }
                }
                Event::Switched { to, from, .. } => {
                    assert!(
                        matches!(
                            during,
                            During::AddEpoch(_) | During::Acknowledge | During::Timeout
                        ),
                        "Switched during {during:?}"
                    );
                    assert!(
                        self.held.contains_key(&to) && !self.retired.contains(&to),
                        "switched to {to}, not held"
                    );
                    assert_ne!(from, Some(to), "switched to the same epoch");
                    last_switch = Some(to);
                }
                Event::Retired { epoch, reason } => {
                    let ok = match reason {
                        RetireReason::Rollover => matches!(during, During::AddEpoch(_)),
                        RetireReason::Expired => during == During::Timeout,
                        RetireReason::Cleared => during == During::Clear,
                    };
                    assert!(ok, "Retired {epoch} ({reason:?}) during {during:?}");
                    assert!(
                        self.held.remove(&epoch).is_some(),
                        "retired {epoch}, not held"
                    );
                    self.retired.insert(epoch);
                }
                Event::Decrypted(d) => {
                    assert!(
                        matches!(during, During::AddEpoch(_)),
                        "Decrypted during {during:?}"
                    );
                    let i = self.take(&mut candidates, None, d.token, d.received_at);
                    let b = &self.pending[i];
                    self.check_plaintext(&b.origin, &b.frame, &b.metadata, &d.info, d.plaintext());
                    taken.push(i);
                }
                Event::Dropped(d) => {
                    let ok = match d.cause {
                        DropCause::Expired => during == During::Timeout,
                        DropCause::Overflow => during == During::Decrypt,
                        DropCause::Undecryptable(e) => {
                            assert!(e.is_peer_input(), "Undecryptable({e:?})");
                            matches!(during, During::AddEpoch(_))
                        }
                        DropCause::Cleared => during == During::Clear,
                    };
                    assert!(ok, "dropped ({:?}) during {during:?}", d.cause);
                    let i = self.take(&mut candidates, Some(d.kid), d.token, d.received_at);
                    assert_eq!(self.pending[i].frame.len(), d.len, "dropped frame's length");
                    if let (
                        DropCause::Undecryptable(e),
                        Origin::Genuine(g),
                        During::AddEpoch(epoch),
                    ) = (d.cause, &self.pending[i].origin, during)
                        && g.epoch == epoch
                    {
                        self.check_genuine_refusal(epoch, e);
                    }
                    overflow += usize::from(d.cause == DropCause::Overflow);
                    taken.push(i);
                }
            }
        }
        assert!(
            during == During::Decrypt || candidates.is_empty(),
            "{} buffered frames did not come out during {during:?}",
            candidates.len()
        );
        taken.sort_unstable();
        for i in taken.into_iter().rev() {
            self.pending.remove(i);
        }
        if let Some(to) = last_switch {
            assert_eq!(
                self.ring.sending_epoch(),
                Some(to),
                "sending epoch after Switched"
            );
        }
        self.peer_events();
        self.check_state();
        overflow
    }

    /// The buffered frame a `Decrypted` / `Dropped` event names: the next of `candidates`.
    fn take(
        &self,
        candidates: &mut VecDeque<usize>,
        kid: Option<u64>,
        token: u64,
        received_at: Duration,
    ) -> usize {
        let i = candidates
            .pop_front()
            .unwrap_or_else(|| panic!("an event for a frame that is not due (KID {kid:?})"));
        let b = &self.pending[i];
        assert_eq!(b.token, token, "event's token");
        assert_eq!(b.received_at, received_at, "event's received_at");
        if let Some(kid) = kid {
            assert_eq!(b.kid, kid, "event's KID");
        }
        i
    }

    /// A genuine frame of held `epoch` was refused with `e`: only a replay, or a peer not in
    /// the roster, explains it.
    fn check_genuine_refusal(&self, epoch: u64, e: Error) {
        let roster = self
            .ring
            .members(epoch)
            .map(|r| r.to_vec())
            .unwrap_or_default();
        assert!(
            matches!(e, Error::Frame(sframe_core::SframeError::Replay { .. }))
                || matches!(e, Error::Throttled { .. })
                || (matches!(
                    e,
                    Error::UnknownSender {
                        sender_index: PEER,
                        ..
                    }
                ) && !roster.contains(&PEER)),
            "a genuine frame of held epoch {epoch} refused: {e:?}"
        );
    }

    fn check_state(&self) {
        let epochs: Vec<u64> = self.ring.epochs().collect();
        let window = 1u64
            .checked_shl(u32::from(self.config.epoch_bits))
            .unwrap_or(u64::MAX)
            .min(self.config.max_epochs as u64);
        assert!(
            epochs.len() as u64 <= window,
            "{} epochs held, E = {}, max_epochs = {}",
            epochs.len(),
            self.config.epoch_bits,
            self.config.max_epochs
        );
        assert!(
            epochs.windows(2).all(|w| w[0] < w[1]),
            "epochs out of order: {epochs:?}"
        );
        let lows: HashSet<u64> = epochs.iter().map(|&e| self.low(e)).collect();
        assert_eq!(
            lows.len(),
            epochs.len(),
            "two epochs with the same low bits: {epochs:?}"
        );
        let mut held: Vec<u64> = self.held.keys().copied().collect();
        held.sort_unstable();
        assert_eq!(epochs, held, "held epochs (from events)");
        if let Some(s) = self.ring.sending_epoch() {
            assert!(
                epochs.contains(&s) && !self.retired.contains(&s),
                "sending epoch {s} not held"
            );
        }
        let (frames, bytes) = self.ring.pending();
        let limits = self.config.pending;
        assert!(
            frames <= limits.max_frames && bytes <= limits.max_bytes,
            "buffer {frames} frames {bytes} bytes over {limits:?}"
        );
        let expected: usize = self.pending.iter().map(Buffered::size).sum();
        assert_eq!(
            (frames, bytes),
            (self.pending.len(), expected),
            "buffer against the model"
        );
    }
}

fuzz_target!(|input: Input<'_>| {
    let Some(mut run) = Run::new(&input) else {
        return;
    };
    for op in &input.ops {
        match op {
            Op::NewEpoch {
                jump,
                key_seed,
                len,
                sender_bits,
                roster,
            } => {
                run.new_epoch(jump, *key_seed, *len, *sender_bits, *roster);
            }
            Op::AddEpoch(i) => run.add_epoch(*i),
            Op::PeerAddEpoch(i) => run.peer_add_epoch(*i),
            Op::Acknowledge {
                leaf,
                epoch,
                to_peer,
            } => {
                let Some(epoch) = run.epoch_number(*epoch) else {
                    continue;
                };
                let leaf = u32::from(*leaf) % LEAVES;
                run.ring.acknowledge(run.now, leaf, epoch);
                run.events(During::Acknowledge);
                if *to_peer {
                    run.peer.acknowledge(run.now, leaf, epoch);
                    run.peer_events();
                }
            }
            Op::SetMembers {
                epoch,
                roster: mask,
            } => {
                let Some(i) = run.spec_index(*epoch) else {
                    continue;
                };
                let epoch = run.specs[i].epoch;
                run.set_members(epoch, roster(*mask));
            }
            Op::Tick(d) => run.now += ms(*d),
            Op::Timeout => run.timeout(),
            Op::NextTimeout => {
                if let Some(t) = run.ring.poll_timeout() {
                    run.now = run.now.max(t);
                }
                run.timeout();
            }
            Op::Encrypt {
                context,
                metadata,
                payload,
                in_place,
            } => {
                run.encrypt(*context, metadata, payload, *in_place);
            }
            Op::PeerEncrypt {
                context,
                metadata,
                payload,
            } => run.peer_encrypt(*context, metadata, payload),
            Op::Deliver { frame, mutation } => run.deliver(*frame, *mutation),
            Op::Raw { metadata, frame } => run.decrypt(metadata, frame.to_vec(), Origin::Raw),
            Op::Clear => run.clear(),
        }
    }
    // Every buffered frame comes out.
    run.clear();
    assert!(run.pending.is_empty());
});
