//! `sframe meeting`: a whole end-to-end encrypted meeting in one process, on a simulated
//! network and clock. The arguments become a `sframe_sim::Config`, the simulator (`sframe-sim`)
//! runs the meeting and checks it against its own ledger, and the report is printed as text or
//! JSON.

use std::io::IsTerminal;
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sframe_core::CipherSuite;
use sframe_rtp::{ForwardingConfig, Mode};
use sframe_sim::{Config, LinkConfig, MAX_GROUP, Meeting, Report};

use crate::args::parse_suite;
use crate::error::CliError;

const LONG_ABOUT: &str = "\
Run a whole end-to-end encrypted meeting in one process, on a simulated network and clock.

The first participant creates an MLS group (openmls) and leads it: it admits everyone else and
batches later joins and leaves into commits (at most every 2 s, or 10 ms per member in a big
group). Commits and Welcomes reach each member after its own delay. Every participant sends
audio (50 frames/s, with its RFC 6464 level) and video (30 frames/s) through SFrame, keyed from
the MLS epoch by its keyring (RFC 9605 section 5.2), then RTP and SRTP to an SFU that holds
no media key, which re-protects each packet per leg and forwards it: to everyone, or (above 100
participants, or with --audio-top-k / --video-last-n) the audio of the loudest speakers and the
video of the last speakers, whole frames only. Each link loses, delays and reorders packets. A
removed participant keeps its keys and stays connected for 2 s, as an eavesdropper would.

At the end a report gives, per participant, the frames sent, decrypted, lost in the network and
dropped (by cause), the epochs and sender rollovers, the final epoch's security code, what the
SFU saw, and the throughput of the crypto path. The invariants are checked against the
simulation's own ledger of what was sent to whom and when: no key-rollover drop, no removed
member decrypts a frame sent after its removal took effect, no member decrypts a frame sent
before it joined, every frame is accounted for, and all members show the same security code.

--seed fixes the network, the schedule and every count; MLS key material is fresh randomness
on every run, so the security code and the timings change.";

const EXAMPLES: &str = "\
Examples:
  sframe meeting                                   # 10 people, 20 s, a few joins and leaves
  sframe meeting --participants 20 --duration 30 --churn 30 --loss 5
  sframe meeting --mode per-packet --suite AES_256_GCM_SHA512_128
  sframe meeting --json | jq .totals

Exit status: 0 if every invariant held; 1 if one failed (the report says which) or the
simulation could not run; 2 for bad arguments.";

/// How media is put into SFrame frames.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    /// One SFrame frame per media frame, split over RTP packets
    PerFrame,
    /// The codec payloader first (VP8, Opus), then one SFrame frame per RTP packet
    PerPacket,
}

/// Where the meeting runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TransportArg {
    /// The simulated network and clock (seeded, faster than real time)
    Sim,
    /// Real WebRTC (str0m: ICE, DTLS-SRTP) over UDP on loopback, in real time, with an SFU
    /// server and participants on threads
    Udp,
}

/// Arguments of `sframe meeting`.
#[derive(Debug, Args)]
#[command(
    about = "Run a whole end-to-end encrypted meeting (MLS + SFrame + RTP/SRTP + SFU) on a simulated network",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
pub struct MeetingArgs {
    /// Participants at the start, the leader included (2 to 2000)
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(2..=i64::from(MAX_GROUP)))]
    participants: u32,

    /// The SFU forwards the audio of this many loudest speakers [default: all up to 100
    /// participants, else 3]
    #[arg(long, value_name = "K")]
    audio_top_k: Option<usize>,

    /// The SFU forwards the video of the last this many speakers [default: all up to 100
    /// participants, else 6]
    #[arg(long, value_name = "N")]
    video_last_n: Option<usize>,

    /// Senders leave out audio frames of silence, sending one per 400 ms (Opus DTX)
    /// [default: off up to 100 participants, else on]
    #[arg(long, value_name = "BOOL")]
    dtx: Option<bool>,

    /// Simulated seconds of media (then 3 s for the last packets and commits)
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0,
          value_parser = bounded(0.5, 600.0, "seconds"))]
    duration: f64,

    /// Join and leave requests per simulated minute, about half each
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 20.0,
          long_help = "Join and leave requests per simulated minute, about half each, at random \
              times from 0.5 s until 2.5 s before the end. The leader commits what is pending \
              at most every 2 s, so several can land in one commit.",
          value_parser = bounded(0.0, 600.0, "requests per minute"))]
    churn: f64,

    /// Packets lost on every link (sender to SFU, SFU to receiver), in percent
    #[arg(long, value_name = "PERCENT", default_value_t = 2.0,
          value_parser = bounded(0.0, 50.0, "percent"))]
    loss: f64,

    /// Packets held back 5-40 ms on every link (so later ones overtake them), in percent
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0,
          value_parser = bounded(0.0, 50.0, "percent"))]
    reorder: f64,

    /// Extra delay of each packet, up to this many ms, on top of the 20 ms of every link
    #[arg(long, value_name = "MS", default_value_t = 5.0,
          value_parser = bounded(0.0, 500.0, "milliseconds"))]
    jitter: f64,

    /// SFrame cipher suite: 1..8, 0x0001..0x0008 or a registry name
    #[arg(long, value_name = "SUITE", default_value = "AES_128_GCM_SHA256_128",
          value_parser = parse_suite)]
    suite: CipherSuite,

    /// One SFrame frame per media frame, or per RTP packet
    #[arg(long, value_enum, default_value_t = ModeArg::PerFrame)]
    mode: ModeArg,

    /// Commits and Welcomes reach each member after a delay of up to this many ms
    #[arg(long, value_name = "MS", default_value_t = 300.0,
          value_parser = bounded(0.0, 1500.0, "milliseconds"))]
    commit_delay: f64,

    /// Longest a sender keeps the old epoch after a join, waiting for acknowledgements (ms)
    #[arg(long, value_name = "MS", default_value_t = 500.0,
          long_help = "After a commit that only adds members, a sender keeps encrypting with the \
              old epoch until every member acknowledged the new one, or this many milliseconds \
              at most. After a commit that removes someone, senders switch at once.",
          value_parser = bounded(0.0, 5000.0, "milliseconds"))]
    grace: f64,

    /// Seed of the simulated network and schedule
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = crate::args::parse_u64,
          allow_negative_numbers = true)]
    seed: u64,

    /// Print the report as one JSON object on stdout (and no progress bar)
    #[arg(long)]
    json: bool,

    /// Where the meeting runs. `udp` uses --participants (up to 16), --duration and --churn;
    /// the network flags, --suite, --mode, --commit-delay, --grace and --seed are the
    /// simulator's
    #[arg(long, value_enum, default_value_t = TransportArg::Sim)]
    transport: TransportArg,
}

/// A clap parser for a number in `[low, high]`.
fn bounded(
    low: f64,
    high: f64,
    unit: &'static str,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let v: f64 = s
            .parse()
            .map_err(|_| format!("not a number (expected {low} to {high} {unit})"))?;
        if v.is_finite() && (low..=high).contains(&v) {
            Ok(v)
        } else {
            Err(format!("out of range (expected {low} to {high} {unit})"))
        }
    }
}

fn us(ms: f64) -> u64 {
    (ms * 1000.0).round() as u64
}

/// The simulator's configuration from the arguments.
fn config(args: &MeetingArgs) -> Config {
    let auto = Config::default_forwarding(args.participants);
    Config {
        participants: args.participants,
        duration_us: us(args.duration * 1000.0),
        churn_per_minute: args.churn,
        // Every link: 20 ms, no duplication, packets held back 5-40 ms.
        link: LinkConfig {
            loss: args.loss / 100.0,
            reorder: args.reorder / 100.0,
            jitter_us: us(args.jitter),
            ..Config::default().link
        },
        suite: args.suite,
        mode: match args.mode {
            ModeArg::PerFrame => Mode::PerFrame,
            ModeArg::PerPacket => Mode::PerPacket,
        },
        commit_delay_us: us(args.commit_delay),
        grace_us: us(args.grace),
        seed: args.seed,
        forwarding: ForwardingConfig {
            audio_top_k: args.audio_top_k.or(auto.audio_top_k),
            video_last_n: args.video_last_n.or(auto.video_last_n),
            ..auto
        },
        dtx: args.dtx.unwrap_or(Config::default_dtx(args.participants)),
    }
}

/// Runs the meeting, prints the report, and fails if an invariant did.
pub fn run(args: &MeetingArgs) -> Result<(), CliError> {
    if args.transport == TransportArg::Udp {
        return crate::udp_meeting::run(args.participants, args.duration, args.churn, args.json);
    }
    let started = Instant::now();
    let mut meeting = Meeting::new(config(args)).map_err(CliError::runtime)?;
    let bar = progress_bar(args.json, meeting.total_us());
    let result = meeting.run(&mut |p| {
        bar.set_position(p.now_us / 1000);
        bar.set_message(format!("epoch {}, {} members", p.epoch, p.members));
    });
    bar.finish_and_clear();
    result.map_err(|e| CliError::runtime(format!("the simulation failed: {e}")))?;
    let report = Report::new(&meeting, started.elapsed().as_secs_f64());
    if args.json {
        let json = serde_json::to_string(&report).map_err(CliError::runtime)?;
        println!("{json}");
    } else {
        print!("{}", report.render());
    }
    if report.ok {
        Ok(())
    } else {
        Err(CliError::runtime(format!(
            "{} invariant check(s) failed, the first: {}",
            report.violation_count,
            report.violations.first().map_or("", String::as_str)
        )))
    }
}

/// A progress bar in simulated milliseconds on stderr, hidden when stderr is not a terminal
/// or the output is JSON.
fn progress_bar(json: bool, total_us: u64) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total_us / 1000), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {pos:>6}/{len} ms simulated [{bar:24}] {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
