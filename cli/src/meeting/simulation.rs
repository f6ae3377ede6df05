//! The meeting, wired together on a simulated clock: the participants (an `MlsMember` with its
//! keyring, and a media path each), a leader that batches joins and leaves into commits, an
//! SFU with no media key, and a lossy link each way between every participant and the SFU.

use std::time::{Duration, Instant};

use sframe_core::CipherSuite;
use sframe_mls::{
    Event, KeyringConfig, KidLayout, MemberConfig, MlsMember, PendingLimits, SwitchReason,
    sender_bits_for,
};
use sframe_rtp::sim::{Link, LinkConfig, LinkStats, Rng, Schedule};
use sframe_rtp::{Error as RtpError, Mode, Sfu, SrtpContext, SrtpError, SrtpKeys, SrtpProfile};

use super::ledger::{Ledger, Pid, contains_canary, payload};
use super::media::{CryptoMeters, Inbound, InboundStats, Kind, Outbound, Outcome};

/// What the meeting looks like; see `MeetingArgs` for the meaning of each.
#[derive(Clone, Debug)]
pub struct Config {
    pub participants: u32,
    pub duration_us: u64,
    pub churn_per_minute: f64,
    pub link: LinkConfig,
    pub suite: CipherSuite,
    pub mode: Mode,
    pub commit_delay_us: u64,
    pub grace_us: u64,
    pub seed: u64,
}

/// Fixed parts of the meeting.
pub const MTU: usize = 1200;
pub const SRTP_PROFILE: SrtpProfile = SrtpProfile::Aes128CmHmacSha1_80;
/// The leader commits what is pending at most this often.
pub const BATCH_US: u64 = 2_000_000;
/// A removed participant stays connected to the SFU this long after the commit removing it
/// (a slow SFU, or an eavesdropper), keeping its keys.
pub const LINGER_US: u64 = 2_000_000;
/// Acknowledgements of a new epoch reach the other members after up to this long.
pub const ACK_DELAY_US: u64 = 100_000;
/// KID epoch bits (E).
pub const EPOCH_BITS: u8 = 4;
/// The largest group (fixes S, the KID's sender bits).
pub const MAX_GROUP: u32 = 255;
const AUDIO_US: u64 = 20_000;
const AUDIO_BYTES: usize = 120;
const VIDEO_FPS: u64 = 30;
const KEY_FRAME_EVERY: u64 = 90;
const KEY_FRAME_BYTES: usize = 15_000;
const VIDEO_BYTES: (u64, u64) = (800, 4_000);
const TICK_US: u64 = 10_000;
/// After the media stops: time for the last packets, commits and buffered frames.
const DRAIN_US: u64 = 3_000_000;
/// Join and leave requests come in from this time until this long before the end.
const CHURN_START_US: u64 = 500_000;
const CHURN_STOP_BEFORE_END_US: u64 = 2_500_000;

fn at(us: u64) -> Duration {
    Duration::from_micros(us)
}

fn ssrc(pid: Pid, kind: Kind) -> u32 {
    0x5f00_0000 | ((pid as u32) << 4) | (kind as u32 + 1)
}

#[derive(Debug)]
enum Ev {
    Tick,
    Request,
    Commit,
    Mls { to: Pid, msg: usize },
    Ack { to: Pid, from_leaf: u32, epoch: u64 },
    Audio(Pid),
    Video { pid: Pid, n: u64, start: u64 },
    AtSfu { from: Pid, packet: Vec<u8> },
    AtParticipant { to: Pid, packet: Vec<u8> },
    Kick(Pid),
}

enum Msg {
    Commit { epoch: u64, bytes: Vec<u8> },
    Welcome { epoch: u64, bytes: Vec<u8> },
}

/// What the keyring said over the meeting, per participant.
#[derive(Clone, Debug, Default)]
pub struct KeyringLog {
    pub epochs: u64,
    pub switches: u64,
    pub switched_all_acknowledged: u64,
    pub switched_grace_expired: u64,
    pub switched_member_removed: u64,
    pub switched_forced: u64,
    pub retired: u64,
}

struct Participant {
    member: MlsMember,
    outbound: Outbound,
    inbound: Inbound,
    uplink: Link,
    downlink: Link,
    up_keys: SrtpKeys,
    down_keys: SrtpKeys,
    key_package: Option<Vec<u8>>,
    sending: bool,
    /// Its MLS messages are delivered in order: the last one is due then.
    inbox_until: u64,
    audio_base: u32,
    video_base: u32,
    log: KeyringLog,
}

/// What the SFU saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct SfuSeen {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub sframe_headers_read: u64,
    pub replays_refused: u64,
    pub other_refused: u64,
    pub from_disconnected: u64,
    pub plaintext_canaries: u64,
}

/// Progress for the caller's display.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now_us: u64,
    pub epoch: u64,
    pub members: usize,
}

/// The whole meeting.
pub struct Meeting {
    pub config: Config,
    rng: Rng,
    schedule: Schedule<Ev>,
    people: Vec<Participant>,
    pub ledger: Ledger,
    sfu: Sfu,
    msgs: Vec<Msg>,
    pending_joins: Vec<Pid>,
    pending_leaves: Vec<Pid>,
    commit_scheduled: bool,
    last_commit: Option<u64>,
    member_config: MemberConfig,
    pub meters: CryptoMeters,
    pub sfu_seen: SfuSeen,
    pub commits: u64,
    pub joins: u64,
    pub leaves: u64,
    pub biggest_batch: usize,
    pub mls_nanos: u64,
    scratch: Vec<Vec<u8>>,
}

impl Meeting {
    pub fn new(config: Config) -> Result<Self, String> {
        let mut keyring = KeyringConfig::new(config.suite);
        keyring.epoch_bits = EPOCH_BITS;
        keyring.switch_grace = at(config.grace_us);
        keyring.retire_after = at(config.grace_us.max(5_000_000));
        keyring.switch_at_once_on_removal = true;
        keyring.pending = PendingLimits {
            max_frames: 4096,
            max_bytes: 32 << 20,
            max_age: Duration::from_secs(2),
        };
        let mut member_config = MemberConfig::new(keyring);
        // S fixed from MAX_GROUP (a deviation from RFC 9605 section 5.2, whose S follows the
        // group): the ledger splits every KID with one layout. To follow the RFC, drop this and
        // split each KID with its epoch's layout (`Keyring::kid_layout`, or
        // `CommitOutcome::sender_bits`).
        let fixed_s = sender_bits_for(u64::from(MAX_GROUP));
        member_config.fixed_sender_bits = Some(fixed_s);
        let layout = KidLayout::new(EPOCH_BITS, fixed_s).map_err(|e| e.to_string())?;
        Ok(Self {
            rng: Rng::new(config.seed),
            schedule: Schedule::new(),
            people: Vec::new(),
            ledger: Ledger::new(layout, config.link.max_delay_us()),
            sfu: Sfu::new(),
            msgs: Vec::new(),
            pending_joins: Vec::new(),
            pending_leaves: Vec::new(),
            commit_scheduled: false,
            last_commit: None,
            member_config,
            meters: CryptoMeters::default(),
            sfu_seen: SfuSeen::default(),
            commits: 0,
            joins: 0,
            leaves: 0,
            biggest_batch: 0,
            mls_nanos: 0,
            scratch: Vec::new(),
            config,
        })
    }

    fn end_us(&self) -> u64 {
        self.config.duration_us
    }

    /// The simulated time the run takes, media and drain.
    pub fn total_us(&self) -> u64 {
        self.end_us() + DRAIN_US
    }

    fn srtp_keys(&mut self) -> SrtpKeys {
        let mut master_key = vec![0; SRTP_PROFILE.key_len()];
        let mut master_salt = vec![0; SRTP_PROFILE.salt_len()];
        self.rng.fill(&mut master_key);
        self.rng.fill(&mut master_salt);
        SrtpKeys {
            profile: SRTP_PROFILE,
            master_key,
            master_salt,
        }
    }

    /// A new participant, not in the group yet, with a key package ready.
    fn add_participant(&mut self) -> Result<Pid, String> {
        let pid = self.ledger.add_person();
        let mut member = MlsMember::new(format!("p{pid}").as_bytes(), self.member_config)
            .map_err(|e| e.to_string())?;
        let key_package = member.key_package().map_err(|e| e.to_string())?;
        let up_keys = self.srtp_keys();
        let down_keys = self.srtp_keys();
        let srtp = |r: Result<SrtpContext, RtpError>| r.map_err(|e| e.to_string());
        let outbound = Outbound::new(
            self.config.mode,
            self.config.suite,
            MTU,
            [ssrc(pid, Kind::Audio), ssrc(pid, Kind::Video)],
            [self.rng.next_u64() as u16, self.rng.next_u64() as u16],
            Box::new(srtp(SrtpContext::sender(&up_keys))?),
        );
        // Every SSRC of the meeting may reach every receiver; state is made only for those seen.
        let max_streams = 1 << 16;
        let mut inbound = Inbound::new(
            self.config.mode,
            Box::new(srtp(SrtpContext::receiver(&down_keys, 1024))?),
            max_streams,
        );
        // Signalling: everyone learns everyone's SSRCs.
        for other in &mut self.people {
            for kind in Kind::ALL {
                other.inbound.allow(ssrc(pid, kind));
            }
        }
        for other in 0..self.people.len() {
            for kind in Kind::ALL {
                inbound.allow(ssrc(other, kind));
            }
        }
        let seed = self.rng.next_u64();
        self.people.push(Participant {
            member,
            outbound,
            inbound,
            uplink: Link::new(self.config.link, seed),
            downlink: Link::new(self.config.link, seed ^ 0xd0d0),
            up_keys,
            down_keys,
            key_package: Some(key_package),
            sending: false,
            inbox_until: 0,
            audio_base: self.rng.next_u64() as u32,
            video_base: self.rng.next_u64() as u32,
            log: KeyringLog::default(),
        });
        Ok(pid)
    }

    /// Connects `pid` to the SFU at `t`.
    fn connect(&mut self, pid: Pid, t: u64) -> Result<(), String> {
        let p = &self.people[pid];
        let inbound = SrtpContext::receiver(&p.up_keys, 1024).map_err(|e| e.to_string())?;
        let outbound = SrtpContext::sender(&p.down_keys).map_err(|e| e.to_string())?;
        self.sfu
            .add_participant(
                pid as u32,
                Box::new(inbound),
                Box::new(outbound),
                &[ssrc(pid, Kind::Audio), ssrc(pid, Kind::Video)],
            )
            .map_err(|e| e.to_string())?;
        self.ledger.people[pid].admitted_at = Some(t);
        Ok(())
    }

    /// Runs the meeting; `progress` is called every simulated 100 ms.
    pub fn run(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<(), String> {
        // The leader creates the group; everyone else asks to join at once.
        let leader = self.add_participant()?;
        let started = Instant::now();
        self.people[leader]
            .member
            .create_group(at(0))
            .map_err(|e| e.to_string())?;
        self.mls_nanos += started.elapsed().as_nanos() as u64;
        self.people[leader].key_package = None;
        self.connect(leader, 0)?;
        let l = &mut self.ledger.people[leader];
        (l.join_epoch, l.joined_at, l.known_epoch, l.leaf) = (Some(0), Some(0), Some(0), Some(0));
        self.ledger.epoch_members.insert(0, [leader].into());
        self.record_code(leader);
        self.drain(leader, 0);
        self.start_media(leader, 0);
        for _ in 1..self.config.participants {
            let pid = self.add_participant()?;
            self.pending_joins.push(pid);
        }
        self.schedule_commit(0);
        self.schedule_next_request(CHURN_START_US);
        self.schedule.at(0, Ev::Tick);

        let total = self.total_us();
        let mut next_progress = 0;
        while let Some((t, ev)) = self.schedule.pop() {
            if t > total {
                break;
            }
            self.handle(t, ev)?;
            if t >= next_progress {
                next_progress = t + 100_000;
                self.ledger.settle(t);
                progress(Progress {
                    now_us: t,
                    epoch: self.people[leader].member.epoch().unwrap_or(0),
                    members: self.people[leader].member.members().len(),
                });
            }
        }
        // The end: incomplete frames and frames still held for an epoch are given up.
        let end = at(total + 60_000_000);
        for pid in 0..self.people.len() {
            self.people[pid].inbound.flush();
            self.people[pid].member.keyring_mut().handle_timeout(end);
            self.drain(pid, total);
        }
        self.ledger.settle_all();
        Ok(())
    }

    fn handle(&mut self, t: u64, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Tick => {
                for pid in 0..self.people.len() {
                    if self.ledger.people[pid].admitted_at.is_some() {
                        self.people[pid].member.keyring_mut().handle_timeout(at(t));
                        self.drain(pid, t);
                    }
                }
                if t < self.total_us() {
                    self.schedule.at(t + TICK_US, Ev::Tick);
                }
            }
            Ev::Request => self.request(t)?,
            Ev::Commit => self.commit(t)?,
            Ev::Mls { to, msg } => self.deliver_mls(to, msg, t)?,
            Ev::Ack {
                to,
                from_leaf,
                epoch,
            } => {
                if self.ledger.people[to].departed_at.is_none() {
                    self.people[to]
                        .member
                        .keyring_mut()
                        .acknowledge(at(t), from_leaf, epoch);
                    self.drain(to, t);
                }
            }
            Ev::Audio(pid) => {
                if self.people[pid].sending && t < self.end_us() {
                    self.send(pid, Kind::Audio, AUDIO_BYTES, t)?;
                    self.schedule.at(t + AUDIO_US, Ev::Audio(pid));
                }
            }
            Ev::Video { pid, n, start } => {
                if self.people[pid].sending && t < self.end_us() {
                    let len = if n.is_multiple_of(KEY_FRAME_EVERY) {
                        KEY_FRAME_BYTES
                    } else {
                        self.rng.between(VIDEO_BYTES.0, VIDEO_BYTES.1) as usize
                    };
                    self.send(pid, Kind::Video, len, t)?;
                    let next = start + (n + 1) * 1_000_000 / VIDEO_FPS;
                    self.schedule.at(
                        next,
                        Ev::Video {
                            pid,
                            n: n + 1,
                            start,
                        },
                    );
                }
            }
            Ev::AtSfu { from, packet } => self.at_sfu(from, &packet, t),
            Ev::AtParticipant { to, packet } => {
                let p = &mut self.people[to];
                let outcome =
                    p.inbound
                        .receive(at(t), p.member.keyring_mut(), &packet, &mut self.meters);
                self.record(to, outcome);
                self.drain(to, t);
            }
            Ev::Kick(pid) => {
                self.sfu.remove_participant(pid as u32);
            }
        }
        Ok(())
    }

    // ---- membership ----

    fn schedule_next_request(&mut self, from: u64) {
        if self.config.churn_per_minute <= 0.0 {
            return;
        }
        // Exponential gaps: a Poisson process of `churn` requests per minute.
        let mean_us = 60e6 / self.config.churn_per_minute;
        let gap = (-(1.0 - self.rng.unit()).ln() * mean_us) as u64;
        let when = from.saturating_add(gap);
        if when < self.end_us().saturating_sub(CHURN_STOP_BEFORE_END_US) {
            self.schedule.at(when, Ev::Request);
        }
    }

    fn schedule_commit(&mut self, t: u64) {
        if !self.commit_scheduled {
            self.commit_scheduled = true;
            let when = self.last_commit.map_or(t, |last| (last + BATCH_US).max(t));
            self.schedule.at(when, Ev::Commit);
        }
    }

    /// Members who may be asked to leave: in the group, not the leader, not leaving already.
    fn leave_candidates(&self) -> Vec<Pid> {
        (1..self.people.len())
            .filter(|&p| {
                let l = &self.ledger.people[p];
                l.joined_at.is_some()
                    && l.removal_epoch.is_none()
                    && !self.pending_leaves.contains(&p)
            })
            .collect()
    }

    /// Someone asks to join, or a member asks to leave (half the time each).
    fn request(&mut self, t: u64) -> Result<(), String> {
        let candidates = self.leave_candidates();
        let members = self.people[0].member.members().len() + self.pending_joins.len()
            - self.pending_leaves.len();
        let leave = self.rng.chance(0.5) && !candidates.is_empty() && members > 2;
        if leave {
            let p = candidates[self.rng.below(candidates.len() as u64) as usize];
            self.pending_leaves.push(p);
        } else if members < MAX_GROUP as usize {
            let p = self.add_participant()?;
            self.pending_joins.push(p);
        }
        self.schedule_commit(t);
        self.schedule_next_request(t);
        Ok(())
    }

    /// The leader commits every pending leave and join in one commit (a joiner may take the
    /// leaf a leaver vacates in the same commit: the keyring is told the removed leaves
    /// explicitly, so senders still switch at once on a removal).
    fn commit(&mut self, t: u64) -> Result<(), String> {
        self.commit_scheduled = false;
        let leavers = std::mem::take(&mut self.pending_leaves);
        let joiners = std::mem::take(&mut self.pending_joins);
        if joiners.is_empty() && leavers.is_empty() {
            return Ok(());
        }
        self.last_commit = Some(t);
        let key_packages: Vec<Vec<u8>> = joiners
            .iter()
            .filter_map(|&p| self.people[p].key_package.take())
            .collect();
        let removes: Vec<u32> = leavers
            .iter()
            .filter_map(|&p| self.ledger.people[p].leaf)
            .collect();
        let started = Instant::now();
        let leader = &mut self.people[0].member;
        let out = leader
            .commit(at(t), &key_packages, &removes)
            .map_err(|e| format!("the leader's commit: {e}"))?;
        leader
            .merge_pending_commit()
            .map_err(|e| format!("the leader's merge: {e}"))?;
        self.mls_nanos += started.elapsed().as_nanos() as u64;
        let epoch = out.epoch;
        self.commits += 1;
        self.joins += joiners.len() as u64;
        self.leaves += leavers.len() as u64;
        self.biggest_batch = self.biggest_batch.max(joiners.len() + leavers.len());

        // The ledger's own view of the new epoch.
        let previous = self
            .ledger
            .epoch_members
            .get(&(epoch - 1))
            .cloned()
            .unwrap_or_default();
        let mut members = previous.clone();
        for &p in &leavers {
            members.remove(&p);
            let l = &mut self.ledger.people[p];
            l.removal_epoch = Some(epoch);
            l.disconnect_at = Some(t + LINGER_US);
            self.schedule.at(t + LINGER_US, Ev::Kick(p));
        }
        for (i, &p) in joiners.iter().enumerate() {
            members.insert(p);
            let l = &mut self.ledger.people[p];
            l.join_epoch = Some(epoch);
            l.leaf = out.added.get(i).copied();
            self.connect(p, t)?;
        }
        self.ledger.epoch_members.insert(epoch, members);
        self.ledger.people[0].known_epoch = Some(epoch);
        self.record_code(0);
        self.drain(0, t);

        // The commit goes to everyone in the previous epoch (the removed too), the Welcome to
        // the joiners, each after its own delay, in order per recipient.
        let commit = self.msgs.len();
        self.msgs.push(Msg::Commit {
            epoch,
            bytes: out.commit,
        });
        for &p in previous.iter().filter(|&&p| p != 0) {
            self.send_mls(p, commit, t);
        }
        if let Some(bytes) = out.welcome {
            let welcome = self.msgs.len();
            self.msgs.push(Msg::Welcome { epoch, bytes });
            for &p in &joiners {
                self.send_mls(p, welcome, t);
            }
        }
        Ok(())
    }

    fn send_mls(&mut self, to: Pid, msg: usize, t: u64) {
        let delay = self.rng.between(0, self.config.commit_delay_us);
        let when = (t + delay).max(self.people[to].inbox_until);
        self.people[to].inbox_until = when;
        self.schedule.at(when, Ev::Mls { to, msg });
    }

    fn deliver_mls(&mut self, to: Pid, msg: usize, t: u64) -> Result<(), String> {
        let started = Instant::now();
        match &self.msgs[msg] {
            Msg::Commit { epoch, bytes } => {
                let epoch = *epoch;
                let out = self.people[to]
                    .member
                    .process_commit(at(t), bytes)
                    .map_err(|e| format!("p{to} processing the commit to epoch {epoch}: {e}"))?;
                self.mls_nanos += started.elapsed().as_nanos() as u64;
                if out.epoch != epoch {
                    return Err(format!("p{to} entered epoch {} for {epoch}", out.epoch));
                }
                let l = &mut self.ledger.people[to];
                l.known_epoch = Some(epoch);
                if out.self_removed {
                    l.departed_at = Some(t);
                    self.people[to].sending = false;
                } else {
                    self.record_code(to);
                }
            }
            Msg::Welcome { epoch, bytes } => {
                let epoch = *epoch;
                let out = self.people[to]
                    .member
                    .join(at(t), bytes)
                    .map_err(|e| format!("p{to} joining epoch {epoch}: {e}"))?;
                self.mls_nanos += started.elapsed().as_nanos() as u64;
                let leaf = self.people[to].member.own_leaf_index();
                let l = &mut self.ledger.people[to];
                if out.epoch != epoch || leaf != l.leaf {
                    return Err(format!(
                        "p{to} joined epoch {} at leaf {leaf:?}; the commit said epoch {epoch}, \
                         leaf {:?}",
                        out.epoch, l.leaf
                    ));
                }
                l.known_epoch = Some(epoch);
                l.joined_at = Some(t);
                self.record_code(to);
                self.start_media(to, t);
            }
        }
        self.drain(to, t);
        Ok(())
    }

    fn record_code(&mut self, pid: Pid) {
        if let Some(code) = self.people[pid].member.security_code() {
            self.ledger
                .codes
                .entry(code.epoch())
                .or_default()
                .insert(code.to_string());
        }
    }

    /// Handles what `pid`'s keyring reported.
    fn drain(&mut self, pid: Pid, t: u64) {
        while let Some(ev) = self.people[pid].member.keyring_mut().poll_event() {
            let log = &mut self.people[pid].log;
            match ev {
                Event::EpochReady { epoch } => {
                    log.epochs += 1;
                    // Tell the others (the application's signalling channel).
                    if let Some(leaf) = self.ledger.people[pid].leaf {
                        for to in 0..self.people.len() {
                            let l = &self.ledger.people[to];
                            if to != pid && l.connected(t) && l.departed_at.is_none() {
                                let d = self.rng.between(0, ACK_DELAY_US);
                                self.schedule.at(
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
                }
                Event::Switched { reason, from, .. } => {
                    if from.is_some() {
                        log.switches += 1;
                    }
                    match reason {
                        SwitchReason::AllAcknowledged => log.switched_all_acknowledged += 1,
                        SwitchReason::GraceExpired => log.switched_grace_expired += 1,
                        SwitchReason::MemberRemoved => log.switched_member_removed += 1,
                        SwitchReason::Forced => log.switched_forced += 1,
                        SwitchReason::First => {}
                    }
                }
                Event::Retired { .. } => log.retired += 1,
                Event::Decrypted(d) => {
                    let outcome = self.people[pid].inbound.decrypted_later(d);
                    self.record(pid, outcome);
                }
                Event::Dropped(d) => {
                    let outcome = self.people[pid].inbound.dropped_later(&d);
                    self.record(pid, outcome);
                }
            }
        }
    }

    fn record(&mut self, to: Pid, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Frame {
                ssrc,
                timestamp,
                data,
            }) => self.ledger.decrypted(to, ssrc, timestamp, &data),
            Some(Outcome::Refused {
                ssrc,
                timestamp,
                cause,
            }) => self.ledger.refused(to, ssrc, timestamp, cause),
            None => {}
        }
    }

    // ---- media ----

    fn start_media(&mut self, pid: Pid, t: u64) {
        self.people[pid].sending = true;
        let audio_phase = self.rng.below(AUDIO_US);
        self.schedule.at(t + audio_phase, Ev::Audio(pid));
        let video_phase = self.rng.below(1_000_000 / VIDEO_FPS);
        self.schedule.at(
            t + video_phase,
            Ev::Video {
                pid,
                n: 0,
                start: t + video_phase,
            },
        );
    }

    fn send(&mut self, pid: Pid, kind: Kind, len: usize, t: u64) -> Result<(), String> {
        let fid = self.ledger.next_fid();
        let data = payload(fid, len);
        let p = &mut self.people[pid];
        let base = match kind {
            Kind::Audio => p.audio_base,
            Kind::Video => p.video_base,
        };
        let timestamp = base.wrapping_add((t / 1000 * kind.ticks_per_ms()) as u32);
        let mut packets = std::mem::take(&mut self.scratch);
        packets.clear();
        let sent = p
            .outbound
            .send(
                p.member.keyring_mut(),
                kind,
                timestamp,
                &data,
                &mut packets,
                &mut self.meters,
            )
            .map_err(|e| format!("p{pid} sending: {e}"))?;
        let fid = self.ledger.sent(
            pid,
            t,
            ssrc(pid, kind),
            timestamp,
            data.len(),
            sent.kid,
            sent.packets,
        );
        for packet in packets.drain(..) {
            let transit = self.people[pid].uplink.transmit_bytes(t, packet.len());
            if transit.is_lost() {
                self.ledger.uplink_lost(fid);
            }
            let mut arrivals = transit.arrivals();
            if let Some(first) = arrivals.next() {
                if let Some(second) = arrivals.next() {
                    let copy = packet.clone();
                    self.schedule.at(
                        second,
                        Ev::AtSfu {
                            from: pid,
                            packet: copy,
                        },
                    );
                }
                self.schedule.at(first, Ev::AtSfu { from: pid, packet });
            }
        }
        self.scratch = packets;
        self.drain(pid, t);
        Ok(())
    }

    fn at_sfu(&mut self, from: Pid, packet: &[u8], t: u64) {
        self.sfu_seen.packets_in += 1;
        self.sfu_seen.bytes_in += packet.len() as u64;
        let started = Instant::now();
        let result = self.sfu.receive(from as u32, packet);
        let forwarded = match result {
            Ok(f) => f,
            Err(RtpError::Srtp(SrtpError::Replay { .. })) => {
                self.sfu_seen.replays_refused += 1;
                return;
            }
            Err(RtpError::UnknownParticipant(_)) => {
                self.sfu_seen.from_disconnected += 1;
                return;
            }
            Err(_) => {
                self.sfu_seen.other_refused += 1;
                return;
            }
        };
        let out_bytes: usize = forwarded.out.iter().map(|(_, p)| p.len()).sum();
        self.meters.sfu_srtp.add(started, packet.len() + out_bytes);
        // What the SFU holds of the media: the RTP header and the SFrame payload.
        if contains_canary(&forwarded.seen) {
            self.sfu_seen.plaintext_canaries += 1;
        }
        self.sfu_seen.sframe_headers_read += u64::from(forwarded.info.sframe.is_some());
        let fid = self
            .ledger
            .fid_of(forwarded.info.ssrc, forwarded.info.timestamp);
        for (to, out) in forwarded.out {
            let to = to as Pid;
            self.sfu_seen.packets_out += 1;
            self.sfu_seen.bytes_out += out.len() as u64;
            let transit = self.people[to].downlink.transmit_bytes(t, out.len());
            if let Some(fid) = fid {
                self.ledger.downlink(fid, to, transit.first_arrival());
            }
            let mut arrivals = transit.arrivals();
            if let Some(first) = arrivals.next() {
                if let Some(second) = arrivals.next() {
                    let copy = out.clone();
                    self.schedule
                        .at(second, Ev::AtParticipant { to, packet: copy });
                }
                self.schedule
                    .at(first, Ev::AtParticipant { to, packet: out });
            }
        }
    }

    // ---- results ----

    /// Per participant: the keyring log, SRTP counters and the final security code.
    pub fn participant_views(&self) -> Vec<(KeyringLog, InboundStats, Option<String>)> {
        self.people
            .iter()
            .map(|p| {
                (
                    p.log.clone(),
                    p.inbound.stats,
                    p.member.security_code().map(|c| c.to_string()),
                )
            })
            .collect()
    }

    /// The final epoch of the leader's group and its members' count.
    pub fn final_epoch(&self) -> (u64, usize) {
        let leader = &self.people[0].member;
        (leader.epoch().unwrap_or(0), leader.members().len())
    }

    pub fn uplink_stats(&self) -> LinkStats {
        let mut s = LinkStats::default();
        for p in &self.people {
            s.add(&p.uplink.stats());
        }
        s
    }

    pub fn downlink_stats(&self) -> LinkStats {
        let mut s = LinkStats::default();
        for p in &self.people {
            s.add(&p.downlink.stats());
        }
        s
    }
}
