//! `sframe bench`: a quick interleaved comparison of our SFrame against the raw AEAD of each
//! backend and the crates.io `sframe` crate, in ns per frame and as ratios.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use sframe_benches::SIZES;
use sframe_benches::quick::{Budget, Measurement, compare};
use sframe_benches::srtp::{SRTP_SIZES, compare_srtp, sfu_forwarding};
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
    /// AEAD_AES_128_GCM stream of 1200-byte packets to ten receivers on each SRTP.
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
        let json = serde_json::json!({
            "unit": "ns_per_frame",
            "rounds": args.rounds,
            "round_ms": args.round_ms,
            "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        });
        println!("{json}");
    } else {
        print_table(&rows);
    }
    Ok(())
}

/// `sframe bench --srtp`.
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
    let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
    if args.json {
        let json = serde_json::json!({
            "unit": "ns_per_packet",
            "rounds": args.rounds,
            "round_ms": args.round_ms,
            "srtp": rows.iter().map(|r| serde_json::json!({
                "profile": r.profile.name(),
                "size": r.size,
                "op": r.op,
                "ns_ours": r.ns_ours,
                "ns_floor": r.ns_floor,
                "ns_webrtc_srtp": r.ns_webrtc_srtp,
                "ns_libsrtp2": r.ns_libsrtp2,
                "ours_over_floor": ratio(r.ns_ours, r.ns_floor),
                "webrtc_srtp_over_ours": ratio(r.ns_webrtc_srtp, r.ns_ours),
                "libsrtp2_over_ours": ratio(r.ns_libsrtp2, r.ns_ours),
            })).collect::<Vec<_>>(),
            "sfu": {
                "receivers": 10,
                "profile": SrtpProfile::AeadAes128Gcm.name(),
                "packet_bytes": 1200,
                "pps_ours": sfu.pps_ours,
                "pps_webrtc_srtp": sfu.pps_webrtc_srtp,
                "ours_over_webrtc_srtp": ratio(sfu.pps_ours, sfu.pps_webrtc_srtp),
            },
        });
        println!("{json}");
        return Ok(());
    }
    println!(
        "{:<28} {:>5} {:>9} | {:>8} {:>8} {:>8} {:>8} | {:>10} {:>10} {:>10}",
        "profile",
        "size",
        "op",
        "ours",
        "floor",
        "webrtc",
        "libsrtp2",
        "ours/floor",
        "webrtc/ours",
        "libsrtp/ours"
    );
    for r in &rows {
        println!(
            "{:<28} {:>5} {:>9} | {:>8.0} {:>8.0} {:>8.0} {:>8.0} | {:>10} {:>10} {:>10}",
            r.profile.name(),
            r.size,
            r.op,
            r.ns_ours,
            r.ns_floor,
            r.ns_webrtc_srtp,
            r.ns_libsrtp2,
            cell(ratio(r.ns_ours, r.ns_floor), true),
            cell(ratio(r.ns_webrtc_srtp, r.ns_ours), true),
            cell(ratio(r.ns_libsrtp2, r.ns_ours), true),
        );
    }
    println!("times in ns per packet (median of rounds), payload bytes plus a 12-byte header");
    println!(
        "SFU, one AEAD_AES_128_GCM stream of 1200 B to 10 receivers: {:.0} forwarded packets/s on ours, {:.0} on webrtc-srtp ({})",
        sfu.pps_ours,
        sfu.pps_webrtc_srtp,
        cell(ratio(sfu.pps_ours, sfu.pps_webrtc_srtp), true)
    );
    Ok(())
}

/// One line of the table: a suite, size and operation, every contender's time, and ratios.
struct Row {
    suite: CipherSuite,
    size: usize,
    op: &'static str,
    ns: BTreeMap<String, f64>,
}

impl Row {
    fn get(&self, name: &str) -> Option<f64> {
        self.ns.get(name).copied()
    }

    /// ours/aead on the same backend.
    fn overhead(&self, backend: &str) -> Option<f64> {
        Some(self.get(&format!("ours/{backend}"))? / self.get(&format!("aead/{backend}"))?)
    }

    /// peer time / our fastest time: how many times faster we are.
    fn speedup(&self) -> Option<f64> {
        let ours = self
            .get("ours/aws-lc-rs")
            .into_iter()
            .chain(self.get("ours/rustcrypto"))
            .fold(f64::INFINITY, f64::min);
        Some(self.get("peer/ring")? / ours)
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "suite": self.suite.name(),
            "suite_id": self.suite.id(),
            "size": self.size,
            "op": self.op,
            "ns": self.ns,
            "ours_over_aead_aws_lc_rs": self.overhead("aws-lc-rs"),
            "ours_over_aead_rustcrypto": self.overhead("rustcrypto"),
            "peer_over_ours": self.speedup(),
        })
    }
}

fn rows(results: &[Measurement]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for m in results {
        let same = |r: &&mut Row| r.suite == m.suite && r.size == m.size && r.op == m.op;
        match rows.iter_mut().find(|r| same(r)) {
            Some(row) => {
                row.ns.insert(m.contender.clone(), m.ns_per_frame);
            }
            None => rows.push(Row {
                suite: m.suite,
                size: m.size,
                op: m.op,
                ns: BTreeMap::from([(m.contender.clone(), m.ns_per_frame)]),
            }),
        }
    }
    rows
}

fn cell(v: Option<f64>, ratio: bool) -> String {
    match v {
        Some(v) if ratio => format!("{v:.2}x"),
        Some(v) => format!("{v:.0}"),
        None => "-".to_owned(),
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<28} {:>7} {:>7} | {:>9} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "suite",
        "size",
        "op",
        "ours/awslc",
        "aead/awslc",
        "ours/rc",
        "aead/rc",
        "peer/ring",
        "ours/aead",
        "(rc)",
        "peer/ours"
    );
    for r in rows {
        println!(
            "{:<28} {:>7} {:>7} | {:>9} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
            r.suite.name(),
            r.size,
            r.op,
            cell(r.get("ours/aws-lc-rs"), false),
            cell(r.get("aead/aws-lc-rs"), false),
            cell(r.get("ours/rustcrypto"), false),
            cell(r.get("aead/rustcrypto"), false),
            cell(r.get("peer/ring"), false),
            cell(r.overhead("aws-lc-rs"), true),
            cell(r.overhead("rustcrypto"), true),
            cell(r.speedup(), true),
        );
    }
    println!(
        "times in ns per frame (median of rounds); ours/aead: overhead over the raw AEAD; peer/ours: times faster than crates.io sframe"
    );
}
