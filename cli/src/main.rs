//! `sframe`: encrypt, decrypt and inspect SFrame (RFC 9605) frames from the command line, and
//! run a whole simulated end-to-end encrypted meeting (`sframe meeting`).
//!
//! Thin by design: each subcommand module parses its arguments and calls the crates
//! (`sframe_core`; for `meeting`, the simulator `sframe_sim`).
//! Every failure ends as one `error: <cause>` line on stderr (see [`error`]).

#![forbid(unsafe_code)]

mod args;
mod bench;
mod decrypt;
mod encoding;
mod encrypt;
mod error;
mod inspect;
mod join;
mod meeting;
mod sfu;
mod udp_meeting;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  # Round trip of raw bytes through a pipe
  printf 'hello' | sframe encrypt --suite 4 --base-key 000102030405060708090a0b0c0d0e0f --kid 7 --ctr 0 \\
    | sframe decrypt --suite 4 --base-key 000102030405060708090a0b0c0d0e0f --kid 7

  # The RFC 9605 test vector for AES_128_GCM_SHA256_128, in hex
  echo 64726166742d696574662d736672616d652d656e63 | sframe encrypt --hex --suite AES_128_GCM_SHA256_128 \\
    --base-key 000102030405060708090a0b0c0d0e0f --kid 0x123 --ctr 0x4567 --metadata 4945544620534672616d65205747

  # What is in a frame's header
  echo 9901234567449408b6f4 | sframe inspect --hex

  # A whole meeting: MLS group, SFrame, RTP/SRTP and an SFU on a simulated network
  sframe meeting

  # Real WebRTC on loopback: an SFU, then participants in other terminals
  sframe sfu --listen 127.0.0.1:8080
  sframe join --sfu http://127.0.0.1:8080 --name alice --duration 30

Exit status: 0 on success; 1 when the input is rejected (authentication failed, truncated or
malformed frame, KID mismatch, bad hex on stdin, I/O error) or, for `meeting`, when an
invariant failed; 2 for bad arguments.";

/// Encrypt, decrypt and inspect SFrame (RFC 9605) frames; run a simulated encrypted meeting.
#[derive(Debug, Parser)]
#[command(
    name = "sframe",
    version,
    long_about = "Encrypt, decrypt and inspect SFrame (RFC 9605) frames, and run a whole simulated\n\
        end-to-end encrypted meeting.\n\n\
        encrypt, decrypt and inspect handle one frame: the input is read whole from stdin and\n\
        the result written to stdout, as raw bytes or, with --hex, as hex text. meeting runs\n\
        an MLS group sending SFrame media through RTP, SRTP and an SFU, and checks it.",
    after_help = EXAMPLES,
    subcommand_required = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Encrypt(encrypt::EncryptArgs),
    Decrypt(decrypt::DecryptArgs),
    Inspect(inspect::InspectArgs),
    Bench(bench::BenchArgs),
    Meeting(meeting::MeetingArgs),
    Sfu(sfu::SfuArgs),
    Join(join::JoinArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::clap_exit(&e, &Cli::command()),
    };
    let result = match cli.command {
        Command::Encrypt(args) => encrypt::run(&args),
        Command::Decrypt(args) => decrypt::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Meeting(args) => meeting::run(&args),
        Command::Sfu(args) => sfu::run(&args),
        Command::Join(args) => join::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
