//! A budget for frames under new KIDs that fail to authenticate, per incoming stream.
//!
//! The first frame under a KID without a key costs a key check ([`crate::unproven`]): for the
//! AES-256-GCM suite four SHA-512 compressions and the AES key setup, five to six genuine
//! frames' worth at 100 bytes, and no cheaper check exists (the tag depends on the key and the
//! salt). A forger who names a fresh KID per frame would buy that with every frame. So each
//! stream (the SSRC the frame came on, or one shared stream for callers that give none) has a
//! token bucket of checks allowed to *fail*: a failed check takes a token; with none left, a
//! frame under a new KID on that stream is refused at once ([`Error::Throttled`]) until the
//! bucket refills. Checks that succeed take nothing, so a keyring that only sees genuine frames
//! never throttles, however many new KIDs arrive (a thousand senders' first frames after a
//! commit). A forger on one stream slows only that stream's new KIDs, and only while it
//! forges; frames under KIDs that already have a key are never throttled.
//!
//! Memory: at most [`MAX_STREAMS`] buckets of 24 bytes; streams beyond that share one bucket.
//!
//! [`Error::Throttled`]: crate::SframeMlsError::Throttled

use std::collections::HashMap;
use std::time::Duration;

/// How many failed new-KID checks a stream may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreshKidBudget {
    /// Failed checks allowed at once (the bucket's size).
    pub burst: u32,
    /// Failed checks allowed per second after that (the refill rate); 0: none.
    pub per_second: u32,
}

impl FreshKidBudget {
    /// 32 at once, then 32 per second per stream: at most about 0.2 ms of checks per second
    /// per stream under attack, and room for a burst of genuine frames damaged in transit.
    pub const DEFAULT: Self = Self {
        burst: 32,
        per_second: 32,
    };

    /// No limit: every frame under a new KID is checked (a forger costs a check per frame).
    pub const UNLIMITED: Self = Self {
        burst: u32::MAX,
        per_second: u32::MAX,
    };
}

impl Default for FreshKidBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The most streams with a bucket of their own.
pub const MAX_STREAMS: usize = 1024;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    /// When the tokens were last topped up.
    at: Duration,
}

/// The buckets (see the module docs).
#[derive(Debug)]
pub(crate) struct FailureBudget {
    config: FreshKidBudget,
    buckets: HashMap<u64, Bucket>,
    shared: Bucket,
}

impl FailureBudget {
    pub(crate) fn new(config: FreshKidBudget) -> Self {
        Self {
            config,
            buckets: HashMap::new(),
            shared: Bucket {
                tokens: config.burst,
                at: Duration::ZERO,
            },
        }
    }

    fn bucket(&mut self, stream: u64, now: Duration) -> &mut Bucket {
        let burst = self.config.burst;
        let rate = u128::from(self.config.per_second);
        let bucket = if self.buckets.len() < MAX_STREAMS || self.buckets.contains_key(&stream) {
            self.buckets.entry(stream).or_insert(Bucket {
                tokens: burst,
                at: now,
            })
        } else {
            &mut self.shared
        };
        // Whole tokens earned since `at`; `at` moves by the time they took, so fractions carry.
        let elapsed = now.saturating_sub(bucket.at).as_micros();
        let earned = elapsed.saturating_mul(rate) / 1_000_000;
        if earned > 0 {
            let tokens = u128::from(bucket.tokens).saturating_add(earned);
            bucket.tokens = u32::try_from(tokens.min(u128::from(burst))).unwrap_or(burst);
            let took = earned.saturating_mul(1_000_000) / rate.max(1);
            let took = Duration::from_micros(u64::try_from(took).unwrap_or(u64::MAX));
            bucket.at = if bucket.tokens == burst {
                now
            } else {
                bucket.at.saturating_add(took).min(now)
            };
        } else if bucket.tokens == burst {
            bucket.at = now;
        }
        bucket
    }

    /// Whether a frame under a new KID on `stream` may be checked now.
    pub(crate) fn allows(&mut self, stream: u64, now: Duration) -> bool {
        self.config.burst == u32::MAX || self.bucket(stream, now).tokens > 0
    }

    /// A check on `stream` failed: it takes a token.
    pub(crate) fn failed(&mut self, stream: u64, now: Duration) {
        if self.config.burst == u32::MAX {
            return;
        }
        let bucket = self.bucket(stream, now);
        bucket.tokens = bucket.tokens.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn failures_take_tokens_that_come_back_with_time() {
        let mut b = FailureBudget::new(FreshKidBudget {
            burst: 3,
            per_second: 10,
        });
        let t = Duration::from_secs(5);
        for _ in 0..3 {
            assert!(b.allows(7, t));
            b.failed(7, t);
        }
        assert!(!b.allows(7, t), "the burst is spent");
        assert!(b.allows(8, t), "another stream has its own bucket");
        assert!(!b.allows(7, t + 99 * MS), "a token takes 100 ms");
        assert!(b.allows(7, t + 100 * MS));
        b.failed(7, t + 100 * MS);
        // 150 ms later: one token and the half toward the next carried over.
        assert!(b.allows(7, t + 250 * MS));
        b.failed(7, t + 250 * MS);
        assert!(
            b.allows(7, t + 300 * MS),
            "the carried half completed a token"
        );
        // Long idle: back to the burst, not beyond.
        let later = t + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(b.allows(7, later));
            b.failed(7, later);
        }
        assert!(!b.allows(7, later));
    }

    #[test]
    fn streams_beyond_the_limit_share_a_bucket() {
        let mut b = FailureBudget::new(FreshKidBudget {
            burst: 1,
            per_second: 0,
        });
        let t = Duration::ZERO;
        for s in 0..MAX_STREAMS as u64 {
            b.failed(s, t);
        }
        assert_eq!(b.buckets.len(), MAX_STREAMS);
        assert!(b.allows(1_000_000, t));
        b.failed(1_000_000, t);
        assert!(!b.allows(2_000_000, t), "the shared bucket is spent");
        assert_eq!(b.buckets.len(), MAX_STREAMS, "no bucket beyond the limit");
    }

    #[test]
    fn unlimited_never_refuses() {
        let mut b = FailureBudget::new(FreshKidBudget::UNLIMITED);
        for _ in 0..10_000 {
            b.failed(1, Duration::ZERO);
        }
        assert!(b.allows(1, Duration::ZERO));
        assert!(b.buckets.is_empty());
    }
}
