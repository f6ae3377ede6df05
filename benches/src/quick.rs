//! A quick interleaved comparison (for `sframe bench`): every contender of a suite and size is
//! timed in turn, round after round, so that the machine's noise hits them alike; the result
//! per contender is the median over rounds of the mean time per frame in a round.

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
