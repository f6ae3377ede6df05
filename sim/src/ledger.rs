//! The simulation's own record of the meeting, kept apart from the code under test: who was a
//! member of which epoch, when each participant processed which commit, every frame sent (by
//! whom, when, under which KID on the wire, to whom), what the network did to its packets, and
//! what each receiver got out of them. The report's counts and invariants come from here.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;
use sframe_mls::KidLayout;

use crate::cause::Cause;

/// A participant's index in the simulation (the leader is 0).
pub type Pid = usize;

/// The bytes every plaintext frame starts with: the SFU must never see them.
pub const CANARY: &[u8; 16] = b"MEETING-PLAINTXT";

/// A frame's outcomes are final this long after it was sent: transit and the keyring's
/// buffer (2 s) are far shorter.
const FINAL_AFTER_US: u64 = 10_000_000;

/// The most violation messages kept (all are counted).
const MAX_MESSAGES: usize = 20;

/// What the simulation did to and with one participant.
#[derive(Debug, Default)]
pub struct Person {
    /// When the commit adding it was made (the SFU forwards to it from then on).
    pub admitted_at: Option<u64>,
    /// The epoch that added it.
    pub join_epoch: Option<u64>,
    /// When it processed its Welcome.
    pub joined_at: Option<u64>,
    /// The epoch that removed it.
    pub removal_epoch: Option<u64>,
    /// When it processed the commit removing it.
    pub departed_at: Option<u64>,
    /// When the SFU stops forwarding to it.
    pub disconnect_at: Option<u64>,
    /// The newest epoch it processed (a commit or its Welcome; the group's first epoch for
    /// the leader).
    pub known_epoch: Option<u64>,
    /// Its leaf index.
    pub leaf: Option<u32>,
    /// Media frames it sent.
    pub sent: u64,
    /// The newest epoch of the frames it sent.
    pub sending_epoch: Option<u64>,
    /// What it received.
    pub tally: Tally,
}

impl Person {
    /// Whether the SFU forwards to it at `t`.
    pub fn connected(&self, t: u64) -> bool {
        self.admitted_at.is_some_and(|a| a <= t) && self.disconnect_at.is_none_or(|d| t < d)
    }
}

/// Frames a receiver did not decrypt although every packet reached it, by the ledger's reason.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Dropped {
    /// All of them.
    pub total: u64,
    /// Sent under an epoch before the receiver joined.
    pub before_join: u64,
    /// Sent under an epoch that had removed the receiver.
    pub after_removal: u64,
    /// Sent under an epoch of the receiver's, but it had already processed its own removal.
    pub while_leaving: u64,
    /// Sent under an epoch of the receiver's while it was in the meeting: must never happen.
    pub rollover: u64,
}

/// One receiver's frames, from the ledger. `expected == decrypted + lost + dropped.total +
/// unaccounted`, and `unaccounted` and `dropped.rollover` must be 0.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    /// Frames other participants sent while the SFU forwarded to this one (except the last
    /// moments before it was disconnected, when a frame may reach the SFU too late).
    pub expected: u64,
    /// Decrypted, byte for byte what was sent.
    pub decrypted: u64,
    /// A packet was lost on the way (uplink or downlink).
    pub lost: u64,
    /// Every packet arrived, but the frame did not decrypt.
    pub dropped: Dropped,
    /// What the receiver said about the dropped frames.
    pub drop_causes: BTreeMap<Cause, u64>,
    /// Arrived whole, yet neither decrypted nor refused: must be 0.
    pub unaccounted: u64,
    /// Frames outside `expected` (in flight when it was connected or disconnected) that it
    /// decrypted or refused.
    pub outside_decrypted: u64,
    /// See `outside_decrypted`.
    pub outside_refused: u64,
}

#[derive(Debug)]
struct Delivery {
    to: Pid,
    /// Distinct packets that reached it.
    arrived: u16,
    /// When the last of them did.
    last_arrival: u64,
    decrypted: u8,
    failure: Option<Cause>,
}

#[derive(Debug)]
struct SentFrame {
    sender: Pid,
    sent_at: u64,
    ssrc: u32,
    timestamp: u32,
    len: usize,
    /// Read off the wire: the newest epoch the sender knew with the KID's low bits.
    epoch: u64,
    /// The newest epoch the sender had processed when it sent the frame.
    sender_known: u64,
    packets: u16,
    uplink_lost: bool,
    targets: Vec<Delivery>,
}

impl SentFrame {
    fn delivery_mut(&mut self, to: Pid) -> Option<&mut Delivery> {
        let i = self.targets.binary_search_by_key(&to, |d| d.to).ok()?;
        self.targets.get_mut(i)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    Must,
    BeforeJoin,
    AfterRemoval,
    WhileLeaving,
}

/// What became of the frames sent to receivers in one situation, counted when they settle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Frames sent to such receivers.
    pub expected: u64,
    /// Decrypted.
    pub decrypted: u64,
    /// A packet was lost on the way.
    pub lost: u64,
    /// Arrived whole, refused or given up.
    pub dropped: u64,
}

/// Every receiver's frames, by what it was entitled to: the ledger's categories over the whole
/// meeting. (Frames neither decrypted, lost nor dropped are `expected` only: unaccounted.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entitlements {
    /// A member of the frame's epoch that had not processed its own removal when the frame
    /// arrived: it must decrypt every such frame that arrives whole.
    pub owed: Outcomes,
    /// The frame's epoch is before the receiver joined: it must decrypt none.
    pub before_join: Outcomes,
    /// The frame's epoch removed the receiver, or is later: it must decrypt none.
    pub after_removal: Outcomes,
    /// A member of the frame's epoch that had already processed its own removal.
    pub while_leaving: Outcomes,
}

impl Entitlements {
    fn of(&mut self, category: Category) -> &mut Outcomes {
        match category {
            Category::Must => &mut self.owed,
            Category::BeforeJoin => &mut self.before_join,
            Category::AfterRemoval => &mut self.after_removal,
            Category::WhileLeaving => &mut self.while_leaving,
        }
    }
}

/// A frame the ledger still holds (not settled yet), as it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    /// Who sent it.
    pub sender: Pid,
    /// When.
    pub sent_at: u64,
    /// Its epoch, read off the wire.
    pub epoch: u64,
    /// Its stream.
    pub ssrc: u32,
    /// Its RTP timestamp.
    pub timestamp: u32,
}

/// The record.
#[derive(Debug)]
pub struct Ledger {
    layout: KidLayout,
    /// The longest a packet takes from a sender to the SFU.
    max_uplink_us: u64,
    /// Every participant, by pid.
    pub people: Vec<Person>,
    /// Members (by pid) of each epoch.
    pub epoch_members: BTreeMap<u64, BTreeSet<Pid>>,
    /// Security codes shown by the members of each epoch.
    pub codes: BTreeMap<u64, BTreeSet<String>>,
    frames: VecDeque<SentFrame>,
    /// The fid of `frames[0]`.
    first_fid: u32,
    by_rtp: HashMap<(u32, u32), u32>,
    violations: Vec<String>,
    violation_count: u64,
    entitlements: Entitlements,
    /// When the leader sent the commit of each epoch (from epoch 1).
    pub commit_at: BTreeMap<u64, u64>,
    /// Per epoch: how many of its members sent a frame under it (or a later epoch), and when
    /// the last of them did so first.
    pub switched: BTreeMap<u64, (usize, u64)>,
}

/// The plaintext of frame `fid`: the canary, the fid, then bytes that depend on the fid.
pub fn payload(fid: u32, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(len.max(20));
    p.extend_from_slice(CANARY);
    p.extend_from_slice(&fid.to_be_bytes());
    let period = filler_period(fid);
    let mut i = p.len();
    while p.len() < len.max(20) {
        let take = (len.max(20) - p.len()).min(FILLER_PERIOD - i % FILLER_PERIOD);
        let from = i % FILLER_PERIOD;
        p.extend_from_slice(&period[from..from + take]);
        i += take;
    }
    p
}

/// Byte `i` (from 20 on) of frame `fid`'s plaintext.
fn filler(fid: u32, i: usize) -> u8 {
    let seed = fid.wrapping_mul(0x9E37_79B1);
    (seed >> ((i % 4) * 8)) as u8 ^ i as u8
}

/// `filler(fid, i)` repeats every 256 bytes (`i % 4` and `i as u8`).
const FILLER_PERIOD: usize = 256;

/// One period of frame `fid`'s filler: `filler(fid, i)` is `period[i % 256]`.
fn filler_period(fid: u32) -> [u8; FILLER_PERIOD] {
    let mut period = [0; FILLER_PERIOD];
    for (i, b) in period.iter_mut().enumerate() {
        *b = filler(fid, i);
    }
    period
}

/// Whether `data` is [`payload`]`(fid, len)`, without making it.
pub fn is_payload(data: &[u8], fid: u32, len: usize) -> bool {
    let head = data.get(..20).zip(data.get(20..));
    data.len() == len.max(20)
        && head.is_some_and(|(head, rest)| {
            head.starts_with(CANARY)
                && head.ends_with(&fid.to_be_bytes())
                && filler_matches(rest, 20, &filler_period(fid))
        })
}

/// Whether `rest`, starting at byte `start` of a frame, is the frame's filler: compared a
/// period at a time.
fn filler_matches(rest: &[u8], start: usize, period: &[u8; FILLER_PERIOD]) -> bool {
    let mut i = start;
    let mut rest = rest;
    while !rest.is_empty() {
        let from = i % FILLER_PERIOD;
        let take = rest.len().min(FILLER_PERIOD - from);
        if rest[..take] != period[from..from + take] {
            return false;
        }
        rest = &rest[take..];
        i += take;
    }
    true
}

/// Whether `hay` contains the plaintext canary anywhere.
pub fn contains_canary(hay: &[u8]) -> bool {
    hay.windows(CANARY.len()).any(|w| w == CANARY)
}

impl Ledger {
    /// An empty record for KIDs of `layout`, where a packet takes at most `max_uplink_us` from
    /// a sender to the SFU.
    pub fn new(layout: KidLayout, max_uplink_us: u64) -> Self {
        Self {
            layout,
            max_uplink_us,
            people: Vec::new(),
            epoch_members: BTreeMap::new(),
            codes: BTreeMap::new(),
            frames: VecDeque::new(),
            first_fid: 0,
            by_rtp: HashMap::new(),
            violations: Vec::new(),
            violation_count: 0,
            entitlements: Entitlements::default(),
            commit_at: BTreeMap::new(),
            switched: BTreeMap::new(),
        }
    }

    /// A new participant; returns its pid.
    pub fn add_person(&mut self) -> Pid {
        self.people.push(Person::default());
        self.people.len() - 1
    }

    /// Records a failed invariant.
    pub fn violation(&mut self, message: String) {
        self.violation_count += 1;
        if self.violations.len() < MAX_MESSAGES {
            self.violations.push(message);
        }
    }

    /// The first messages of the failed invariants, and how many failed.
    pub fn violations(&self) -> (&[String], u64) {
        (&self.violations, self.violation_count)
    }

    /// The settled frames' outcomes by what their receivers were entitled to.
    pub fn entitlements(&self) -> Entitlements {
        self.entitlements
    }

    /// Frame `fid` as it was sent, until it settles.
    pub fn frame(&self, fid: u32) -> Option<FrameRecord> {
        let f = self.frames.get(fid.checked_sub(self.first_fid)? as usize)?;
        Some(FrameRecord {
            sender: f.sender,
            sent_at: f.sent_at,
            epoch: f.epoch,
            ssrc: f.ssrc,
            timestamp: f.timestamp,
        })
    }

    /// The fid the next frame sent gets.
    pub fn next_fid(&self) -> u32 {
        self.first_fid + self.frames.len() as u32
    }

    /// Records the frame `next_fid()` as sent; returns its fid.
    #[allow(clippy::too_many_arguments)]
    pub fn sent(
        &mut self,
        sender: Pid,
        t: u64,
        ssrc: u32,
        timestamp: u32,
        len: usize,
        kid: u64,
        packets: usize,
    ) -> u32 {
        let fid = self.next_fid();
        let sender_known = self.people[sender].known_epoch.unwrap_or(0);
        let low = self.layout.split(kid).epoch_low;
        let epoch = (0..=sender_known)
            .rev()
            .find(|&e| self.layout.epoch_low(e) == low)
            .unwrap_or(u64::MAX);
        if !self
            .epoch_members
            .get(&epoch)
            .is_some_and(|m| m.contains(&sender))
        {
            self.violation(format!(
                "p{sender} sent frame {fid} under KID {kid:#x}, not an epoch it is a member of"
            ));
        }
        self.note_switch(sender, epoch, t);
        self.people[sender].sent += 1;
        self.by_rtp.insert((ssrc, timestamp), fid);
        self.frames.push_back(SentFrame {
            sender,
            sent_at: t,
            ssrc,
            timestamp,
            len,
            epoch,
            sender_known,
            packets: u16::try_from(packets).unwrap_or(u16::MAX),
            uplink_lost: false,
            targets: Vec::new(),
        });
        fid
    }

    /// `sender` sent a frame under `epoch` at `t`: it now uses every epoch of its own up to
    /// that one.
    fn note_switch(&mut self, sender: Pid, epoch: u64, t: u64) {
        let p = &mut self.people[sender];
        if epoch == u64::MAX || p.sending_epoch.is_some_and(|e| e >= epoch) {
            return;
        }
        let from = p
            .sending_epoch
            .map_or(p.join_epoch.unwrap_or(epoch), |e| e + 1);
        p.sending_epoch = Some(epoch);
        for e in from..=epoch {
            let s = self.switched.entry(e).or_default();
            s.0 += 1;
            s.1 = s.1.max(t);
        }
    }

    /// Per epoch since the first commit, the time from its commit until every one of its
    /// members sent under it (or later), in µs; epochs some member never sent under (it left,
    /// or the next epoch came first) are left out.
    pub fn commit_to_switch_us(&self) -> Vec<(u64, u64)> {
        self.commit_at
            .iter()
            .filter_map(|(&epoch, &commit)| {
                let members = self.epoch_members.get(&epoch)?.len();
                let &(switched, last) = self.switched.get(&epoch)?;
                (switched >= members).then(|| (epoch, last.saturating_sub(commit)))
            })
            .collect()
    }

    fn frame_mut(&mut self, fid: u32) -> Option<&mut SentFrame> {
        let i = fid.checked_sub(self.first_fid)?;
        self.frames.get_mut(i as usize)
    }

    /// The frame a packet with this SSRC and timestamp belongs to.
    pub fn fid_of(&self, ssrc: u32, timestamp: u32) -> Option<u32> {
        self.by_rtp.get(&(ssrc, timestamp)).copied()
    }

    /// A packet of `fid` was lost on the sender's uplink.
    pub fn uplink_lost(&mut self, fid: u32) {
        if let Some(f) = self.frame_mut(fid) {
            f.uplink_lost = true;
        }
    }

    /// The SFU forwarded a packet of `fid` to `to`; its first copy arrives at `arrival`
    /// (`None`: lost on the downlink).
    ///
    /// A receiver's entitlement to a frame starts here: what the SFU forwarded to it (its
    /// forwarding policy may hold a frame back from everyone), if it was connected when the
    /// frame was sent and not about to be disconnected before the frame could reach the SFU.
    pub fn downlink(&mut self, fid: u32, to: Pid, arrival: Option<u64>) {
        let max_uplink_us = self.max_uplink_us;
        let Some(i) = fid.checked_sub(self.first_fid) else {
            return;
        };
        let Some(f) = self.frames.get_mut(i as usize) else {
            return;
        };
        let slot = match f.targets.binary_search_by_key(&to, |d| d.to) {
            Ok(slot) => slot,
            Err(slot) => {
                let p = &self.people[to];
                let latest_disconnect = f.sent_at + max_uplink_us;
                let entitled = to != f.sender
                    && p.connected(f.sent_at)
                    && p.disconnect_at.is_none_or(|d| d > latest_disconnect);
                if !entitled {
                    return;
                }
                f.targets.insert(
                    slot,
                    Delivery {
                        to,
                        arrived: 0,
                        last_arrival: 0,
                        decrypted: 0,
                        failure: None,
                    },
                );
                slot
            }
        };
        if let Some(at) = arrival {
            let d = &mut f.targets[slot];
            d.arrived = d.arrived.saturating_add(1);
            d.last_arrival = d.last_arrival.max(at);
        }
    }

    /// `to` decrypted a media frame.
    pub fn decrypted(&mut self, to: Pid, ssrc: u32, timestamp: u32, data: &[u8]) {
        let Some(fid) = self.fid_of(ssrc, timestamp) else {
            self.violation(format!(
                "p{to} decrypted a frame nobody sent (SSRC {ssrc:#x}, timestamp {timestamp})"
            ));
            return;
        };
        let Some(i) = fid.checked_sub(self.first_fid) else {
            return;
        };
        let Some(f) = self.frames.get(i as usize) else {
            return;
        };
        let (sender, epoch, sender_known) = (f.sender, f.epoch, f.sender_known);
        let intact = is_payload(data, fid, f.len);
        let p = &self.people[to];
        let mut problems = Vec::new();
        if !intact {
            problems.push(format!("p{to} decrypted frame {fid} of p{sender} altered"));
        }
        if p.join_epoch.is_none_or(|j| sender_known < j) {
            problems.push(format!(
                "p{to} decrypted frame {fid} that p{sender} sent before it joined (epoch {:?})",
                p.join_epoch
            ));
        }
        if let Some(r) = p.removal_epoch
            && sender_known >= r
        {
            problems.push(format!(
                "p{to}, removed in epoch {r}, decrypted frame {fid} (epoch {epoch}) that \
                 p{sender} sent after processing epoch {sender_known}"
            ));
        }
        if !self
            .epoch_members
            .get(&epoch)
            .is_some_and(|m| m.contains(&to))
        {
            problems.push(format!(
                "p{to} decrypted frame {fid} of epoch {epoch}, which it is not a member of"
            ));
        }
        for message in problems {
            self.violation(message);
        }
        let outside = match self.frame_mut(fid).and_then(|f| f.delivery_mut(to)) {
            Some(d) => {
                d.decrypted = d.decrypted.saturating_add(1);
                false
            }
            None => true,
        };
        if outside {
            self.people[to].tally.outside_decrypted += 1;
        }
    }

    /// `to` refused (or its keyring gave up) an SFrame frame of a media frame.
    pub fn refused(&mut self, to: Pid, ssrc: u32, timestamp: u32, cause: Cause) {
        let Some(fid) = self.fid_of(ssrc, timestamp) else {
            return;
        };
        match self.frame_mut(fid).and_then(|f| f.delivery_mut(to)) {
            Some(d) => {
                d.failure.get_or_insert(cause);
            }
            None => self.people[to].tally.outside_refused += 1,
        }
    }

    /// Closes the books on frames sent more than `FINAL_AFTER_US` before `now`.
    pub fn settle(&mut self, now: u64) {
        while self
            .frames
            .front()
            .is_some_and(|f| f.sent_at + FINAL_AFTER_US < now)
        {
            self.settle_first();
        }
    }

    /// Closes the books on every frame.
    pub fn settle_all(&mut self) {
        while !self.frames.is_empty() {
            self.settle_first();
        }
    }

    fn category(&self, f: &SentFrame, d: &Delivery) -> Category {
        let p = &self.people[d.to];
        let member = self
            .epoch_members
            .get(&f.epoch)
            .is_some_and(|m| m.contains(&d.to));
        if !member {
            if p.join_epoch.is_none_or(|j| f.epoch < j) {
                Category::BeforeJoin
            } else {
                Category::AfterRemoval
            }
        } else if p.departed_at.is_some_and(|t| t <= d.last_arrival) {
            Category::WhileLeaving
        } else {
            Category::Must
        }
    }

    fn settle_first(&mut self) {
        let Some(f) = self.frames.pop_front() else {
            return;
        };
        let fid = self.first_fid;
        self.first_fid += 1;
        self.by_rtp.remove(&(f.ssrc, f.timestamp));
        for d in &f.targets {
            let category = self.category(&f, d);
            let lost = f.uplink_lost || d.arrived < f.packets;
            let mut problem = None;
            let tally = &mut self.people[d.to].tally;
            tally.expected += 1;
            if d.decrypted > 1 {
                problem = Some(format!(
                    "p{} decrypted frame {fid} {} times",
                    d.to, d.decrypted
                ));
            }
            if lost {
                tally.lost += 1;
                if d.decrypted > 0 {
                    problem = Some(format!(
                        "p{} decrypted frame {fid}, a packet of which the network lost",
                        d.to
                    ));
                }
            } else if d.decrypted > 0 {
                tally.decrypted += 1;
            } else if let Some(cause) = d.failure {
                tally.dropped.total += 1;
                *tally.drop_causes.entry(cause).or_default() += 1;
                match category {
                    Category::BeforeJoin => tally.dropped.before_join += 1,
                    Category::AfterRemoval => tally.dropped.after_removal += 1,
                    Category::WhileLeaving => tally.dropped.while_leaving += 1,
                    Category::Must => {
                        tally.dropped.rollover += 1;
                        problem = Some(format!(
                            "p{} dropped frame {fid} of p{} (epoch {}, {}), which it was \
                             entitled to: a key-rollover drop",
                            d.to,
                            f.sender,
                            f.epoch,
                            cause.name()
                        ));
                    }
                }
            } else {
                tally.unaccounted += 1;
                problem = Some(format!(
                    "frame {fid} of p{} reached p{} whole but came out neither decrypted nor \
                     refused",
                    f.sender, d.to
                ));
            }
            let o = self.entitlements.of(category);
            o.expected += 1;
            if lost {
                o.lost += 1;
            } else if d.decrypted > 0 {
                o.decrypted += 1;
            } else if d.failure.is_some() {
                o.dropped += 1;
            }
            if let Some(message) = problem {
                self.violation(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// p0 leads from epoch 0; p1 joins in epoch 1 and is removed in epoch 3; p2 joins in
    /// epoch 2. Everyone is connected from time 0.
    fn ledger() -> (Ledger, KidLayout) {
        let layout = KidLayout::new(4, 8).unwrap();
        let mut l = Ledger::new(layout, 60_000);
        for (join, removal) in [(0, None), (1, Some(3)), (2, None)] {
            let pid = l.add_person();
            let p = &mut l.people[pid];
            (p.admitted_at, p.join_epoch, p.joined_at) = (Some(0), Some(join), Some(0));
            p.removal_epoch = removal;
            p.leaf = Some(pid as u32);
        }
        l.epoch_members.insert(0, [0].into());
        l.epoch_members.insert(1, [0, 1].into());
        l.epoch_members.insert(2, [0, 1, 2].into());
        l.epoch_members.insert(3, [0, 2].into());
        (l, layout)
    }

    /// p0 sends a one-packet frame under `epoch` knowing `known`; it reaches p1 and p2.
    fn send(l: &mut Ledger, layout: KidLayout, epoch: u64, known: u64) -> (u32, u32) {
        l.people[0].known_epoch = Some(known);
        let fid = l.next_fid();
        let ts = 1000 + fid;
        let kid = layout.kid(0, 0, epoch).unwrap();
        assert_eq!(l.sent(0, 1_000, 7, ts, 100, kid, 1), fid);
        for to in [1, 2] {
            l.downlink(fid, to, Some(30_000));
        }
        (fid, ts)
    }

    #[test]
    fn each_frame_has_one_outcome_and_a_dropped_frame_owed_is_a_rollover_drop() {
        let (mut l, layout) = ledger();
        let (fid, ts) = send(&mut l, layout, 2, 2);
        l.decrypted(1, 7, ts, &payload(fid, 100));
        l.refused(2, 7, ts, Cause::ExpiredInBuffer);
        // Lost on the uplink: lost for both, whatever they say.
        let (lost, _) = send(&mut l, layout, 2, 2);
        l.uplink_lost(lost);
        // Arrived and never came out.
        send(&mut l, layout, 2, 2);
        l.settle_all();
        let (p1, p2) = (&l.people[1].tally, &l.people[2].tally);
        assert_eq!(
            (p1.expected, p1.decrypted, p1.lost, p1.unaccounted),
            (3, 1, 1, 1)
        );
        assert_eq!(
            (p2.expected, p2.lost, p2.dropped.rollover, p2.unaccounted),
            (3, 1, 1, 1)
        );
        assert_eq!(p2.drop_causes.get(&Cause::ExpiredInBuffer), Some(&1));
        let (messages, count) = l.violations();
        assert_eq!(count, 3, "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("key-rollover drop")));
    }

    #[test]
    fn drops_of_frames_not_owed_are_counted_by_reason_without_a_violation() {
        let (mut l, layout) = ledger();
        // Epoch 1: p2 had not joined. Epoch 3: p1 had been removed.
        let (a, ts_a) = send(&mut l, layout, 1, 1);
        let (b, ts_b) = send(&mut l, layout, 3, 3);
        l.decrypted(1, 7, ts_a, &payload(a, 100));
        l.refused(2, 7, ts_a, Cause::UnknownEpoch);
        l.refused(1, 7, ts_b, Cause::ExpiredInBuffer);
        l.decrypted(2, 7, ts_b, &payload(b, 100));
        l.settle_all();
        assert_eq!(l.violations().1, 0, "{:?}", l.violations().0);
        assert_eq!(l.people[2].tally.dropped.before_join, 1);
        assert_eq!(l.people[1].tally.dropped.after_removal, 1);
        let e = l.entitlements();
        let (two_decrypted, one_dropped) = (
            Outcomes {
                expected: 2,
                decrypted: 2,
                ..Outcomes::default()
            },
            Outcomes {
                expected: 1,
                dropped: 1,
                ..Outcomes::default()
            },
        );
        assert_eq!(e.owed, two_decrypted);
        assert_eq!((e.before_join, e.after_removal), (one_dropped, one_dropped));
        assert_eq!(e.while_leaving, Outcomes::default());
    }

    #[test]
    fn decrypting_before_joining_or_after_removal_is_a_violation() {
        let (mut l, layout) = ledger();
        // p0 knew epoch 3 (p1 removed) but still sent under epoch 2: p1 must not decrypt it.
        let (a, ts_a) = send(&mut l, layout, 2, 3);
        l.decrypted(1, 7, ts_a, &payload(a, 100));
        assert_eq!(l.violations().1, 1);
        assert!(l.violations().0[0].contains("removed in epoch 3"));
        // p0 knew only epoch 1, before p2 joined.
        let (b, ts_b) = send(&mut l, layout, 1, 1);
        l.decrypted(2, 7, ts_b, &payload(b, 100));
        let (messages, count) = l.violations();
        assert_eq!(count, 3, "and epoch 1 is not p2's: {messages:?}");
        assert!(messages[1].contains("before it joined"));
        assert!(messages[2].contains("not a member"));
        // An altered plaintext.
        let (c, ts_c) = send(&mut l, layout, 2, 2);
        let mut altered = payload(c, 100);
        altered[50] ^= 1;
        l.decrypted(2, 7, ts_c, &altered);
        let (messages, count) = l.violations();
        assert_eq!(count, 4);
        assert!(messages[3].contains("altered"));
    }

    #[test]
    fn a_frame_is_readable_until_it_settles() {
        let (mut l, layout) = ledger();
        let (fid, ts) = send(&mut l, layout, 2, 2);
        let f = l.frame(fid).unwrap();
        assert_eq!((f.sender, f.sent_at, f.epoch), (0, 1_000, 2));
        assert_eq!((f.ssrc, f.timestamp), (7, ts));
        assert_eq!(l.frame(fid + 1), None);
        l.settle_all();
        assert_eq!(l.frame(fid), None);
    }

    #[test]
    fn payloads_are_the_filler_byte_for_byte_and_checked_a_period_at_a_time() {
        for (fid, len) in [
            (0, 0),
            (7, 20),
            (9, 275),
            (123_456, 1_000),
            (u32::MAX, 4_097),
        ] {
            let p = payload(fid, len);
            assert_eq!(p.len(), len.max(20));
            assert!(p[20..].iter().zip(20..).all(|(&b, i)| b == filler(fid, i)));
            assert!(is_payload(&p, fid, len));
            for at in [20, p.len() / 2, p.len() - 1] {
                if (20..p.len()).contains(&at) {
                    let mut q = p.clone();
                    q[at] ^= 1;
                    assert!(!is_payload(&q, fid, len), "byte {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn payloads_carry_the_canary_and_depend_on_the_frame() {
        let a = payload(1, 100);
        assert_eq!(a.len(), 100);
        assert!(contains_canary(&a));
        assert_ne!(payload(2, 100), a);
        assert_eq!(payload(1, 100), a);
        assert_eq!(payload(3, 0).len(), 20);
        assert!(is_payload(&a, 1, 100) && is_payload(&payload(3, 0), 3, 0));
        assert!(!is_payload(&a, 2, 100) && !is_payload(&a, 1, 99) && !is_payload(&a[..99], 1, 100));
        for i in [0, 17, 19, 20, 99] {
            let mut altered = a.clone();
            altered[i] ^= 1;
            assert!(!is_payload(&altered, 1, 100), "byte {i}");
        }
        // The SFU-side check finds a plaintext anywhere in a packet, and only then.
        let mut packet = vec![0x80; 13];
        packet.extend_from_slice(&a[..40]);
        assert!(contains_canary(&packet));
        packet[20] ^= 1;
        assert!(!contains_canary(&packet));
    }
}
