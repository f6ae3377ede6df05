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
