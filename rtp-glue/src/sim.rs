//! Pieces to run endpoints and an SFU over a simulated network on a simulated clock: a
//! deterministic PRNG ([`Rng`]), a one-way link that loses, delays, reorders and duplicates
//! packets and counts what it did ([`Link`]), and a time-ordered event queue ([`Schedule`]).
//!
//! Nothing here reads a clock or does IO: times are microseconds the caller chooses, and the
//! same seed gives the same run.
//!
//! ```
//! use sframe_rtp::sim::{Link, LinkConfig, Schedule};
//!
//! let mut link = Link::new(LinkConfig { loss: 0.5, ..LinkConfig::CLEAN }, 7);
//! let mut schedule = Schedule::new();
//! for n in 0..100u32 {
//!     // Each copy that gets through arrives at its own time.
//!     for at in link.transmit(n as u64 * 1_000).arrivals() {
//!         schedule.at(at, n);
//!     }
//! }
//! let mut delivered = 0;
//! while let Some((_at, _packet)) = schedule.pop() {
//!     delivered += 1;
//! }
//! let stats = link.stats();
//! assert_eq!(delivered, stats.sent - stats.lost);
//! assert!(stats.lost > 0);
//! ```

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// SplitMix64: small, fast and deterministic; not for keys.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)` (0 when `n` is 0 or 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[low, high]` (`low` if `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low).saturating_add(1))
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(x.get(..chunk.len()).unwrap_or(&x));
        }
    }
}

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
/// copies of a packet arrive, and the caller delivers them then (with a [`Schedule`]).
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

struct Entry<E> {
    at: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Events ordered by time, and by insertion among events of the same time: the simulated clock.
pub struct Schedule<E> {
    queue: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
    now: u64,
}

impl<E> core::fmt::Debug for Schedule<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Schedule")
            .field("now", &self.now)
            .field("pending", &self.queue.len())
            .finish()
    }
}

impl<E> Default for Schedule<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Schedule<E> {
    /// An empty schedule at time 0.
    pub fn new() -> Self {
        Self {
            queue: BinaryHeap::new(),
            seq: 0,
            now: 0,
        }
    }

    /// Schedules `event` at `at` (an event in the past runs next, at the current time).
    pub fn at(&mut self, at: u64, event: E) {
        self.seq += 1;
        self.queue.push(Reverse(Entry {
            at: at.max(self.now),
            seq: self.seq,
            event,
        }));
    }

    /// Schedules `event` `delay` after the current time.
    pub fn after(&mut self, delay: u64, event: E) {
        self.at(self.now.saturating_add(delay), event);
    }

    /// The time of the last event popped.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// When the next event is due.
    pub fn next_time(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse(e)| e.at)
    }

    /// Takes the next event and moves the clock to its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let Reverse(e) = self.queue.pop()?;
        self.now = e.at;
        Some((e.at, e.event))
    }

    /// Events still scheduled.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// `true` if nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!((5..=9).contains(&r.between(5, 9)));
            assert!(r.below(3) < 3);
        }
        assert_eq!(r.between(4, 4), 4);
        assert_eq!(r.between(4, 2), 4);
        let mut buf = [0u8; 13];
        r.fill(&mut buf);
        assert_ne!(buf, [0u8; 13]);
    }

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

    #[test]
    fn the_schedule_runs_events_in_time_then_insertion_order() {
        let mut s = Schedule::new();
        s.at(30, "c");
        s.at(10, "a");
        s.at(30, "d");
        s.at(20, "b");
        assert_eq!((s.len(), s.next_time()), (4, Some(10)));
        assert_eq!(s.pop(), Some((10, "a")));
        assert_eq!(s.now(), 10);
        s.at(5, "now"); // in the past: runs at the current time, next
        s.after(15, "e"); // 25
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).collect();
        assert_eq!(
            order,
            vec![(10, "now"), (20, "b"), (25, "e"), (30, "c"), (30, "d")]
        );
        assert!(s.is_empty());
        assert_eq!(s.now(), 30);
    }
}
