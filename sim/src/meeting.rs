//! The meeting, wired together on a simulated clock: the participants (an `MlsMember` with its
//! keyring, and a media path each), a leader that batches joins and leaves into commits, an
//! SFU with no media key, and a lossy link each way between every participant and the SFU.
//!
//! This module holds the state and the event loop; `membership` (joins, leaves, commits) and
//! `traffic` (media frames, the SFU, the keyring's events) add the handlers.

use std::time::{Duration, Instant};

use serde::Serialize;
use sframe_mls::{
    KeyringConfig, KidLayout, MemberConfig, MlsError, MlsMember, PendingLimits, Prepared,
};
use sframe_rtp::{ForwardingStats, MediaKind, Sfu, SfuOutput, SrtpContext, SrtpKeys};

use crate::config::{Config, DTX_INTERVAL_US, EPOCH_BITS, MTU, SRTP_PROFILE};
use crate::error::{MlsStep, SimError};
use crate::ledger::{Ledger, Pid};
use crate::link::{Link, LinkStats};
use crate::media::{Inbound, InboundStats, Outbound};
use crate::membership::CHURN_START_US;
use crate::meter::CryptoMeters;
use crate::rng::Rng;
use crate::schedule::Schedule;
use crate::speech::Floor;
use crate::stream::Kind;
use crate::traffic::{
    AUDIO_BYTES, AUDIO_US, KEY_FRAME_BYTES, KEY_FRAME_EVERY, VIDEO_BYTES, VIDEO_FPS,
};

/// Every participant's keyring is told the time this often.
const TICK_US: u64 = 10_000;
/// After the media stops: time for the last packets, commits and buffered frames.
const DRAIN_US: u64 = 3_000_000;

pub(crate) fn at(us: u64) -> Duration {
    Duration::from_micros(us)
}

pub(crate) fn ssrc(pid: Pid, kind: Kind) -> u32 {
    0x5f00_0000 | ((pid as u32) << 4) | (kind as u32 + 1)
}

/// The inverse of [`ssrc`], as one number per source: `2 * pid + kind`.
pub(crate) fn source_bit(ssrc: u32) -> usize {
    (((ssrc & 0x00ff_fff0) >> 4) as usize) * 2 + usize::from(ssrc & 0xf == Kind::Video as u32 + 1)
}

#[derive(Debug)]
pub(crate) enum Ev {
    Tick,
    Request,
    Commit,
    Mls {
        to: Pid,
        msg: usize,
    },
    Ack {
        to: Pid,
        from_leaf: u32,
        epoch: u64,
    },
    Audio(Pid),
    Video {
        pid: Pid,
        n: u64,
        start: u64,
    },
    AtSfu {
        from: Pid,
        packet: Vec<u8>,
    },
    AtParticipant {
        to: Pid,
        packet: Vec<u8>,
    },
    Kick(Pid),
    /// The SFU's word that someone (or nobody) is forwarded `pid`'s video reaches it.
    Demand {
        pid: Pid,
        wanted: bool,
    },
}

pub(crate) enum Msg {
    Commit { epoch: u64, bytes: Vec<u8> },
    Welcome { epoch: u64, bytes: Vec<u8> },
}

/// What the keyring said over the meeting, per participant.
#[derive(Clone, Debug, Default)]
pub struct KeyringLog {
    /// Epochs given to it.
    pub epochs: u64,
    /// Times its sender moved to a newer epoch.
    pub switches: u64,
    /// ... once every member acknowledged the new epoch.
    pub switched_all_acknowledged: u64,
    /// ... at the end of the grace period.
    pub switched_grace_expired: u64,
    /// ... at once, because the commit removed a member.
    pub switched_member_removed: u64,
    /// ... because the application forced it.
    pub switched_forced: u64,
    /// Epoch keys removed and zeroized.
    pub retired: u64,
}

pub(crate) struct Participant {
    pub(crate) member: MlsMember,
    pub(crate) outbound: Outbound,
    pub(crate) inbound: Inbound,
    pub(crate) uplink: Link,
    pub(crate) downlink: Link,
    pub(crate) up_keys: SrtpKeys,
    pub(crate) down_keys: SrtpKeys,
    pub(crate) key_package: Option<Vec<u8>>,
    pub(crate) sending: bool,
    /// Its MLS messages are delivered in order: the last one is due then.
    pub(crate) inbox_until: u64,
    /// MLS messages sent to it and not delivered yet.
    pub(crate) inbox_pending: usize,
    /// openmls's work on the next message in its inbox, done when it was sent (see
    /// `Meeting::prepare_all`): the message's index and the result.
    pub(crate) prepared: Option<(usize, Result<Prepared, MlsError>)>,
    pub(crate) audio_base: u32,
    pub(crate) video_base: u32,
    pub(crate) log: KeyringLog,
    /// The SFU forwards its video to nobody: it stops encoding it.
    pub(crate) video_paused: bool,
    /// Its next video frame is a key frame (the SFU resumed its video).
    pub(crate) key_frame_due: bool,
    /// When it last sent an audio frame (for DTX).
    pub(crate) last_audio_us: Option<u64>,
    /// The sources the SFU has named to it (bit `2 * pid + kind`): the signalling happens
    /// once per source, not per packet.
    pub(crate) named: Vec<u64>,
}

impl Participant {
    /// Accepts the source `ssrc` (one of [`ssrc`]'s) from now on.
    pub(crate) fn name_source(&mut self, ssrc: u32) {
        let bit = source_bit(ssrc);
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if self.named.len() <= word {
            self.named.resize(word + 1, 0);
        }
        if self.named[word] & mask == 0 {
            self.named[word] |= mask;
            self.inbound.allow(ssrc);
        }
    }
}

/// What senders sent, and what they did not because nobody would receive it or it was
/// silence.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Sending {
    /// Audio frames sent.
    pub audio_sent: u64,
    /// Video frames sent.
    pub video_sent: u64,
    /// Video frames not encoded while the SFU forwarded the sender's video to nobody.
    pub video_paused: u64,
    /// Audio frames of silence left out by DTX.
    pub audio_dtx: u64,
    /// Key frames sent because the SFU resumed a paused video.
    pub key_frames_on_resume: u64,
    /// Demands the SFU sent (pauses and resumes).
    pub demands: u64,
}

/// What the SFU saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct SfuSeen {
    /// Packets that reached it.
    pub packets_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Packets it forwarded (one per receiver).
    pub packets_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Packets whose SFrame header (KID, CTR: in clear) it read.
    pub sframe_headers_read: u64,
    /// Extra copies refused by SRTP's replay check.
    pub replays_refused: u64,
    /// Packets refused for another reason (should be none).
    pub other_refused: u64,
    /// Packets from participants it had disconnected.
    pub from_disconnected: u64,
    /// Packets, as it held them after SRTP, that contained a frame's plaintext: must be 0.
    pub plaintext_canaries: u64,
}

/// Progress for the caller's display.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The simulated time.
    pub now_us: u64,
    /// The leader's epoch.
    pub epoch: u64,
    /// Members of the leader's group.
    pub members: usize,
}

/// The whole meeting: build it with [`Meeting::new`], run it once with [`Meeting::run`], then
/// read it with [`Report::new`](crate::Report::new).
pub struct Meeting {
    pub(crate) config: Config,
    pub(crate) rng: Rng,
    pub(crate) schedule: Schedule<Ev>,
    pub(crate) people: Vec<Participant>,
    pub(crate) ledger: Ledger,
    pub(crate) sfu: Sfu,
    pub(crate) msgs: Vec<Msg>,
    pub(crate) pending_joins: Vec<Pid>,
    pub(crate) pending_leaves: Vec<Pid>,
    pub(crate) commit_scheduled: bool,
    pub(crate) last_commit: Option<u64>,
    pub(crate) member_config: MemberConfig,
    pub(crate) meters: CryptoMeters,
    pub(crate) sfu_seen: SfuSeen,
    pub(crate) commits: u64,
    pub(crate) joins: u64,
    pub(crate) leaves: u64,
    pub(crate) biggest_batch: usize,
    /// `S` of each epoch (RFC 9605 section 5.2), as the leader's keyring holds it.
    pub(crate) sender_bits: Vec<(u64, u8)>,
    pub(crate) mls_nanos: u64,
    pub(crate) scratch: Vec<Vec<u8>>,
    /// Who has the floor: the audio levels senders put on their packets.
    pub(crate) floor: Floor,
    /// The forwarding counters of participants the SFU let go.
    pub(crate) forwarding_gone: Vec<ForwardingStats>,
    /// The SFU's output buffers, reused for every packet.
    pub(crate) sfu_out: SfuOutput,
    pub(crate) sending_counts: Sending,
    /// Buffers of packets delivered, for the next packets on the links.
    pub(crate) packets: PacketPool,
}

/// Packet buffers to reuse: every copy of a packet on a link is one, and the simulation
/// forwards each packet to many receivers.
#[derive(Debug, Default)]
pub(crate) struct PacketPool(Vec<Vec<u8>>);

impl PacketPool {
    /// At most this many idle buffers are kept.
    const MAX_IDLE: usize = 4096;

    /// A buffer holding a copy of `bytes`.
    pub(crate) fn copy_of(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut buf = self.0.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(bytes);
        buf
    }

    /// `buf` is free again.
    pub(crate) fn give_back(&mut self, buf: Vec<u8>) {
        if self.0.len() < Self::MAX_IDLE {
            self.0.push(buf);
        }
    }
}

impl core::fmt::Debug for Meeting {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Meeting")
            .field("config", &self.config)
            .field("now_us", &self.schedule.now())
            .field("participants", &self.people.len())
            .field("commits", &self.commits)
            .finish_non_exhaustive()
    }
}

impl Meeting {
    /// A meeting of `config`, not started.
    pub fn new(config: Config) -> Result<Self, SimError> {
        config.check()?;
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
        // S as RFC 9605 section 5.2 computes it, per epoch from the group; the ledger reads
        // only the epoch's low E bits of a KID, which every epoch's layout shares.
        let member_config = MemberConfig::new(keyring);
        let layout = KidLayout::new(EPOCH_BITS, 0).map_err(SimError::KidLayout)?;
        Ok(Self {
            rng: Rng::new(config.seed),
            schedule: Schedule::new(),
            people: Vec::new(),
            ledger: Ledger::new(layout, config.link.max_delay_us()),
            sfu: Sfu::with_forwarding(config.forwarding),
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
            sender_bits: Vec::new(),
            mls_nanos: 0,
            scratch: Vec::new(),
            floor: Floor::new(config.seed),
            forwarding_gone: Vec::new(),
            sfu_out: SfuOutput::new(),
            sending_counts: Sending::default(),
            packets: PacketPool::default(),
            config,
        })
    }

    pub(crate) fn end_us(&self) -> u64 {
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
    pub(crate) fn add_participant(&mut self) -> Result<Pid, SimError> {
        let pid = self.ledger.add_person();
        let mls = |source| SimError::Mls {
            participant: pid,
            step: MlsStep::NewMember,
            source,
        };
        let mut member =
            MlsMember::new(format!("p{pid}").as_bytes(), self.member_config).map_err(mls)?;
        let key_package = member.key_package().map_err(mls)?;
        let up_keys = self.srtp_keys();
        let down_keys = self.srtp_keys();
        let srtp = |r: Result<SrtpContext, sframe_rtp::SframeRtpError>| {
            r.map_err(|source| SimError::Rtp {
                participant: pid,
                source,
            })
        };
        let outbound = Outbound::new(
            self.config.mode,
            MTU,
            [ssrc(pid, Kind::Audio), ssrc(pid, Kind::Video)],
            [self.rng.next_u64() as u16, self.rng.next_u64() as u16],
            Box::new(srtp(SrtpContext::sender(&up_keys))?),
        )
        .map_err(|source| SimError::Media {
            participant: pid,
            source,
        })?;
        // Every SSRC of the meeting may reach every receiver; state is made only for those
        // the SFU forwards (it signals each source to a receiver before its first packet).
        let max_streams = 1 << 16;
        let inbound = Inbound::new(
            Box::new(srtp(SrtpContext::receiver(&down_keys, 1024))?),
            max_streams,
        );
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
            inbox_pending: 0,
            prepared: None,
            audio_base: self.rng.next_u64() as u32,
            video_base: self.rng.next_u64() as u32,
            log: KeyringLog::default(),
            video_paused: false,
            key_frame_due: false,
            last_audio_us: None,
            named: Vec::new(),
        });
        Ok(pid)
    }

    /// Connects `pid` to the SFU at `t`.
    pub(crate) fn connect(&mut self, pid: Pid, t: u64) -> Result<(), SimError> {
        let rtp = |source| SimError::Rtp {
            participant: pid,
            source,
        };
        let p = &self.people[pid];
        let inbound = SrtpContext::receiver(&p.up_keys, 1024).map_err(rtp)?;
        let outbound = SrtpContext::sender(&p.down_keys).map_err(rtp)?;
        self.sfu
            .add_participant(
                pid as u32,
                Box::new(inbound),
                Box::new(outbound),
                &[ssrc(pid, Kind::Audio), ssrc(pid, Kind::Video)],
            )
            .map_err(rtp)?;
        for (kind, media) in [
            (Kind::Audio, MediaKind::Audio),
            (Kind::Video, MediaKind::Video),
        ] {
            self.sfu
                .set_source_kind(ssrc(pid, kind), media)
                .map_err(rtp)?;
        }
        self.ledger.people[pid].admitted_at = Some(t);
        self.carry_demand(t);
        Ok(())
    }

    /// Carries the SFU's changes of demand to their senders (over the signalling channel,
    /// one link delay away).
    pub(crate) fn carry_demand(&mut self, t: u64) {
        while let Some(d) = self.sfu.poll_demand() {
            self.sending_counts.demands += 1;
            self.schedule.at(
                t + self.config.link.delay_us,
                Ev::Demand {
                    pid: d.participant as Pid,
                    wanted: d.wanted,
                },
            );
        }
    }

    /// Runs the meeting; `progress` is called every simulated 100 ms.
    pub fn run(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<(), SimError> {
        if !self.people.is_empty() {
            return Err(SimError::AlreadyRun);
        }
        // The leader creates the group; everyone else asks to join at once.
        let leader = self.add_participant()?;
        let started = Instant::now();
        self.people[leader]
            .member
            .create_group(at(0))
            .map_err(|source| SimError::Mls {
                participant: leader,
                step: MlsStep::CreateGroup,
                source,
            })?;
        self.mls_nanos += started.elapsed().as_nanos() as u64;
        self.note_sender_bits(0);
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

    fn handle(&mut self, t: u64, ev: Ev) -> Result<(), SimError> {
        match ev {
            Ev::Tick => {
                self.sfu.handle_timeout(at(t));
                self.carry_demand(t);
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
                    let people = self.people.len();
                    let sending = |p: Pid| self.people[p].sending;
                    let level = self.floor.level(pid, t, people, &sending);
                    let p = &mut self.people[pid];
                    let silence_due = p
                        .last_audio_us
                        .is_none_or(|last| t >= last + DTX_INTERVAL_US);
                    if self.config.dtx && !level.voice() && !silence_due {
                        self.sending_counts.audio_dtx += 1;
                    } else {
                        p.last_audio_us = Some(t);
                        self.sending_counts.audio_sent += 1;
                        self.send(pid, Kind::Audio, AUDIO_BYTES, Some(level), t)?;
                    }
                    self.schedule.at(t + AUDIO_US, Ev::Audio(pid));
                }
            }
            Ev::Video { pid, n, start } => {
                if self.people[pid].sending && t < self.end_us() {
                    let p = &mut self.people[pid];
                    if p.video_paused {
                        self.sending_counts.video_paused += 1;
                    } else {
                        let len = if std::mem::take(&mut p.key_frame_due) {
                            self.sending_counts.key_frames_on_resume += 1;
                            KEY_FRAME_BYTES
                        } else if n.is_multiple_of(KEY_FRAME_EVERY) {
                            KEY_FRAME_BYTES
                        } else {
                            self.rng.between(VIDEO_BYTES.0, VIDEO_BYTES.1) as usize
                        };
                        self.sending_counts.video_sent += 1;
                        self.send(pid, Kind::Video, len, None, t)?;
                    }
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
            Ev::AtSfu { from, mut packet } => {
                self.at_sfu(from, &mut packet, t);
                self.packets.give_back(packet);
            }
            Ev::AtParticipant { to, mut packet } => {
                let p = &mut self.people[to];
                p.inbound
                    .receive(at(t), p.member.keyring_mut(), &mut packet, &mut self.meters);
                self.packets.give_back(packet);
                self.drain(to, t);
            }
            Ev::Demand { pid, wanted } => {
                let p = &mut self.people[pid];
                if p.video_paused == wanted {
                    p.video_paused = !wanted;
                    p.key_frame_due = wanted;
                }
            }
            Ev::Kick(pid) => {
                if let Some(s) = self.sfu.forwarding_stats(pid as u32) {
                    self.forwarding_gone.push(s);
                }
                self.sfu.remove_participant(pid as u32);
            }
        }
        Ok(())
    }

    // ---- results ----

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The simulation's own record: members, frames, outcomes, violations.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Time and bytes in each stage of the crypto path.
    pub fn meters(&self) -> &CryptoMeters {
        &self.meters
    }

    /// What the SFU saw.
    pub fn sfu_seen(&self) -> &SfuSeen {
        &self.sfu_seen
    }

    /// What senders sent and left out: video nobody was forwarded, audio silence under DTX.
    pub fn sending_counts(&self) -> Sending {
        self.sending_counts
    }

    /// Per participant: the keyring log, SRTP counters and the final security code.
    pub fn participant_views(&self) -> Vec<(KeyringLog, InboundStats, Option<String>)> {
        self.people
            .iter()
            .map(|p| {
                (
                    p.log.clone(),
                    p.inbound.stats(),
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

    /// The uplinks' counters, summed.
    pub fn uplink_stats(&self) -> LinkStats {
        let mut s = LinkStats::default();
        for p in &self.people {
            s.add(&p.uplink.stats());
        }
        s
    }

    /// The downlinks' counters, summed.
    pub fn downlink_stats(&self) -> LinkStats {
        let mut s = LinkStats::default();
        for p in &self.people {
            s.add(&p.downlink.stats());
        }
        s
    }
}

impl Meeting {
    /// Records the `S` the leader's keyring uses for `epoch`.
    pub(crate) fn note_sender_bits(&mut self, epoch: u64) {
        let layout = self
            .people
            .first()
            .and_then(|p| p.member.keyring().kid_layout(epoch));
        if let Some(layout) = layout {
            self.sender_bits.push((epoch, layout.sender_bits()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every source of the largest group has its own bit, next to its other stream's.
    #[test]
    fn source_bits_invert_ssrcs() {
        for pid in 0..crate::config::MAX_GROUP as Pid {
            for kind in Kind::ALL {
                assert_eq!(source_bit(ssrc(pid, kind)), 2 * pid + kind as usize);
            }
        }
    }
}
