//! `sframe sfu`: the SFU server of `sframe-webrtc` on loopback, until stopped.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Args;
use sframe_webrtc::{SfuConfig, SfuServer, SfuStats};

use crate::error::CliError;

const LONG_ABOUT: &str = "\
Run an SFU for SFrame over real WebRTC (str0m: ICE, DTLS-SRTP) on loopback.

Participants (`sframe join`) POST an SDP offer to http://ADDR/whip (WHIP style) and get the
answer and their resource URL; DELETE leaves. Media goes over UDP on the same address. The SFU
forwards every media packet to every other member of the group without any SFrame key, and is
the MLS delivery service: it orders commits, relays key packages, Welcomes (with the ratchet
tree it keeps) and acknowledgements, picks the committer and batches joins and leaves. A
participant silent for 5 s is removed with a commit.

It also serves the meeting page at http://ADDR/ for Chromium (--wasm gives it the module it
runs): the page joins with the camera and microphone, encrypting in the browser, with the keys
a native member lends it (`sframe join --lend-keys`; open the URL that command prints).

It prints a line each time the group changes, and its counters when it stops (--duration, or
Ctrl-C ends it at once).";

/// Arguments of `sframe sfu`.
#[derive(Debug, Args)]
#[command(about = "Run an SFU (real WebRTC over UDP, WHIP-style signaling, MLS delivery service)",
          long_about = LONG_ABOUT)]
pub struct SfuArgs {
    /// The signaling (HTTP) and media (UDP) address; loopback only
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Stop after this many seconds and print the counters (default: run until killed)
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,

    /// Print the final counters as JSON on stdout (the group changes then go to stderr)
    #[arg(long)]
    json: bool,

    /// The WebAssembly module the meeting page runs (build it with `cargo build --release -p
    /// sframe-wasm --target wasm32-unknown-unknown`)
    #[arg(long, value_name = "FILE")]
    wasm: Option<std::path::PathBuf>,
}

pub fn run(args: &SfuArgs) -> Result<(), CliError> {
    if !args.listen.ip().is_loopback() {
        return Err(CliError::usage("--listen must be a loopback address"));
    }
    let mut config = SfuConfig::new(args.listen);
    if let Some(wasm) = &args.wasm {
        if !wasm.is_file() {
            return Err(CliError::usage("--wasm: no such file"));
        }
        config.wasm = Some(wasm.clone());
    }
    let sfu = SfuServer::start(config).map_err(CliError::runtime)?;
    // With --json, stdout carries only the JSON; the running commentary goes to stderr.
    let mut out: Box<dyn Write> = if args.json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let _ = writeln!(
        out,
        "SFU: signaling {}/whip, media udp {}, meeting page {}/",
        sfu.url(),
        sfu.udp_addr(),
        sfu.url()
    );
    let end = args
        .duration
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| Instant::now() + Duration::from_secs_f64(d));
    let mut last = None;
    while end.is_none_or(|e| Instant::now() < e) {
        std::thread::sleep(Duration::from_millis(100));
        let stats = sfu.stats();
        let now = (stats.delivery.epoch, stats.members.clone());
        if last.as_ref() != Some(&now) {
            let _ = writeln!(out, "{}", group_line(&stats));
            last = Some(now);
        }
    }
    let stats = sfu.stop();
    if args.json {
        let json = serde_json::to_string_pretty(&stats).map_err(CliError::runtime)?;
        let _ = writeln!(std::io::stdout(), "{json}");
    } else {
        let _ = writeln!(out, "{}", summary(&stats));
    }
    Ok(())
}

fn group_line(s: &SfuStats) -> String {
    let members: Vec<String> = s
        .members
        .iter()
        .map(|(name, leaf)| format!("{name} (leaf {leaf})"))
        .collect();
    match s.delivery.epoch {
        None => "group: none".to_owned(),
        Some(e) => format!(
            "group: epoch {e}, {} member(s): {}",
            members.len(),
            members.join(", ")
        ),
    }
}

fn summary(s: &SfuStats) -> String {
    format!(
        "SFU stopped: {} participants joined, {} left, {} timed out; {} commits; {} RTP packets \
         in, {} forwarded, plaintext seen in {}; refused {} datagrams (unparsed {}, STUN {}, \
         DTLS {}, RTP {}), {} malformed MLS messages, {} refused by the delivery service",
        s.peers_added,
        s.peers_left,
        s.peers_timed_out,
        s.delivery.commits,
        s.rtp_in,
        s.rtp_forwarded,
        s.plaintext_seen,
        s.refused_unparsed + s.refused_stun + s.refused_dtls + s.refused_rtp,
        s.refused_unparsed,
        s.refused_stun,
        s.refused_dtls,
        s.refused_rtp,
        s.mls_malformed,
        s.mls_refused
    )
}
