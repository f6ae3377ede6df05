//! `sframe meeting --transport udp`: the meeting over real WebRTC on loopback
//! (`sframe_webrtc::run_udp_meeting`), its report printed as text or JSON.

use std::io::Write;
use std::time::Duration;

use sframe_webrtc::{UdpMeetingConfig, UdpMeetingReport, run_udp_meeting};

use crate::error::CliError;

/// The most participants on real sockets (a 2-core machine runs them all in real time).
const MAX_UDP_PARTICIPANTS: u32 = 16;

pub fn run(participants: u32, duration: f64, churn: f64, json: bool) -> Result<(), CliError> {
    if participants > MAX_UDP_PARTICIPANTS {
        return Err(CliError::usage(format!(
            "--transport udp runs at most {MAX_UDP_PARTICIPANTS} participants"
        )));
    }
    let config = UdpMeetingConfig {
        participants,
        duration: Duration::from_secs_f64(duration),
        churn_per_minute: churn,
    };
    let mut log = |line: &str| {
        if !json {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    };
    let report = run_udp_meeting(config, &mut log).map_err(CliError::runtime)?;
    let text = if json {
        serde_json::to_string(&report).map_err(CliError::runtime)?
    } else {
        render(&report)
    };
    let _ = writeln!(std::io::stdout(), "{text}");
    if report.ok {
        Ok(())
    } else {
        Err(CliError::runtime(format!(
            "{} invariant check(s) failed, the first: {}",
            report.violations.len(),
            report.violations.first().map_or("", String::as_str)
        )))
    }
}

fn render(r: &UdpMeetingReport) -> String {
    let mut s = format!(
        "meeting over UDP: {} participants in all ({} joined and {} left during it), {:.1} s wall\n",
        r.participants.len(),
        r.churn_joins,
        r.churn_leaves,
        r.wall_seconds
    );
    for p in &r.participants {
        s.push_str(&format!(
            "  {:>4} leaf {:>2}: sent {:>5}, decrypted {:>6}, lost {:>3}, dropped {:>4} (before joining {}), rollover drops {}, epochs {:?}\n",
            p.name,
            p.leaf.map_or("-".to_owned(), |l| l.to_string()),
            p.audio_sent + p.video_sent,
            p.decrypted,
            p.lost,
            p.dropped.values().sum::<u64>(),
            p.before_join,
            p.rollover_drops,
            p.epochs
        ));
    }
    let sfu = &r.sfu;
    s.push_str(&format!(
        "SFU: {} RTP packets in, {} forwarded, plaintext seen in {}; {} commits ({} joins, {} removals)\n",
        sfu.rtp_in, sfu.rtp_forwarded, sfu.plaintext_seen, sfu.delivery.commits, sfu.delivery.joins, sfu.delivery.removals
    ));
    s.push_str(&format!(
        "SRTP keys per leg: {} pairs of legs compared on the wire, {} with the same ciphertext\n",
        r.srtp_legs.compared, r.srtp_legs.same_ciphertext
    ));
    if let (Some(f), Some(i)) = (
        r.sfu_cpu_us_per_forwarded_packet,
        r.sfu_cpu_us_per_received_packet,
    ) {
        s.push_str(&format!(
            "SFU CPU: {f:.2} us per forwarded packet, {i:.2} us per received packet\n"
        ));
    }
    if r.ok {
        s.push_str("all invariants held");
    } else {
        s.push_str(&format!("invariants failed: {}", r.violations.join("; ")));
    }
    s
}
