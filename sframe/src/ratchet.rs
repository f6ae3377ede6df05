//! Per-sender key ratchets (RFC 9605 section 5.1).
//!
//! A ratcheting sender's KID is `generation << R | step mod 2^R`. Each step derives the next
//! base key from the last (see [`crate::ratchet_base_key`]) so that a key compromised later
//! does not expose earlier frames. The receiver follows: when a frame names a step ahead of
//! its current one (by at most the configured window), it derives that step's key, and only
//! if the frame authenticates does it move forward; it keeps a bounded number of previous
//! steps for frames that arrive out of order, each for a bounded number of frames.

use crate::Error;

/// A position in a ratchet: generation, R and the absolute step count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatchetKid {
    generation: u64,
    r_bits: u8,
    step: u64,
}

impl RatchetKid {
    /// Position `step` of the ratchet of `generation` with `r_bits` step bits.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `1 <= r_bits <= 63` and `generation` fits in the
    /// `64 - r_bits` bits above.
    pub fn new(generation: u64, r_bits: u8, step: u64) -> Result<Self, Error> {
        if !(1..=63).contains(&r_bits) {
            return Err(Error::InvalidConfig("ratchet R must be 1 to 63 bits"));
        }
        if generation >> (64 - u32::from(r_bits)) != 0 {
            return Err(Error::InvalidConfig(
                "ratchet generation does not fit above R bits",
            ));
        }
        Ok(Self {
            generation,
            r_bits,
            step,
        })
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// R, the number of KID bits that count steps.
    pub fn r_bits(&self) -> u8 {
        self.r_bits
    }

    /// The absolute number of steps taken.
    pub fn step(&self) -> u64 {
        self.step
    }

    fn mask(&self) -> u64 {
        (1u64 << self.r_bits) - 1
    }

    /// The KID: `generation << R | step mod 2^R`.
    pub fn kid(&self) -> u64 {
        (self.generation << self.r_bits) | (self.step & self.mask())
    }

    /// The next step.
    pub fn next(&self) -> Self {
        Self {
            step: self.step.wrapping_add(1),
            ..*self
        }
    }

    /// Whether `kid` belongs to this ratchet (its bits above R are the generation).
    pub fn owns(&self, kid: u64) -> bool {
        kid >> self.r_bits == self.generation
    }

    /// How many steps ahead of this one `kid` is, modulo 2^R (0 = this step).
    pub fn steps_to(&self, kid: u64) -> u64 {
        (kid.wrapping_sub(self.step)) & self.mask()
    }
}

/// How a receiver follows ratcheting senders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatchetPolicy {
    /// The furthest ahead (in steps) a frame may move the ratchet. A frame further ahead is
    /// [`Error::RatchetOutOfWindow`]. Bounds the work a forged KID can cause.
    pub max_forward: u32,
    /// How many previous steps are kept for late frames.
    pub keep_previous: usize,
    /// A previous step is deleted once this many frames authenticated under newer steps.
    pub previous_lifetime_frames: u64,
}

impl Default for RatchetPolicy {
    fn default() -> Self {
        Self {
            max_forward: 16,
            keep_previous: 1,
            previous_lifetime_frames: 256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_layout_and_wrap() {
        let at = RatchetKid::new(5, 4, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(at.kid(), 0x50);
        let mut later = at;
        for _ in 0..17 {
            later = later.next();
        }
        assert_eq!(later.step(), 17);
        assert_eq!(later.kid(), 0x51);
        assert!(at.owns(0x5f) && !at.owns(0x60));
        assert_eq!(at.steps_to(0x53), 3);
        assert_eq!(later.steps_to(0x50), 15);
        assert!(RatchetKid::new(1, 0, 0).is_err());
        assert!(RatchetKid::new(1 << 60, 4, 0).is_err());
        assert!(RatchetKid::new((1 << 60) - 1, 4, 0).is_ok());
    }
}
