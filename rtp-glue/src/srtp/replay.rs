//! Index estimation (RFC 3711 section 3.3.1, appendix A) and the replay window (section
//! 3.3.2).
//!
//! Both are split into a read-only check, run before authentication, and a commit, run only
//! after the packet authenticated: a forged packet, however many, moves nothing.

/// The largest replay window, in packets.
pub(crate) const MAX_WINDOW: u64 = 1024;
/// Bytes of a [`ReplayWindow`] before its bits: what every check reads.
#[cfg(test)]
pub(crate) const SCALAR_BYTES: usize = core::mem::offset_of!(ReplayWindow, bits);
const WORDS: usize = (MAX_WINDOW / 64) as usize;

/// The 48-bit SRTP packet index, `ROC << 16 | SEQ`, estimated from a sequence number against
/// the highest index seen so far (`None` before the first packet: the index is the
/// sequence number, ROC 0).
///
/// Returns `None` if the estimate falls outside 0..2^48 (a packet from "before" a stream that
/// started at ROC 0, or past the last ROC).
pub(crate) fn estimate_index(highest: Option<u64>, seq: u16) -> Option<u64> {
    let Some(highest) = highest else {
        return Some(u64::from(seq));
    };
    let roc = highest >> 16;
    let s_l = highest as u16;
    let v = if s_l < 0x8000 {
        if seq > s_l && seq - s_l > 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        roc + 1
    } else {
        roc
    };
    let index = v << 16 | u64::from(seq);
    (index < 1 << 48).then_some(index)
}

/// Why the replay window refuses an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Already accepted.
    Duplicate,
    /// Older than the window reaches.
    TooOld,
}

/// A sliding window over packet indexes: the highest accepted and a ring of bits, one per
/// index modulo [`MAX_WINDOW`], so moving forward clears only the bits it passes over (one,
/// for a stream in order) instead of shifting the whole window.
///
/// In declaration order (`repr(C)`): the two numbers every check reads come first, so that with
/// the stream's other scalars they share a cache line.
#[derive(Clone, Debug)]
#[repr(C)]
pub(crate) struct ReplayWindow {
    /// The highest accepted index; `None` until one is.
    top: Option<u64>,
    size: u64,
    /// Bit `index % MAX_WINDOW` set: `index` (one of the `MAX_WINDOW` at or below `top`) was
    /// accepted.
    bits: [u64; WORDS],
}

impl ReplayWindow {
    /// A window of `size` packets, clamped to 64..=1024 (RFC 3711 asks for at least 64).
    pub(crate) fn new(size: usize) -> Self {
        Self {
            top: None,
            bits: [0; WORDS],
            size: (size as u64).clamp(64, MAX_WINDOW),
        }
    }

    /// The highest accepted index.
    pub(crate) fn top(&self) -> Option<u64> {
        self.top
    }

    /// Whether `index` may be accepted. Changes nothing.
    pub(crate) fn check(&self, index: u64) -> Result<(), Refused> {
        let Some(top) = self.top else { return Ok(()) };
        if index > top {
            return Ok(());
        }
        if top - index >= self.size {
            return Err(Refused::TooOld);
        }
        if self.bit(index) {
            Err(Refused::Duplicate)
        } else {
            Ok(())
        }
    }

    fn slot(index: u64) -> (usize, u32) {
        let pos = index % MAX_WINDOW;
        ((pos / 64) as usize, (pos % 64) as u32)
    }

    fn bit(&self, index: u64) -> bool {
        let (word, bit) = Self::slot(index);
        self.bits.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    fn set(&mut self, index: u64) {
        let (word, bit) = Self::slot(index);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// Clears the bits of the `n` indexes after `top`.
    fn clear_after(&mut self, top: u64, n: u64) {
        if n >= MAX_WINDOW {
            self.bits = [0; WORDS];
            return;
        }
        let mut pos = (top + 1) % MAX_WINDOW;
        let mut left = n;
        while left > 0 {
            let (word, bit) = ((pos / 64) as usize, pos % 64);
            let k = (64 - bit).min(left);
            let mask = if k == 64 {
                !0
            } else {
                ((1u64 << k) - 1) << bit
            };
            if let Some(w) = self.bits.get_mut(word) {
                *w &= !mask;
            }
            pos = (pos + k) % MAX_WINDOW;
            left -= k;
        }
    }

    /// Records `index` as accepted (call only after [`ReplayWindow::check`] passed and the
    /// packet authenticated).
    pub(crate) fn accept(&mut self, index: u64) {
        match self.top {
            None => {
                self.bits = [0; WORDS];
                self.top = Some(index);
            }
            // In order, the common case: the one bit passed over is the new index's own,
            // set below.
            Some(top) if index == top + 1 => self.top = Some(index),
            Some(top) if index > top => {
                self.clear_after(top, index - top);
                self.top = Some(index);
            }
            Some(_) => {}
        }
        self.set(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_estimation_follows_appendix_a() {
        assert_eq!(estimate_index(None, 65535), Some(65535));
        // Just across the wrap: ROC + 1.
        assert_eq!(estimate_index(Some(65535), 0), Some(65536));
        assert_eq!(estimate_index(Some(65530), 10), Some(65536 + 10));
        // A late packet from before the wrap: ROC - 1.
        assert_eq!(estimate_index(Some(65536 + 5), 65533), Some(65533));
        // Before a stream that started at ROC 0: no index.
        assert_eq!(estimate_index(Some(5), 65533), None);
        // Ordinary packets.
        assert_eq!(
            estimate_index(Some(3 << 16 | 100), 101),
            Some(3 << 16 | 101)
        );
        assert_eq!(
            estimate_index(Some(3 << 16 | 40000), 39000),
            Some(3 << 16 | 39000)
        );
        // The last ROC cannot roll over.
        assert_eq!(estimate_index(Some((1 << 48) - 1), 0), None);
    }

    #[test]
    fn window_accepts_once_and_refuses_old() {
        for size in [64, 100, 1024] {
            let mut w = ReplayWindow::new(size);
            let size = size as u64;
            assert_eq!(w.check(1000), Ok(()));
            w.accept(1000);
            assert_eq!(w.check(1000), Err(Refused::Duplicate));
            assert_eq!(w.check(999), Ok(()));
            w.accept(999);
            assert_eq!(w.check(999), Err(Refused::Duplicate));
            // Move forward by more than a word, then by less than a word.
            w.accept(1000 + 70);
            w.accept(1000 + 75);
            let old = if size > 76 {
                Refused::Duplicate
            } else {
                Refused::TooOld
            };
            assert_eq!(w.check(1000), Err(old), "{size}");
            assert_eq!(w.check(999), Err(old), "{size}");
            if size > 74 {
                assert_eq!(w.check(1001), Ok(()));
            }
            assert_eq!(w.check(1070), Err(Refused::Duplicate));
            assert_eq!(w.check(1075 - size), Err(Refused::TooOld));
            if 1075 - size + 1 < 999 {
                assert_eq!(w.check(1075 - size + 1), Ok(()));
            }
            // A jump beyond the window clears it.
            w.accept(1075 + 5000);
            assert_eq!(w.check(1075 + 5000 - 1), Ok(()));
            assert_eq!(w.check(1075 + 5000), Err(Refused::Duplicate));
        }
    }

    #[test]
    fn window_matches_a_set_model() {
        // Against a plain model, with a fixed pseudo-random walk of indexes: small steps,
        // steps across a word, and jumps past the whole ring.
        for size in [64u64, 200, 1024] {
            let mut w = ReplayWindow::new(size as usize);
            let mut seen = std::collections::BTreeSet::new();
            let mut x: u64 = 12345 + size;
            let mut top = 0u64;
            for _ in 0..20_000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = x >> 33;
                let index = match r % 10 {
                    0..=4 => top + r % 70,
                    5 => top + r % 3000,
                    _ => top.saturating_sub(r % (size + 100)),
                };
                let expected = if seen.is_empty() || index > top {
                    Ok(())
                } else if top - index >= size {
                    Err(Refused::TooOld)
                } else if seen.contains(&index) {
                    Err(Refused::Duplicate)
                } else {
                    Ok(())
                };
                assert_eq!(
                    w.check(index),
                    expected,
                    "size {size} index {index} top {top}"
                );
                if expected.is_ok() {
                    w.accept(index);
                    seen.insert(index);
                    top = top.max(index);
                }
            }
        }
    }
}
