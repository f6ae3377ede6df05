//! `sframe join`: one participant of an SFU run by `sframe sfu`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use sframe_webrtc::clip::MediaClip;
use sframe_webrtc::{
    KeyDelegate, MediaFormat, ParticipantConfig, ParticipantReport, Progress, run_participant,
};

use crate::error::CliError;

const LONG_ABOUT: &str = "\
Join an SFU (`sframe sfu`) as a participant over real WebRTC.

It sends an SDP offer to the SFU, connects (ICE, DTLS-SRTP), joins the MLS group through the
SFU's delivery service on a data channel, then sends synthetic SFrame audio (50 frames/s) and
video (30 frames/s) encrypted from its keyring, decrypts everyone else's, leaves after
--duration seconds, and prints a report: frames sent, decrypted, lost and dropped by cause, the
epochs it went through and the security code of each (compare them between terminals).

With browsers in the meeting (the SFU's page), every participant uses --codec-packetized: SFrame
frames packetized as VP8 and Opus, as a browser's encoded transform sends them. --video and
--audio then send real media a browser can decode (a VP8 IVF file and an Ogg Opus file, looped).
--lend-keys ADDR makes this member lend its keys to one browser page: it serves them on
http://ADDR/keys, prints the page's URL, and sends no media itself (the page sends as its leaf).";

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

    /// Packetize as VP8 and Opus (what browsers send) instead of the SFrame RTP payload format
    #[arg(long)]
    codec_packetized: bool,

    /// Send this VP8 IVF file (looped) as video; needs --audio and --codec-packetized
    #[arg(long, value_name = "FILE", requires_all = ["audio", "codec_packetized"])]
    video: Option<std::path::PathBuf>,

    /// Send this Ogg Opus file (looped) as audio; needs --video and --codec-packetized
    #[arg(long, value_name = "FILE", requires_all = ["video", "codec_packetized"])]
    audio: Option<std::path::PathBuf>,

    /// Lend this member's keys to a browser page, served on http://ADDR/keys (loopback)
    #[arg(long, value_name = "ADDR", requires = "codec_packetized")]
    lend_keys: Option<std::net::SocketAddr>,
}

pub fn run(args: &JoinArgs) -> Result<(), CliError> {
    if !(args.duration.is_finite() && (0.0..=86_400.0).contains(&args.duration)) {
        return Err(CliError::usage("--duration must be 0 to 86400 seconds"));
    }
    let mut config = ParticipantConfig::new(
        &args.sfu,
        &args.name,
        Duration::from_secs_f64(args.duration),
    );
    if args.codec_packetized {
        config.format = MediaFormat::CodecPacketized;
    }
    if let (Some(video), Some(audio)) = (&args.video, &args.audio) {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| CliError::usage(format!("{}: {e}", p.display())))
        };
        let clip = MediaClip::from_files(&read(video)?, &read(audio)?)
            .map_err(|e| CliError::usage(format!("--video/--audio: {e}")))?;
        config.clip = Some(Arc::new(clip));
    }
    if let Some(addr) = args.lend_keys {
        if !addr.ip().is_loopback() {
            return Err(CliError::usage("--lend-keys must be a loopback address"));
        }
        let origin = args.sfu.trim_end_matches('/').to_owned();
        let delegate = KeyDelegate::start(addr, Some(origin)).map_err(chain)?;
        let _ = writeln!(
            std::io::stderr(),
            "lending keys: open {}/?keys={} in Chromium",
            args.sfu.trim_end_matches('/'),
            delegate.url()
        );
        config.delegate = Some(Arc::new(delegate));
    }
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
    if r.vp8_key_frames > 0 {
        s.push_str(&format!(
            "\nVP8 key frames decrypted: {} ({} without the start code)",
            r.vp8_key_frames, r.vp8_key_frames_without_start_code
        ));
    }
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
