//! A thin adapter from an openmls 0.9 group to a [`Keyring`].
//!
//! Each time the group is about to enter an epoch (a group is created, a Welcome is staged, a
//! commit is created or staged) the adapter exports
//! `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` from the *staged* state, before anything is
//! merged, and hands it to the keyring with the epoch's roster and the own leaf index. So a
//! member decrypts a new epoch as early as MLS allows. The epoch's `S` is the RFC's, from that
//! roster (its highest leaf index plus one, the ratchet tree's leaves up to its rightmost
//! member), unless [`MemberConfig::fixed_sender_bits`] says otherwise.

use std::time::Duration;

use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, KeyPackage, LeafNodeIndex, MlsGroup,
    MlsGroupCreateConfig, MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut,
    OpenMlsProvider, ProcessedMessageContent, ProtocolVersion, RatchetTreeIn, StagedCommit,
    StagedWelcome,
    tls_codec::{Deserialize, Serialize},
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use zeroize::Zeroizing;

use crate::kid::{EXPORTER_CONTEXT, EXPORTER_LABEL, base_key_len};
use crate::{EpochKeys, Error, Keyring, KeyringConfig, SecurityCode};

/// How an [`MlsMember`] is set up.
#[derive(Clone, Copy, Debug)]
pub struct MemberConfig {
    /// The MLS cipher suite of groups this member creates.
    pub ciphersuite: Ciphersuite,
    /// The keyring's configuration.
    pub keyring: KeyringConfig,
    /// `None` (the default): each epoch's `S` is the one RFC 9605 section 5.2 defines, from
    /// that epoch's group, so it changes when the group crosses a power of two and agrees with
    /// any peer that follows the RFC without configuring anything.
    ///
    /// `Some(S)`: a deviation from the RFC, for groups whose other members fix `S` for the
    /// session (some implementations take it as a setting, e.g. from a maximum group size `M`:
    /// then use [`sender_bits_for`](crate::sender_bits_for)`(M)`). Every member must use the
    /// same value; an epoch with a leaf index that does not fit is refused
    /// ([`MlsError::Keyring`] with [`Error::SenderIndexOutOfRange`]).
    pub fixed_sender_bits: Option<u8>,
}

impl MemberConfig {
    /// `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`, `S` as the RFC defines it.
    pub fn new(keyring: KeyringConfig) -> Self {
        Self {
            ciphersuite: Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
            keyring,
            fixed_sender_bits: None,
        }
    }
}

/// What the adapter refuses.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MlsError {
    /// The bytes are not an MLS message of the expected kind (bad peer input).
    Malformed(String),
    /// openmls refused the message: wrong group or epoch, bad signature, invalid commit (bad
    /// peer input).
    Rejected(String),
    /// There is no group (none created or joined yet).
    NoGroup,
    /// This member was removed from the group.
    Removed,
    /// No commit is pending or staged.
    NothingToMerge,
    /// The keyring refused the epoch (e.g. a leaf index beyond a fixed `S`).
    Keyring(Error),
    /// openmls failed locally (storage, randomness).
    Local(String),
}

impl core::fmt::Display for MlsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed MLS message: {m}"),
            Self::Rejected(m) => write!(f, "MLS message rejected: {m}"),
            Self::NoGroup => f.write_str("no group"),
            Self::Removed => f.write_str("removed from the group"),
            Self::NothingToMerge => f.write_str("no commit to merge"),
            Self::Keyring(e) => write!(f, "keyring: {e}"),
            Self::Local(m) => write!(f, "openmls: {m}"),
        }
    }
}

impl std::error::Error for MlsError {}

impl From<Error> for MlsError {
    fn from(e: Error) -> Self {
        Self::Keyring(e)
    }
}

fn local(e: impl core::fmt::Debug) -> MlsError {
    MlsError::Local(format!("{e:?}"))
}

/// An epoch's keying material lent to another device ([`MlsMember::delegated_epoch`]). The
/// base key is zeroized on drop and never shown by `Debug`.
#[derive(Clone)]
pub struct DelegatedEpoch {
    /// The MLS epoch.
    pub epoch: u64,
    /// The lending member's leaf: the sender index the device encrypts as.
    pub leaf: u32,
    /// The epoch's members' leaf indices (their highest gives RFC 9605's `S`).
    pub members: Vec<u32>,
    /// `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` of the epoch.
    pub base_key: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for DelegatedEpoch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DelegatedEpoch")
            .field("epoch", &self.epoch)
            .field("leaf", &self.leaf)
            .field("members", &self.members)
            .field("base_key", &"redacted")
            .finish()
    }
}

/// openmls's work on an incoming commit or Welcome, done ahead of time by
/// [`MlsMember::prepare_commit`] or [`MlsMember::prepare_welcome`], to be given to
/// [`MlsMember::apply`]. Holds the new epoch's base key until then (zeroized on drop).
pub struct Prepared(PreparedKind);

enum PreparedKind {
    Commit {
        staged: Box<StagedCommit>,
        /// `None` if the commit removes this member.
        keys: Option<Box<EpochKeys>>,
        outcome: CommitOutcome,
    },
    Welcome {
        staged: Box<StagedWelcome>,
        keys: Box<EpochKeys>,
        own: u32,
    },
}

impl core::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (kind, epoch) = match &self.0 {
            PreparedKind::Commit { outcome, .. } => ("commit", outcome.epoch),
            PreparedKind::Welcome { keys, .. } => ("welcome", keys.epoch()),
        };
        f.debug_struct("Prepared")
            .field("kind", &kind)
            .field("epoch", &epoch)
            .finish_non_exhaustive()
    }
}

/// A commit this member created: send `commit` to the group and `welcome` to the new members.
#[derive(Clone, Debug)]
pub struct OutgoingCommit {
    /// The epoch the commit moves to.
    pub epoch: u64,
    /// The commit, serialized.
    pub commit: Vec<u8>,
    /// The Welcome for the added members, serialized.
    pub welcome: Option<Vec<u8>>,
    /// The leaf indices the added members get, in the order their key packages were given.
    pub added: Vec<u32>,
}

/// What a commit (or Welcome) does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The epoch entered.
    pub epoch: u64,
    /// Leaf indices of members added.
    pub added: Vec<u32>,
    /// Leaf indices of members removed.
    pub removed: Vec<u32>,
    /// Whether the commit removed this member (then no epoch was given to the keyring).
    pub self_removed: bool,
    /// The new epoch's security code (`None` for a member removed by it).
    pub security_code: Option<SecurityCode>,
    /// The new epoch's `S` as the keyring uses it (`None` for a member removed by it): KIDs of
    /// this epoch carry the sender index in these bits (see [`Keyring::kid_layout`]).
    pub sender_bits: Option<u8>,
}

/// One MLS client with its group and its SFrame keyring.
pub struct MlsMember {
    config: MemberConfig,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    group: Option<MlsGroup>,
    /// The commit [`MlsMember::stage_commit`] holds, with the leaves it adds (predicted once,
    /// when staging, so that merging does not list the roster again).
    staged: Option<(StagedCommit, Vec<u32>)>,
    removed: bool,
    keyring: Keyring,
    roster_corrections: u64,
    /// Whether Welcomes this member creates carry the ratchet tree (RFC 9420 section 12.4.3.3).
    tree_in_welcome: bool,
}

impl core::fmt::Debug for MlsMember {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MlsMember")
            .field("epoch", &self.epoch())
            .field("own_leaf_index", &self.own_leaf_index())
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl MlsMember {
    /// A client named `identity` (a basic credential) with a fresh signature key.
    ///
    /// # Errors
    /// [`MlsError::Keyring`] for a bad keyring configuration; [`MlsError::Local`].
    pub fn new(identity: &[u8], config: MemberConfig) -> Result<Self, MlsError> {
        let keyring = Keyring::new(config.keyring)?;
        if let Some(s) = config.fixed_sender_bits {
            crate::KidLayout::new(config.keyring.epoch_bits, s)?;
        }
        let provider = OpenMlsRustCrypto::default();
        let signer =
            SignatureKeyPair::new(config.ciphersuite.signature_algorithm()).map_err(local)?;
        signer.store(provider.storage()).map_err(local)?;
        let credential = CredentialWithKey {
            credential: BasicCredential::new(identity.to_vec()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        Ok(Self {
            config,
            provider,
            signer,
            credential,
            group: None,
            staged: None,
            removed: false,
            keyring,
            roster_corrections: 0,
            tree_in_welcome: true,
        })
    }

    /// The keyring (for media).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keyring (for media).
    pub fn keyring_mut(&mut self) -> &mut Keyring {
        &mut self.keyring
    }

    /// The merged group's epoch.
    pub fn epoch(&self) -> Option<u64> {
        self.group.as_ref().map(|g| g.epoch().as_u64())
    }

    /// This member's leaf index (constant while it is in the group).
    pub fn own_leaf_index(&self) -> Option<u32> {
        self.group.as_ref().map(|g| g.own_leaf_index().u32())
    }

    /// The merged group's members' leaf indices.
    pub fn members(&self) -> Vec<u32> {
        self.group
            .as_ref()
            .map(|g| g.members().map(|m| m.index.u32()).collect())
            .unwrap_or_default()
    }

    /// Whether a commit removed this member.
    pub fn is_removed(&self) -> bool {
        self.removed
    }

    /// The merged epoch's security code.
    pub fn security_code(&self) -> Option<SecurityCode> {
        let g = self.group.as_ref().filter(|g| g.is_active())?;
        SecurityCode::from_authenticator(g.epoch().as_u64(), g.epoch_authenticator().as_slice())
    }

    /// How often the roster predicted from a staged commit differed from the merged one (and
    /// was corrected in the keyring). Zero unless openmls places new members differently from
    /// RFC 9420 section 12.1.1 (leftmost blank leaf).
    pub fn roster_corrections(&self) -> u64 {
        self.roster_corrections
    }

    /// The merged epoch's SFrame keying material, for a device this member lends its sending
    /// rights to (e.g. a browser page that encrypts with the same leaf while this member sends
    /// nothing itself): `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` of the current epoch, the
    /// roster and the leaf. Whoever receives it can decrypt the whole epoch and encrypt as this
    /// leaf, so hand it only to a device under the same user's control, over a channel only it
    /// can read, and never encrypt under the same leaf from two places: their counters would
    /// collide (nonce reuse).
    ///
    /// # Errors
    /// [`MlsError::NoGroup`]; [`MlsError::Removed`]; [`MlsError::Local`].
    pub fn delegated_epoch(&self) -> Result<DelegatedEpoch, MlsError> {
        if self.removed {
            return Err(MlsError::Removed);
        }
        let group = self.group.as_ref().ok_or(MlsError::NoGroup)?;
        let base_key = self.base_key(group)?;
        Ok(DelegatedEpoch {
            epoch: group.epoch().as_u64(),
            leaf: group.own_leaf_index().u32(),
            members: group.members().map(|m| m.index.u32()).collect(),
            base_key,
        })
    }

    /// `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` of `group`'s epoch.
    fn base_key(&self, group: &MlsGroup) -> Result<Zeroizing<Vec<u8>>, MlsError> {
        group
            .export_secret(
                self.provider.crypto(),
                EXPORTER_LABEL,
                EXPORTER_CONTEXT,
                self.nk(),
            )
            .map(Zeroizing::new)
            .map_err(local)
    }

    fn nk(&self) -> usize {
        base_key_len(self.config.keyring.suite)
    }

    /// A fresh key package others can add this member with (an MLS message, serialized).
    ///
    /// # Errors
    /// [`MlsError::Local`].
    pub fn key_package(&mut self) -> Result<Vec<u8>, MlsError> {
        let bundle = KeyPackage::builder()
            .build(
                self.config.ciphersuite,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .map_err(local)?;
        MlsMessageOut::from(bundle.key_package().clone())
            .to_bytes()
            .map_err(local)
    }

    /// Whether the Welcomes of this member's commits carry the ratchet tree (the default) or
    /// leave it to the delivery service, which hands joiners [`MlsMember::ratchet_tree`] with
    /// the Welcome (a Welcome then stays small however large the group). Applies to the
    /// current group at once and to groups created or joined later.
    ///
    /// # Errors
    /// [`MlsError::Local`] if openmls cannot store the setting.
    pub fn set_ratchet_tree_in_welcome(&mut self, include: bool) -> Result<(), MlsError> {
        self.tree_in_welcome = include;
        let config = self.join_config();
        if let Some(group) = self.group.as_mut() {
            group
                .set_configuration(self.provider.storage(), &config)
                .map_err(local)?;
        }
        Ok(())
    }

    fn join_config(&self) -> MlsGroupJoinConfig {
        MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(self.tree_in_welcome)
            .build()
    }

    /// The merged group's ratchet tree, serialized as RFC 9420 section 12.4.3.3 defines it
    /// (`optional<Node> ratchet_tree<V>`): what a delivery service gives a joiner with a
    /// Welcome that does not carry the tree ([`MlsMember::join_with_ratchet_tree`]).
    ///
    /// # Errors
    /// [`MlsError::NoGroup`]; [`MlsError::Local`].
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, MlsError> {
        let group = self.group.as_ref().ok_or(MlsError::NoGroup)?;
        group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(local)
    }

    /// Creates a group with this member alone (epoch 0) and gives epoch 0 to the keyring.
    ///
    /// # Errors
    /// [`MlsError::Local`]; [`MlsError::Keyring`].
    pub fn create_group(&mut self, now: Duration) -> Result<(), MlsError> {
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(self.config.ciphersuite)
            .use_ratchet_tree_extension(self.tree_in_welcome)
            .build();
        let group = MlsGroup::new(
            &self.provider,
            &self.signer,
            &config,
            self.credential.clone(),
        )
        .map_err(local)?;
        let base_key = self.base_key(&group)?;
        let own = group.own_leaf_index().u32();
        let keys = epoch_keys(
            self.config.fixed_sender_bits,
            group.epoch().as_u64(),
            &base_key,
            own,
            [own],
        )?;
        self.keyring.add_epoch(now, keys)?;
        self.group = Some(group);
        Ok(())
    }

    /// Joins from a Welcome: stages it, gives its epoch to the keyring, then joins.
    ///
    /// # Errors
    /// [`MlsError::Malformed`] if the bytes are not a Welcome; [`MlsError::Rejected`] if
    /// openmls refuses it; [`MlsError::Keyring`]. Nothing changes on error.
    pub fn join(&mut self, now: Duration, welcome: &[u8]) -> Result<CommitOutcome, MlsError> {
        self.join_from(now, welcome, None)
    }

    /// Joins from a Welcome that does not carry the ratchet tree, with the tree the delivery
    /// service supplied (serialized as [`MlsMember::ratchet_tree`] gives it). openmls checks
    /// the tree against the Welcome's group context (its tree hash) before the group or the
    /// keyring changes.
    ///
    /// openmls 0.9.2 deletes the joiner's key package from its storage as soon as it starts on
    /// a Welcome, before it looks at the tree: after a refused attempt (no tree, a wrong
    /// tree) the same Welcome cannot be used again, the joiner needs a new one.
    ///
    /// # Errors
    /// [`MlsError::Malformed`] if the bytes are not a Welcome or a ratchet tree (openmls is
    /// not called); [`MlsError::Rejected`] if openmls refuses them (e.g. a tree that does not
    /// match); [`MlsError::Keyring`]. The group and keyring are unchanged on error.
    pub fn join_with_ratchet_tree(
        &mut self,
        now: Duration,
        welcome: &[u8],
        ratchet_tree: &[u8],
    ) -> Result<CommitOutcome, MlsError> {
        let tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        self.join_from(now, welcome, Some(tree))
    }

    fn join_from(
        &mut self,
        now: Duration,
        welcome: &[u8],
        tree: Option<RatchetTreeIn>,
    ) -> Result<CommitOutcome, MlsError> {
        let prepared = self.prepare_welcome_from(welcome, tree)?;
        self.apply(now, prepared)
    }

    /// openmls's work on a Welcome (decryption, tree validation) and the epoch's base key;
    /// nothing reaches the keyring or the group yet.
    fn prepare_welcome_from(
        &mut self,
        welcome: &[u8],
        tree: Option<RatchetTreeIn>,
    ) -> Result<Prepared, MlsError> {
        let msg = MlsMessageIn::tls_deserialize_exact(welcome)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let MlsMessageBodyIn::Welcome(welcome) = msg.extract() else {
            return Err(MlsError::Malformed("not a Welcome".into()));
        };
        let join_config = self.join_config();
        let staged = StagedWelcome::new_from_welcome(&self.provider, &join_config, welcome, tree)
            .map_err(|e| MlsError::Rejected(e.to_string()))?;
        let epoch = staged.group_context().epoch().as_u64();
        let base_key = Zeroizing::new(
            staged
                .export_secret(
                    self.provider.crypto(),
                    EXPORTER_LABEL,
                    EXPORTER_CONTEXT,
                    self.nk(),
                )
                .map_err(local)?,
        );
        let own = staged.own_leaf_index().u32();
        let members: Vec<u32> = staged.members().map(|m| m.index.u32()).collect();
        let keys = epoch_keys(
            self.config.fixed_sender_bits,
            epoch,
            &base_key,
            own,
            members,
        )?;
        Ok(Prepared(PreparedKind::Welcome {
            staged: Box::new(staged),
            keys: Box::new(keys),
            own,
        }))
    }

    /// openmls's work on an incoming Welcome (serialized MLS message, ratchet tree inside),
    /// done ahead of [`MlsMember::apply`]: the expensive part of [`MlsMember::join`]
    /// (decryption, validating the whole tree), which needs no clock and touches neither the
    /// keyring nor the group, so a caller with many members can do it for all of them in
    /// parallel (each member is `Send`) and apply each at its own time.
    ///
    /// # Errors
    /// As [`MlsMember::join`]. On error the keyring and group are unchanged (openmls 0.9.2
    /// has deleted the key package, as for a refused [`MlsMember::join`]).
    pub fn prepare_welcome(&mut self, welcome: &[u8]) -> Result<Prepared, MlsError> {
        self.prepare_welcome_from(welcome, None)
    }

    /// openmls's work on an incoming commit, done ahead of [`MlsMember::apply`]: the
    /// expensive part of [`MlsMember::process_commit`] (decrypting the path secret, verifying
    /// the commit and the new tree). It needs no clock and gives the keyring nothing; openmls
    /// may advance its handshake secrets, so apply what it returns before preparing or
    /// processing the next message.
    ///
    /// # Errors
    /// As [`MlsMember::stage_commit`]; also if a staged commit is waiting to be merged.
    pub fn prepare_commit(&mut self, bytes: &[u8]) -> Result<Prepared, MlsError> {
        if self.staged.is_some() {
            return Err(MlsError::Rejected(
                "a staged commit is not merged yet".into(),
            ));
        }
        let msg = MlsMessageIn::tls_deserialize_exact(bytes)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let protocol = msg
            .try_into_protocol_message()
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let fixed_sender_bits = self.config.fixed_sender_bits;
        let nk = self.nk();
        let Self {
            group,
            provider,
            removed,
            ..
        } = self;
        if *removed {
            return Err(MlsError::Removed);
        }
        let group = group.as_mut().ok_or(MlsError::NoGroup)?;
        let processed = group
            .process_message(provider, protocol)
            .map_err(|e| MlsError::Rejected(e.to_string()))?;
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            return Err(MlsError::Rejected("not a commit".into()));
        };
        let epoch = staged.epoch().as_u64();
        let removed_leaves = removed_leaves(&staged);
        let current: Vec<u32> = group.members().map(|m| m.index.u32()).collect();
        let (roster, added) =
            predict_roster(&current, &removed_leaves, staged.add_proposals().count());
        let self_removed = staged.self_removed();
        let mut keys = None;
        let mut security_code = None;
        if !self_removed {
            let base_key = Zeroizing::new(
                staged
                    .export_secret(provider.crypto(), EXPORTER_LABEL, EXPORTER_CONTEXT, nk)
                    .map_err(local)?,
            );
            let own = group.own_leaf_index().u32();
            keys = Some(Box::new(
                epoch_keys(fixed_sender_bits, epoch, &base_key, own, roster)?
                    .with_removed(removed_leaves.iter().copied()),
            ));
            security_code = staged
                .epoch_authenticator()
                .and_then(|a| SecurityCode::from_authenticator(epoch, a.as_slice()));
        }
        Ok(Prepared(PreparedKind::Commit {
            staged: Box::new(*staged),
            keys,
            outcome: CommitOutcome {
                epoch,
                added,
                removed: removed_leaves,
                self_removed,
                security_code,
                sender_bits: None,
            },
        }))
    }

    /// Applies what [`MlsMember::prepare_commit`] or [`MlsMember::prepare_welcome`] returned,
    /// at `now`: the new epoch goes to the keyring, then the commit is merged (or the group
    /// joined). The same outcome as [`MlsMember::process_commit`] or [`MlsMember::join`].
    ///
    /// # Errors
    /// [`MlsError::Keyring`], [`MlsError::Local`]; [`MlsError::Rejected`] if a staged commit
    /// is waiting to be merged.
    pub fn apply(&mut self, now: Duration, prepared: Prepared) -> Result<CommitOutcome, MlsError> {
        match prepared.0 {
            PreparedKind::Commit {
                staged,
                keys,
                outcome,
            } => {
                self.stage_prepared(now, *staged, keys, outcome)?;
                self.merge_staged_commit()
            }
            PreparedKind::Welcome { staged, keys, own } => {
                let epoch = keys.epoch();
                let sender_bits = keys.sender_bits();
                self.keyring.add_epoch(now, *keys)?;
                let group = staged.into_group(&self.provider).map_err(local)?;
                self.group = Some(group);
                self.removed = false;
                Ok(CommitOutcome {
                    epoch,
                    added: vec![own],
                    removed: Vec::new(),
                    self_removed: false,
                    security_code: self.security_code(),
                    sender_bits: Some(sender_bits),
                })
            }
        }
    }

    fn group_mut(&mut self) -> Result<&mut MlsGroup, MlsError> {
        if self.removed {
            return Err(MlsError::Removed);
        }
        self.group.as_mut().ok_or(MlsError::NoGroup)
    }

    /// Commits adding the members of `key_packages` (serialized MLS key package messages) and
    /// removing the leaves `removes`, in one commit. The new epoch goes to the keyring at once
    /// (exported from the pending commit); merge with [`MlsMember::merge_pending_commit`] once
    /// the delivery service accepted the commit.
    ///
    /// # Errors
    /// [`MlsError::Malformed`] / [`MlsError::Rejected`] for a bad key package;
    /// [`MlsError::Rejected`] if openmls refuses the commit (e.g. an unknown leaf);
    /// [`MlsError::Keyring`]. On error nothing is pending.
    pub fn commit(
        &mut self,
        now: Duration,
        key_packages: &[Vec<u8>],
        removes: &[u32],
    ) -> Result<OutgoingCommit, MlsError> {
        let mut kps = Vec::with_capacity(key_packages.len());
        for bytes in key_packages {
            let msg = MlsMessageIn::tls_deserialize_exact(bytes.as_slice())
                .map_err(|e| MlsError::Malformed(e.to_string()))?;
            let MlsMessageBodyIn::KeyPackage(kp) = msg.extract() else {
                return Err(MlsError::Malformed("not a key package".into()));
            };
            let kp = kp
                .validate(self.provider.crypto(), ProtocolVersion::Mls10)
                .map_err(|e| MlsError::Rejected(e.to_string()))?;
            kps.push(kp);
        }
        let fixed_sender_bits = self.config.fixed_sender_bits;
        let nk = self.nk();
        let Self {
            group,
            provider,
            signer,
            keyring,
            removed,
            ..
        } = self;
        if *removed {
            return Err(MlsError::Removed);
        }
        let group = group.as_mut().ok_or(MlsError::NoGroup)?;
        let mut current: Vec<u32> = group.members().map(|m| m.index.u32()).collect();
        current.sort_unstable();
        if let Some(&bad) = removes.iter().find(|r| current.binary_search(r).is_err()) {
            return Err(MlsError::Rejected(format!("leaf {bad} is not a member")));
        }
        let bundle = group
            .commit_builder()
            .propose_adds(kps)
            .propose_removals(removes.iter().map(|&r| LeafNodeIndex::new(r)))
            .load_psks(provider.storage())
            .map_err(local)?
            .build(provider.rand(), provider.crypto(), signer, |_| true)
            .map_err(|e| MlsError::Rejected(e.to_string()))?
            .stage_commit(provider)
            .map_err(|e| MlsError::Rejected(e.to_string()))?;
        let staged = group.pending_commit().ok_or(MlsError::NothingToMerge)?;
        let epoch = staged.epoch().as_u64();
        let (roster, added) = predict_roster(&current, removes, key_packages.len());
        let own = group.own_leaf_index().u32();
        let fed = staged
            .export_secret(provider.crypto(), EXPORTER_LABEL, EXPORTER_CONTEXT, nk)
            .map(Zeroizing::new)
            .map_err(local)
            .and_then(|base_key| {
                let keys = epoch_keys(
                    fixed_sender_bits,
                    epoch,
                    &base_key,
                    own,
                    roster.iter().copied(),
                )?
                .with_removed(removes.iter().copied());
                keyring.add_epoch(now, keys).map_err(MlsError::from)
            });
        if let Err(e) = fed {
            group
                .clear_pending_commit(provider.storage())
                .map_err(local)?;
            return Err(e);
        }
        let (commit, welcome, _) = bundle.into_messages();
        Ok(OutgoingCommit {
            epoch,
            commit: commit.to_bytes().map_err(local)?,
            welcome: welcome.map(|w| w.to_bytes()).transpose().map_err(local)?,
            added,
        })
    }

    /// Merges this member's pending commit (after the delivery service accepted it).
    ///
    /// # Errors
    /// [`MlsError::NothingToMerge`]; [`MlsError::Local`].
    pub fn merge_pending_commit(&mut self) -> Result<CommitOutcome, MlsError> {
        let group = self.group_mut()?;
        let staged = group.pending_commit().ok_or(MlsError::NothingToMerge)?;
        let removed = removed_leaves(staged);
        let added_count = staged.add_proposals().count();
        let before: Vec<u32> = group.members().map(|m| m.index.u32()).collect();
        let (_, added) = predict_roster(&before, &removed, added_count);
        let provider = &self.provider;
        let group = self.group.as_mut().ok_or(MlsError::NoGroup)?;
        group.merge_pending_commit(provider).map_err(local)?;
        self.after_merge(added, removed)
    }

    /// Processes a commit from the group: stages it, gives the new epoch to the keyring, and
    /// holds it until [`MlsMember::merge_staged_commit`]. A commit that removes this member
    /// gives the keyring nothing (the caller decides whether to [`Keyring::clear`]).
    ///
    /// # Errors
    /// [`MlsError::Malformed`] for bytes that are not an MLS handshake message;
    /// [`MlsError::Rejected`] for a message openmls refuses or that is not a commit;
    /// [`MlsError::Keyring`]. The group and keyring are unchanged on error.
    pub fn stage_commit(&mut self, now: Duration, bytes: &[u8]) -> Result<CommitOutcome, MlsError> {
        let Prepared(PreparedKind::Commit {
            staged,
            keys,
            outcome,
        }) = self.prepare_commit(bytes)?
        else {
            return Err(MlsError::Rejected("not a commit".into()));
        };
        self.stage_prepared(now, *staged, keys, outcome)
    }

    /// A prepared commit's epoch to the keyring at `now` (unless the commit removes this
    /// member), and the commit held for [`MlsMember::merge_staged_commit`].
    fn stage_prepared(
        &mut self,
        now: Duration,
        staged: StagedCommit,
        keys: Option<Box<EpochKeys>>,
        mut outcome: CommitOutcome,
    ) -> Result<CommitOutcome, MlsError> {
        if self.staged.is_some() {
            return Err(MlsError::Rejected(
                "a staged commit is not merged yet".into(),
            ));
        }
        if let Some(keys) = keys {
            outcome.sender_bits = Some(keys.sender_bits());
            self.keyring.add_epoch(now, *keys)?;
        }
        self.staged = Some((staged, outcome.added.clone()));
        Ok(outcome)
    }

    /// Merges the commit held by [`MlsMember::stage_commit`].
    ///
    /// # Errors
    /// [`MlsError::NothingToMerge`]; [`MlsError::Local`].
    pub fn merge_staged_commit(&mut self) -> Result<CommitOutcome, MlsError> {
        let (staged, added) = self.staged.take().ok_or(MlsError::NothingToMerge)?;
        let removed = removed_leaves(&staged);
        let self_removed = staged.self_removed();
        let group = self.group.as_mut().ok_or(MlsError::NoGroup)?;
        group
            .merge_staged_commit(&self.provider, staged)
            .map_err(local)?;
        if self_removed {
            self.removed = true;
            return Ok(CommitOutcome {
                epoch: group.epoch().as_u64(),
                added,
                removed,
                self_removed,
                security_code: None,
                sender_bits: None,
            });
        }
        self.after_merge(added, removed)
    }

    /// [`MlsMember::stage_commit`] then [`MlsMember::merge_staged_commit`].
    ///
    /// # Errors
    /// As those two.
    pub fn process_commit(
        &mut self,
        now: Duration,
        bytes: &[u8],
    ) -> Result<CommitOutcome, MlsError> {
        self.stage_commit(now, bytes)?;
        self.merge_staged_commit()
    }

    /// After a merge: check the roster given to the keyring against the merged tree.
    fn after_merge(
        &mut self,
        added: Vec<u32>,
        removed: Vec<u32>,
    ) -> Result<CommitOutcome, MlsError> {
        let group = self.group.as_ref().ok_or(MlsError::NoGroup)?;
        let epoch = group.epoch().as_u64();
        let mut merged: Vec<u32> = group.members().map(|m| m.index.u32()).collect();
        merged.sort_unstable();
        if self
            .keyring
            .members(epoch)
            .is_some_and(|r| !r.iter().eq(merged.iter().copied()))
        {
            self.roster_corrections += 1;
            self.keyring.set_members(epoch, merged)?;
        }
        Ok(CommitOutcome {
            epoch,
            added,
            removed,
            self_removed: false,
            security_code: self.security_code(),
            sender_bits: self.keyring.kid_layout(epoch).map(|l| l.sender_bits()),
        })
    }
}

/// The keyring's view of an epoch: `S` from the roster (the RFC's), or the fixed one.
fn epoch_keys(
    fixed_sender_bits: Option<u8>,
    epoch: u64,
    base_key: &[u8],
    own: u32,
    roster: impl IntoIterator<Item = u32>,
) -> Result<EpochKeys, Error> {
    let keys = EpochKeys::new(epoch, base_key, Some(own), roster)?;
    match fixed_sender_bits {
        Some(s) => keys.with_sender_bits(s),
        None => Ok(keys),
    }
}

fn removed_leaves(staged: &StagedCommit) -> Vec<u32> {
    staged
        .remove_proposals()
        .map(|p| p.remove_proposal().removed().u32())
        .collect()
}

/// The roster after removing `removes` and adding `adds` members, each into the leftmost blank
/// leaf (RFC 9420 section 12.1.1, removes applied before adds); and the added leaf indices.
/// One pass over the roster: O(n + r log r + a), whatever the batch.
fn predict_roster(current: &[u32], removes: &[u32], adds: usize) -> (Vec<u32>, Vec<u32>) {
    let mut gone = removes.to_vec();
    gone.sort_unstable();
    let mut kept: Vec<u32> = current
        .iter()
        .copied()
        .filter(|m| gone.binary_search(m).is_err())
        .collect();
    kept.sort_unstable();
    kept.dedup();
    let mut roster = Vec::with_capacity(kept.len() + adds);
    let mut added = Vec::with_capacity(adds);
    let mut kept = kept.into_iter().peekable();
    let mut leaf = 0u32;
    while added.len() < adds {
        if kept.next_if_eq(&leaf).is_none() {
            added.push(leaf);
        }
        roster.push(leaf);
        leaf = leaf.saturating_add(1);
    }
    roster.extend(kept);
    (roster, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Received;

    #[test]
    fn the_base_key_is_the_rfc_exporter_output() {
        let suite = sframe_core::CipherSuite::Aes128GcmSha256_128;
        let mut m = MlsMember::new(b"a", MemberConfig::new(KeyringConfig::new(suite))).unwrap();
        m.create_group(Duration::ZERO).unwrap();
        let group = m.group.as_ref().unwrap();
        let receiver_with = |label: &str| {
            // Written out, not the crate's constants: RFC 9605 section 5.2.
            let base_key = group
                .export_secret(m.provider.crypto(), label, b"", 16)
                .unwrap();
            let mut ring = Keyring::new(KeyringConfig::new(suite)).unwrap();
            let keys = EpochKeys::new(0, &base_key, None, [0]).unwrap();
            ring.add_epoch(Duration::ZERO, keys).unwrap();
            ring
        };
        let mut right = receiver_with("SFrame 1.0 Base Key");
        let mut old_draft = receiver_with("SFrame 10 MLS");
        let mut frame = b"x".to_vec();
        m.keyring.encrypt(0, b"", &mut frame).unwrap();
        let mut copy = frame.clone();
        assert!(matches!(
            right.decrypt(Duration::ZERO, 0, b"", &mut frame),
            Ok(Received::Plaintext { .. })
        ));
        assert!(
            old_draft
                .decrypt(Duration::ZERO, 0, b"", &mut copy)
                .is_err()
        );
    }

    #[test]
    fn a_delegated_epoch_keys_a_device_that_sends_as_the_member() {
        let suite = sframe_core::CipherSuite::Aes128GcmSha256_128;
        let mut m = MlsMember::new(b"a", MemberConfig::new(KeyringConfig::new(suite))).unwrap();
        assert_eq!(m.delegated_epoch().unwrap_err(), MlsError::NoGroup);
        m.create_group(Duration::ZERO).unwrap();
        let lent = m.delegated_epoch().unwrap();
        assert_eq!(
            (lent.epoch, lent.leaf, lent.members.clone()),
            (0, 0, vec![0])
        );
        assert!(!format!("{lent:?}").contains(&format!("{:?}", lent.base_key.as_slice())));
        let mut device = Keyring::new(KeyringConfig::new(suite)).unwrap();
        let keys =
            EpochKeys::new(lent.epoch, &lent.base_key, Some(lent.leaf), lent.members).unwrap();
        device.add_epoch(Duration::ZERO, keys).unwrap();
        // The device's frame (stream 5, which the member never uses) opens at the member.
        let mut frame = b"from the page".to_vec();
        device.encrypt(5, b"", &mut frame).unwrap();
        assert!(matches!(
            m.keyring.decrypt(Duration::ZERO, 0, b"", &mut frame),
            Ok(Received::Plaintext { .. })
        ));
    }

    #[test]
    fn adds_fill_the_leftmost_blank_leaves_after_removes() {
        assert_eq!(
            predict_roster(&[0], &[], 3),
            (vec![0, 1, 2, 3], vec![1, 2, 3])
        );
        assert_eq!(
            predict_roster(&[0, 1, 2, 3, 4], &[1, 3], 3),
            (vec![0, 1, 2, 3, 4, 5], vec![1, 3, 5])
        );
        assert_eq!(
            predict_roster(&[0, 2, 5], &[5], 2),
            (vec![0, 1, 2, 3], vec![1, 3])
        );
    }
}
