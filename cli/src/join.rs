//! `sframe join`: one participant of an SFU run by `sframe sfu`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use sframe_webrtc::{ParticipantConfig, ParticipantReport, Progress, run_participant};

use crate::error::CliError;

const LONG_ABOUT: &str = "\
Join an SFU (`sframe sfu`) as a participant over real WebRTC.

It sends an SDP offer to the SFU, connects (ICE, DTLS-SRTP), joins the MLS group through the
SFU's delivery service on a data channel, then sends synthetic SFrame audio (50 frames/s) and
video (30 frames/s) encrypted from its keyring, decrypts everyone else's, leaves after
--duration seconds, and prints a report: frames sent, decrypted, lost and dropped by cause, the
epochs it went through and the security code of each (compare them between terminals).";

/// Arguments of `sframe join`.
#[derive(Debug, Args)]
#[command(about = "Join an SFU as a participant (real WebRTC, MLS, SFrame audio and video)",
          long_about = LONG_ABOUT)]
pub struct JoinArgs {
    /// The SFU's base URL
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    sfu: String,

    /// Name (the MLS identity)
    #[arg(long, default_value = "participant")]
    name: String,

    /// Seconds in the group before leaving
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    duration: f64,

    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: &JoinArgs) -> Result<(), CliError> {
    if !(args.duration.is_finite() && (0.0..=86_400.0).contains(&args.duration)) {
        return Err(CliError::usage("--duration must be 0 to 86400 seconds"));
    }
    let config = ParticipantConfig::new(
        &args.sfu,
        &args.name,
        Duration::from_secs_f64(args.duration),
    );
    let report = run_participant(&config, &Arc::new(Progress::default())).map_err(chain)?;
    let text = if args.json {
        serde_json::to_string_pretty(&report).map_err(CliError::runtime)?
    } else {
        render(&report)
    };
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
}

/// The error and its causes on one line.
fn chain(e: sframe_webrtc::WebrtcError) -> CliError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    CliError::runtime(text)
}

fn render(r: &ParticipantReport) -> String {
    let mut s = format!(
        "{} (leaf {}): sent {} audio + {} video frames; decrypted {} frames of others",
        r.name,
        r.leaf.map_or("-".to_owned(), |l| l.to_string()),
        r.audio_sent,
        r.video_sent,
        r.decrypted
    );
    for (ssrc, n) in &r.decrypted_by_ssrc {
        s.push_str(&format!("\n  from SSRC {ssrc:08x}: {n}"));
    }
    s.push_str(&format!(
        "\nlost {}; dropped {} ({} sent before it joined, {} lost to key rollover){}",
        r.lost,
        r.dropped.values().sum::<u64>(),
        r.before_join,
        r.rollover_drops,
        if r.dropped.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                r.dropped
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    for (epoch, code) in &r.security_codes {
        s.push_str(&format!("\nepoch {epoch}: security code {code}"));
    }
    s.push_str(if r.removed {
        "\nleft the group (removed by a commit)"
    } else {
        "\nleft without a removal commit (the last member, or the SFU was gone)"
    });
    s
}
