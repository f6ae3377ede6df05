//! A sliding replay window over frame counters, in the style of RFC 3711 section 3.3.2.
//!
//! The window remembers the highest counter authenticated so far and, as a bitmap, which of the
//! `size` counters below it were seen. A counter is accepted if it is above the highest, or
//! inside the window and not yet seen. [`ReplayWindow::check`] only reads; the caller calls
//! [`ReplayWindow::accept`] after the frame authenticated, so a forged frame never moves it.

/// A replay window of a fixed number of counters.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    /// One bit per counter, indexed by `ctr % size`.
    bits: Box<[u64]>,
    /// The window size in counters (a multiple of 64).
    size: u64,
    /// The highest counter accepted, if any.
    highest: Option<u64>,
}

/// What [`ReplayWindow::check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayCheck {
    /// Never seen and inside (or above) the window.
    Fresh,
    /// Already seen.
    Duplicate,
    /// Older than the window reaches.
    TooOld,
}

impl ReplayWindow {
    /// A window of at least `size` counters (rounded up to a multiple of 64, at least 64).
    pub fn new(size: u32) -> Self {
        let words = (size.max(1) as usize).div_ceil(64);
        Self {
            bits: vec![0; words].into_boxed_slice(),
            size: 64 * words as u64,
            highest: None,
        }
    }

    /// The number of counters the window covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The highest counter accepted so far.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    #[inline]
    fn slot(&self, ctr: u64) -> (usize, u64) {
        let bit = ctr % self.size;
        ((bit / 64) as usize, 1u64 << (bit % 64))
    }

    /// Whether `ctr` would be accepted. Does not change the window.
    #[inline]
    pub fn check(&self, ctr: u64) -> ReplayCheck {
        let Some(highest) = self.highest else {
            return ReplayCheck::Fresh;
        };
        if ctr > highest {
            return ReplayCheck::Fresh;
        }
        if highest - ctr >= self.size {
            return ReplayCheck::TooOld;
        }
        let (word, mask) = self.slot(ctr);
        match self.bits.get(word) {
            Some(w) if w & mask == 0 => ReplayCheck::Fresh,
            _ => ReplayCheck::Duplicate,
        }
    }

    /// Records `ctr` as seen (call after the frame authenticated and [`check`](Self::check)
    /// said `Fresh`).
    #[inline]
    pub fn accept(&mut self, ctr: u64) {
        match self.highest {
            Some(highest) if ctr <= highest => {}
            Some(highest) => {
                // Slide: forget the counters the window leaves behind.
                let advance = ctr - highest;
                if advance >= self.size {
                    self.bits.fill(0);
                } else {
                    for c in highest + 1..ctr {
                        let (word, mask) = self.slot(c);
                        if let Some(w) = self.bits.get_mut(word) {
                            *w &= !mask;
                        }
                    }
                }
                self.highest = Some(ctr);
            }
            None => self.highest = Some(ctr),
        }
        let (word, mask) = self.slot(ctr);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_once_in_any_order_within_the_window() {
        let mut w = ReplayWindow::new(64);
        for ctr in [10u64, 12, 11, 5, 70] {
            assert_eq!(w.check(ctr), ReplayCheck::Fresh, "ctr {ctr}");
            w.accept(ctr);
            assert_eq!(w.check(ctr), ReplayCheck::Duplicate, "ctr {ctr}");
        }
        // 70 - 64 = 6: counters at or below 6 are now outside the window.
        assert_eq!(w.check(6), ReplayCheck::TooOld);
        assert_eq!(w.check(7), ReplayCheck::Fresh);
        // 10, 11 and 12 are still remembered.
        assert_eq!(w.check(12), ReplayCheck::Duplicate);
        assert_eq!(w.check(13), ReplayCheck::Fresh);
    }

    #[test]
    fn a_big_jump_clears_the_window() {
        let mut w = ReplayWindow::new(128);
        w.accept(1);
        w.accept(1_000_000);
        assert_eq!(w.check(1_000_000 - 127), ReplayCheck::Fresh);
        assert_eq!(w.check(1_000_000 - 128), ReplayCheck::TooOld);
        assert_eq!(w.check(u64::MAX), ReplayCheck::Fresh);
        w.accept(u64::MAX);
        assert_eq!(w.check(u64::MAX), ReplayCheck::Duplicate);
    }

    #[test]
    fn sizes_round_up_to_words() {
        assert_eq!(ReplayWindow::new(0).size(), 64);
        assert_eq!(ReplayWindow::new(65).size(), 128);
    }

    #[test]
    fn slots_reused_after_sliding_are_fresh() {
        let mut w = ReplayWindow::new(64);
        w.accept(3);
        w.accept(66);
        // 3 is still inside the window (66 - 63 ..= 66) and remembered.
        assert_eq!(w.check(3), ReplayCheck::Duplicate);
        // 67 shares 3's slot: accepting it pushes 3 out and takes the slot over.
        assert_eq!(w.check(67), ReplayCheck::Fresh);
        w.accept(67);
        assert_eq!(w.check(3), ReplayCheck::TooOld);
        assert_eq!(w.check(67), ReplayCheck::Duplicate);
        // Slots between the old and new highest were cleared on the way.
        assert_eq!(w.check(65), ReplayCheck::Fresh);
    }
}
