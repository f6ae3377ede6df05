//! `sframe bench`: a quick interleaved comparison of our SFrame against the raw AEAD of each
//! backend and the crates.io `sframe` crate, in ns per frame and as ratios.

use std::time::Duration;

use clap::Args;
use sframe_benches::SIZES;
use sframe_benches::quick::{Budget, compare, json, rows, table};
use sframe_benches::send_path::compare_send;
use sframe_benches::sfu::sfu_forwarding;
use sframe_benches::srtp::{SRTP_SIZES, compare_srtp, srtp_json, srtp_table};
use sframe_core::CipherSuite;
use sframe_rtp::SrtpProfile;

use crate::args::parse_suite;
use crate::error::CliError;

/// Arguments of `sframe bench`.
#[derive(Debug, Args)]
#[command(
    about = "Time encrypt and decrypt per frame against the raw AEAD and the crates.io `sframe` crate",
    long_about = "Time encrypt and decrypt per frame, interleaved, against the raw AEAD of each \
        backend (the floor) and the crates.io `sframe` crate (GCM suites, ring backend).\n\n\
        `ours` is sframe-core encrypting and decrypting in place; `aead` is the backend's AEAD \
        with its key expanded once, on the same bytes. Ratios: ours/aead (1.00 = no overhead \
        over the AEAD) and peer/ours (how many times faster we are). Noisy machines: trust \
        ratios from one run, not absolute numbers across runs.",
    after_help = "Examples:\n  sframe bench                       # every suite, sizes 32 B to 100 KB (about 40 s)\n  \
        sframe bench --suite 4 --size 160  # one cell\n  sframe bench --json > bench.json\n  \
        sframe bench --srtp --json         # SRTP and the SFU (about half a minute)"
)]
pub struct BenchArgs {
    /// Only these suites (repeatable; id, 0x id or name). Default: all eight.
    #[arg(long = "suite", value_parser = parse_suite)]
    suites: Vec<CipherSuite>,
    /// Only these frame sizes in bytes (repeatable). Default: 32, 160, 1200, 10000, 100000.
    #[arg(long = "size")]
    sizes: Vec<usize>,
    /// Measured rounds per cell (the median is reported).
    #[arg(long, default_value_t = 15)]
    rounds: usize,
    /// Milliseconds per contender per round.
    #[arg(long, default_value_t = 3)]
    round_ms: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// SRTP instead of SFrame: protect and unprotect per profile (160 and 1200 B payloads, or
    /// --size) against the raw primitives, webrtc-srtp and libsrtp2, and an SFU forwarding one
    /// AEAD_AES_128_GCM stream of 1200-byte packets to ten receivers on each SRTP, and the send
    /// path (frame -> SFrame -> packetize -> SRTP) per packet against its two AEAD seals.
    #[arg(long)]
    srtp: bool,
}

/// Runs the comparison and prints it.
pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    if args.rounds == 0 || args.round_ms == 0 {
        return Err(CliError::usage(
            "--rounds and --round-ms must be at least 1",
        ));
    }
    if args.sizes.contains(&0) {
        return Err(CliError::usage("--size must be at least 1 byte"));
    }
    if args.srtp {
        return run_srtp(args);
    }
    let suites = if args.suites.is_empty() {
        CipherSuite::ALL.to_vec()
    } else {
        args.suites.clone()
    };
    let sizes = if args.sizes.is_empty() {
        SIZES.to_vec()
    } else {
        args.sizes.clone()
    };
    let budget = Budget {
        rounds: args.rounds,
        round: Duration::from_millis(args.round_ms),
    };
    let mut results = Vec::new();
    for &suite in &suites {
        for &size in &sizes {
            results.extend(compare(suite, size, budget));
        }
    }
    let rows = rows(&results);
    if args.json {
        println!("{}", json(&rows, budget));
    } else {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// `sframe bench --srtp`: SRTP per profile and size, the SFU forwarding and the send path.
fn run_srtp(args: &BenchArgs) -> Result<(), CliError> {
    let sizes = if args.sizes.is_empty() {
        SRTP_SIZES.to_vec()
    } else {
        args.sizes.clone()
    };
    let budget = Budget {
        rounds: args.rounds,
        round: Duration::from_millis(args.round_ms),
    };
    let mut rows = Vec::new();
    for profile in SrtpProfile::ALL {
        for &size in &sizes {
            rows.extend(compare_srtp(profile, size, budget));
        }
    }
    let sfu = sfu_forwarding(budget);
    let send = compare_send(budget);
    if args.json {
        println!("{}", srtp_json(&rows, &sfu, &send, budget));
    } else {
        print!("{}", srtp_table(&rows, &sfu, &send));
    }
    Ok(())
}
