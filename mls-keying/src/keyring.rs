//! The epoch keyring: a sans-IO state machine from MLS epochs to SFrame keys.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::time::Duration;

use sframe_core::{
    Backend, CipherSuite, FrameBuffer, Header, KidKeyDeriver, Receiver, ReceiverConfig, Secret,
    Sender,
};

use crate::Error;
use crate::kid::{KidLayout, KidParts, sender_bits_for_leaves};
use crate::pending::{Pending, PendingFrame, PendingLimits};
use crate::roster::Roster;
use crate::throttle::{FailureBudget, FreshKidBudget};
use crate::unproven::{UnprovenDeriver, UnprovenKey};

/// How a [`Keyring`] behaves. Times are durations on the caller's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyringConfig {
    /// The SFrame cipher suite; base keys have its `Nk` bytes.
    pub suite: CipherSuite,
    /// The SFrame crypto backend.
    pub backend: Backend,
    /// `E`: the KID carries `epoch mod 2^E`, and at most `2^E` epochs (and
    /// [`max_epochs`](Self::max_epochs)) are held. Any value a
    /// peer may choose, 0 to [`MAX_EPOCH_BITS`](crate::MAX_EPOCH_BITS) (each epoch's `E + S`
    /// must stay within 64 bits). With `E = 0` every new epoch replaces the previous one at
    /// once, so a drop-free switch is impossible.
    pub epoch_bits: u8,
    /// At most this many epochs are held, whatever `E` allows (at least 1): a new epoch beyond
    /// it retires the oldest ([`RetireReason::Rollover`]). The effective window is the smaller
    /// of this and `2^E`, so a large `E` (a peer's choice) does not make memory grow.
    pub max_epochs: usize,
    /// The sender keeps encrypting with its current epoch after a newer one is known until
    /// every member of the newer epoch acknowledged it, or this long at most.
    pub switch_grace: Duration,
    /// An epoch is retired (its keys zeroized) this long after a newer epoch became known.
    /// At least `switch_grace`; choose it above `switch_grace` plus the largest media delay
    /// and the spread with which commits reach members.
    pub retire_after: Duration,
    /// When a new epoch removed a member of the epoch the sender uses, switch to it at once
    /// instead of waiting for acknowledgements: a removed member then stops getting decryptable
    /// frames as soon as this sender knows of the removal, and members that learn of the new
    /// epoch later hold its frames in their buffer until they do (added latency, no drops
    /// while the buffer and `max_age` cover the lag). On by default: a member who left must not
    /// read what is sent after the group moved on; turn it off to trade that window (at most
    /// `switch_grace`) for no added latency at members who process commits late.
    pub switch_at_once_on_removal: bool,
    /// Bounds on frames held for epochs not known yet.
    pub pending: PendingLimits,
    /// The replay window per KID (`None`: no replay check).
    pub replay_window: Option<u32>,
    /// How many frames under new KIDs may fail to authenticate per stream before such frames
    /// are refused without a check ([`Error::Throttled`]); see [`FreshKidBudget`].
    pub fresh_kid_failures: FreshKidBudget,
}

impl KeyringConfig {
    /// Defaults for `suite`: E = 4, at most 16 epochs held, a 500 ms grace, retire after 5 s,
    /// switch at once on a removal, [`PendingLimits`] defaults, a 1024-frame replay window,
    /// [`FreshKidBudget::DEFAULT`], the default backend.
    pub fn new(suite: CipherSuite) -> Self {
        Self {
            suite,
            backend: Backend::default(),
            epoch_bits: 4,
            max_epochs: 16,
            switch_grace: Duration::from_millis(500),
            retire_after: Duration::from_secs(5),
            switch_at_once_on_removal: true,
            pending: PendingLimits::default(),
            replay_window: Some(1024),
            fresh_kid_failures: FreshKidBudget::DEFAULT,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        KidLayout::new(self.epoch_bits, 0)?;
        if self.max_epochs == 0 {
            return Err(Error::InvalidConfig("max_epochs is 0"));
        }
        if self.retire_after < self.switch_grace {
            return Err(Error::InvalidConfig(
                "retire_after is shorter than switch_grace",
            ));
        }
        Ok(())
    }
}

/// One MLS epoch as the keyring needs it: the exported base key, the roster (leaf indices of
/// the members), the own leaf index, and the KID's `S`, which RFC 9605 section 5.2 derives
/// from the epoch's group (see [`sender_bits_for_leaves`](crate::sender_bits_for_leaves)).
///
/// Nothing here or in [`Keyring::add_epoch`] is done per member when the roster comes as a
/// [`Roster::dense`] ([`EpochKeys::from_roster`]): a 50,000-member epoch installs in the time
/// and memory of a 2-member one. Receive keys are derived per sender on its first frame.
pub struct EpochKeys {
    epoch: u64,
    base_key: Secret,
    sender_bits: u8,
    own_index: Option<u32>,
    members: Roster,
    /// Leaves the commit that made this epoch removed (a joiner may take the same leaf again
    /// in the same commit, so the roster alone cannot tell).
    removed: Vec<u32>,
}

impl core::fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EpochKeys")
            .field("epoch", &self.epoch)
            .field("sender_bits", &self.sender_bits)
            .field("own_index", &self.own_index)
            .field("members", &self.members.len())
            .field("removed", &self.removed)
            .finish_non_exhaustive()
    }
}

impl EpochKeys {
    /// `base_key` is `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` of `epoch`; `own_index` is
    /// this member's leaf index (`None` for a receive-only keyring); `members` are the leaf
    /// indices of the epoch's members. `S` is the RFC's, from this roster alone (so every
    /// member given the same roster gets the same `S`):
    /// [`sender_bits_for_leaves`](crate::sender_bits_for_leaves), which no member's index
    /// exceeds.
    ///
    /// # Errors
    /// [`Error::SenderIndexOutOfRange`] if `own_index` is not in the roster and does not fit
    /// in its `S`; [`Error::BaseKeyLength`] for an empty or oversized key.
    pub fn new(
        epoch: u64,
        base_key: &[u8],
        own_index: Option<u32>,
        members: impl IntoIterator<Item = u32>,
    ) -> Result<Self, Error> {
        Self::from_roster(epoch, base_key, own_index, Roster::from_leaves(members))
    }

    /// As [`EpochKeys::new`], with the roster already built (e.g. [`Roster::dense`] from the
    /// tree's width and its blank leaves): no work per member.
    ///
    /// # Errors
    /// As [`EpochKeys::new`].
    pub fn from_roster(
        epoch: u64,
        base_key: &[u8],
        own_index: Option<u32>,
        members: Roster,
    ) -> Result<Self, Error> {
        let sender_bits = sender_bits_for_leaves(members.max_leaf());
        let max = KidLayout::new(0, sender_bits)?.max_sender_index();
        if let Some(sender_index) = own_index.filter(|&own| own > max) {
            return Err(Error::SenderIndexOutOfRange { sender_index, max });
        }
        if base_key.is_empty() {
            return Err(Error::BaseKeyLength {
                expected: 1,
                actual: 0,
            });
        }
        let base_key = Secret::new(base_key).map_err(|_| Error::BaseKeyLength {
            expected: sframe_core::MAX_SECRET_LEN,
            actual: base_key.len(),
        })?;
        Ok(Self {
            epoch,
            base_key,
            sender_bits,
            own_index,
            members,
            removed: Vec::new(),
        })
    }

    /// Names the leaves that the commit which made this epoch removed. A removal counts even
    /// when a joiner of the same commit takes the removed leaf (MLS fills the leftmost blank
    /// leaf), which comparing rosters cannot see; with
    /// [`switch_at_once_on_removal`](KeyringConfig::switch_at_once_on_removal) the sender then
    /// switches at once.
    pub fn with_removed(mut self, removed: impl IntoIterator<Item = u32>) -> Self {
        self.removed = removed.into_iter().collect();
        self
    }

    /// Uses `sender_bits` as `S` instead of the RFC's value for the roster. A deviation from
    /// RFC 9605 section 5.2, for an application whose peers fix `S` for a session (e.g. from a
    /// maximum group size: [`sender_bits_for`](crate::sender_bits_for) of it); every member
    /// must use the same value, and it must hold every member's index.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `sender_bits` is above
    /// [`MAX_SENDER_BITS`](crate::MAX_SENDER_BITS); [`Error::SenderIndexOutOfRange`] if a
    /// member's (or the own) index does not fit in it.
    pub fn with_sender_bits(mut self, sender_bits: u8) -> Result<Self, Error> {
        let max = KidLayout::new(0, sender_bits)?.max_sender_index();
        if let Some(sender_index) = self
            .members
            .max_leaf()
            .into_iter()
            .chain(self.own_index)
            .find(|&i| i > max)
        {
            return Err(Error::SenderIndexOutOfRange { sender_index, max });
        }
        self.sender_bits = sender_bits;
        Ok(self)
    }

    /// The epoch number.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// `S`: the RFC's value for the roster, or the one given to
    /// [`EpochKeys::with_sender_bits`].
    pub fn sender_bits(&self) -> u8 {
        self.sender_bits
    }
}

/// Why the sender switched epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchReason {
    /// The first epoch: nothing to switch from.
    First,
    /// Every member of the new epoch acknowledged it.
    AllAcknowledged,
    /// The grace period passed before everyone acknowledged.
    GraceExpired,
    /// The epoch the sender used was removed (a newer epoch took its low E bits).
    Forced,
    /// The new epoch removed a member and
    /// [`switch_at_once_on_removal`](KeyringConfig::switch_at_once_on_removal) is set.
    MemberRemoved,
}

/// Why an epoch's keys were removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetireReason {
    /// A newer epoch has the same low E bits, or the epoch fell out of the window (the last
    /// `2^E` epoch numbers, and at most [`KeyringConfig::max_epochs`] epochs held).
    Rollover,
    /// `retire_after` passed since a newer epoch became known.
    Expired,
    /// [`Keyring::clear`].
    Cleared,
}

/// Why a buffered frame was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// Its epoch did not arrive within `max_age`.
    Expired,
    /// The buffer was full (frames or bytes) and this was the oldest frame.
    Overflow,
    /// Its epoch arrived but the frame did not decrypt.
    Undecryptable(Error),
    /// [`Keyring::clear`].
    Cleared,
}

/// Where a decrypted frame came from (taken from its KID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The frame's KID.
    pub kid: u64,
    /// The full epoch number.
    pub epoch: u64,
    /// The sender's leaf index.
    pub sender_index: u32,
    /// The sender's context (stream).
    pub context: u64,
    /// The frame's counter.
    pub ctr: u64,
}

/// A buffered frame that decrypted once its epoch arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptedFrame {
    /// The token the caller gave [`Keyring::decrypt`] with the frame.
    pub token: u64,
    /// Where it came from.
    pub info: FrameInfo,
    /// The buffer the frame was held in, decrypted in place.
    pub buf: Vec<u8>,
    /// Where the plaintext is in `buf`.
    pub range: Range<usize>,
    /// When it was given to [`Keyring::decrypt`].
    pub received_at: Duration,
}

impl DecryptedFrame {
    /// The plaintext.
    pub fn plaintext(&self) -> &[u8] {
        self.buf.get(self.range.clone()).unwrap_or_default()
    }
}

/// A buffered frame that was given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedFrame {
    /// The token the caller gave [`Keyring::decrypt`] with the frame.
    pub token: u64,
    /// The frame's KID.
    pub kid: u64,
    /// The frame's length.
    pub len: usize,
    /// When it was given to [`Keyring::decrypt`].
    pub received_at: Duration,
    /// Why.
    pub cause: DropCause,
}

/// What the keyring tells its caller; drain with [`Keyring::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The epoch decrypts from now on. Tell the other members (they wait for this
    /// acknowledgement before they encrypt with it).
    EpochReady {
        /// The epoch.
        epoch: u64,
    },
    /// Frames are encrypted with `to` from now on.
    Switched {
        /// The epoch used before.
        from: Option<u64>,
        /// The epoch used now.
        to: u64,
        /// Why now.
        reason: SwitchReason,
    },
    /// An epoch's keys were removed and zeroized.
    Retired {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: RetireReason,
    },
    /// A buffered frame decrypted.
    Decrypted(DecryptedFrame),
    /// A buffered frame was given up.
    Dropped(DroppedFrame),
}

/// The outcome of [`Keyring::decrypt`].
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// The plaintext, a sub-slice of the frame.
    Plaintext {
        /// Where it came from.
        info: FrameInfo,
        /// The plaintext.
        data: &'a mut [u8],
    },
    /// The frame's epoch is not known yet: the frame is held, and comes out later as
    /// [`Event::Decrypted`] or [`Event::Dropped`].
    Buffered,
}

/// How many keys each epoch keeps that were derived for a frame that then failed to
/// authenticate (a forgery, or a genuine frame that was damaged): a forger who repeats a KID
/// costs a tag check per frame (the AES key expansion and GHASH, or the suite's HMAC), not a key
/// derivation. Oldest out first. A cached key is its derived bytes, about 170 bytes, so this is
/// under 3 KiB per epoch, `2^E` epochs at most.
///
/// A key here is checked with the cheap derivation of `src/unproven.rs` (the epoch's HMAC pads
/// hashed once); only a frame that authenticates under it makes the keyring derive and install
/// the KID's key for good.
pub const UNPROVEN_KEYS_PER_EPOCH: usize = 16;

struct EpochSlot {
    epoch: u64,
    base_key: Secret,
    /// The epoch's base key after HKDF-Extract, for the key installed once a frame under a new
    /// KID authenticated.
    deriver: KidKeyDeriver,
    /// The same, for the first check of a frame under a new KID (cheaper per KID).
    checker: UnprovenDeriver,
    /// Keys derived for frames that did not authenticate, at most
    /// [`UNPROVEN_KEYS_PER_EPOCH`], oldest first.
    unproven: VecDeque<UnprovenKey>,
    /// `header || metadata` for [`UnprovenKey::authenticates`] when there is metadata.
    aad: Vec<u8>,
    layout: KidLayout,
    own_index: Option<u32>,
    members: Roster,
    sender: Sender,
    receiver: Receiver,
    /// When a newer epoch became known.
    superseded_at: Option<Duration>,
}

impl core::fmt::Debug for EpochSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EpochSlot")
            .field("epoch", &self.epoch)
            .field("layout", &self.layout)
            .field("own_index", &self.own_index)
            .field("members", &self.members.len())
            .field("superseded_at", &self.superseded_at)
            .finish_non_exhaustive()
    }
}

impl EpochSlot {
    fn is_member(&self, index: u32) -> bool {
        self.members.contains(index)
    }
}

/// Keys for every sender of up to `2^E` MLS epochs (and at most
/// [`max_epochs`](KeyringConfig::max_epochs)), and the switch between them.
///
/// Each epoch keeps its own `S` ([`EpochKeys::sender_bits`]): a KID is matched to its epoch by
/// its low `E` bits alone, then split into sender and context with that epoch's `S`, so frames
/// of an old and a new epoch are both attributed right while a commit that changes `S` (the
/// group crossed a power of two) takes effect.
///
/// Epochs go in with [`Keyring::add_epoch`] (as soon as a commit is staged, before it is
/// merged); a new epoch decrypts at once. The sender keeps encrypting with its previous epoch
/// until every member of the new one [acknowledged](Keyring::acknowledge) it or
/// `switch_grace` passed, so nobody receives a frame they cannot decrypt yet. Frames for an
/// epoch not known yet wait in a bounded buffer. Old epochs are retired `retire_after` after a
/// newer one arrived, or at once when a new epoch takes their low E bits. Nothing here reads a
/// clock or does IO: time comes in as `now`, and [`Event`]s go out through
/// [`Keyring::poll_event`]; call [`Keyring::handle_timeout`] at [`Keyring::poll_timeout`].
///
/// # Peer input
/// A frame that is malformed, names a non-member or fails to authenticate changes no state: no
/// key is installed until a frame under it authenticates, and the next genuine frame decrypts.
/// Cost: one AEAD attempt under a KID already in use; under a KID of a member with no key yet,
/// a tag check without decrypting (the KID's key from two HKDF-Expands with the epoch's HMAC
/// pads hashed once, unless cached, then the AES key expansion and GHASH, or the suite's HMAC);
/// only a frame whose tag checks runs the full key derivation and installs the key
/// (benches/forged.rs in this crate measures the ratio). Memory a peer can make the
/// keyring hold: frames for unknown epochs, bounded by [`PendingLimits`]; per epoch, at most
/// [`UNPROVEN_KEYS_PER_EPOCH`] keys derived for frames that failed; and per epoch one key (with
/// its replay window) per KID that authenticated a frame, which only members can cause.
#[derive(Debug)]
pub struct Keyring {
    config: KeyringConfig,
    /// `E` with `S = 0`: enough to read the low epoch bits of any KID.
    epoch_layout: KidLayout,
    /// Sorted by epoch, at most `min(2^E, max_epochs)`.
    epochs: Vec<EpochSlot>,
    /// The epoch frames are encrypted with.
    sending: Option<u64>,
    /// When the sender must switch to the newest epoch at the latest.
    switch_deadline: Option<Duration>,
    /// The newest epoch each member (leaf index) acknowledged.
    acks: HashMap<u32, u64>,
    /// Members whose acknowledgement named an epoch newer than the newest held when it came:
    /// the only acknowledgements a new epoch can find already given.
    acked_ahead: Vec<u32>,
    /// Members of the newest epoch (other than this one) that have not acknowledged it.
    unacked: usize,
    pending: Pending,
    events: VecDeque<Event>,
    /// Failed checks of frames under new KIDs, per stream.
    fresh_kid_failures: FailureBudget,
    /// Frames under new KIDs checked (a diagnostic).
    fresh_kid_checks: u64,
}

impl Keyring {
    /// An empty keyring.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`].
    pub fn new(config: KeyringConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            epoch_layout: KidLayout::new(config.epoch_bits, 0)?,
            epochs: Vec::new(),
            sending: None,
            switch_deadline: None,
            acks: HashMap::new(),
            acked_ahead: Vec::new(),
            unacked: 0,
            pending: Pending::new(config.pending),
            events: VecDeque::new(),
            fresh_kid_failures: FailureBudget::new(config.fresh_kid_failures),
            fresh_kid_checks: 0,
        })
    }

    /// How many frames under KIDs without a key were checked so far (each costs a key check:
    /// see [`FreshKidBudget`]). A diagnostic.
    pub fn fresh_kid_checks(&self) -> u64 {
        self.fresh_kid_checks
    }

    /// The configuration.
    pub fn config(&self) -> &KeyringConfig {
        &self.config
    }

    fn epoch_layout(&self) -> KidLayout {
        self.epoch_layout
    }

    /// Whether an epoch `age` numbers older than a new one is outside the `2^E` window (a
    /// future epoch could share its low bits). Never for `E = 64`.
    fn outside_window(&self, age: u64) -> bool {
        age.checked_shr(u32::from(self.config.epoch_bits))
            .is_some_and(|high| high != 0)
    }

    /// The epochs held, oldest first.
    pub fn epochs(&self) -> impl Iterator<Item = u64> + '_ {
        self.epochs.iter().map(|s| s.epoch)
    }

    /// The newest epoch held.
    pub fn newest_epoch(&self) -> Option<u64> {
        self.epochs.last().map(|s| s.epoch)
    }

    /// The epoch frames are encrypted with now.
    pub fn sending_epoch(&self) -> Option<u64> {
        self.sending
    }

    /// Frames held for epochs not known yet, and their bytes.
    pub fn pending(&self) -> (usize, usize) {
        (self.pending.len(), self.pending.bytes())
    }

    /// How many receive keys (one per sender KID seen) are derived across all epochs.
    pub fn receive_key_count(&self) -> usize {
        self.epochs.iter().map(|s| s.receiver.key_count()).sum()
    }

    /// The roster of `epoch`, if held.
    pub fn members(&self, epoch: u64) -> Option<&Roster> {
        self.slot(epoch).map(|s| &s.members)
    }

    /// How KIDs of `epoch` are laid out (its `E` and its own `S`), if held: to tell which
    /// epoch, sender and context a KID on the wire names.
    pub fn kid_layout(&self, epoch: u64) -> Option<KidLayout> {
        self.slot(epoch).map(|s| s.layout)
    }

    /// Replaces the roster of `epoch` (for an adapter that learns the exact roster only when a
    /// commit is merged). New senders are checked against it from now on. The epoch keeps the
    /// `S` it was added with (KIDs under it may be in use already).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the epoch is not held; [`Error::SenderIndexOutOfRange`] if
    /// an index does not fit in `S`.
    pub fn set_members(
        &mut self,
        epoch: u64,
        members: impl IntoIterator<Item = u32>,
    ) -> Result<(), Error> {
        let slot = self
            .epochs
            .iter_mut()
            .find(|s| s.epoch == epoch)
            .ok_or(Error::InvalidConfig("set_members: epoch not held"))?;
        let members = Roster::from_leaves(members);
        let max = slot.layout.max_sender_index();
        if let Some(sender_index) = members.max_leaf().filter(|&m| m > max) {
            return Err(Error::SenderIndexOutOfRange { sender_index, max });
        }
        slot.members = members;
        self.recount_unacked();
        Ok(())
    }

    fn slot(&self, epoch: u64) -> Option<&EpochSlot> {
        self.epochs.iter().find(|s| s.epoch == epoch)
    }

    /// Adds an epoch: it decrypts from now on ([`Event::EpochReady`]), buffered frames for it
    /// decrypt ([`Event::Decrypted`]), an older epoch with the same low E bits (or outside the
    /// `2^E` window, or beyond [`max_epochs`](KeyringConfig::max_epochs)) is retired, and the
    /// sender starts its switch.
    ///
    /// # Errors
    /// [`Error::StaleEpoch`] if a newer epoch is held; [`Error::EpochKnown`];
    /// [`Error::BaseKeyLength`] if the key does not have the suite's `Nk` bytes;
    /// [`Error::InvalidConfig`] if the epoch's `S` plus this keyring's `E` exceed 64 bits.
    /// The keyring is unchanged on error.
    pub fn add_epoch(&mut self, now: Duration, keys: EpochKeys) -> Result<(), Error> {
        if let Some(newest) = self.newest_epoch() {
            if keys.epoch == newest {
                return Err(Error::EpochKnown(keys.epoch));
            }
            if keys.epoch < newest {
                return Err(Error::StaleEpoch {
                    epoch: keys.epoch,
                    newest,
                });
            }
        }
        let nk = self.config.suite.key_len();
        if keys.base_key.expose().len() != nk {
            return Err(Error::BaseKeyLength {
                expected: nk,
                actual: keys.base_key.expose().len(),
            });
        }
        let layout = KidLayout::new(self.config.epoch_bits, keys.sender_bits)?;
        let receiver_config = ReceiverConfig {
            replay_window: self.config.replay_window,
            ..ReceiverConfig::default()
        };
        let deriver = KidKeyDeriver::new(
            self.config.backend,
            self.config.suite,
            keys.base_key.expose(),
        )
        .map_err(Error::Sframe)?;
        let checker = UnprovenDeriver::new(self.config.suite, keys.base_key.expose())
            .ok_or(Error::Sframe(sframe_core::SframeError::Crypto))?;
        let slot = EpochSlot {
            epoch: keys.epoch,
            deriver,
            checker,
            unproven: VecDeque::new(),
            aad: Vec::new(),
            layout,
            own_index: keys.own_index,
            members: keys.members,
            sender: Sender::with_backend(self.config.suite, self.config.backend),
            receiver: Receiver::with_config(
                self.config.suite,
                self.config.backend,
                receiver_config,
            ),
            base_key: keys.base_key,
            superseded_at: None,
        };
        // Nothing can fail from here on.
        let removes_a_member = !keys.removed.is_empty()
            || self
                .sending
                .and_then(|e| self.slot(e))
                .is_some_and(|old| !old.members.is_subset_of(&slot.members));
        let epoch = slot.epoch;
        let low = layout.epoch_low(epoch);
        let mut forced = false;
        let mut i = 0;
        while i < self.epochs.len() {
            let old = &self.epochs[i];
            // Same low bits, or so old that a future epoch could share its low bits.
            if layout.epoch_low(old.epoch) == low || self.outside_window(epoch - old.epoch) {
                forced |= self.retire_rollover(i);
            } else {
                i += 1;
            }
        }
        // At most max_epochs with the new one (max_epochs >= 1): the oldest beyond that go.
        while !self.epochs.is_empty() && self.epochs.len() >= self.config.max_epochs {
            forced |= self.retire_rollover(0);
        }
        for old in &mut self.epochs {
            old.superseded_at.get_or_insert(now);
        }
        self.epochs.push(slot);
        self.count_unacked_of_new_epoch();
        self.events.push_back(Event::EpochReady { epoch });
        for frame in self.pending.take_epoch(low) {
            self.decrypt_buffered(frame);
        }
        if forced {
            let from = self.sending.take();
            self.switch_to_newest(from, SwitchReason::Forced);
        } else if self.sending.is_none() {
            self.switch_to_newest(None, SwitchReason::First);
        } else if removes_a_member && self.config.switch_at_once_on_removal {
            let from = self.sending;
            self.switch_to_newest(from, SwitchReason::MemberRemoved);
        } else if self.switch_deadline.is_none() {
            self.switch_deadline = Some(now.saturating_add(self.config.switch_grace));
        }
        self.maybe_switch(now);
        Ok(())
    }

    /// Retires the epoch at `i` for a rollover; whether the sender was using it.
    fn retire_rollover(&mut self, i: usize) -> bool {
        let removed = self.epochs.remove(i);
        self.events.push_back(Event::Retired {
            epoch: removed.epoch,
            reason: RetireReason::Rollover,
        });
        self.sending == Some(removed.epoch)
    }

    /// Records that member `sender_index` can decrypt `epoch` (and every epoch before it it was
    /// a member of). The sender switches as soon as every member of the newest epoch did.
    pub fn acknowledge(&mut self, now: Duration, sender_index: u32, epoch: u64) {
        let previous = self.acks.insert(sender_index, epoch);
        if let Some(p) = previous.filter(|&p| p > epoch) {
            self.acks.insert(sender_index, p);
            return;
        }
        let newest_held = self.newest_epoch();
        let was_ahead = previous.is_some_and(|p| newest_held.is_none_or(|n| p > n));
        if !was_ahead && newest_held.is_none_or(|n| epoch > n) {
            self.acked_ahead.push(sender_index);
        }
        if let Some(newest) = self.epochs.last()
            && epoch >= newest.epoch
            && previous.is_none_or(|p| p < newest.epoch)
            && newest.own_index != Some(sender_index)
            && newest.is_member(sender_index)
        {
            self.unacked = self.unacked.saturating_sub(1);
        }
        self.maybe_switch(now);
    }

    /// Counts the members of a just-added newest epoch still to acknowledge it, from the
    /// acknowledgements that came ahead of it: O(those), nothing per member.
    fn count_unacked_of_new_epoch(&mut self) {
        let Some(newest) = self.epochs.last() else {
            self.unacked = 0;
            return;
        };
        let acks = &self.acks;
        let acked = |m: &u32| acks.get(m).is_some_and(|&e| e >= newest.epoch);
        let own_member = newest
            .own_index
            .is_some_and(|own| newest.members.contains(own));
        let already = self
            .acked_ahead
            .iter()
            .filter(|&&m| Some(m) != newest.own_index && newest.members.contains(m))
            .filter(|m| acked(m))
            .count();
        self.unacked = newest
            .members
            .len()
            .saturating_sub(usize::from(own_member) + already);
        let epoch = newest.epoch;
        self.acked_ahead
            .retain(|m| acks.get(m).is_some_and(|&e| e > epoch));
    }

    /// Counts the members of the newest epoch still to acknowledge it, walking its roster
    /// (for [`Keyring::set_members`], which is given the roster member by member anyway).
    fn recount_unacked(&mut self) {
        self.unacked = self.epochs.last().map_or(0, |newest| {
            newest
                .members
                .iter()
                .filter(|&m| Some(m) != newest.own_index)
                .filter(|m| self.acks.get(m).is_none_or(|&e| e < newest.epoch))
                .count()
        });
    }

    /// When [`Keyring::handle_timeout`] has something to do next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let retire = self
            .epochs
            .iter()
            .filter(|s| Some(s.epoch) != self.sending)
            .filter_map(|s| s.superseded_at)
            .map(|t| t.saturating_add(self.config.retire_after))
            .min();
        [self.switch_deadline, retire, self.pending.next_expiry()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Switches the sender when its grace ends, retires old epochs, drops expired buffered
    /// frames.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.maybe_switch(now);
        let retire_after = self.config.retire_after;
        let sending = self.sending;
        let mut i = 0;
        while i < self.epochs.len() {
            let s = &self.epochs[i];
            let due = s
                .superseded_at
                .is_some_and(|t| t.saturating_add(retire_after) <= now);
            if due && Some(s.epoch) != sending {
                let removed = self.epochs.remove(i);
                self.events.push_back(Event::Retired {
                    epoch: removed.epoch,
                    reason: RetireReason::Expired,
                });
            } else {
                i += 1;
            }
        }
        for frame in self.pending.expire(now) {
            self.report_drop(frame, DropCause::Expired);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Removes every epoch (zeroizing its keys) and every buffered frame, and stops sending:
    /// for a member that left the group.
    pub fn clear(&mut self) {
        for slot in self.epochs.drain(..) {
            self.events.push_back(Event::Retired {
                epoch: slot.epoch,
                reason: RetireReason::Cleared,
            });
        }
        for frame in self.pending.take_all() {
            self.report_drop(frame, DropCause::Cleared);
        }
        self.sending = None;
        self.switch_deadline = None;
        self.acks.clear();
        self.acked_ahead.clear();
        self.unacked = 0;
    }

    fn maybe_switch(&mut self, now: Duration) {
        let (Some(sending), Some(newest)) = (self.sending, self.epochs.last()) else {
            return;
        };
        if newest.epoch == sending {
            return;
        }
        if self.unacked == 0 {
            self.switch_to_newest(Some(sending), SwitchReason::AllAcknowledged);
        } else if self.switch_deadline.is_some_and(|d| d <= now) {
            self.switch_to_newest(Some(sending), SwitchReason::GraceExpired);
        }
    }

    fn switch_to_newest(&mut self, from: Option<u64>, reason: SwitchReason) {
        self.switch_deadline = None;
        if let Some(newest) = self.epochs.last() {
            self.sending = Some(newest.epoch);
            self.events.push_back(Event::Switched {
                from,
                to: newest.epoch,
                reason,
            });
        }
    }

    // ---- sending ----

    /// The sending slot and the KID for `context` in it, installing the KID's key on first use
    /// (the key schedule runs once per KID and epoch; its counter starts at 0).
    fn send_kid(&mut self, context: u64) -> Result<(usize, u64), Error> {
        let sending = self.sending.ok_or(Error::NoSendEpoch)?;
        let idx = self
            .epochs
            .iter()
            .position(|s| s.epoch == sending)
            .ok_or(Error::NoSendEpoch)?;
        let slot = &mut self.epochs[idx];
        let own = slot.own_index.ok_or(Error::NotASender)?;
        let kid = slot.layout.kid(context, own, slot.epoch)?;
        if !slot.sender.kids().any(|k| k == kid) {
            slot.sender
                .add_key(kid, slot.base_key.expose())
                .map_err(Error::Sframe)?;
        }
        Ok((idx, kid))
    }

    /// The KID the next frame of `context` is encrypted under.
    ///
    /// # Errors
    /// [`Error::NoSendEpoch`], [`Error::NotASender`], [`Error::ContextOutOfRange`].
    pub fn send_kid_for(&mut self, context: u64) -> Result<u64, Error> {
        self.send_kid(context).map(|(_, kid)| kid)
    }

    /// The header (KID and counter) the next frame of `context` will carry.
    ///
    /// # Errors
    /// As [`Keyring::send_kid_for`], and [`Error::Sframe`] when the counter is exhausted.
    pub fn next_send_header(&mut self, context: u64) -> Result<Header, Error> {
        let (idx, kid) = self.send_kid(context)?;
        let ctr = self.epochs[idx]
            .sender
            .next_counter(kid)
            .map_err(Error::Sframe)?;
        Ok(Header::new(kid, ctr))
    }

    /// Skips the counter of `context`'s KID in the current epoch forward to `ctr` (never back);
    /// returns the counter its next frame will carry. For a sender that picks counters for
    /// their header's config byte ([`sframe_core::counter_with_config_bit`]).
    ///
    /// # Errors
    /// As [`Keyring::send_kid_for`], and [`Error::Sframe`] when the counter is exhausted.
    pub fn skip_send_counter(&mut self, context: u64, ctr: u64) -> Result<u64, Error> {
        let (idx, kid) = self.send_kid(context)?;
        self.epochs[idx]
            .sender
            .skip_counter_to(kid, ctr)
            .map_err(Error::Sframe)
    }

    /// The header length of the next frame of `context` (to place the plaintext for
    /// [`Keyring::encrypt_in_place`]).
    ///
    /// # Errors
    /// As [`Keyring::send_kid_for`].
    pub fn header_len(&mut self, context: u64) -> Result<usize, Error> {
        let (idx, kid) = self.send_kid(context)?;
        self.epochs[idx]
            .sender
            .header_len(kid)
            .map_err(Error::Sframe)
    }

    /// Encrypts `buf[plaintext]` for stream `context` with the current epoch, in place (see
    /// [`Sender::encrypt_in_place`]); returns the frame.
    ///
    /// # Errors
    /// As [`Keyring::send_kid_for`], and [`Error::Sframe`] for buffer and counter errors.
    pub fn encrypt_in_place<'a>(
        &mut self,
        context: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Error> {
        let (idx, kid) = self.send_kid(context)?;
        self.epochs[idx]
            .sender
            .encrypt_in_place(kid, metadata, buf, plaintext)
            .map_err(Error::Sframe)
    }

    /// Encrypts the plaintext filling `buf` for stream `context`; `buf` ends holding the frame.
    ///
    /// # Errors
    /// As [`Keyring::encrypt_in_place`].
    pub fn encrypt<B: FrameBuffer>(
        &mut self,
        context: u64,
        metadata: &[u8],
        buf: &mut B,
    ) -> Result<(), Error> {
        let (idx, kid) = self.send_kid(context)?;
        self.epochs[idx]
            .sender
            .encrypt(kid, metadata, buf)
            .map_err(Error::Sframe)
    }

    // ---- receiving ----

    /// Decrypts `frame` in place. A frame whose KID names an epoch not held is buffered
    /// ([`Received::Buffered`]) and comes out later as [`Event::Decrypted`] or
    /// [`Event::Dropped`] carrying `token`, an opaque value the caller chose to tell which
    /// frame it was (the keyring never looks at it).
    ///
    /// # Errors
    /// Bad peer input: [`Error::Frame`] (malformed, authentication failed, replay),
    /// [`Error::UnknownSender`], [`Error::UnknownEpoch`] (only when the frame cannot be
    /// buffered). The keyring is unchanged on error.
    pub fn decrypt<'a>(
        &mut self,
        now: Duration,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Received<'a>, Error> {
        self.decrypt_from(now, SHARED_STREAM, token, metadata, frame)
    }

    /// As [`Keyring::decrypt`], for a frame that came on `stream` (e.g. its SSRC): frames
    /// under new KIDs that fail to authenticate are budgeted per stream ([`FreshKidBudget`]),
    /// so a forger slows only its own stream. [`Keyring::decrypt`] puts every frame on one
    /// stream.
    ///
    /// # Errors
    /// As [`Keyring::decrypt`], and [`Error::Throttled`].
    pub fn decrypt_from<'a>(
        &mut self,
        now: Duration,
        stream: u64,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Received<'a>, Error> {
        let (header, _) = Header::parse(frame).map_err(Error::Frame)?;
        let low = self.epoch_layout().epoch_low(header.kid);
        let Some(idx) = self
            .epochs
            .iter()
            .position(|s| s.layout.epoch_low(s.epoch) == low)
        else {
            let size = frame.len() + metadata.len();
            if !self.pending.accepts(size) {
                return Err(Error::UnknownEpoch { kid: header.kid });
            }
            let evicted = self.pending.push(PendingFrame {
                token,
                kid: header.kid,
                epoch_low: low,
                frame: frame.to_vec(),
                metadata: metadata.to_vec(),
                received_at: now,
            });
            for old in evicted {
                self.report_drop(old, DropCause::Overflow);
            }
            return Ok(Received::Buffered);
        };
        let mut gate = Gate {
            budget: &mut self.fresh_kid_failures,
            checks: &mut self.fresh_kid_checks,
            stream: Some(stream),
            now,
        };
        let (info, data) = open(&mut self.epochs[idx], header, metadata, frame, &mut gate)?;
        Ok(Received::Plaintext { info, data })
    }

    fn decrypt_buffered(&mut self, mut frame: PendingFrame) {
        let layout = self.epoch_layout;
        // Held frames are bounded by the pending buffer; they are checked without a budget.
        let mut gate = Gate {
            budget: &mut self.fresh_kid_failures,
            checks: &mut self.fresh_kid_checks,
            stream: None,
            now: frame.received_at,
        };
        let result =
            Header::parse(&frame.frame)
                .map_err(Error::Frame)
                .and_then(|(header, header_len)| {
                    let low = layout.epoch_low(header.kid);
                    let slot = self
                        .epochs
                        .iter_mut()
                        .find(|s| s.layout.epoch_low(s.epoch) == low)
                        .ok_or(Error::UnknownEpoch { kid: header.kid })?;
                    let (info, data) =
                        open(slot, header, &frame.metadata, &mut frame.frame, &mut gate)?;
                    Ok((info, header_len..header_len + data.len()))
                });
        match result {
            Ok((info, range)) => {
                self.events.push_back(Event::Decrypted(DecryptedFrame {
                    token: frame.token,
                    info,
                    buf: std::mem::take(&mut frame.frame),
                    range,
                    received_at: frame.received_at,
                }));
            }
            Err(e) => self.report_drop(frame, DropCause::Undecryptable(e)),
        }
    }

    fn report_drop(&mut self, frame: PendingFrame, cause: DropCause) {
        self.events.push_back(Event::Dropped(DroppedFrame {
            token: frame.token,
            kid: frame.kid,
            len: frame.frame.len(),
            received_at: frame.received_at,
            cause,
        }));
    }
}

/// The stream [`Keyring::decrypt`] puts frames on.
const SHARED_STREAM: u64 = u64::MAX;

/// What a check of a frame under a new KID answers to: the stream's budget of failed checks
/// (`stream` `None`: not budgeted, for held frames, which the pending buffer bounds), and the
/// count of checks.
struct Gate<'a> {
    budget: &'a mut FailureBudget,
    checks: &'a mut u64,
    stream: Option<u64>,
    now: Duration,
}

/// Decrypts `frame` with `slot`, deriving the KID's key on first use. The key is installed
/// only once a frame under it authenticates; a frame under a KID without a key is first checked
/// with an [`UnprovenKey`] (the cheap derivation), which goes to the slot's bounded cache when
/// the frame fails (so a repeated forged KID is not derived again), and nothing else changes:
/// bad input leaves no other trace.
///
/// Cost of a forged frame: one AEAD attempt under a KID with a key; a tag check under a cached
/// unproven KID; under a new KID of a member, the cheap derivation (two HKDF-Expands as four
/// SHA compressions, the HMAC pads hashed once per epoch) besides; a KID of a non-member, or a
/// frame too short to hold a tag, costs a lookup.
fn open<'a>(
    slot: &mut EpochSlot,
    header: Header,
    metadata: &[u8],
    frame: &'a mut [u8],
    gate: &mut Gate<'_>,
) -> Result<(FrameInfo, &'a mut [u8]), Error> {
    let KidParts {
        context,
        sender_index,
        ..
    } = slot.layout.split(header.kid);
    let result = if slot.receiver.has_key(header.kid) {
        slot.receiver.decrypt_in_place(metadata, frame)
    } else {
        if !slot.is_member(sender_index) {
            return Err(Error::UnknownSender {
                epoch: slot.epoch,
                sender_index,
            });
        }
        let proven = check_new_kid(slot, header, metadata, frame, gate)?;
        // Authenticated under the cheap key: the key to install comes from the same key
        // schedule output (only the AEAD key setup runs again), once per KID a member really
        // uses.
        let mut candidate = Some(
            slot.deriver
                .key_from_schedule(header.kid, proven.key(), proven.salt())
                .map_err(Error::Sframe)?,
        );
        slot.receiver
            .decrypt_with_new_key(&mut candidate, metadata, frame)
    };
    match result {
        Ok(data) => Ok((
            FrameInfo {
                kid: header.kid,
                epoch: slot.epoch,
                sender_index,
                context,
                ctr: header.ctr,
            },
            data,
        )),
        Err(e) => Err(Error::Frame(e)),
    }
}

/// Checks a frame under a KID that has no key yet with the cached or a newly derived
/// [`UnprovenKey`]; on failure the key is cached (oldest out) and the frame refused as
/// [`SframeError::AuthenticationFailed`](sframe_core::SframeError::AuthenticationFailed) (or
/// [`SframeError::TruncatedFrame`](sframe_core::SframeError::TruncatedFrame) when it cannot
/// hold a tag, without deriving anything). On success the frame is as it came, and the key
/// comes back (its bytes make the key to install).
fn check_new_kid(
    slot: &mut EpochSlot,
    header: Header,
    metadata: &[u8],
    frame: &mut [u8],
    gate: &mut Gate<'_>,
) -> Result<UnprovenKey, Error> {
    let suite = slot.deriver.suite();
    let header_len = header.len();
    let needed = header_len + suite.tag_len();
    if frame.len() < needed {
        return Err(Error::Frame(sframe_core::SframeError::TruncatedFrame {
            needed,
            available: frame.len(),
        }));
    }
    let key = match slot.unproven.iter().position(|k| k.kid() == header.kid) {
        Some(i) => slot.unproven.remove(i),
        None => None,
    };
    let key = match key {
        Some(k) => k,
        None => {
            if let Some(stream) = gate.stream
                && !gate.budget.allows(stream, gate.now)
            {
                return Err(Error::Throttled { kid: header.kid });
            }
            *gate.checks += 1;
            slot.checker.derive(suite, header.kid)
        }
    };
    if key.authenticates(header.ctr, header_len, metadata, frame, &mut slot.aad) {
        return Ok(key);
    }
    if let Some(stream) = gate.stream {
        gate.budget.failed(stream, gate.now);
    }
    if slot.unproven.len() >= UNPROVEN_KEYS_PER_EPOCH {
        slot.unproven.pop_front();
    }
    slot.unproven.push_back(key);
    Err(Error::Frame(sframe_core::SframeError::AuthenticationFailed))
}
