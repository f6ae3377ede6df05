//! `sframe bench`: a quick interleaved comparison of our SFrame against the raw AEAD of each
//! backend and the crates.io `sframe` crate, in ns per frame and as ratios.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use sframe_benches::SIZES;
use sframe_benches::quick::{Budget, Measurement, compare};
use sframe_core::CipherSuite;

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
        sframe bench --suite 4 --size 160  # one cell\n  sframe bench --json > bench.json"
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
