//! A whole meeting over real sockets: an SFU and participants on threads, on loopback, in real
//! time, with joins and leaves arriving during the meeting; checked against the invariants of
//! the simulated meeting (`sframe meeting`) and measured (CPU per forwarded packet at the SFU).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::WebrtcError;
use crate::legs::{LegReport, LegWatch};
use crate::participant::{ParticipantConfig, ParticipantHandle};
use crate::report::ParticipantReport;
use crate::sfu::{SfuConfig, SfuServer, SfuStats};

/// How a real-socket meeting runs.
#[derive(Clone, Copy, Debug)]
pub struct UdpMeetingConfig {
    /// Participants at the start.
    pub participants: u32,
    /// How long the meeting runs once everyone is in.
    pub duration: Duration,
    /// Join and leave requests per minute (alternating, evenly spaced over the middle of the
    /// meeting).
    pub churn_per_minute: f64,
}

/// What a real-socket meeting did, and whether its invariants held.
#[derive(Clone, Debug, Serialize)]
pub struct UdpMeetingReport {
    /// Every participant's report.
    pub participants: Vec<ParticipantReport>,
    /// The SFU's counters.
    pub sfu: SfuStats,
    /// Joins and leaves during the meeting.
    pub churn_joins: u64,
    /// Leaves during the meeting.
    pub churn_leaves: u64,
    /// Frames decrypted, all participants together.
    pub decrypted: u64,
    /// Frames sent, all participants together.
    pub sent: u64,
    /// Wall-clock seconds, from the first offer to the SFU's stop.
    pub wall_seconds: f64,
    /// The SFU media thread's CPU time per RTP packet it forwarded (written to one other
    /// participant), in microseconds; Linux only.
    pub sfu_cpu_us_per_forwarded_packet: Option<f64>,
    /// The same per RTP packet it received.
    pub sfu_cpu_us_per_received_packet: Option<f64>,
    /// Invariants that failed, in words.
    pub violations: Vec<String>,
    /// Every copy of a packet (the uplink and each downlink) compared on the wire: each leg
    /// must encrypt it differently ([`crate::legs`]).
    pub srtp_legs: LegReport,
    /// Whether every invariant held.
    pub ok: bool,
}

/// Runs a meeting over loopback (see the module docs); `on_progress` hears what happens.
///
/// # Errors
/// The SFU cannot start, or a participant fails (it cannot join within 15 s, a socket error).
pub fn run_udp_meeting(
    config: UdpMeetingConfig,
    on_progress: &mut dyn FnMut(&str),
) -> Result<UdpMeetingReport, WebrtcError> {
    let started = Instant::now();
    let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let sfu = SfuServer::start(SfuConfig::new(listen))?;
    let long = config.duration * 4 + Duration::from_secs(60);
    let mut legs = LegWatch::new();
    let mut spawn = |name: String| {
        let mut config = ParticipantConfig::new(&sfu.url(), &name, long);
        config.tap = Some(legs.tap()?);
        config.rx_tap = Some(legs.tap()?);
        ParticipantHandle::spawn(config)
    };
    let mut present: Vec<ParticipantHandle> = Vec::new();
    let mut done: Vec<Result<ParticipantReport, WebrtcError>> = Vec::new();
    for i in 0..config.participants {
        present.push(spawn(format!("p{i}"))?);
        if i == 0 {
            wait_joined(&present)?;
        }
    }
    wait_joined(&present)?;
    on_progress(&format!("{} participants in the group", present.len()));
    let events = (config.churn_per_minute * config.duration.as_secs_f64() / 60.0).round() as u32;
    let meeting_start = Instant::now();
    let (mut joins, mut leaves, mut next_name) = (0, 0, config.participants);
    for k in 0..events {
        let at = config
            .duration
            .mul_f64(0.2 + 0.6 * f64::from(k) / f64::from(events.max(1)));
        std::thread::sleep((meeting_start + at).saturating_duration_since(Instant::now()));
        if k % 2 == 0 || present.len() <= 2 {
            present.push(spawn(format!("p{next_name}"))?);
            next_name += 1;
            joins += 1;
            on_progress(&format!("p{} joins", next_name - 1));
        } else {
            // The second-oldest leaves (the oldest is the committer; it may leave too, but
            // then the test of a committer handover is the delivery service's unit tests).
            let p = present.remove(1);
            p.leave();
            done.push(p.join());
            leaves += 1;
            on_progress("a participant leaves");
        }
    }
    std::thread::sleep((meeting_start + config.duration).saturating_duration_since(Instant::now()));
    for p in &present {
        p.leave();
    }
    done.extend(present.into_iter().map(ParticipantHandle::join));
    let sfu = sfu.stop();
    let participants = done.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(report(
        participants,
        sfu,
        legs.finish(),
        joins,
        leaves,
        started.elapsed().as_secs_f64(),
    ))
}

fn wait_joined(present: &[ParticipantHandle]) -> Result<(), WebrtcError> {
    let start = Instant::now();
    while !present
        .iter()
        .all(|p| p.progress().joined.load(Ordering::SeqCst))
    {
        if start.elapsed() > Duration::from_secs(30) {
            return Err(WebrtcError::Timeout("participants joining the group"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn report(
    participants: Vec<ParticipantReport>,
    sfu: SfuStats,
    srtp_legs: LegReport,
    churn_joins: u64,
    churn_leaves: u64,
    wall_seconds: f64,
) -> UdpMeetingReport {
    let mut violations = violations(&participants, &sfu);
    if srtp_legs.same_ciphertext > 0 {
        violations.push(format!(
            "{} packets had the same SRTP ciphertext on two legs (shared keys)",
            srtp_legs.same_ciphertext
        ));
    }
    if srtp_legs.compared == 0 {
        violations.push("no packet was seen on two legs: SRTP keys per leg unchecked".into());
    }
    let per = |n: u64| {
        sfu.cpu_nanos
            .filter(|_| n > 0)
            .map(|c| c as f64 / 1000.0 / n as f64)
    };
    UdpMeetingReport {
        decrypted: participants.iter().map(|p| p.decrypted).sum(),
        sent: participants
            .iter()
            .map(|p| p.audio_sent + p.video_sent)
            .sum(),
        sfu_cpu_us_per_forwarded_packet: per(sfu.rtp_forwarded),
        sfu_cpu_us_per_received_packet: per(sfu.rtp_in),
        ok: violations.is_empty(),
        violations,
        participants,
        sfu,
        churn_joins,
        churn_leaves,
        wall_seconds,
        srtp_legs,
    }
}

/// The invariants: no key-rollover drop; no plaintext at the SFU; every frame that arrived is
/// decrypted or dropped for being sent before its receiver joined (nothing else); no corrupt
/// frame; one security code per epoch; no MLS message refused; everyone decrypted something.
fn violations(participants: &[ParticipantReport], sfu: &SfuStats) -> Vec<String> {
    let mut v = Vec::new();
    if sfu.plaintext_seen > 0 {
        v.push(format!(
            "the SFU saw plaintext in {} packets",
            sfu.plaintext_seen
        ));
    }
    if sfu.mls_malformed + sfu.mls_refused > 0 {
        v.push(format!(
            "the SFU refused {} MLS messages",
            sfu.mls_malformed + sfu.mls_refused
        ));
    }
    let mut codes: BTreeMap<u64, &str> = BTreeMap::new();
    for p in participants {
        if p.rollover_drops > 0 {
            v.push(format!(
                "{}: {} frames lost to key rollover",
                p.name, p.rollover_drops
            ));
        }
        if p.corrupt > 0 {
            v.push(format!("{}: {} corrupt frames", p.name, p.corrupt));
        }
        let dropped: u64 = p.dropped.values().sum();
        if dropped != p.before_join {
            v.push(format!(
                "{}: {} frames dropped for causes other than joining late: {:?}",
                p.name,
                dropped - p.before_join,
                p.dropped
            ));
        }
        if p.decrypted == 0 {
            v.push(format!("{} decrypted nothing", p.name));
        }
        for (epoch, code) in &p.security_codes {
            let first = codes.entry(*epoch).or_insert(code);
            if first != code {
                v.push(format!(
                    "epoch {epoch}: {} shows another security code",
                    p.name
                ));
            }
        }
    }
    v
}
