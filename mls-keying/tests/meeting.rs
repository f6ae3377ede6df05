//! A meeting on a simulated clock: openmls groups, SFrame media, joins and leaves.
//!
//! A leader admits and removes people in batched commits (several adds and removes in one
//! commit) every 1.4 s; 32 commits, 52 distinct members over the meeting. Every member sends
//! audio (context 0, 50 frames/s, 100 bytes) and video (context 1, 30 frames/s) through its
//! keyring. Commits and Welcomes reach each member 0-300 ms after the leader sent them (in
//! order), media and acknowledgements reach each receiver 0-100 ms after they were sent. One
//! commit (one that only adds, so senders wait for acknowledgements on it) reaches one member
//! 1.2 s late, beyond the 500 ms grace period. Commits that remove someone make senders switch
//! at once (the keyring's default). Joiners miss every
//! epoch before theirs (the forwarder sends them media from the moment they are admitted),
//! and removed members keep their keys and keep receiving media for 2 s, as an eavesdropper
//! would.
//!
//! Video frames are 1-50 KB in release builds; in debug builds (`cargo test` without
//! `--release`) they are 1-8 KB so the whole test stays well under a minute. The frame counts
//! and the assertions are the same in both.
//!
//! The ledger below is the test's own: it records what each participant sent, under which
//! epoch (read from the KID on the wire), who was a member of each epoch, and every delivery,
//! and then asserts exact counts:
//! - every delivery to a receiver that was a member of the frame's epoch and had not been
//!   removed when the frame arrived decrypts, with the right plaintext: zero drops;
//! - zero frames of an epoch a member was removed from are decrypted by it;
//! - zero frames of an epoch before a member joined are decrypted by it;
//! - every delivery has exactly one outcome (decrypted, refused, dropped and reported);
//! - all members of an epoch show the same security code, and codes differ across epochs.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::StdRng};
use sframe_core::{CipherSuite, Header};
use sframe_mls::{
    Event, FrameInfo, KeyringConfig, MemberConfig, MlsMember, PendingLimits, Received, SwitchReason,
};

const COMMITS: usize = 32;
const FIRST_COMMIT_US: u64 = 1_000_000;
const COMMIT_INTERVAL_US: u64 = 1_400_000;
const END_US: u64 = FIRST_COMMIT_US + COMMITS as u64 * COMMIT_INTERVAL_US + 3_000_000;
const LATE_COMMIT: usize = 10;
const LATE_DELAY_US: u64 = 1_200_000;
const GRACE: Duration = Duration::from_millis(500);
const LINGER_US: u64 = 2_000_000;
const AUDIO_US: u64 = 20_000;
const VIDEO_FPS: u64 = 30;
const EPOCH_BITS: u8 = 2;

fn video_max() -> usize {
    if cfg!(debug_assertions) {
        8_000
    } else {
        50_000
    }
}

fn now(us: u64) -> Duration {
    Duration::from_micros(us)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Commit(usize),
    /// An MLS message (`msgs[id]`) reaches participant `to`.
    Mls {
        to: usize,
        msg: usize,
    },
    Ack {
        to: usize,
        from_leaf: u32,
        epoch: u64,
    },
    Audio(usize),
    Video {
        pid: usize,
        n: u64,
    },
    Frame {
        to: usize,
        frame: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    /// A member of the frame's epoch, not removed when the frame arrived: must decrypt.
    Must,
    /// The frame's epoch is one the receiver was removed from (or later): must not decrypt.
    AfterRemoval,
    /// The frame's epoch is before the receiver joined: must not decrypt.
    BeforeJoin,
    /// A member of the frame's epoch that had processed its own removal when it arrived.
    Departed,
}

#[derive(Debug, Default, Clone, Copy)]
struct Outcomes {
    delivered: u64,
    decrypted: u64,
    refused: u64,
    dropped: u64,
}

struct Participant {
    member: MlsMember,
    leaf: Option<u32>,
    joined_epoch: Option<u64>,
    removed_epoch: Option<u64>,
    /// When it processed the commit removing it.
    departed_at: Option<u64>,
    admitted_at: u64,
    /// The forwarder stops sending media to it at this time.
    disconnect_at: u64,
    /// When its last MLS message is delivered (messages arrive in order).
    inbox_until: u64,
    sending: bool,
}

struct SentFrame {
    sender: usize,
    epoch: u64,
    context: u64,
    sent_at: u64,
    payload: Rc<Vec<u8>>,
    wire: Rc<Vec<u8>>,
}

enum Msg {
    Commit { epoch: u64, bytes: Vec<u8> },
    Welcome { epoch: u64, bytes: Rc<Vec<u8>> },
}

struct Sim {
    rng: StdRng,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    people: Vec<Participant>,
    msgs: Vec<Msg>,
    frames: Vec<Option<SentFrame>>,
    /// Participants (by id) in each epoch.
    epoch_members: BTreeMap<u64, BTreeSet<usize>>,
    epoch_started_at: BTreeMap<u64, u64>,
    /// Deliveries that were buffered: (receiver, frame) -> category.
    buffered: HashMap<(usize, usize), Category>,
    outcomes: HashMap<&'static str, Outcomes>,
    codes: BTreeMap<u64, BTreeSet<String>>,
    grace_switches: u64,
    leaked_in_grace: u64,
    commits_with_several_adds_and_removes: usize,
    config: MemberConfig,
}

fn category_name(c: Category) -> &'static str {
    match c {
        Category::Must => "must",
        Category::AfterRemoval => "after_removal",
        Category::BeforeJoin => "before_join",
        Category::Departed => "departed",
    }
}

impl Sim {
    fn new() -> Self {
        let mut keyring = KeyringConfig::new(CipherSuite::Aes128GcmSha256_128);
        keyring.epoch_bits = EPOCH_BITS;
        keyring.switch_grace = GRACE;
        keyring.retire_after = Duration::from_millis(2500);
        keyring.pending = PendingLimits {
            max_frames: 8192,
            max_bytes: 64 << 20,
            max_age: Duration::from_secs(2),
        };
        Self {
            rng: StdRng::seed_from_u64(0x5f_9605),
            queue: BinaryHeap::new(),
            seq: 0,
            people: Vec::new(),
            msgs: Vec::new(),
            frames: Vec::new(),
            epoch_members: BTreeMap::new(),
            epoch_started_at: BTreeMap::new(),
            buffered: HashMap::new(),
            outcomes: HashMap::new(),
            codes: BTreeMap::new(),
            grace_switches: 0,
            leaked_in_grace: 0,
            commits_with_several_adds_and_removes: 0,
            config: MemberConfig::new(keyring),
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, ev)));
    }

    fn add_participant(&mut self, t: u64) -> usize {
        let pid = self.people.len();
        let member = MlsMember::new(format!("p{pid}").as_bytes(), self.config).unwrap();
        self.people.push(Participant {
            member,
            leaf: None,
            joined_epoch: None,
            removed_epoch: None,
            departed_at: None,
            admitted_at: t,
            disconnect_at: u64::MAX,
            inbox_until: 0,
            sending: false,
        });
        pid
    }

    fn start_media(&mut self, pid: usize, t: u64) {
        self.people[pid].sending = true;
        let audio_phase = self.rng.random_range(0..AUDIO_US);
        self.at(t + audio_phase, Ev::Audio(pid));
        self.at(t, Ev::Video { pid, n: 0 });
    }

    /// Handles the keyring's events for `pid`.
    fn drain(&mut self, pid: usize, t: u64) {
        while let Some(ev) = self.people[pid].member.keyring_mut().poll_event() {
            match ev {
                Event::EpochReady { epoch } => {
                    // Tell everyone connected (the application's signaling channel).
                    let leaf = self.people[pid].leaf.unwrap();
                    for to in 0..self.people.len() {
                        if to != pid && self.connected(to, t) {
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
                Event::Switched { reason, .. } => {
                    if reason == SwitchReason::GraceExpired {
                        self.grace_switches += 1;
                    }
                    assert_ne!(
                        reason,
                        SwitchReason::Forced,
                        "no forced switch in this meeting"
                    );
                }
                Event::Decrypted(d) => {
                    let frame = usize::try_from(d.token).unwrap();
                    let cat = self.buffered.remove(&(pid, frame)).unwrap();
                    self.check_plaintext(frame, d.info, d.plaintext());
                    self.record(cat, |o| o.decrypted += 1);
                    self.note_grace_leak(pid, frame, cat, t);
                }
                Event::Dropped(d) => {
                    let frame = usize::try_from(d.token).unwrap();
                    let cat = self.buffered.remove(&(pid, frame)).unwrap();
                    self.record(cat, |o| o.dropped += 1);
                }
                Event::Retired { .. } => {}
            }
        }
    }

    fn record(&mut self, cat: Category, f: impl FnOnce(&mut Outcomes)) {
        f(self.outcomes.entry(category_name(cat)).or_default());
    }

    fn connected(&self, pid: usize, t: u64) -> bool {
        let p = &self.people[pid];
        p.admitted_at <= t && t < p.disconnect_at
    }

    fn check_plaintext(&self, frame: usize, info: FrameInfo, plain: &[u8]) {
        let sent = self.frames[frame]
            .as_ref()
            .expect("frame still in the ledger");
        assert_eq!(
            (info.epoch, info.context, Some(info.sender_index)),
            (sent.epoch, sent.context, self.people[sent.sender].leaf)
        );
        assert!(
            plain == sent.payload.as_slice(),
            "plaintext of frame {frame}"
        );
    }

    /// A removed member decrypting a frame of its last epoch sent after the commit removing
    /// it: allowed (the sender was still in its grace period) but counted.
    fn note_grace_leak(&mut self, pid: usize, frame: usize, cat: Category, _t: u64) {
        if cat != Category::Must && cat != Category::Departed {
            return;
        }
        if let (Some(removed), Some(sent)) =
            (self.people[pid].removed_epoch, self.frames[frame].as_ref())
            && sent.sent_at >= self.epoch_started_at[&removed]
        {
            self.leaked_in_grace += 1;
        }
    }

    fn commit(&mut self, k: usize, t: u64) {
        // Who joins and who leaves in this commit.
        let adds = if k == 0 {
            8
        } else {
            self.rng.random_range(1..=2)
        };
        let current: Vec<usize> = (1..self.people.len())
            .filter(|&p| {
                self.people[p].removed_epoch.is_none() && self.people[p].joined_epoch.is_some()
            })
            .collect();
        // The late commit only adds: senders wait for acknowledgements on it (a commit that
        // removes someone switches them at once, by default), so it exercises the grace path.
        let removes = if k == 0 || k == LATE_COMMIT || current.len() < 6 {
            0
        } else {
            self.rng.random_range(1..=2).min(current.len() - 4)
        };
        let mut leaving = Vec::new();
        while leaving.len() < removes {
            let p = current[self.rng.random_range(0..current.len())];
            if !leaving.contains(&p) {
                leaving.push(p);
            }
        }
        if adds >= 2 && removes >= 2 {
            self.commits_with_several_adds_and_removes += 1;
        }
        let joiners: Vec<usize> = (0..adds).map(|_| self.add_participant(t)).collect();
        let kps: Vec<Vec<u8>> = joiners
            .iter()
            .map(|&p| self.people[p].member.key_package().unwrap())
            .collect();
        let removed_leaves: Vec<u32> = leaving
            .iter()
            .map(|&p| self.people[p].leaf.unwrap())
            .collect();
        let leader = &mut self.people[0].member;
        let out = leader.commit(now(t), &kps, &removed_leaves).unwrap();
        leader.merge_pending_commit().unwrap();
        let epoch = out.epoch;
        self.epoch_started_at.insert(epoch, t);
        let mut members: BTreeSet<usize> = self.epoch_members[&(epoch - 1)].clone();
        for p in &leaving {
            members.remove(p);
            self.people[*p].removed_epoch = Some(epoch);
            self.people[*p].disconnect_at = t + LINGER_US;
        }
        for (i, &p) in joiners.iter().enumerate() {
            members.insert(p);
            self.people[p].joined_epoch = Some(epoch);
            self.people[p].leaf = Some(out.added[i]);
        }
        self.epoch_members.insert(epoch, members);
        self.record_code(0);
        self.drain(0, t);

        // Deliver the commit to everyone in the previous epoch (the removed ones too) and the
        // Welcome to the joiners, each in order, after 0-300 ms (one member 1.2 s late).
        let msg = self.msgs.len();
        self.msgs.push(Msg::Commit {
            epoch,
            bytes: out.commit,
        });
        let late_member = (k == LATE_COMMIT).then(|| {
            current
                .iter()
                .copied()
                .find(|p| !leaving.contains(p))
                .unwrap()
        });
        let receivers: Vec<usize> = self.epoch_members[&(epoch - 1)]
            .iter()
            .copied()
            .filter(|&p| p != 0)
            .collect();
        for p in receivers {
            let delay = if Some(p) == late_member {
                LATE_DELAY_US
            } else {
                self.rng.random_range(0..=300_000)
            };
            let when = (t + delay).max(self.people[p].inbox_until);
            self.people[p].inbox_until = when;
            self.at(when, Ev::Mls { to: p, msg });
        }
        if let Some(welcome) = out.welcome {
            let welcome = Rc::new(welcome);
            let msg = self.msgs.len();
            self.msgs.push(Msg::Welcome {
                epoch,
                bytes: welcome,
            });
            for &p in &joiners {
                let when = t + self.rng.random_range(0..=300_000);
                self.people[p].inbox_until = when;
                self.at(when, Ev::Mls { to: p, msg });
            }
        }
        if k + 1 < COMMITS {
            self.at(t + COMMIT_INTERVAL_US, Ev::Commit(k + 1));
        }
    }

    fn record_code(&mut self, pid: usize) {
        let m = &self.people[pid].member;
        let code = m.security_code().unwrap();
        self.codes
            .entry(code.epoch())
            .or_default()
            .insert(code.to_string());
    }

    fn mls(&mut self, to: usize, msg: usize, t: u64) {
        match &self.msgs[msg] {
            Msg::Commit { epoch, bytes } => {
                let epoch = *epoch;
                let bytes = bytes.clone();
                let out = self.people[to]
                    .member
                    .process_commit(now(t), &bytes)
                    .unwrap();
                assert_eq!(out.epoch, epoch);
                if out.self_removed {
                    assert_eq!(self.people[to].removed_epoch, Some(epoch));
                    self.people[to].departed_at = Some(t);
                    self.people[to].sending = false;
                } else {
                    self.record_code(to);
                }
            }
            Msg::Welcome { epoch, bytes } => {
                let epoch = *epoch;
                let bytes = Rc::clone(bytes);
                let out = self.people[to].member.join(now(t), &bytes).unwrap();
                assert_eq!(out.epoch, epoch);
                assert_eq!(
                    self.people[to].member.own_leaf_index(),
                    self.people[to].leaf
                );
                self.record_code(to);
                self.start_media(to, t);
            }
        }
        self.drain(to, t);
    }

    fn send(&mut self, pid: usize, context: u64, len: usize, t: u64) {
        let id = self.frames.len();
        let mut payload = vec![(id % 251) as u8; len];
        payload[..8].copy_from_slice(&(id as u64).to_be_bytes());
        let payload = Rc::new(payload);
        let mut wire = payload.as_ref().clone();
        let ring = self.people[pid].member.keyring_mut();
        ring.handle_timeout(now(t));
        ring.encrypt(context, &(id as u64).to_be_bytes(), &mut wire)
            .unwrap();
        self.drain(pid, t);
        // The epoch, read off the wire: the newest epoch so far with these low bits.
        let low = Header::parse(&wire).unwrap().0.kid & ((1 << EPOCH_BITS) - 1);
        let newest = *self.epoch_members.keys().next_back().unwrap();
        let epoch = (0..=newest)
            .rev()
            .find(|e| e & ((1 << EPOCH_BITS) - 1) == low)
            .unwrap();
        assert!(
            self.epoch_members[&epoch].contains(&pid),
            "a sender uses an epoch it is in"
        );
        let wire = Rc::new(wire);
        self.frames.push(Some(SentFrame {
            sender: pid,
            epoch,
            context,
            sent_at: t,
            payload,
            wire,
        }));
        for to in 0..self.people.len() {
            if to != pid && self.connected(to, t) {
                let d = self.rng.random_range(0..=100_000);
                self.at(t + d, Ev::Frame { to, frame: id });
            }
        }
    }

    fn deliver(&mut self, to: usize, frame: usize, t: u64) {
        let sent = self.frames[frame].as_ref().unwrap();
        let (epoch, wire) = (sent.epoch, Rc::clone(&sent.wire));
        let p = &self.people[to];
        let cat = if !self.epoch_members[&epoch].contains(&to) {
            if p.removed_epoch.is_some_and(|r| epoch >= r) {
                Category::AfterRemoval
            } else {
                assert!(p.joined_epoch.is_none_or(|j| epoch < j));
                Category::BeforeJoin
            }
        } else if p.departed_at.is_some_and(|d| d <= t) {
            Category::Departed
        } else {
            Category::Must
        };
        self.record(cat, |o| o.delivered += 1);
        let mut bytes = wire.as_ref().clone();
        let ring = self.people[to].member.keyring_mut();
        ring.handle_timeout(now(t));
        let result = ring.decrypt(now(t), frame as u64, &(frame as u64).to_be_bytes(), &mut bytes);
        match result {
            Ok(Received::Plaintext { info, data }) => {
                let data = data.to_vec();
                self.check_plaintext(frame, info, &data);
                self.record(cat, |o| o.decrypted += 1);
                self.note_grace_leak(to, frame, cat, t);
            }
            Ok(Received::Buffered) => {
                self.buffered.insert((to, frame), cat);
            }
            Err(e) => {
                assert!(
                    cat != Category::Must,
                    "member {to} refused frame {frame} of epoch {epoch}: {e}"
                );
                self.record(cat, |o| o.refused += 1);
            }
        }
        self.drain(to, t);
    }

    fn run(&mut self) {
        let leader = self.add_participant(0);
        self.people[leader].member.create_group(now(0)).unwrap();
        self.people[leader].leaf = Some(0);
        self.people[leader].joined_epoch = Some(0);
        self.epoch_members.insert(0, BTreeSet::from([leader]));
        self.epoch_started_at.insert(0, 0);
        self.record_code(leader);
        self.drain(leader, 0);
        self.start_media(leader, 0);
        self.at(FIRST_COMMIT_US, Ev::Commit(0));
        let mut last_prune = 0;
        while let Some(Reverse((t, _, ev))) = self.queue.pop() {
            if t > END_US {
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
                    if self.people[to].sending {
                        self.people[to]
                            .member
                            .keyring_mut()
                            .acknowledge(now(t), from_leaf, epoch);
                        self.drain(to, t);
                    }
                }
                Ev::Audio(pid) => {
                    if self.people[pid].sending {
                        self.send(pid, 0, 100, t);
                        self.at(t + AUDIO_US, Ev::Audio(pid));
                    }
                }
                Ev::Video { pid, n } => {
                    if self.people[pid].sending {
                        let len = self.rng.random_range(1_000..=video_max());
                        self.send(pid, 1, len, t);
                        let start = t - n * 1_000_000 / VIDEO_FPS;
                        self.at(
                            start + (n + 1) * 1_000_000 / VIDEO_FPS,
                            Ev::Video { pid, n: n + 1 },
                        );
                    }
                }
                Ev::Frame { to, frame } => {
                    if self.connected(to, t) {
                        self.deliver(to, frame, t);
                    }
                }
            }
            // Forget frames no delivery or buffer can still need.
            if t >= last_prune + 1_000_000 {
                last_prune = t;
                for f in self.frames.iter_mut().rev() {
                    match f {
                        Some(s) if s.sent_at + 4_000_000 < t => *f = None,
                        _ => {}
                    }
                }
            }
        }
        // Flush: every participant's buffered frames expire and are reported.
        for pid in 0..self.people.len() {
            self.people[pid]
                .member
                .keyring_mut()
                .handle_timeout(now(END_US + 10_000_000));
            self.drain(pid, END_US + 10_000_000);
        }
    }
}

#[test]
fn a_meeting_with_fifty_members_and_thirty_commits_drops_nothing_and_leaks_nothing() {
    let started = Instant::now();
    let mut sim = Sim::new();
    sim.run();

    let get = |c: Category| {
        sim.outcomes
            .get(category_name(c))
            .copied()
            .unwrap_or_default()
    };
    let (must, after, before, departed) = (
        get(Category::Must),
        get(Category::AfterRemoval),
        get(Category::BeforeJoin),
        get(Category::Departed),
    );
    let frames = sim.frames.len();
    eprintln!(
        "meeting: {} members, {} commits, {frames} frames sent, grace switches {}, \
         frames decrypted by removed members from their last epoch after the removing commit: {}; \
         must {must:?}; after removal {after:?}; before join {before:?}; departed {departed:?}; {:?}",
        sim.people.len(),
        sim.epoch_members.len() - 1,
        sim.grace_switches,
        sim.leaked_in_grace,
        started.elapsed()
    );

    // The meeting is what the issue asks for.
    assert!(sim.people.len() >= 50, "{} members", sim.people.len());
    assert_eq!(sim.epoch_members.len() - 1, COMMITS);
    assert!(sim.commits_with_several_adds_and_removes >= 3);
    assert!(
        sim.grace_switches > 0,
        "the late commit made senders switch on the grace period"
    );

    // Nothing buffered is left unreported.
    assert!(
        sim.buffered.is_empty(),
        "{} deliveries without an outcome",
        sim.buffered.len()
    );
    for o in [must, after, before, departed] {
        assert_eq!(o.delivered, o.decrypted + o.refused + o.dropped);
    }
    // Zero drops for members.
    assert!(must.delivered > 100_000);
    assert_eq!(must.decrypted, must.delivered);
    assert_eq!((must.refused, must.dropped), (0, 0));
    // Zero leaks to the removed and to the not-yet-joined, who did get such frames.
    assert!(
        after.delivered > 1_000,
        "removed members received {after:?}"
    );
    assert_eq!(after.decrypted, 0);
    assert!(before.delivered > 1_000, "joiners received {before:?}");
    assert_eq!(before.decrypted, 0);

    // Security codes: one per epoch, all members agree, all epochs differ.
    assert_eq!(sim.codes.len(), COMMITS + 1);
    for (epoch, codes) in &sim.codes {
        assert_eq!(codes.len(), 1, "epoch {epoch}: {codes:?}");
    }
    let distinct: BTreeSet<&String> = sim.codes.values().flatten().collect();
    assert_eq!(distinct.len(), COMMITS + 1);
    for p in &sim.people {
        assert_eq!(p.member.roster_corrections(), 0);
    }
}
