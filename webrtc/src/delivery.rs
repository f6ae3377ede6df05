//! The MLS delivery service the SFU runs, sans IO: it orders handshake messages, relays key
//! packages, commits, Welcomes and acknowledgements, picks the committer, batches joins and
//! leaves into commits, and keeps the ratchet tree that joiners get with their Welcome.
//!
//! The policy is the simulated meeting's leader policy (`sframe-sim`), with the SFU choosing
//! the leader: the member with the lowest leaf that is not leaving commits every pending join
//! and leave in one commit, at most one commit is in flight, and a new batch goes out no
//! sooner than [`BATCH`] after the first request it holds. A committer that does not answer
//! within [`COMMIT_TIMEOUT`] is removed and the batch goes to the next one.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::framing::MlsMessage;

/// Which participant (the SFU's id for a peer connection).
pub type PeerId = u64;

/// How long requests are collected before a commit is asked for.
pub const BATCH: Duration = Duration::from_millis(200);
/// How long a committer has to answer a commit request.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(3);

/// An MLS message the delivery service refuses (bad peer input). Nothing changes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryError {
    /// A message a participant never sends, or not now (e.g. `Created` unasked).
    Unexpected(&'static str),
    /// A member message from a peer that is not in the group.
    NotAMember,
    /// A commit from a peer that was not asked for one.
    NotTheCommitter,
    /// A commit for another epoch than the one asked for.
    WrongEpoch {
        /// The epoch asked for.
        expected: u64,
        /// The epoch the commit leads to.
        got: u64,
    },
    /// A commit whose added leaves do not match the key packages asked for.
    AddedMismatch,
    /// A join from a peer that is a member or already waiting.
    DuplicateJoin,
    /// An acknowledgement naming another leaf than the sender's.
    WrongLeaf,
}

impl core::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unexpected(kind) => write!(f, "unexpected MLS message: {kind}"),
            Self::NotAMember => f.write_str("sender is not a member"),
            Self::NotTheCommitter => f.write_str("commit from a peer not asked to commit"),
            Self::WrongEpoch { expected, got } => {
                write!(f, "commit to epoch {got}, expected {expected}")
            }
            Self::AddedMismatch => f.write_str("commit's added leaves do not match the request"),
            Self::DuplicateJoin => f.write_str("join from a member or a waiting peer"),
            Self::WrongLeaf => f.write_str("acknowledgement for another leaf"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// What the delivery service asks its caller to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutput {
    /// Send this message to this peer's data channel.
    Send(PeerId, MlsMessage),
    /// This peer is out of the group (its removal is committed, or it left a group of one):
    /// close its connection once the messages before this have gone.
    Removed(PeerId),
}

/// Counters of the delivery service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryStats {
    /// Commits accepted and relayed.
    pub commits: u64,
    /// Members added by those commits.
    pub joins: u64,
    /// Members removed by those commits (left, timed out, or unresponsive committers).
    pub removals: u64,
    /// The most joins and removals in one commit.
    pub biggest_batch: u64,
    /// Acknowledgements relayed (one per recipient).
    pub acks_relayed: u64,
    /// Messages refused ([`DeliveryError`]).
    pub refused: u64,
    /// Committers that did not answer in time.
    pub committer_timeouts: u64,
    /// The group's epoch now.
    pub epoch: Option<u64>,
    /// Members now.
    pub members: u64,
}

#[derive(Debug)]
struct InFlight {
    committer: PeerId,
    epoch: u64,
    joins: Vec<(PeerId, Vec<u8>)>,
    leaves: Vec<PeerId>,
    /// Joiners of this commit that left meanwhile: removed in the next batch.
    leave_after: Vec<PeerId>,
    asked_at: Instant,
}

/// The delivery service's state (see the module docs).
#[derive(Debug, Default)]
pub struct DeliveryService {
    epoch: Option<u64>,
    ratchet_tree: Vec<u8>,
    /// Members and their leaves.
    members: BTreeMap<PeerId, u32>,
    creating: Option<PeerId>,
    pending_joins: Vec<(PeerId, Vec<u8>)>,
    pending_leaves: Vec<PeerId>,
    pending_since: Option<Instant>,
    in_flight: Option<InFlight>,
    out: VecDeque<DeliveryOutput>,
    stats: DeliveryStats,
}

impl DeliveryService {
    /// An empty service: no group yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters.
    pub fn stats(&self) -> DeliveryStats {
        DeliveryStats {
            epoch: self.epoch,
            members: self.members.len() as u64,
            ..self.stats
        }
    }

    /// The group's ratchet tree as the last commit left it (what a joiner fetches).
    pub fn ratchet_tree(&self) -> &[u8] {
        &self.ratchet_tree
    }

    /// The leaf of a member.
    pub fn leaf(&self, peer: PeerId) -> Option<u32> {
        self.members.get(&peer).copied()
    }

    /// Handles a message from `from`.
    ///
    /// # Errors
    /// [`DeliveryError`]: the message is refused and nothing changes.
    pub fn handle_message(
        &mut self,
        now: Instant,
        from: PeerId,
        msg: MlsMessage,
    ) -> Result<(), DeliveryError> {
        let result = match msg {
            MlsMessage::Join { key_package } => self.join(now, from, key_package),
            MlsMessage::Created { ratchet_tree } => self.created(now, from, ratchet_tree),
            MlsMessage::Commit {
                epoch,
                commit,
                welcome,
                ratchet_tree,
                added,
            } => self.commit(now, from, epoch, commit, welcome, ratchet_tree, added),
            MlsMessage::Ack { leaf, epoch } => self.ack(from, leaf, epoch),
            other => Err(DeliveryError::Unexpected(other.name())),
        };
        if result.is_err() {
            self.stats.refused += 1;
        }
        result
    }

    fn join(&mut self, now: Instant, from: PeerId, kp: Vec<u8>) -> Result<(), DeliveryError> {
        let in_flight = self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.joins.iter().any(|(p, _)| *p == from));
        if self.members.contains_key(&from)
            || self.creating == Some(from)
            || in_flight
            || self.pending_joins.iter().any(|(p, _)| *p == from)
        {
            return Err(DeliveryError::DuplicateJoin);
        }
        self.pending_joins.push((from, kp));
        self.pending_since.get_or_insert(now);
        self.create_if_none();
        Ok(())
    }

    /// With no group and nobody creating one, the first waiting joiner creates it.
    fn create_if_none(&mut self) {
        if self.epoch.is_some() || self.creating.is_some() || self.pending_joins.is_empty() {
            return;
        }
        let (peer, _) = self.pending_joins.remove(0);
        self.creating = Some(peer);
        self.out
            .push_back(DeliveryOutput::Send(peer, MlsMessage::Create));
        if self.pending_joins.is_empty() {
            self.pending_since = None;
        }
    }

    fn created(&mut self, now: Instant, from: PeerId, tree: Vec<u8>) -> Result<(), DeliveryError> {
        if self.creating != Some(from) {
            return Err(DeliveryError::Unexpected("created"));
        }
        self.creating = None;
        self.epoch = Some(0);
        self.ratchet_tree = tree;
        self.members.insert(from, 0);
        if !self.pending_joins.is_empty() {
            self.pending_since = Some(now);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        now: Instant,
        from: PeerId,
        epoch: u64,
        commit: Vec<u8>,
        welcome: Vec<u8>,
        tree: Vec<u8>,
        added: Vec<u32>,
    ) -> Result<(), DeliveryError> {
        let Some(f) = &self.in_flight else {
            return Err(DeliveryError::Unexpected("commit"));
        };
        if f.committer != from {
            return Err(DeliveryError::NotTheCommitter);
        }
        if epoch != f.epoch + 1 {
            return Err(DeliveryError::WrongEpoch {
                expected: f.epoch + 1,
                got: epoch,
            });
        }
        if added.len() != f.joins.len() || (!added.is_empty() && welcome.is_empty()) {
            return Err(DeliveryError::AddedMismatch);
        }
        let Some(f) = self.in_flight.take() else {
            return Err(DeliveryError::Unexpected("commit"));
        };
        // The commit goes to every member of the previous epoch but its sender, the removed
        // too (so they learn it), in the order the service accepted it.
        for &peer in self.members.keys().filter(|&&p| p != from) {
            let msg = MlsMessage::Handshake {
                epoch,
                commit: commit.clone(),
            };
            self.out.push_back(DeliveryOutput::Send(peer, msg));
        }
        for &peer in &f.leaves {
            self.members.remove(&peer);
            self.out.push_back(DeliveryOutput::Removed(peer));
        }
        for ((peer, _), &leaf) in f.joins.iter().zip(&added) {
            self.members.insert(*peer, leaf);
            let msg = MlsMessage::Welcome {
                epoch,
                welcome: welcome.clone(),
                ratchet_tree: tree.clone(),
            };
            self.out.push_back(DeliveryOutput::Send(*peer, msg));
        }
        self.epoch = Some(epoch);
        self.ratchet_tree = tree;
        self.stats.commits += 1;
        self.stats.joins += f.joins.len() as u64;
        self.stats.removals += f.leaves.len() as u64;
        let batch = (f.joins.len() + f.leaves.len()) as u64;
        self.stats.biggest_batch = self.stats.biggest_batch.max(batch);
        for peer in f.leave_after {
            self.leave(now, peer);
        }
        Ok(())
    }

    fn ack(&mut self, from: PeerId, leaf: u32, epoch: u64) -> Result<(), DeliveryError> {
        match self.members.get(&from) {
            None => return Err(DeliveryError::NotAMember),
            Some(&l) if l != leaf => return Err(DeliveryError::WrongLeaf),
            Some(_) => {}
        }
        for &peer in self.members.keys().filter(|&&p| p != from) {
            self.out
                .push_back(DeliveryOutput::Send(peer, MlsMessage::Ack { leaf, epoch }));
            self.stats.acks_relayed += 1;
        }
        Ok(())
    }

    /// `peer` leaves (it asked to, or it disappeared): its removal joins the next batch.
    /// Safe to call for any peer, any number of times.
    pub fn leave(&mut self, now: Instant, peer: PeerId) {
        // A committer that leaves will not answer: its batch goes back to the queue.
        if self.in_flight.as_ref().is_some_and(|f| f.committer == peer) {
            self.abort_in_flight(now);
        }
        self.pending_joins.retain(|(p, _)| *p != peer);
        if self.creating == Some(peer) {
            self.creating = None;
            self.create_if_none();
        }
        // A joiner whose add is being committed leaves once it is in.
        if let Some(f) = &mut self.in_flight
            && f.joins.iter().any(|(p, _)| *p == peer)
            && !f.leave_after.contains(&peer)
        {
            f.leave_after.push(peer);
        }
        if self.members.contains_key(&peer) && !self.pending_leaves.contains(&peer) {
            self.pending_leaves.push(peer);
            self.pending_since.get_or_insert(now);
        }
        if self.members.len() == self.pending_leaves.len() && !self.members.is_empty() {
            self.dissolve();
        }
    }

    /// The commit asked for will not come: its joins and leaves go back to the queue, first.
    fn abort_in_flight(&mut self, now: Instant) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        let left = f.leave_after;
        self.pending_joins
            .splice(0..0, f.joins.into_iter().filter(|(p, _)| !left.contains(p)));
        let mut leaves = f.leaves;
        leaves.retain(|l| !self.pending_leaves.contains(l));
        self.pending_leaves.splice(0..0, leaves);
        self.pending_since = Some(now);
    }

    /// Everyone left: the group ends, and the next joiner creates a new one.
    fn dissolve(&mut self) {
        for peer in std::mem::take(&mut self.members).into_keys() {
            self.out.push_back(DeliveryOutput::Removed(peer));
        }
        if let Some(f) = self.in_flight.take() {
            self.pending_joins.extend(f.joins);
        }
        self.pending_leaves.clear();
        self.epoch = None;
        self.ratchet_tree.clear();
        self.create_if_none();
    }

    /// The member that commits: the lowest leaf that is not leaving.
    fn committer(&self) -> Option<PeerId> {
        self.members
            .iter()
            .filter(|(p, _)| !self.pending_leaves.contains(p))
            .min_by_key(|(_, leaf)| **leaf)
            .map(|(p, _)| *p)
    }

    /// When [`DeliveryService::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(f) = &self.in_flight {
            return Some(f.asked_at + COMMIT_TIMEOUT);
        }
        if self.epoch.is_some()
            && (!self.pending_joins.is_empty() || !self.pending_leaves.is_empty())
        {
            return self.pending_since.map(|t| t + BATCH);
        }
        None
    }

    /// Times out an unresponsive committer; asks for the next batch's commit when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(f) = &self.in_flight
            && now >= f.asked_at + COMMIT_TIMEOUT
        {
            let committer = f.committer;
            self.abort_in_flight(now);
            self.stats.committer_timeouts += 1;
            self.leave(now, committer);
        }
        let due = self.pending_since.is_some_and(|t| now >= t + BATCH);
        if self.in_flight.is_some() || self.epoch.is_none() || !due {
            return;
        }
        let Some(committer) = self.committer() else {
            return;
        };
        let joins = std::mem::take(&mut self.pending_joins);
        let leaves = std::mem::take(&mut self.pending_leaves);
        self.pending_since = None;
        if joins.is_empty() && leaves.is_empty() {
            return;
        }
        let epoch = self.epoch.unwrap_or_default();
        let removes = leaves
            .iter()
            .filter_map(|p| self.members.get(p).copied())
            .collect();
        let adds = joins.iter().map(|(_, kp)| kp.clone()).collect();
        self.out.push_back(DeliveryOutput::Send(
            committer,
            MlsMessage::CommitRequest {
                epoch,
                adds,
                removes,
            },
        ));
        self.in_flight = Some(InFlight {
            committer,
            epoch,
            joins,
            leaves,
            leave_after: Vec::new(),
            asked_at: now,
        });
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<DeliveryOutput> {
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn drain(ds: &mut DeliveryService) -> Vec<DeliveryOutput> {
        std::iter::from_fn(|| ds.poll_output()).collect()
    }

    fn kp(n: u8) -> MlsMessage {
        MlsMessage::Join {
            key_package: vec![n],
        }
    }

    /// A group of peers 1 (leaf 0), 2 (leaf 1), 3 (leaf 2) at epoch 1.
    fn group(t: Instant) -> DeliveryService {
        let mut ds = DeliveryService::new();
        ds.handle_message(t, 1, kp(1)).unwrap();
        assert_eq!(
            drain(&mut ds),
            [DeliveryOutput::Send(1, MlsMessage::Create)]
        );
        ds.handle_message(
            t,
            1,
            MlsMessage::Created {
                ratchet_tree: vec![0],
            },
        )
        .unwrap();
        ds.handle_message(t, 2, kp(2)).unwrap();
        ds.handle_message(t, 3, kp(3)).unwrap();
        ds.handle_timeout(t + BATCH);
        let asked = drain(&mut ds);
        assert_eq!(
            asked,
            [DeliveryOutput::Send(
                1,
                MlsMessage::CommitRequest {
                    epoch: 0,
                    adds: vec![vec![2], vec![3]],
                    removes: vec![]
                }
            )],
            "one batch, to the creator"
        );
        let commit = MlsMessage::Commit {
            epoch: 1,
            commit: vec![9],
            welcome: vec![8],
            ratchet_tree: vec![7],
            added: vec![1, 2],
        };
        ds.handle_message(t, 1, commit).unwrap();
        let welcome = MlsMessage::Welcome {
            epoch: 1,
            welcome: vec![8],
            ratchet_tree: vec![7],
        };
        assert_eq!(
            drain(&mut ds),
            [
                DeliveryOutput::Send(2, welcome.clone()),
                DeliveryOutput::Send(3, welcome)
            ]
        );
        ds
    }

    #[test]
    fn joins_are_batched_and_welcomed_with_the_tree() {
        let t = Instant::now();
        let ds = group(t);
        assert_eq!(
            (ds.leaf(2), ds.leaf(3), ds.ratchet_tree()),
            (Some(1), Some(2), &[7u8][..])
        );
        assert_eq!(ds.stats().biggest_batch, 2);
    }

    #[test]
    fn refused_messages_change_nothing() {
        let t = Instant::now();
        let mut ds = group(t);
        let before = format!("{:?}", (ds.stats().epoch, ds.ratchet_tree(), ds.leaf(2)));
        let bad = [
            (
                2,
                MlsMessage::Commit {
                    epoch: 2,
                    commit: vec![],
                    welcome: vec![],
                    ratchet_tree: vec![],
                    added: vec![],
                },
            ),
            (2, MlsMessage::Ack { leaf: 0, epoch: 1 }),
            (9, MlsMessage::Ack { leaf: 5, epoch: 1 }),
            (2, kp(2)),
            (2, MlsMessage::Create),
            (
                1,
                MlsMessage::Created {
                    ratchet_tree: vec![],
                },
            ),
        ];
        for (from, msg) in bad {
            assert!(ds.handle_message(t, from, msg).is_err());
        }
        assert!(drain(&mut ds).is_empty());
        assert_eq!(
            before,
            format!("{:?}", (ds.stats().epoch, ds.ratchet_tree(), ds.leaf(2)))
        );
        assert_eq!(ds.stats().refused, 6);
    }

    #[test]
    fn a_leaving_committer_hands_over_and_an_unanswered_one_is_removed() {
        let t = Instant::now();
        let mut ds = group(t);
        // Peer 1 (leaf 0, the committer) leaves: peer 2 commits its removal.
        ds.leave(t, 1);
        ds.handle_timeout(t + BATCH);
        assert_eq!(
            drain(&mut ds),
            [DeliveryOutput::Send(
                2,
                MlsMessage::CommitRequest {
                    epoch: 1,
                    adds: vec![],
                    removes: vec![0]
                }
            )]
        );
        // Peer 2 never answers: after COMMIT_TIMEOUT it is removed too, and peer 3 commits both.
        let late = t + BATCH + COMMIT_TIMEOUT;
        ds.handle_timeout(late);
        ds.handle_timeout(late + BATCH);
        assert_eq!(
            drain(&mut ds),
            [DeliveryOutput::Send(
                3,
                MlsMessage::CommitRequest {
                    epoch: 1,
                    adds: vec![],
                    removes: vec![0, 1]
                }
            )]
        );
        assert_eq!(ds.stats().committer_timeouts, 1);
        let commit = MlsMessage::Commit {
            epoch: 2,
            commit: vec![5],
            welcome: vec![],
            ratchet_tree: vec![6],
            added: vec![],
        };
        ds.handle_message(late, 3, commit).unwrap();
        let out = drain(&mut ds);
        let handshake = MlsMessage::Handshake {
            epoch: 2,
            commit: vec![5],
        };
        assert_eq!(
            out,
            [
                DeliveryOutput::Send(1, handshake.clone()),
                DeliveryOutput::Send(2, handshake),
                DeliveryOutput::Removed(1),
                DeliveryOutput::Removed(2),
            ]
        );
        assert_eq!(ds.stats().members, 1);
        // The last member leaving ends the group; the next joiner creates a new one.
        ds.leave(late, 3);
        assert_eq!(drain(&mut ds), [DeliveryOutput::Removed(3)]);
        ds.handle_message(late, 4, kp(4)).unwrap();
        assert_eq!(
            drain(&mut ds),
            [DeliveryOutput::Send(4, MlsMessage::Create)]
        );
    }

    #[test]
    fn a_joiner_leaving_during_its_commit_is_removed_after_it() {
        let t = Instant::now();
        let mut ds = group(t);
        ds.handle_message(t, 4, kp(4)).unwrap();
        ds.handle_timeout(t + BATCH);
        assert_eq!(drain(&mut ds).len(), 1, "commit request");
        ds.leave(t + BATCH, 4);
        let commit = MlsMessage::Commit {
            epoch: 2,
            commit: vec![1],
            welcome: vec![2],
            ratchet_tree: vec![3],
            added: vec![3],
        };
        ds.handle_message(t + BATCH, 1, commit).unwrap();
        assert_eq!(ds.leaf(4), Some(3));
        drain(&mut ds);
        ds.handle_timeout(t + BATCH * 2);
        assert_eq!(
            drain(&mut ds),
            [DeliveryOutput::Send(
                1,
                MlsMessage::CommitRequest {
                    epoch: 2,
                    adds: vec![],
                    removes: vec![3]
                }
            )]
        );
    }

    #[test]
    fn acknowledgements_go_to_the_other_members() {
        let t = Instant::now();
        let mut ds = group(t);
        ds.handle_message(t, 2, MlsMessage::Ack { leaf: 1, epoch: 1 })
            .unwrap();
        let ack = MlsMessage::Ack { leaf: 1, epoch: 1 };
        assert_eq!(
            drain(&mut ds),
            [
                DeliveryOutput::Send(1, ack.clone()),
                DeliveryOutput::Send(3, ack)
            ]
        );
    }
}
