//! A one-way link on a simulated clock: it loses, delays, reorders and duplicates packets,
//! and counts what it did.

use crate::Rng;

/// What a [`Link`] does to packets. Probabilities are in `[0, 1]`, times in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Probability that a packet is held back by an extra delay (so later packets overtake it).
    pub reorder: f64,
    /// Probability that a packet arrives twice (each copy with its own delay).
    pub duplicate: f64,
    /// Fixed one-way delay.
    pub delay_us: u64,
    /// Extra delay of every packet, uniform in `[0, jitter_us]`.
    pub jitter_us: u64,
    /// Extra delay of a held-back packet, uniform in `[reorder_min_us, reorder_max_us]`.
    pub reorder_min_us: u64,
    /// See `reorder_min_us`.
    pub reorder_max_us: u64,
}

impl LinkConfig {
    /// A link that delivers everything once, in order, after 10 ms.
    pub const CLEAN: Self = Self {
        loss: 0.0,
        reorder: 0.0,
        duplicate: 0.0,
        delay_us: 10_000,
        jitter_us: 0,
        reorder_min_us: 0,
        reorder_max_us: 0,
    };

    /// The longest a copy can take to arrive.
    pub fn max_delay_us(&self) -> u64 {
        let reorder = if self.reorder > 0.0 {
            self.reorder_max_us.max(self.reorder_min_us)
        } else {
            0
        };
        self.delay_us + self.jitter_us + reorder
    }
}

/// What became of one packet given to [`Link::transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transit {
    copies: [Option<u64>; 2],
    /// At least one copy was held back past later packets.
    pub reordered: bool,
}

impl Transit {
    /// When each copy arrives: none if the packet was lost, two if it was duplicated.
    pub fn arrivals(&self) -> impl Iterator<Item = u64> + '_ {
        self.copies.iter().flatten().copied()
    }

    /// `true` if no copy arrives.
    pub fn is_lost(&self) -> bool {
        self.copies[0].is_none()
    }

    /// When the first copy arrives.
    pub fn first_arrival(&self) -> Option<u64> {
        self.arrivals().min()
    }
}

/// What a [`Link`] did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets given to the link.
    pub sent: u64,
    /// Packets lost.
    pub lost: u64,
    /// Packets held back past later ones.
    pub reordered: u64,
    /// Packets delivered twice.
    pub duplicated: u64,
    /// Bytes given to the link (only what [`Link::transmit_bytes`] was told).
    pub bytes: u64,
}

impl LinkStats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Self) {
        self.sent += other.sent;
        self.lost += other.lost;
        self.reordered += other.reordered;
        self.duplicated += other.duplicated;
        self.bytes += other.bytes;
    }
}

/// A one-way link on a simulated clock. It holds no packets: [`Link::transmit`] says when the
/// copies of a packet arrive, and the caller delivers them then (with a
/// [`Schedule`](crate::Schedule)).
#[derive(Clone, Debug)]
pub struct Link {
    config: LinkConfig,
    rng: Rng,
    stats: LinkStats,
}

impl Link {
    /// A link with its own random stream from `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            stats: LinkStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    fn delay(&mut self) -> (u64, bool) {
        let c = self.config;
        let mut d = c.delay_us + self.rng.between(0, c.jitter_us);
        let held_back = self.rng.chance(c.reorder);
        if held_back {
            d += self.rng.between(c.reorder_min_us, c.reorder_max_us);
        }
        (d, held_back)
    }

    /// A packet enters the link at `now_us`: lost, or arriving once or twice.
    pub fn transmit(&mut self, now_us: u64) -> Transit {
        self.stats.sent += 1;
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return Transit {
                copies: [None, None],
                reordered: false,
            };
        }
        let (d, mut reordered) = self.delay();
        let mut copies = [Some(now_us + d), None];
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            let (d2, r2) = self.delay();
            copies[1] = Some(now_us + d2);
            reordered |= r2;
        }
        self.stats.reordered += u64::from(reordered);
        Transit { copies, reordered }
    }

    /// [`Link::transmit`] of a packet of `len` bytes (counted in [`LinkStats::bytes`]).
    pub fn transmit_bytes(&mut self, now_us: u64, len: usize) -> Transit {
        self.stats.bytes += len as u64;
        self.transmit(now_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_link_delivers_everything_once_after_its_delay() {
        let mut link = Link::new(LinkConfig::CLEAN, 1);
        for t in 0..1000 {
            let transit = link.transmit_bytes(t, 100);
            assert_eq!(transit.arrivals().collect::<Vec<_>>(), vec![t + 10_000]);
            assert!(!transit.reordered && !transit.is_lost());
        }
        let s = link.stats();
        assert_eq!((s.sent, s.lost, s.reordered, s.duplicated), (1000, 0, 0, 0));
        assert_eq!(s.bytes, 100_000);
        assert_eq!(LinkConfig::CLEAN.max_delay_us(), 10_000);
    }

    #[test]
    fn loss_reorder_and_duplication_happen_at_their_rates_and_are_counted() {
        let config = LinkConfig {
            loss: 0.1,
            reorder: 0.05,
            duplicate: 0.02,
            delay_us: 20_000,
            jitter_us: 1_000,
            reorder_min_us: 5_000,
            reorder_max_us: 40_000,
        };
        let mut link = Link::new(config, 9);
        let (mut lost, mut copies, mut late) = (0u64, 0u64, 0u64);
        let n = 100_000u64;
        for t in 0..n {
            let transit = link.transmit(t * 100);
            lost += u64::from(transit.is_lost());
            for at in transit.arrivals() {
                copies += 1;
                let d = at - t * 100;
                assert!((20_000..=config.max_delay_us()).contains(&d));
                late += u64::from(d > 21_000);
            }
        }
        let s = link.stats();
        assert_eq!((s.sent, s.lost), (n, lost));
        assert_eq!(copies, n - lost + s.duplicated);
        assert!(late >= s.reordered, "every held-back packet came late");
        for (count, rate) in [
            (s.lost, 0.1),
            (s.reordered, 0.05 * 0.9),
            (s.duplicated, 0.02 * 0.9),
        ] {
            let expected = rate * n as f64;
            assert!(
                (count as f64 - expected).abs() < expected * 0.1,
                "{count} vs {expected}"
            );
        }
        // Deterministic.
        let mut again = Link::new(config, 9);
        for t in 0..n {
            again.transmit(t * 100);
        }
        assert_eq!(again.stats(), s);
    }
}
