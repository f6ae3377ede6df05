//! The simulated clock: events ordered by time, then by insertion.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

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
        self.key().cmp(&other.key())
    }
}

impl<E> Entry<E> {
    fn key(&self) -> (u64, u64) {
        (self.at, self.seq)
    }
}

/// Width of a bucket: `1 << BUCKET_SHIFT` microseconds.
const BUCKET_SHIFT: u32 = 8;
/// Buckets in the ring: events up to about one second ahead (256 us x 4096) go to a bucket,
/// later ones to a heap.
const BUCKETS: u64 = 4096;

/// Events ordered by time, and by insertion among events of the same time: the simulated clock.
///
/// A calendar queue. A large meeting keeps hundreds of thousands of events pending (every
/// packet on a link, every member's acknowledgement of an epoch to every other), and a binary
/// heap of them costs a cache miss per level on every pop. Here events within about a second
/// go unsorted into 256 us buckets; a bucket is sorted once, when the clock reaches it, and
/// then popped from its end. Events further ahead wait in a heap. The order is exactly the
/// heap's: time, then insertion.
pub struct Schedule<E> {
    /// The bucket the clock is in, sorted latest first (popped from the end).
    current: Vec<Entry<E>>,
    /// Bucket number (`at >> BUCKET_SHIFT`) of `current`.
    base: u64,
    /// Buckets `base + 1 .. base + BUCKETS`, at `number % BUCKETS`, unsorted.
    ring: Vec<Vec<Entry<E>>>,
    /// Events in `ring`.
    in_ring: usize,
    /// Events at bucket `base + BUCKETS` or later.
    far: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
    now: u64,
}

impl<E> core::fmt::Debug for Schedule<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Schedule")
            .field("now", &self.now)
            .field("pending", &self.len())
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
            current: Vec::new(),
            base: 0,
            ring: (0..BUCKETS).map(|_| Vec::new()).collect(),
            in_ring: 0,
            far: BinaryHeap::new(),
            seq: 0,
            now: 0,
        }
    }

    /// Schedules `event` at `at` (an event in the past runs next, at the current time).
    pub fn at(&mut self, at: u64, event: E) {
        self.seq += 1;
        let e = Entry {
            at: at.max(self.now),
            seq: self.seq,
            event,
        };
        let bucket = e.at >> BUCKET_SHIFT;
        if bucket <= self.base {
            // The clock's own bucket (never earlier: `at` is not before `now`). The newest
            // insertion goes after every entry of the same time.
            let i = self.current.partition_point(|c| c.key() > e.key());
            self.current.insert(i, e);
        } else if bucket - self.base < BUCKETS {
            self.ring[(bucket % BUCKETS) as usize].push(e);
            self.in_ring += 1;
        } else {
            self.far.push(Reverse(e));
        }
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
        if let Some(e) = self.current.last() {
            return Some(e.at);
        }
        let far = self.far.peek().map(|Reverse(e)| e.at);
        let ring = self
            .next_in_ring()
            .and_then(|b| self.ring[(b % BUCKETS) as usize].iter().map(|e| e.at).min());
        match (ring, far) {
            (Some(r), Some(f)) => Some(r.min(f)),
            (r, f) => r.or(f),
        }
    }

    /// Takes the next event and moves the clock to its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        if self.current.is_empty() && !self.advance() {
            return None;
        }
        let e = self.current.pop()?;
        self.now = e.at;
        Some((e.at, e.event))
    }

    /// The number of the first bucket after the clock's that holds events in the ring.
    fn next_in_ring(&self) -> Option<u64> {
        if self.in_ring == 0 {
            return None;
        }
        (1..BUCKETS)
            .map(|d| self.base + d)
            .find(|b| !self.ring[(b % BUCKETS) as usize].is_empty())
    }

    /// Moves to the next bucket holding events and sorts it; `false` if none is left.
    ///
    /// A ring slot only ever holds events of one bucket: the clock never passes a bucket
    /// that holds events, so the slots it leaves behind are empty when the ring reuses them.
    fn advance(&mut self) -> bool {
        let in_ring = self.next_in_ring();
        let far = self.far.peek().map(|Reverse(e)| e.at >> BUCKET_SHIFT);
        let next = match (in_ring, far) {
            (Some(r), Some(f)) => r.min(f),
            (Some(b), None) | (None, Some(b)) => b,
            (None, None) => return false,
        };
        self.base = next;
        if in_ring == Some(next) {
            let slot = &mut self.ring[(next % BUCKETS) as usize];
            self.in_ring -= slot.len();
            // The spent bucket's memory is freed, not left in the ring: events wait on the
            // links for tens of milliseconds, a small part of the ring's second, and buckets
            // that kept their room would hold memory for a second of events.
            self.current = std::mem::take(slot);
        }
        // The heap's events of this bucket join it; those now within the ring's reach move
        // into the ring.
        while let Some(Reverse(e)) = self.far.peek() {
            let bucket = e.at >> BUCKET_SHIFT;
            if bucket - self.base >= BUCKETS {
                break;
            }
            let Some(Reverse(e)) = self.far.pop() else {
                break;
            };
            if bucket == next {
                self.current.push(e);
            } else {
                self.ring[(bucket % BUCKETS) as usize].push(e);
                self.in_ring += 1;
            }
        }
        self.current.sort_unstable_by_key(|e| Reverse(e.key()));
        true
    }

    /// Events still scheduled.
    pub fn len(&self) -> usize {
        self.current.len() + self.in_ring + self.far.len()
    }

    /// `true` if nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The calendar queue against the plain heap it replaces: same events, same order, over
    /// a random mix of delays (now, within a bucket, within the ring, far beyond it) and of
    /// pushes between pops.
    #[test]
    fn the_buckets_keep_the_heaps_order() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut s = Schedule::new();
        let mut heap = BinaryHeap::new();
        let (mut seq, mut now, mut id) = (0_u64, 0_u64, 0_u32);
        let mut popped = 0;
        for _ in 0..200_000 {
            if next() % 3 != 0 || heap.is_empty() {
                let delay = match next() % 5 {
                    0 => 0,
                    1 => next() % 300,
                    2 => next() % 100_000,
                    3 => next() % 3_000_000,
                    _ => next() % 60_000_000,
                };
                let at = if next() % 50 == 0 {
                    now.saturating_sub(5)
                } else {
                    now + delay
                };
                id += 1;
                seq += 1;
                s.at(at, id);
                heap.push(Reverse((at.max(now), seq, id)));
            } else {
                let Reverse((at, _, want)) = heap.pop().unwrap();
                assert_eq!(s.next_time(), Some(at));
                assert_eq!(s.pop(), Some((at, want)));
                now = at;
                popped += 1;
            }
            assert_eq!(s.len(), heap.len());
        }
        while let Some(Reverse((at, _, want))) = heap.pop() {
            assert_eq!(s.pop(), Some((at, want)));
            popped += 1;
        }
        assert_eq!(s.pop(), None);
        assert!(popped > 100_000, "{popped}");
    }
}
