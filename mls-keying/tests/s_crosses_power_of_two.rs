//! An openmls group whose `S` changes while media flows: it grows from 4 to 5 members
//! (`S` 2 -> 3) and from 8 to 9 (3 -> 4), loses a member in the middle of the tree (8 members,
//! but leaf 8 still taken: `S` stays 4, where a member count would give 3 and truncate leaf 8),
//! fills that leaf again, then shrinks back to 8 (4 -> 3) and to 4 (3 -> 2).
//!
//! Every member sends two streams (contexts 0 and 1) every 20 ms through its keyring, commits
//! and Welcomes reach members 0-300 ms after the leader sent them, media and acknowledgements
//! 0-100 ms after they were sent, so frames of the old and the new epoch (with different `S`)
//! are in flight together at every change. The test's own ledger checks, with `S` computed
//! here from each epoch's members ("the number of bits required to encode a member index"):
//! - every KID on the wire is `(context << (S + E)) + (leaf << E) + (epoch mod 2^E)` with its
//!   epoch's `S`, and a sender's KID for context 1 changes from one epoch to the next beyond
//!   the epoch bits exactly when `S` changed;
//! - every delivery to a member of the frame's epoch decrypts (at once or from the buffer) with
//!   the right epoch, sender, context and plaintext: 0 dropped, 0 misattributed;
//! - deliveries to non-members (a joiner getting frames of an epoch before its own) never
//!   decrypt;
//! - `CommitOutcome::sender_bits` and `Keyring::kid_layout` report the same `S` everywhere.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use sframe_core::{CipherSuite, Header};
use sframe_mls::{
    CommitOutcome, Event, FrameInfo, KeyringConfig, MemberConfig, MlsMember, PendingLimits,
    Received,
};

const E: u8 = 3;
const SEND_EVERY_US: u64 = 20_000;
const COMMIT_EVERY_US: u64 = 1_000_000;
const FIRST_COMMIT_US: u64 = 500_000;

/// What each commit does: joiners to add, leaves to remove.
const STEPS: &[(usize, &[u32])] = &[
    (3, &[]),        // epoch 1: leaves 0-3, 4 members
    (1, &[]),        // epoch 2: 0-4, 5 members: S 2 -> 3
    (3, &[]),        // epoch 3: 0-7, 8 members
    (1, &[]),        // epoch 4: 0-8, 9 members: S 3 -> 4
    (0, &[3]),       // epoch 5: leaf 3 blank, 8 members up to leaf 8: S stays 4
    (1, &[]),        // epoch 6: the joiner takes leaf 3, 9 members
    (0, &[8]),       // epoch 7: 0-7, 8 members: S 4 -> 3
    (0, &[7, 6, 5]), // epoch 8: 0-4, 5 members
    (0, &[4]),       // epoch 9: 0-3, 4 members: S 3 -> 2
];

/// `S` per epoch, worked by hand from the steps above.
const EXPECTED_S: &[u8] = &[0, 2, 3, 3, 4, 4, 4, 3, 3, 2];

fn at(us: u64) -> Duration {
    Duration::from_micros(us)
}

/// "The number of bits required to encode a member index in the group": the smallest S with
/// every member's leaf index below 2^S. Written here independently of the crate.
fn bits_for_every_index(leaves: &BTreeSet<u32>) -> u8 {
    (0..=32u8)
        .find(|&s| leaves.iter().all(|&l| u64::from(l) < 1u64 << s))
        .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Commit(usize),
    Mls { to: usize, msg: usize },
    Ack { to: usize, from_leaf: u32, epoch: u64 },
    Send(usize),
    Frame { to: usize, frame: usize },
}

struct Person {
    member: MlsMember,
    leaf: Option<u32>,
    connected: bool,
    sending: bool,
    inbox_until: u64,
}

struct Sent {
    sender: usize,
    epoch: u64,
    context: u64,
    payload: Vec<u8>,
    wire: Vec<u8>,
}

enum Msg {
    Commit(Vec<u8>),
    Welcome(Vec<u8>),
}

#[derive(Debug, Default)]
struct Tally {
    must: u64,
    decrypted: u64,
    dropped: u64,
    misattributed: u64,
    not_member: u64,
    not_member_decrypted: u64,
    /// Decrypted at once by a receiver whose newest epoch has a different S than the frame's.
    across_s: u64,
}

struct Sim {
    rng: StdRng,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    people: Vec<Person>,
    msgs: Vec<Msg>,
    frames: Vec<Sent>,
    /// Participants (by id) of each epoch, and their leaves.
    epoch_members: BTreeMap<u64, BTreeMap<usize, u32>>,
    /// (receiver, frame) -> whether the receiver was a member of the frame's epoch.
    buffered: HashMap<(usize, usize), bool>,
    tally: Tally,
    /// (sender, epoch) -> KID of its context-1 stream.
    context1_kids: BTreeMap<(usize, u64), u64>,
    sender_bits_seen: BTreeMap<u64, BTreeSet<u8>>,
    config: MemberConfig,
}

impl Sim {
    fn new() -> Self {
        let mut keyring = KeyringConfig::new(CipherSuite::Aes128GcmSha256_128);
        keyring.epoch_bits = E;
        keyring.switch_grace = Duration::from_millis(500);
        keyring.retire_after = Duration::from_millis(2_000);
        keyring.pending = PendingLimits {
            max_frames: 4096,
            max_bytes: 16 << 20,
            max_age: Duration::from_secs(1),
        };
        Self {
            rng: StdRng::seed_from_u64(0x15),
            queue: BinaryHeap::new(),
            seq: 0,
            people: Vec::new(),
            msgs: Vec::new(),
            frames: Vec::new(),
            epoch_members: BTreeMap::new(),
            buffered: HashMap::new(),
            tally: Tally::default(),
            context1_kids: BTreeMap::new(),
            sender_bits_seen: BTreeMap::new(),
            config: MemberConfig::new(keyring),
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, ev)));
    }

    fn expected_s(&self, epoch: u64) -> u8 {
        let leaves: BTreeSet<u32> = self.epoch_members[&epoch].values().copied().collect();
        bits_for_every_index(&leaves)
    }

    fn add_person(&mut self) -> usize {
        let id = self.people.len();
        let member = MlsMember::new(format!("p{id}").as_bytes(), self.config).unwrap();
        self.people.push(Person {
            member,
            leaf: None,
            connected: false,
            sending: false,
            inbox_until: 0,
        });
        id
    }

    fn note_outcome(&mut self, pid: usize, out: &CommitOutcome) {
        let s = out.sender_bits.unwrap();
        assert_eq!(s, self.expected_s(out.epoch), "epoch {}", out.epoch);
        let ring = self.people[pid].member.keyring();
        assert_eq!(ring.kid_layout(out.epoch).unwrap().sender_bits(), s);
        self.sender_bits_seen.entry(out.epoch).or_default().insert(s);
    }

    fn drain(&mut self, pid: usize, t: u64) {
        while let Some(ev) = self.people[pid].member.keyring_mut().poll_event() {
            match ev {
                Event::EpochReady { epoch } => {
                    let leaf = self.people[pid].leaf.unwrap();
                    for to in 0..self.people.len() {
                        if to != pid && self.people[to].connected {
                            let d = self.rng.random_range(0..=100_000);
                            self.at(
                                t + d,
                                Ev::Ack {
                                    to,
                                    from_leaf: leaf,
                                    epoch,
                                },
                            );
                        }
                    }
                }
                Event::Decrypted(d) => {
                    let frame = frame_id(d.token);
                    let must = self.buffered.remove(&(pid, frame)).unwrap();
                    self.opened(frame, must, d.info, d.plaintext());
                }
                Event::Dropped(d) => {
                    let frame = frame_id(d.token);
                    let must = self.buffered.remove(&(pid, frame)).unwrap();
                    if must {
                        self.tally.dropped += 1;
                    }
                }
                Event::Switched { .. } | Event::Retired { .. } => {}
            }
        }
    }

    fn opened(&mut self, frame: usize, must: bool, info: FrameInfo, plain: &[u8]) {
        if !must {
            self.tally.not_member_decrypted += 1;
            return;
        }
        self.tally.decrypted += 1;
        let sent = &self.frames[frame];
        let right = (info.epoch, info.sender_index, info.context)
            == (
                sent.epoch,
                self.people[sent.sender].leaf.unwrap(),
                sent.context,
            )
            && plain == sent.payload.as_slice();
        if !right {
            self.tally.misattributed += 1;
        }
    }

    fn commit(&mut self, k: usize, t: u64) {
        let (adds, removes) = STEPS[k];
        let joiners: Vec<usize> = (0..adds).map(|_| self.add_person()).collect();
        let kps: Vec<Vec<u8>> = joiners
            .iter()
            .map(|&p| self.people[p].member.key_package().unwrap())
            .collect();
        let out = self.people[0].member.commit(at(t), &kps, removes).unwrap();
        let epoch = out.epoch;
        let mut members = self.epoch_members[&(epoch - 1)].clone();
        let previous: Vec<usize> = members.keys().copied().filter(|&p| p != 0).collect();
        members.retain(|_, leaf| !removes.contains(leaf));
        for (i, &p) in joiners.iter().enumerate() {
            members.insert(p, out.added[i]);
            self.people[p].leaf = Some(out.added[i]);
        }
        // The removed leave now: they neither send nor receive from here on.
        for &p in &previous {
            if !members.contains_key(&p) {
                self.people[p].connected = false;
                self.people[p].sending = false;
            }
        }
        self.epoch_members.insert(epoch, members);
        let merged = self.people[0].member.merge_pending_commit().unwrap();
        self.note_outcome(0, &merged);
        self.drain(0, t);

        let msg = self.msgs.len();
        self.msgs.push(Msg::Commit(out.commit));
        for p in previous {
            if self.people[p].connected {
                let when = (t + self.rng.random_range(0..=300_000)).max(self.people[p].inbox_until);
                self.people[p].inbox_until = when;
                self.at(when, Ev::Mls { to: p, msg });
            }
        }
        if let Some(welcome) = out.welcome {
            let msg = self.msgs.len();
            self.msgs.push(Msg::Welcome(welcome));
            for &p in &joiners {
                let when = t + self.rng.random_range(0..=300_000);
                self.at(when, Ev::Mls { to: p, msg });
            }
        }
        if k + 1 < STEPS.len() {
            self.at(t + COMMIT_EVERY_US, Ev::Commit(k + 1));
        }
    }

    fn mls(&mut self, to: usize, msg: usize, t: u64) {
        let out = match &self.msgs[msg] {
            Msg::Commit(bytes) => {
                let bytes = bytes.clone();
                self.people[to]
                    .member
                    .process_commit(at(t), &bytes)
                    .unwrap()
            }
            Msg::Welcome(bytes) => {
                let bytes = bytes.clone();
                let out = self.people[to].member.join(at(t), &bytes).unwrap();
                assert_eq!(self.people[to].member.own_leaf_index(), self.people[to].leaf);
                self.people[to].connected = true;
                self.people[to].sending = true;
                let phase = self.rng.random_range(0..SEND_EVERY_US);
                self.at(t + phase, Ev::Send(to));
                out
            }
        };
        assert!(!out.self_removed, "removed members are disconnected");
        self.note_outcome(to, &out);
        self.drain(to, t);
    }

    fn send(&mut self, pid: usize, t: u64) {
        if !self.people[pid].sending {
            return;
        }
        for context in [0u64, 1] {
            let id = self.frames.len();
            let mut payload = vec![(id % 251) as u8; 60];
            payload[..8].copy_from_slice(&(id as u64).to_be_bytes());
            let mut wire = payload.clone();
            let ring = self.people[pid].member.keyring_mut();
            ring.handle_timeout(at(t));
            let epoch = ring.sending_epoch().unwrap();
            ring.encrypt(context, &(id as u64).to_be_bytes(), &mut wire)
                .unwrap();
            self.drain(pid, t);
            assert!(
                self.epoch_members[&epoch].contains_key(&pid),
                "a sender uses an epoch it is in"
            );
            // The KID, by the RFC's formula with this epoch's S.
            let s = self.expected_s(epoch);
            let leaf = u64::from(self.people[pid].leaf.unwrap());
            let expected = (context << (u32::from(s) + u32::from(E)))
                + (leaf << E)
                + (epoch % (1 << E));
            let kid = Header::parse(&wire).unwrap().0.kid;
            assert_eq!(kid, expected, "sender {pid} epoch {epoch} context {context}");
            if context == 1 {
                self.context1_kids.insert((pid, epoch), kid);
            }
            self.frames.push(Sent {
                sender: pid,
                epoch,
                context,
                payload,
                wire,
            });
            for to in 0..self.people.len() {
                if to != pid && self.people[to].connected {
                    let d = self.rng.random_range(0..=100_000);
                    self.at(t + d, Ev::Frame { to, frame: id });
                }
            }
        }
        self.at(t + SEND_EVERY_US, Ev::Send(pid));
    }

    fn deliver(&mut self, to: usize, frame: usize, t: u64) {
        if !self.people[to].connected {
            return;
        }
        let sent = &self.frames[frame];
        let must = self.epoch_members[&sent.epoch].contains_key(&to);
        let mut bytes = sent.wire.clone();
        if must {
            self.tally.must += 1;
        } else {
            self.tally.not_member += 1;
        }
        let frame_epoch = sent.epoch;
        let ring = self.people[to].member.keyring_mut();
        ring.handle_timeout(at(t));
        let newest = ring.newest_epoch().unwrap();
        match ring.decrypt(at(t), frame as u64, &(frame as u64).to_be_bytes(), &mut bytes) {
            Ok(Received::Plaintext { info, data }) => {
                let data = data.to_vec();
                if self.expected_s(newest) != self.expected_s(frame_epoch) {
                    self.tally.across_s += 1;
                }
                self.opened(frame, must, info, &data);
            }
            Ok(Received::Buffered) => {
                self.buffered.insert((to, frame), must);
            }
            Err(_) => {
                if must {
                    self.tally.dropped += 1;
                }
            }
        }
        self.drain(to, t);
    }

    fn run(&mut self) {
        let leader = self.add_person();
        self.people[leader].member.create_group(at(0)).unwrap();
        self.people[leader].leaf = Some(0);
        self.people[leader].connected = true;
        self.people[leader].sending = true;
        self.epoch_members.insert(0, BTreeMap::from([(leader, 0)]));
        self.drain(leader, 0);
        self.at(0, Ev::Send(leader));
        self.at(FIRST_COMMIT_US, Ev::Commit(0));
        let end = FIRST_COMMIT_US + STEPS.len() as u64 * COMMIT_EVERY_US + 2_000_000;
        while let Some(Reverse((t, _, ev))) = self.queue.pop() {
            if t > end {
                break;
            }
            match ev {
                Ev::Commit(k) => self.commit(k, t),
                Ev::Mls { to, msg } => self.mls(to, msg, t),
                Ev::Ack {
                    to,
                    from_leaf,
                    epoch,
                } => {
                    if self.people[to].connected {
                        let ring = self.people[to].member.keyring_mut();
                        ring.acknowledge(at(t), from_leaf, epoch);
                        self.drain(to, t);
                    }
                }
                Ev::Send(pid) => self.send(pid, t),
                Ev::Frame { to, frame } => self.deliver(to, frame, t),
            }
        }
        // Whatever is still buffered comes out (as decrypted, or dropped when it expires).
        for pid in 0..self.people.len() {
            self.people[pid]
                .member
                .keyring_mut()
                .handle_timeout(at(end + 10_000_000));
            self.drain(pid, end + 10_000_000);
        }
    }
}

/// Held frames come back with the token they were given with: the frame's number.
fn frame_id(token: u64) -> usize {
    usize::try_from(token).unwrap()
}

#[test]
fn media_flows_across_every_change_of_s_with_nothing_dropped_or_misattributed() {
    let mut sim = Sim::new();
    sim.run();
    let tally = &sim.tally;
    eprintln!(
        "{} frames sent, {tally:?}, S per epoch {:?}",
        sim.frames.len(),
        sim.sender_bits_seen
    );

    // The group went through the changes the test is about.
    let s: Vec<u8> = (0..EXPECTED_S.len() as u64)
        .map(|e| sim.expected_s(e))
        .collect();
    assert_eq!(s, EXPECTED_S);
    let sizes: Vec<usize> = sim.epoch_members.values().map(BTreeMap::len).collect();
    assert_eq!(sizes, [1, 4, 5, 8, 9, 8, 9, 8, 5, 4]);
    // Every member that reported an epoch's S reported the RFC's.
    for (epoch, seen) in &sim.sender_bits_seen {
        assert_eq!(
            seen.iter().copied().collect::<Vec<_>>(),
            [EXPECTED_S[*epoch as usize]],
            "epoch {epoch}"
        );
    }

    // A sender's context-1 KID moves beyond the epoch bits exactly when S changed.
    let mut s_changes_seen = 0;
    for (&(pid, epoch), &kid) in &sim.context1_kids {
        if let Some(&next) = sim.context1_kids.get(&(pid, epoch + 1)) {
            let s_changed = EXPECTED_S[epoch as usize] != EXPECTED_S[epoch as usize + 1];
            assert_eq!(
                kid >> E != next >> E,
                s_changed,
                "sender {pid}, epochs {epoch} -> {}",
                epoch + 1
            );
            s_changes_seen += usize::from(s_changed);
        }
    }
    assert!(s_changes_seen >= 4, "{s_changes_seen} KID changes seen");

    // Nothing left without an outcome, nothing dropped, nothing misattributed.
    assert!(sim.buffered.is_empty(), "{} without an outcome", sim.buffered.len());
    assert!(tally.must > 20_000, "{tally:?}");
    assert_eq!(tally.decrypted, tally.must, "{tally:?}");
    assert_eq!(tally.dropped, 0);
    assert_eq!(tally.misattributed, 0);
    // Frames of an epoch with another S than the receiver's newest were read right.
    assert!(tally.across_s > 100, "{tally:?}");
    // Joiners did get frames of epochs before theirs, and read none.
    assert!(tally.not_member > 0, "{tally:?}");
    assert_eq!(tally.not_member_decrypted, 0);
}
