//! MLS keying against the crates.io `sframe` crate's `mls` module (`sframe_peer` here), with
//! `S` derived the RFC way on both sides, across epochs where it changes.
//!
//! Alice is ours: an [`MlsMember`] that creates the group and commits. Pat is the peer: an
//! openmls client of its own whose SFrame keys come from the peer crate
//! (`derive_from_mls` over Pat's own MLS exporter), with `S` computed by code written here the
//! way a peer would read RFC 9605 section 5.2 (the smallest `S` with
//! `member_count <= 1 << S`; this group never has blank leaves, so member count and tree size
//! agree). Other members are added from key packages and never send.
//!
//! The group goes 2 -> 3 -> 4 -> 5 -> 8 -> 9 -> 8 -> 5 -> 4 -> 3 -> 2 members (`S` 1, 2, 2, 3,
//! 3, 4, 3, 3, 2, 2, 1). At every commit, both directions:
//! - while Alice holds the new epoch and Pat does not yet, frames of the old epoch go both
//!   ways (when `E > 0`), and one of Pat's is delivered to Alice only after Pat's frames of the
//!   new epoch: Alice splits each KID with its own epoch's `S`;
//! - each side reads the sender index, context and epoch bits the other put in the KID;
//! - byte-identical: for every frame Alice sends, the peer crate sealing the same plaintext
//!   under the same KID and counter gives the same bytes; for every frame Pat sends, a keyring
//!   of ours in Pat's seat (fed Pat's exporter output and roster) gives the same bytes.
//!
//! Run with `E = 4` (the default), `E = 20` and `E = 59` (large `E`, which this crate refused
//! above 16 before issue 15, splitting such a peer's KIDs at the wrong bits) and `E = 0`.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, ExportSecretError, KeyPackage, MlsGroup,
    MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut, OpenMlsProvider,
    ProcessedMessageContent, StagedWelcome, tls_codec::Deserialize,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use sframe_core::{CipherSuite, Header};
use sframe_mls::{
    EXPORTER_CONTEXT, EXPORTER_LABEL, EpochKeys, Keyring, KeyringConfig, MemberConfig, MlsMember,
    Received,
};
use sframe_peer::frame::{EncryptedFrameView, MediaFrameView, SingleUseCounter};
use sframe_peer::key::{DecryptionKey, EncryptionKey};
use sframe_peer::mls::{MlsExporter, MlsKeyId, MlsKeyIdBitRange};

const MLS_SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const PEER_SUITE: sframe_peer::CipherSuite = sframe_peer::CipherSuite::AesGcm128Sha256;
const METADATA: &[u8] = b"rtp header";

/// Members to add (> 0) or highest leaves to remove (< 0) at each commit.
const STEPS: &[i32] = &[1, 1, 1, 3, 1, -1, -3, -1, -1, -1];
/// The RFC's `S` after each step, worked by hand (sizes 3, 4, 5, 8, 9, 8, 5, 4, 3, 2).
const EXPECTED_S: &[u8] = &[2, 2, 3, 3, 4, 3, 3, 2, 2, 1];

fn t0() -> Duration {
    Duration::ZERO
}

/// The peer's reading of RFC 9605 section 5.2, written independently of sframe-mls.
fn peer_s(group_size: usize) -> u8 {
    (0..=63u8)
        .find(|&s| group_size as u128 <= 1u128 << s)
        .unwrap()
}

fn low_bits(v: u64, e: u8) -> u64 {
    if e >= 64 { v } else { v & ((1u64 << e) - 1) }
}

/// The peer crate's view of an openmls group's exporter.
struct Exporter<'a> {
    group: &'a MlsGroup,
    provider: &'a OpenMlsRustCrypto,
}

impl MlsExporter for Exporter<'_> {
    type BaseKey = Vec<u8>;
    type Error = ExportSecretError;

    fn export_secret(
        &self,
        label: &str,
        context: &[u8],
        key_length: usize,
    ) -> Result<Vec<u8>, ExportSecretError> {
        self.group
            .export_secret(self.provider.crypto(), label, context, key_length)
    }
}

/// What a receiver read from a frame.
#[derive(Debug, PartialEq, Eq)]
struct Read {
    epoch_low: u64,
    sender: u64,
    context: u64,
    payload: Vec<u8>,
}

/// The peer: its own openmls client, the peer crate's keys and KID layout.
struct Peer {
    e: u8,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    group: Option<MlsGroup>,
    /// Keys by KID for every member and context of the epochs held (an old epoch's go when a
    /// new one with the same low E bits comes, as the RFC requires).
    dec: HashMap<u64, DecryptionKey>,
    enc: HashMap<u64, EncryptionKey>,
    /// Epoch low bits -> the bit range of that epoch.
    ranges: HashMap<u64, MlsKeyIdBitRange>,
    next_ctr: HashMap<u64, u64>,
    s: u8,
}

impl Peer {
    fn new(e: u8) -> Self {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(MLS_SUITE.signature_algorithm()).unwrap();
        signer.store(provider.storage()).unwrap();
        let credential = CredentialWithKey {
            credential: BasicCredential::new(b"pat".to_vec()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        Self {
            e,
            provider,
            signer,
            credential,
            group: None,
            dec: HashMap::new(),
            enc: HashMap::new(),
            ranges: HashMap::new(),
            next_ctr: HashMap::new(),
            s: 0,
        }
    }

    fn key_package(&self) -> Vec<u8> {
        let bundle = KeyPackage::builder()
            .build(
                MLS_SUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .unwrap();
        MlsMessageOut::from(bundle.key_package().clone())
            .to_bytes()
            .unwrap()
    }

    fn group(&self) -> &MlsGroup {
        self.group.as_ref().unwrap()
    }

    fn leaf(&self) -> u32 {
        self.group().own_leaf_index().u32()
    }

    fn epoch(&self) -> u64 {
        self.group().epoch().as_u64()
    }

    fn members(&self) -> Vec<u32> {
        self.group().members().map(|m| m.index.u32()).collect()
    }

    fn base_key(&self) -> Vec<u8> {
        self.group()
            .export_secret(
                self.provider.crypto(),
                EXPORTER_LABEL,
                EXPORTER_CONTEXT,
                SUITE.key_len(),
            )
            .unwrap()
    }

    fn join(&mut self, welcome: &[u8], contexts: &[u64]) {
        let MlsMessageBodyIn::Welcome(welcome) =
            MlsMessageIn::tls_deserialize_exact(welcome).unwrap().extract()
        else {
            panic!("not a Welcome")
        };
        let config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .build();
        let staged =
            StagedWelcome::new_from_welcome(&self.provider, &config, welcome, None).unwrap();
        self.group = Some(staged.into_group(&self.provider).unwrap());
        self.enter_epoch(contexts);
    }

    fn process_commit(&mut self, commit: &[u8], contexts: &[u64]) {
        let protocol = MlsMessageIn::tls_deserialize_exact(commit)
            .unwrap()
            .try_into_protocol_message()
            .unwrap();
        let group = self.group.as_mut().unwrap();
        let processed = group.process_message(&self.provider, protocol).unwrap();
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            panic!("not a commit")
        };
        group.merge_staged_commit(&self.provider, *staged).unwrap();
        self.enter_epoch(contexts);
    }

    /// The peer's keys for the group's current epoch: `S` from the member count, a KID and a
    /// key pair for every member and context.
    fn enter_epoch(&mut self, contexts: &[u64]) {
        let epoch = self.epoch();
        let members = self.members();
        self.s = peer_s(members.len());
        let range = MlsKeyIdBitRange::try_new(self.e, self.s).unwrap();
        let low = low_bits(epoch, self.e);
        let e = self.e;
        self.dec.retain(|&kid, _| low_bits(kid, e) != low);
        self.enc.retain(|&kid, _| low_bits(kid, e) != low);
        self.next_ctr.retain(|&kid, _| low_bits(kid, e) != low);
        self.ranges.insert(low, range);
        let group = self.group.as_ref().unwrap();
        let exporter = Exporter {
            group,
            provider: &self.provider,
        };
        for &m in &members {
            for &context in contexts {
                let id = MlsKeyId::try_new(context, epoch, m, range).unwrap();
                let kid = u64::from(id);
                self.dec.insert(
                    kid,
                    DecryptionKey::derive_from_mls(PEER_SUITE, &exporter, id).unwrap(),
                );
                self.enc.insert(
                    kid,
                    EncryptionKey::derive_from_mls(PEER_SUITE, &exporter, id).unwrap(),
                );
            }
        }
    }

    /// The KID of (context, own leaf) in the current epoch.
    fn own_kid(&self, context: u64) -> u64 {
        let range = MlsKeyIdBitRange::try_new(self.e, self.s).unwrap();
        u64::from(MlsKeyId::try_new(context, self.epoch(), self.leaf(), range).unwrap())
    }

    /// Seals `payload` under `kid` with counter `ctr`.
    fn seal(&self, kid: u64, ctr: u64, payload: &[u8]) -> Vec<u8> {
        let mut counter = SingleUseCounter::new(ctr);
        let media = MediaFrameView::try_with_meta_data(&mut counter, payload, METADATA).unwrap();
        let mut buffer = Vec::new();
        let frame = media.encrypt_into(&self.enc[&kid], &mut buffer).unwrap();
        frame.sframe_cipher_text().to_vec()
    }

    /// Sends a frame on `context` in the current epoch.
    fn send(&mut self, context: u64, payload: &[u8]) -> Vec<u8> {
        let kid = self.own_kid(context);
        let ctr = self.next_ctr.entry(kid).or_insert(0);
        let frame_ctr = *ctr;
        *ctr += 1;
        self.seal(kid, frame_ctr, payload)
    }

    fn receive(&self, frame: &[u8]) -> Read {
        let view = EncryptedFrameView::try_with_meta_data(frame, METADATA).unwrap();
        let kid = view.header().key_id();
        let low = low_bits(kid, self.e);
        let id = MlsKeyId::from_key_id(kid, self.ranges[&low]);
        let mut buffer = Vec::new();
        let media = view.decrypt_into(&self.dec, &mut buffer).unwrap();
        Read {
            epoch_low: id.epoch_lsb(),
            sender: id.member_index(),
            context: id.context_id(),
            payload: media.payload().to_vec(),
        }
    }
}

fn ours_receive(ring: &mut Keyring, frame: &[u8]) -> (u64, Read) {
    let mut buf = frame.to_vec();
    let Received::Plaintext { info, data } = ring.decrypt(t0(), 0, METADATA, &mut buf).unwrap()
    else {
        panic!("buffered")
    };
    (
        info.epoch,
        Read {
            epoch_low: info.epoch,
            sender: u64::from(info.sender_index),
            context: info.context,
            payload: data.to_vec(),
        },
    )
}

fn ours_send(ring: &mut Keyring, context: u64, payload: &[u8]) -> Vec<u8> {
    let mut frame = payload.to_vec();
    ring.encrypt(context, METADATA, &mut frame).unwrap();
    frame
}

#[derive(Debug, Default)]
struct Tally {
    ours_to_peer: usize,
    peer_to_ours: usize,
    old_epoch_frames: usize,
    late_frames: usize,
    s_seen: Vec<u8>,
}

/// The whole exchange with epoch bits `e`, streams on `contexts`.
fn run(e: u8, contexts: &[u64]) -> Tally {
    let overlap = e > 0;
    let mut config = KeyringConfig::new(SUITE);
    config.epoch_bits = e;
    let mut alice = MlsMember::new(b"alice", MemberConfig::new(config)).unwrap();
    alice.create_group(t0()).unwrap();
    let mut pat = Peer::new(e);
    // Ours in Pat's seat, for the byte comparison of Pat's frames.
    let mut mirror_config = config;
    mirror_config.switch_grace = Duration::ZERO;
    let mut mirror = Keyring::new(mirror_config).unwrap();

    let mut tally = Tally::default();
    let mut fillers: Vec<u32> = Vec::new();
    let mut n = 0u64;
    let mut payload = |what: &str| {
        n += 1;
        format!("{what} #{n}").into_bytes()
    };

    // Pat joins: 2 members.
    let out = alice.commit(t0(), &[pat.key_package()], &[]).unwrap();
    alice.merge_pending_commit().unwrap();
    pat.join(out.welcome.as_ref().unwrap(), contexts);
    mirror
        .add_epoch(
            t0(),
            EpochKeys::new(pat.epoch(), &pat.base_key(), Some(pat.leaf()), pat.members()).unwrap(),
        )
        .unwrap();
    alice.keyring_mut().acknowledge(t0(), pat.leaf(), pat.epoch());
    assert_eq!(pat.s, 1);
    tally.s_seen.push(pat.s);

    for (k, &step) in STEPS.iter().enumerate() {
        let old = pat.epoch();
        // Alice commits; her keyring holds the new epoch before Pat has it.
        let (kps, removes): (Vec<Vec<u8>>, Vec<u32>) = if step > 0 {
            let kps = (0..step)
                .map(|i| {
                    MlsMember::new(format!("f{k}-{i}").as_bytes(), MemberConfig::new(config))
                        .unwrap()
                        .key_package()
                        .unwrap()
                })
                .collect();
            (kps, Vec::new())
        } else {
            let at = fillers.len() - step.unsigned_abs() as usize;
            (Vec::new(), fillers.split_off(at))
        };
        let out = alice.commit(t0(), &kps, &removes).unwrap();
        fillers.extend(&out.added);
        let merged = alice.merge_pending_commit().unwrap();
        let new = merged.epoch;
        assert_eq!(new, old + 1);

        // The old epoch, both ways, while only Alice holds the new one. A commit that removes
        // someone switches Alice at once (the keyring's default): then only Pat still sends
        // under the old epoch.
        let mut late = None;
        if overlap {
            let alice_on_old = removes.is_empty();
            let expected_sending = if alice_on_old { old } else { new };
            assert_eq!(alice.keyring().sending_epoch(), Some(expected_sending));
            for &context in contexts {
                let sent = payload("pat, old epoch");
                let frame = pat.send(context, &sent);
                assert_eq!(frame, ours_send(&mut mirror, context, &sent), "Pat's old-epoch frame");
                let (epoch, read) = ours_receive(alice.keyring_mut(), &frame);
                assert_eq!(epoch, old);
                assert_eq!(
                    (read.sender, read.context, read.payload),
                    (u64::from(pat.leaf()), context, sent)
                );
                tally.old_epoch_frames += 1;
                tally.peer_to_ours += 1;
                if !alice_on_old {
                    continue;
                }
                let sent = payload("alice, old epoch");
                let frame = ours_send(alice.keyring_mut(), context, &sent);
                check_ours_at_peer(&pat, &frame, old, context, &sent, e);
                tally.ours_to_peer += 1;
            }
            let sent = payload("pat, late");
            late = Some((pat.send(contexts[contexts.len() - 1], &sent), sent));
        }

        // Pat processes the commit and computes the new S its own way.
        pat.process_commit(&out.commit, contexts);
        assert_eq!(pat.epoch(), new);
        assert_eq!(pat.s, EXPECTED_S[k], "after step {k}");
        assert_eq!(merged.sender_bits, Some(pat.s), "ours and the peer's S, epoch {new}");
        assert_eq!(
            alice.keyring().kid_layout(new).unwrap().sender_bits(),
            pat.s
        );
        tally.s_seen.push(pat.s);
        let keys =
            EpochKeys::new(new, &pat.base_key(), Some(pat.leaf()), pat.members()).unwrap();
        assert_eq!(keys.sender_bits(), pat.s);
        mirror.add_epoch(t0(), keys).unwrap();
        assert_eq!(mirror.sending_epoch(), Some(new));

        // Pat's new-epoch frames reach Alice, then the late old-epoch one.
        for &context in contexts {
            let sent = payload("pat, new epoch");
            let frame = pat.send(context, &sent);
            assert_eq!(frame, ours_send(&mut mirror, context, &sent), "Pat's frame");
            let (epoch, read) = ours_receive(alice.keyring_mut(), &frame);
            assert_eq!(epoch, new);
            assert_eq!(
                (read.sender, read.context, read.payload),
                (u64::from(pat.leaf()), context, sent)
            );
            tally.peer_to_ours += 1;
        }
        if let Some((frame, sent)) = late {
            let (epoch, read) = ours_receive(alice.keyring_mut(), &frame);
            assert_eq!(epoch, old, "the late frame is the old epoch's");
            assert_eq!(
                (read.sender, read.context, read.payload),
                (u64::from(pat.leaf()), contexts[contexts.len() - 1], sent)
            );
            tally.late_frames += 1;
            tally.peer_to_ours += 1;
        }

        // Everyone acknowledges; Alice moves to the new epoch and Pat reads her.
        for m in pat.members() {
            alice.keyring_mut().acknowledge(t0(), m, new);
        }
        assert_eq!(alice.keyring().sending_epoch(), Some(new));
        for &context in contexts {
            let sent = payload("alice, new epoch");
            let frame = ours_send(alice.keyring_mut(), context, &sent);
            check_ours_at_peer(&pat, &frame, new, context, &sent, e);
            tally.ours_to_peer += 1;
        }
    }
    tally
}

/// Pat reads Alice's `frame`: her leaf, the context and epoch bits; the same bytes when the
/// peer crate seals the same plaintext under that KID and counter.
fn check_ours_at_peer(pat: &Peer, frame: &[u8], epoch: u64, context: u64, sent: &[u8], e: u8) {
    let read = pat.receive(frame);
    assert_eq!(
        read,
        Read {
            epoch_low: low_bits(epoch, e),
            sender: 0,
            context,
            payload: sent.to_vec(),
        },
        "Alice's frame of epoch {epoch} at the peer"
    );
    let (header, _) = Header::parse(frame).unwrap();
    assert_eq!(
        pat.seal(header.kid, header.ctr, sent),
        frame,
        "the peer crate's bytes for Alice's KID {:#x}",
        header.kid
    );
}

fn check(tally: &Tally, contexts: &[u64], overlap: bool) {
    eprintln!("{tally:?}");
    let mut expected_s = vec![1];
    expected_s.extend_from_slice(EXPECTED_S);
    assert_eq!(tally.s_seen, expected_s);
    let per_step = contexts.len() * STEPS.len();
    let adding = contexts.len() * STEPS.iter().filter(|&&s| s > 0).count();
    if overlap {
        assert_eq!(tally.old_epoch_frames, per_step);
        assert_eq!(tally.late_frames, STEPS.len());
        assert_eq!(tally.ours_to_peer, per_step + adding);
        assert_eq!(tally.peer_to_ours, 2 * per_step + STEPS.len());
    } else {
        assert_eq!((tally.old_epoch_frames, tally.late_frames), (0, 0));
        assert_eq!((tally.ours_to_peer, tally.peer_to_ours), (per_step, per_step));
    }
}

#[test]
fn both_ways_byte_identical_while_s_follows_the_group() {
    let contexts = [0, 1, 5];
    check(&run(4, &contexts), &contexts, true);
}

#[test]
fn a_peer_with_twenty_epoch_bits() {
    let contexts = [0, 1, 5];
    check(&run(20, &contexts), &contexts, true);
}

#[test]
fn a_peer_with_the_largest_epoch_field_it_allows_for_this_group() {
    // E + S <= 63 in the peer crate; S reaches 4 here.
    let contexts = [0, 1];
    check(&run(59, &contexts), &contexts, true);
}

#[test]
fn a_peer_with_no_epoch_bits() {
    // E = 0: each epoch replaces the previous one at once, so no old-epoch frames cross.
    let contexts = [0, 1, 5];
    check(&run(0, &contexts), &contexts, false);
}
