//! The end of a meeting as data: the numbers (serialisable, e.g. as one JSON object), and the
//! invariants, checked from the simulation's ledger. [`Report::render`] writes it as text.

use std::collections::BTreeSet;

use serde::Serialize;
use sframe_rtp::{Mode, SrtpProfile};

use crate::config::{EPOCH_BITS, LINGER_US, MTU, SRTP_PROFILE, batch_interval_us};
use crate::cost::{Floor, Reference};
use crate::ledger::{Dropped, Person, Tally};
use crate::link::LinkStats;
use crate::media::InboundStats;
use crate::meeting::{KeyringLog, Meeting, Sending};
use crate::meter::Meter;

/// The most violation messages kept (all are counted).
const MAX_MESSAGES: usize = 20;

/// Everything a finished meeting says about itself.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Every invariant held.
    pub ok: bool,
    /// How many checks failed.
    pub violation_count: u64,
    /// The first messages of the failed checks.
    pub violations: Vec<String>,
    /// What was simulated.
    pub config: ConfigView,
    /// The MLS group over the meeting.
    pub meeting: MeetingView,
    /// Everyone who took part.
    pub participants: Vec<ParticipantView>,
    /// The participants' frame counts, summed.
    pub totals: Totals,
    /// What the links did.
    pub network: NetworkView,
    /// What the SFU saw.
    pub sfu: SfuView,
    /// CPU time of the crypto path, and wall time.
    pub crypto: CryptoView,
    /// Media time per delivered frame against the receiving crypto alone (`None` when the
    /// caller gave no wall time).
    pub cost: Option<CostView>,
}

/// The configuration, in the units a person reads.
#[derive(Debug, Serialize)]
pub struct ConfigView {
    /// Participants at the start.
    pub participants: u32,
    /// Seconds of media.
    pub duration_s: f64,
    /// Join and leave requests per minute.
    pub churn_per_minute: f64,
    /// Loss on every link.
    pub loss_percent: f64,
    /// Packets held back on every link.
    pub reorder_percent: f64,
    /// Fixed delay of every link.
    pub delay_ms: f64,
    /// Extra delay, up to this.
    pub jitter_ms: f64,
    /// The SFrame cipher suite's name.
    pub suite: String,
    /// `per-frame` or `per-packet`.
    pub mode: &'static str,
    /// Commits and Welcomes arrive within this.
    pub commit_delay_ms: f64,
    /// A sender's grace period after a join.
    pub grace_ms: f64,
    /// The seed.
    pub seed: u64,
    /// The SRTP profile's name.
    pub srtp_profile: &'static str,
    /// The MTU.
    pub mtu: usize,
    /// KID epoch bits.
    pub epoch_bits: u8,
    /// The leader commits at most this often.
    pub commit_batch_s: f64,
    /// A removed participant stays connected this long.
    pub removed_linger_s: f64,
}

/// The MLS group over the meeting.
#[derive(Debug, Serialize)]
pub struct MeetingView {
    /// Everyone who took part, the leader included.
    pub participants_total: usize,
    /// Members at the end.
    pub present_at_end: usize,
    /// Commits made.
    pub commits: u64,
    /// Members added.
    pub joins: u64,
    /// Members removed.
    pub leaves: u64,
    /// The most joins and leaves in one commit.
    pub biggest_batch: usize,
    /// `S` (the KID's sender bits, RFC 9605 section 5.2) of each epoch: it follows the group.
    pub sender_bits: Vec<(u64, u8)>,
    /// The leader's final epoch.
    pub final_epoch: u64,
    /// The final epoch's security code, if every member present shows the same one.
    pub security_code: Option<String>,
    /// Every epoch's members showed one code, and every present member shows the final one.
    pub codes_agree: bool,
    /// Epochs whose codes were compared.
    pub epochs_checked: usize,
    /// From a commit being sent until every member of its epoch sends under it, in ms: the
    /// median and the longest over the epochs where all did, and how many epochs those are.
    pub commit_to_switch_ms: SwitchLatency,
}

/// Commit-to-switch latency over a meeting's epochs, in ms.
#[derive(Debug, Default, Serialize)]
pub struct SwitchLatency {
    /// Epochs measured.
    pub epochs: usize,
    /// The median.
    pub median_ms: f64,
    /// The longest.
    pub max_ms: f64,
}

/// One participant.
#[derive(Debug, Serialize)]
pub struct ParticipantView {
    /// `p<pid>`.
    pub name: String,
    /// `leader`, `member` (from the start), `joined` (later) or `left`.
    pub role: &'static str,
    /// Its leaf index.
    pub leaf: Option<u32>,
    /// The epoch that added it.
    pub joined_epoch: Option<u64>,
    /// The epoch that removed it.
    pub removed_epoch: Option<u64>,
    /// Media frames it sent.
    pub frames_sent: u64,
    /// What it received, from the ledger.
    #[serde(flatten)]
    pub received: Tally,
    /// What its keyring said.
    pub keyring: KeyringView,
    /// Its receiving SRTP.
    pub srtp: InboundStats,
    /// The security code it shows at the end.
    pub security_code: Option<String>,
}

/// What one participant's keyring said.
#[derive(Debug, Serialize)]
pub struct KeyringView {
    /// Epochs it could decrypt (given to its keyring).
    pub epochs: u64,
    /// Times its sender moved to a newer epoch.
    pub rollovers: u64,
    /// ... once all members acknowledged.
    pub rollover_all_acknowledged: u64,
    /// ... at the end of the grace period.
    pub rollover_grace_expired: u64,
    /// ... at once, a member having been removed.
    pub rollover_member_removed: u64,
    /// ... forced.
    pub rollover_forced: u64,
    /// Epoch keys removed and zeroized.
    pub retired: u64,
}

/// The participants' counts, summed.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    /// Media frames sent.
    pub frames_sent: u64,
    /// Frame deliveries the ledger expected.
    pub expected: u64,
    /// ... decrypted.
    pub decrypted: u64,
    /// ... lost in the network.
    pub lost: u64,
    /// ... dropped, by reason.
    pub dropped: Dropped,
    /// ... with no outcome (must be 0).
    pub unaccounted: u64,
}

/// One direction of every link, summed.
#[derive(Debug, Serialize)]
pub struct LinkView {
    /// Packets sent into the links.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Lost.
    pub lost: u64,
    /// Held back past later ones.
    pub reordered: u64,
    /// Delivered twice.
    pub duplicated: u64,
}

impl From<LinkStats> for LinkView {
    fn from(s: LinkStats) -> Self {
        Self {
            packets: s.sent,
            bytes: s.bytes,
            lost: s.lost,
            reordered: s.reordered,
            duplicated: s.duplicated,
        }
    }
}

/// The network.
#[derive(Debug, Serialize)]
pub struct NetworkView {
    /// Senders to the SFU.
    pub uplinks: LinkView,
    /// The SFU to receivers.
    pub downlinks: LinkView,
}

/// What the SFU saw.
#[derive(Debug, Serialize)]
pub struct SfuView {
    /// Packets that reached it.
    pub packets_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Packets it forwarded.
    pub packets_forwarded: u64,
    /// Their bytes.
    pub bytes_forwarded: u64,
    /// Packets whose SFrame header (KID, CTR: in clear) it read.
    pub sframe_headers_read: u64,
    /// Extra copies refused by SRTP.
    pub replays_refused: u64,
    /// Packets from participants it had disconnected.
    pub from_disconnected: u64,
    /// Packets refused otherwise (must be 0).
    pub other_refused: u64,
    /// Packets, as the SFU held them after SRTP, that contained a frame's plaintext: must be
    /// 0. (The SFU has no SFrame key to hold: `Sfu` takes none.)
    pub plaintext_seen: u64,
    /// What its forwarding policy sent and held back, summed over receivers.
    pub forwarding: ForwardingView,
}

/// The SFU's forwarding policy and what it did, in frames summed over receivers.
#[derive(Debug, Default, Serialize)]
pub struct ForwardingView {
    /// `all`, or e.g. `audio of the 3 loudest, video of the last 6 speakers`.
    pub policy: String,
    /// Audio frames forwarded.
    pub audio_forwarded: u64,
    /// Video frames forwarded.
    pub video_forwarded: u64,
    /// Audio frames held back: not among the loudest speakers.
    pub audio_held_not_loudest: u64,
    /// Video frames held back: not among the last speakers.
    pub video_held_not_recent_speaker: u64,
    /// Packets held back because their frame's decision was forgotten (heavy reordering).
    pub packets_held_stale: u64,
    /// What senders sent, and left out because the SFU forwarded it to nobody (video) or it
    /// was silence (audio, DTX).
    pub senders: Sending,
}

/// What the media part of the run cost per frame a receiver decrypted, against the
/// receiving crypto alone (the core's SFrame decrypt and SRTP unprotect, measured in the same
/// process right after the meeting, at the meeting's call counts and mean sizes:
/// [`Reference`]).
#[derive(Debug, Serialize)]
pub struct CostView {
    /// Frames receivers decrypted.
    pub delivered_frames: u64,
    /// The wall time outside MLS, per delivered frame, in microseconds.
    pub media_us_per_frame: f64,
    /// Of it, per delivered frame: the receivers' SFrame decrypt.
    pub sframe_decrypt_us: f64,
    /// ... the receivers' SRTP unprotect and depacketizing.
    pub srtp_unprotect_us: f64,
    /// ... the SFU's SRTP, both ways (one protect per receiver of each packet).
    pub sfu_us: f64,
    /// ... the senders' SFrame encrypt, packetizing and SRTP protect.
    pub senders_us: f64,
    /// ... the rest: the simulation's clock and links, the ledger, copies of packets.
    pub rest_us: f64,
    /// The core's SFrame decrypt, alone, per call, at the meeting's mean frame size.
    pub reference_decrypt_ns: f64,
    /// SRTP unprotect, alone, per call, at the meeting's mean packet size.
    pub reference_unprotect_ns: f64,
    /// Their sum over the meeting's decrypt and unprotect calls, per delivered frame.
    pub reference_us_per_frame: f64,
    /// `media_us_per_frame / reference_us_per_frame`.
    pub ratio: f64,
    /// The receivers' own part, `(sframe_decrypt_us + srtp_unprotect_us) /
    /// reference_us_per_frame`: the same work as the reference, in the meeting (its keyring,
    /// depacketizer and reassembly, and its memory no longer in cache).
    pub receive_path_ratio: f64,
    /// Every crypto call of the meeting (the reference's, and the senders' SFrame encrypt and
    /// SRTP protect, the SFU's unprotect and its protect per receiver) at the core's speed,
    /// alone, at the meeting's mean sizes ([`Floor`]), per delivered frame: what the media
    /// time could shrink to if nothing but the crypto cost anything.
    pub floor_us_per_frame: f64,
    /// `floor_us_per_frame / reference_us_per_frame`: the least `ratio` can be.
    pub floor_ratio: f64,
    /// `media_us_per_frame / floor_us_per_frame`: what everything around the crypto costs,
    /// as a factor (1 would be nothing).
    pub overhead_ratio: f64,
}

/// One stage of the crypto path.
#[derive(Debug, Serialize)]
pub struct StageView {
    /// Calls.
    pub calls: u64,
    /// Bytes in.
    pub bytes: u64,
    /// CPU time.
    pub seconds: f64,
    /// MB (10^6 bytes) per CPU second.
    pub mb_per_s: f64,
}

impl From<Meter> for StageView {
    fn from(m: Meter) -> Self {
        Self {
            calls: m.calls,
            bytes: m.bytes,
            seconds: m.nanos as f64 / 1e9,
            mb_per_s: m.mb_per_s(),
        }
    }
}

/// The crypto path's stages, MLS and the clocks.
#[derive(Debug, Serialize)]
pub struct CryptoView {
    /// Senders' keyrings.
    pub sframe_encrypt: StageView,
    /// Receivers' keyrings.
    pub sframe_decrypt: StageView,
    /// Senders' SRTP.
    pub srtp_protect: StageView,
    /// Receivers' SRTP.
    pub srtp_unprotect: StageView,
    /// The SFU's SRTP, both ways.
    pub sfu_srtp: StageView,
    /// MLS operations (create, commit, process, join).
    pub mls_seconds: f64,
    /// The whole run, as the caller measured it.
    pub wall_seconds: f64,
    /// The wall time outside MLS operations: media, the SFU, the network and the ledger.
    pub media_seconds: f64,
    /// The process's peak resident memory (Linux's VmHWM), if the system says.
    pub peak_memory_mb: Option<f64>,
    /// Simulated time.
    pub simulated_seconds: f64,
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::PerFrame => "per-frame",
        Mode::PerPacket => "per-packet",
    }
}

fn profile_name() -> &'static str {
    match SRTP_PROFILE {
        SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
        _ => "AES_CM_128_HMAC_SHA1_80",
    }
}

/// The failed checks: the ledger's, then the report's own.
struct Violations {
    messages: Vec<String>,
    count: u64,
}

impl Violations {
    fn fail(&mut self, message: String) {
        self.count += 1;
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(message);
        }
    }
}

/// The participants' views and totals, and what the present members show.
struct People {
    participants: Vec<ParticipantView>,
    totals: Totals,
    present_codes: BTreeSet<Option<String>>,
    present: usize,
}

impl Report {
    /// Builds the report of a meeting that ran, and checks the invariants. `wall_seconds` is
    /// the run's wall time as the caller measured it.
    pub fn new(m: &Meeting, wall_seconds: f64) -> Self {
        let (first, count) = m.ledger.violations();
        let mut violations = Violations {
            messages: first.to_vec(),
            count,
        };
        let people = people(m, &mut violations);
        let meeting = meeting_view(m, &people, &mut violations);
        sfu_checks(m, &mut violations);
        let cost =
            (wall_seconds > 0.0).then(|| cost_view(m, wall_seconds, people.totals.decrypted));
        Report {
            ok: violations.count == 0,
            violation_count: violations.count,
            violations: violations.messages,
            config: config_view(m),
            meeting,
            participants: people.participants,
            totals: people.totals,
            network: NetworkView {
                uplinks: m.uplink_stats().into(),
                downlinks: m.downlink_stats().into(),
            },
            sfu: sfu_view(m),
            crypto: crypto_view(m, wall_seconds),
            cost,
        }
    }
}

fn cost_view(m: &Meeting, wall_seconds: f64, delivered: u64) -> CostView {
    let k = &m.meters;
    let per_frame_us = |nanos: u64| nanos as f64 / 1e3 / delivered.max(1) as f64;
    let media_nanos = ((wall_seconds * 1e9) as u64).saturating_sub(m.mls_nanos);
    let metered = [
        k.sframe_decrypt.nanos,
        k.srtp_unprotect.nanos,
        k.sfu_srtp.nanos,
        k.sframe_encrypt.nanos + k.srtp_protect.nanos,
    ];
    let reference = Reference::for_meters(m.config.suite, SRTP_PROFILE, k);
    let reference_nanos = reference.sframe_decrypt_ns * k.sframe_decrypt.calls as f64
        + reference.srtp_unprotect_ns * k.srtp_unprotect.calls as f64;
    let reference_us = reference_nanos / 1e3 / delivered.max(1) as f64;
    let floor = Floor::for_meeting(m.config.suite, SRTP_PROFILE, k, &m.sfu_seen);
    let floor_us = (reference_nanos + floor.nanos(k, &m.sfu_seen)) / 1e3 / delivered.max(1) as f64;
    let media_us = per_frame_us(media_nanos);
    let ratio = |us: f64| quotient(us, reference_us);
    CostView {
        delivered_frames: delivered,
        media_us_per_frame: media_us,
        sframe_decrypt_us: per_frame_us(metered[0]),
        srtp_unprotect_us: per_frame_us(metered[1]),
        sfu_us: per_frame_us(metered[2]),
        senders_us: per_frame_us(metered[3]),
        rest_us: per_frame_us(media_nanos.saturating_sub(metered.iter().sum())),
        reference_decrypt_ns: reference.sframe_decrypt_ns,
        reference_unprotect_ns: reference.srtp_unprotect_ns,
        reference_us_per_frame: reference_us,
        ratio: ratio(media_us),
        receive_path_ratio: ratio(per_frame_us(metered[0] + metered[1])),
        floor_us_per_frame: floor_us,
        floor_ratio: ratio(floor_us),
        overhead_ratio: quotient(media_us, floor_us),
    }
}

/// `a / b`, infinite when there is nothing to divide by.
fn quotient(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::INFINITY }
}

fn role(pid: usize, person: &Person) -> &'static str {
    if pid == 0 {
        "leader"
    } else if person.removal_epoch.is_some() {
        "left"
    } else if person.join_epoch.is_some_and(|e| e > 1) {
        "joined"
    } else {
        "member"
    }
}

fn add_to_totals(totals: &mut Totals, person: &Person) {
    let t = &person.tally;
    totals.frames_sent += person.sent;
    totals.expected += t.expected;
    totals.decrypted += t.decrypted;
    totals.lost += t.lost;
    totals.unaccounted += t.unaccounted;
    let d = &mut totals.dropped;
    d.total += t.dropped.total;
    d.before_join += t.dropped.before_join;
    d.after_removal += t.dropped.after_removal;
    d.while_leaving += t.dropped.while_leaving;
    d.rollover += t.dropped.rollover;
}

fn people(m: &Meeting, violations: &mut Violations) -> People {
    let mut out = People {
        participants: Vec::new(),
        totals: Totals::default(),
        present_codes: BTreeSet::new(),
        present: 0,
    };
    let views = m.participant_views();
    for (pid, (person, (log, srtp, code))) in m.ledger.people.iter().zip(views).enumerate() {
        if person.admitted_at.is_none() {
            continue;
        }
        if person.joined_at.is_some() && person.departed_at.is_none() {
            out.present += 1;
            out.present_codes.insert(code.clone());
        }
        add_to_totals(&mut out.totals, person);
        let t = &person.tally;
        if t.expected != t.decrypted + t.lost + t.dropped.total + t.unaccounted {
            violations.fail(format!("p{pid}: the ledger's counts do not add up"));
        }
        if srtp.srtp_other > 0 {
            violations.fail(format!(
                "p{pid}: SRTP refused {} packets other than replays",
                srtp.srtp_other
            ));
        }
        out.participants.push(ParticipantView {
            name: format!("p{pid}"),
            role: role(pid, person),
            leaf: person.leaf,
            joined_epoch: person.join_epoch,
            removed_epoch: person.removal_epoch,
            frames_sent: person.sent,
            received: t.clone(),
            keyring: keyring_view(&log),
            srtp,
            security_code: code,
        });
    }
    out
}

/// The group's view, after checking that the members of each epoch agree on its code.
fn meeting_view(m: &Meeting, people: &People, violations: &mut Violations) -> MeetingView {
    let ledger = &m.ledger;
    let (final_epoch, _) = m.final_epoch();
    let mut codes_agree = true;
    for (epoch, codes) in &ledger.codes {
        if codes.len() != 1 {
            codes_agree = false;
            violations.fail(format!(
                "the members of epoch {epoch} showed {} different security codes",
                codes.len()
            ));
        }
    }
    let final_code = ledger
        .codes
        .get(&final_epoch)
        .and_then(|c| c.first())
        .cloned();
    let present_codes = &people.present_codes;
    if present_codes.len() != 1 || present_codes.first() != Some(&final_code) {
        codes_agree = false;
        violations.fail(format!(
            "the members present at the end show {} security codes, not the final epoch's",
            present_codes.len()
        ));
    }
    MeetingView {
        participants_total: people.participants.len(),
        present_at_end: people.present,
        commits: m.commits,
        joins: m.joins,
        leaves: m.leaves,
        biggest_batch: m.biggest_batch,
        sender_bits: m.sender_bits.clone(),
        final_epoch,
        security_code: if codes_agree { final_code } else { None },
        codes_agree,
        epochs_checked: ledger.codes.len(),
        commit_to_switch_ms: switch_latency(ledger.commit_to_switch_us()),
    }
}

fn switch_latency(per_epoch: Vec<(u64, u64)>) -> SwitchLatency {
    let mut us: Vec<u64> = per_epoch.into_iter().map(|(_, us)| us).collect();
    us.sort_unstable();
    SwitchLatency {
        epochs: us.len(),
        median_ms: us.get(us.len() / 2).map_or(0.0, |&u| u as f64 / 1e3),
        max_ms: us.last().map_or(0.0, |&u| u as f64 / 1e3),
    }
}

fn sfu_checks(m: &Meeting, violations: &mut Violations) {
    if m.sfu_seen.plaintext_canaries > 0 {
        violations.fail(format!(
            "the SFU saw plaintext in {} packets",
            m.sfu_seen.plaintext_canaries
        ));
    }
    if m.sfu_seen.other_refused > 0 {
        violations.fail(format!(
            "the SFU refused {} packets other than replays",
            m.sfu_seen.other_refused
        ));
    }
}

fn config_view(m: &Meeting) -> ConfigView {
    let c = &m.config;
    ConfigView {
        participants: c.participants,
        duration_s: c.duration_us as f64 / 1e6,
        churn_per_minute: c.churn_per_minute,
        loss_percent: c.link.loss * 100.0,
        reorder_percent: c.link.reorder * 100.0,
        delay_ms: c.link.delay_us as f64 / 1e3,
        jitter_ms: c.link.jitter_us as f64 / 1e3,
        suite: c.suite.name().to_owned(),
        mode: mode_name(c.mode),
        commit_delay_ms: c.commit_delay_us as f64 / 1e3,
        grace_ms: c.grace_us as f64 / 1e3,
        seed: c.seed,
        srtp_profile: profile_name(),
        mtu: MTU,
        epoch_bits: EPOCH_BITS,
        commit_batch_s: batch_interval_us(c.participants as usize) as f64 / 1e6,
        removed_linger_s: LINGER_US as f64 / 1e6,
    }
}

fn sfu_view(m: &Meeting) -> SfuView {
    let s = m.sfu_seen;
    SfuView {
        packets_received: s.packets_in,
        bytes_received: s.bytes_in,
        packets_forwarded: s.packets_out,
        bytes_forwarded: s.bytes_out,
        sframe_headers_read: s.sframe_headers_read,
        replays_refused: s.replays_refused,
        from_disconnected: s.from_disconnected,
        other_refused: s.other_refused,
        plaintext_seen: s.plaintext_canaries,
        forwarding: forwarding_view(m),
    }
}

fn forwarding_view(m: &Meeting) -> ForwardingView {
    let c = m.sfu.forwarding_config();
    let policy = match (c.audio_top_k, c.video_last_n) {
        (None, None) => "all".to_owned(),
        (k, n) => {
            let audio = k.map_or("all audio".to_owned(), |k| {
                format!("audio of the {k} loudest")
            });
            let video = n.map_or("all video".to_owned(), |n| format!("video of the last {n}"));
            format!("{audio}, {video} speakers")
        }
    };
    let mut v = ForwardingView {
        policy,
        ..ForwardingView::default()
    };
    let live = (0..m.people.len()).filter_map(|pid| m.sfu.forwarding_stats(pid as u32));
    for s in live.chain(m.forwarding_gone.iter().copied()) {
        v.audio_forwarded += s.audio_forwarded.frames;
        v.video_forwarded += s.video_forwarded.frames;
        v.audio_held_not_loudest += s.held_not_loudest.frames;
        v.video_held_not_recent_speaker += s.held_not_recent_speaker.frames;
        v.packets_held_stale += s.held_stale.packets;
    }
    v.senders = m.sending_counts();
    v
}

/// Linux's VmHWM of this process, in MB.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn crypto_view(m: &Meeting, wall_seconds: f64) -> CryptoView {
    let meters = m.meters;
    CryptoView {
        sframe_encrypt: meters.sframe_encrypt.into(),
        sframe_decrypt: meters.sframe_decrypt.into(),
        srtp_protect: meters.srtp_protect.into(),
        srtp_unprotect: meters.srtp_unprotect.into(),
        sfu_srtp: meters.sfu_srtp.into(),
        mls_seconds: m.mls_nanos as f64 / 1e9,
        wall_seconds,
        media_seconds: (wall_seconds - m.mls_nanos as f64 / 1e9).max(0.0),
        peak_memory_mb: peak_memory_mb(),
        simulated_seconds: m.total_us() as f64 / 1e6,
    }
}

fn keyring_view(log: &KeyringLog) -> KeyringView {
    KeyringView {
        epochs: log.epochs,
        rollovers: log.switches,
        rollover_all_acknowledged: log.switched_all_acknowledged,
        rollover_grace_expired: log.switched_grace_expired,
        rollover_member_removed: log.switched_member_removed,
        rollover_forced: log.switched_forced,
        retired: log.retired,
    }
}
