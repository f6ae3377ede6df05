//! A quick interleaved comparison (for `sframe bench`): every contender of a suite and size is
//! timed in turn, round after round, so that the machine's noise hits them alike; the result
//! per contender is the median over rounds of the mean time per frame in a round.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sframe_core::CipherSuite;

use crate::contenders;

/// One measurement: a contender's median time per frame for one operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub suite: CipherSuite,
    pub size: usize,
    /// `encrypt` or `decrypt`.
    pub op: &'static str,
    /// e.g. `ours/aws-lc-rs`.
    pub contender: String,
    pub ns_per_frame: f64,
}

/// How long to spend: `rounds` rounds of about `round` each, per contender, suite, size and op.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub rounds: usize,
    pub round: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            rounds: 9,
            round: Duration::from_millis(2),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Frames per timed batch: enough to dwarf the clock's resolution, few enough to stay in cache.
fn batch_len(size: usize) -> usize {
    (256 * 1024 / size.max(1)).clamp(4, 256)
}

/// Measures every contender for `suite` at `size`, both operations, interleaved.
pub fn compare(suite: CipherSuite, size: usize, budget: Budget) -> Vec<Measurement> {
    let mut all = contenders(suite, size);
    let batch = batch_len(size);
    // Per contender: a pool of frames to decrypt, refilled (untimed) before each batch.
    let sources: Vec<Vec<u8>> = all.iter_mut().map(|c| c.prepare_decrypt()).collect();
    let mut pools: Vec<Vec<Vec<u8>>> = sources.iter().map(|f| vec![f.clone(); batch]).collect();
    let mut enc: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    let mut dec: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    // Warm-up round, then measured rounds.
    for round in 0..=budget.rounds {
        for (i, c) in all.iter_mut().enumerate() {
            let (mut frames, start) = (0usize, Instant::now());
            while start.elapsed() < budget.round {
                for _ in 0..batch {
                    c.encrypt();
                }
                frames += batch;
            }
            let enc_ns = start.elapsed().as_nanos() as f64 / frames as f64;

            let (mut frames, mut spent) = (0usize, Duration::ZERO);
            while spent < budget.round {
                if let (Some(pool), Some(source)) = (pools.get_mut(i), sources.get(i)) {
                    for f in pool.iter_mut() {
                        f.copy_from_slice(source);
                    }
                    let start = Instant::now();
                    for f in pool.iter_mut() {
                        c.decrypt(f);
                    }
                    spent += start.elapsed();
                }
                frames += batch;
            }
            let dec_ns = spent.as_nanos() as f64 / frames as f64;
            if round > 0 {
                if let Some(v) = enc.get_mut(i) {
                    v.push(enc_ns);
                }
                if let Some(v) = dec.get_mut(i) {
                    v.push(dec_ns);
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((c, e), d) in all.iter().zip(enc).zip(dec) {
        for (op, times) in [("encrypt", e), ("decrypt", d)] {
            out.push(Measurement {
                suite,
                size,
                op,
                contender: c.name(),
                ns_per_frame: median(times),
            });
        }
    }
    out
}

/// One line of the table: a suite, size and operation, every contender's time, and ratios.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub suite: CipherSuite,
    pub size: usize,
    /// `encrypt` or `decrypt`.
    pub op: &'static str,
    /// ns per frame, by contender (e.g. `ours/aws-lc-rs`).
    pub ns: BTreeMap<String, f64>,
}

impl Row {
    /// A contender's time.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.ns.get(name).copied()
    }

    /// ours/aead on the same backend.
    pub fn overhead(&self, backend: &str) -> Option<f64> {
        Some(self.get(&format!("ours/{backend}"))? / self.get(&format!("aead/{backend}"))?)
    }

    /// peer time / our fastest time: how many times faster we are.
    pub fn speedup(&self) -> Option<f64> {
        let ours = self
            .get("ours/aws-lc-rs")
            .into_iter()
            .chain(self.get("ours/rustcrypto"))
            .fold(f64::INFINITY, f64::min);
        Some(self.get("peer/ring")? / ours)
    }
}

/// `sframe bench --json`: one object with every row, its times and its ratios.
pub fn json(rows: &[Row], budget: Budget) -> serde_json::Value {
    serde_json::json!({
        "unit": "ns_per_frame",
        "rounds": budget.rounds,
        "round_ms": budget.round.as_millis() as u64,
        "rows": rows.iter().map(|row| serde_json::json!({
            "suite": row.suite.name(),
            "suite_id": row.suite.id(),
            "size": row.size,
            "op": row.op,
            "ns": row.ns,
            "ours_over_aead_aws_lc_rs": row.overhead("aws-lc-rs"),
            "ours_over_aead_rustcrypto": row.overhead("rustcrypto"),
            "peer_over_ours": row.speedup(),
        })).collect::<Vec<_>>(),
    })
}

/// The measurements grouped by suite, size and operation, in order of first appearance.
pub fn rows(results: &[Measurement]) -> Vec<Row> {
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

/// The rows as a text table, with a line on the units.
pub fn table(rows: &[Row]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
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
        let _ = writeln!(
            o,
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
    let _ = writeln!(
        o,
        "times in ns per frame (median of rounds); ours/aead: overhead over the raw AEAD; peer/ours: times faster than crates.io sframe"
    );
    o
}

#[cfg(test)]
mod table_tests {
    use super::*;

    fn m(op: &'static str, contender: &str, ns: f64) -> Measurement {
        Measurement {
            suite: CipherSuite::Aes128GcmSha256_128,
            size: 160,
            op,
            contender: contender.to_owned(),
            ns_per_frame: ns,
        }
    }

    #[test]
    fn rows_group_by_operation_and_give_the_ratios() {
        let rows = rows(&[
            m("encrypt", "ours/aws-lc-rs", 150.0),
            m("encrypt", "aead/aws-lc-rs", 100.0),
            m("decrypt", "ours/aws-lc-rs", 200.0),
            m("encrypt", "peer/ring", 600.0),
            m("encrypt", "ours/rustcrypto", 300.0),
        ]);
        assert_eq!(rows.len(), 2);
        let enc = &rows[0];
        assert_eq!((enc.op, enc.ns.len()), ("encrypt", 4));
        assert_eq!(enc.overhead("aws-lc-rs"), Some(1.5));
        assert_eq!(enc.overhead("rustcrypto"), None, "no raw AEAD time");
        assert_eq!(enc.speedup(), Some(4.0), "against our fastest");
        assert_eq!(rows[1].speedup(), None);
        let text = table(&rows);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.contains("1.50x") && text.contains("4.00x"), "{text}");
    }
}
