//! The KID layout of RFC 9605 section 5.2 and the MLS exporter parameters.
//!
//! ```text
//!   64-S-E bits   S bits   E bits
//! +-------------+--------+-------+
//! |   context   | sender | epoch |
//! +-------------+--------+-------+
//! KID = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))
//! ```
//!
//! `E` is the application's choice (any value with `E + S <= 64`). `S` is not: the RFC
//! makes it "the number of bits required to encode a member index in the group, i.e., the
//! smallest value such that `group_size <= (1 << S)`", so it follows the group from epoch to
//! epoch ([`sender_bits_for`], [`sender_bits_for_leaves`]).
//!
//! # What `group_size` is here
//! The number of leaves of the epoch's ratchet tree, counted up to its rightmost member: the
//! highest member leaf index plus one. RFC 9420 (section 12.1.3) truncates the tree after a
//! removal to `2^d` leaves, `d` the smallest value with `2^d` above the rightmost non-blank
//! leaf index, and only grows it by doubling, so the tree's own leaf count `2^d` and "highest
//! index plus one" give the same `S`; the latter is computed from the roster alone, with no
//! access to the tree. A member count would be the same number whenever no leaf is blank, and
//! it gives a smaller `S` only when a blank leaf sits left of the rightmost member *and* that
//! member's index then no longer fits in `S` bits: reading `group_size` as the member count
//! could truncate a member's index, which "bits required to encode a member index" excludes.
//! So wherever a member-count reading is usable at all, it agrees with this one.

use sframe_core::CipherSuite;

use crate::Error;

/// The MLS exporter label for the SFrame base key of an epoch (RFC 9605 section 5.2).
pub const EXPORTER_LABEL: &str = "SFrame 1.0 Base Key";

/// The MLS exporter context: empty.
pub const EXPORTER_CONTEXT: &[u8] = b"";

/// The length of the base key to export for `suite`: `AEAD.Nk` (16 or 32 bytes here).
pub fn base_key_len(suite: CipherSuite) -> usize {
    suite.key_len()
}

/// The number of bits of a KID: `E + S` may take all of them (the context is then always 0).
pub const KID_BITS: u8 = 64;

/// The largest number of epoch bits `E` accepted: all 64 (with `S = 0`). How many epochs a
/// keyring holds is bounded separately, by
/// [`KeyringConfig::max_epochs`](crate::KeyringConfig::max_epochs).
pub const MAX_EPOCH_BITS: u8 = KID_BITS;

/// The largest number of sender bits `S` accepted: an MLS leaf index is a `u32`, so no group
/// needs more than 32.
pub const MAX_SENDER_BITS: u8 = 32;

/// `S` for a group of `group_size`: the smallest value with `group_size <= (1 << S)`, exactly
/// as RFC 9605 section 5.2 writes it. 0 for a group of 0 or 1, 2 for 3 or 4, 3 for 5 to 8, 32
/// for `2^32` (the most leaves an MLS tree can have); above that, the bits a larger value
/// needs (up to 64).
///
/// See the [module docs](self) for what `group_size` is; [`sender_bits_for_leaves`] computes
/// it from the members' leaf indices.
pub fn sender_bits_for(group_size: u64) -> u8 {
    // group_size <= 2^S  <=>  group_size - 1 < 2^S  <=>  S >= bit length of (group_size - 1).
    (u64::BITS - group_size.saturating_sub(1).leading_zeros()) as u8
}

/// `S` for a group whose members sit at `leaf_indices`: [`sender_bits_for`] of the highest
/// index plus one (the tree's leaves up to its rightmost member). Every index fits in `S` bits;
/// 0 for no members or for leaf 0 alone.
pub fn sender_bits_for_leaves(leaf_indices: impl IntoIterator<Item = u32>) -> u8 {
    leaf_indices
        .into_iter()
        .max()
        .map_or(0, |highest| sender_bits_for(u64::from(highest) + 1))
}

/// Where the context, sender index and epoch sit in a KID: `E` epoch bits at the bottom, `S`
/// sender bits above them, the context in the `64 - S - E` bits above those.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KidLayout {
    epoch_bits: u8,
    sender_bits: u8,
}

/// A KID taken apart with a [`KidLayout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KidParts {
    /// The sender's context (stream) value.
    pub context: u64,
    /// The sender's MLS leaf index.
    pub sender_index: u32,
    /// The low `E` bits of the epoch.
    pub epoch_low: u64,
}

/// The low `bits` bits set (`bits` up to 64).
fn low_mask(bits: u8) -> u64 {
    u64::MAX
        .checked_shr(u32::from(KID_BITS.saturating_sub(bits)))
        .unwrap_or(0)
}

impl KidLayout {
    /// A layout with `epoch_bits` (E) and `sender_bits` (S).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if S exceeds [`MAX_SENDER_BITS`] or `E + S` exceeds
    /// [`KID_BITS`].
    pub fn new(epoch_bits: u8, sender_bits: u8) -> Result<Self, Error> {
        if sender_bits > MAX_SENDER_BITS {
            return Err(Error::InvalidConfig("sender_bits (S) above 32"));
        }
        if epoch_bits > KID_BITS || sender_bits > KID_BITS - epoch_bits {
            return Err(Error::InvalidConfig(
                "epoch_bits (E) plus sender_bits (S) above 64",
            ));
        }
        Ok(Self {
            epoch_bits,
            sender_bits,
        })
    }

    /// E.
    pub fn epoch_bits(&self) -> u8 {
        self.epoch_bits
    }

    /// S.
    pub fn sender_bits(&self) -> u8 {
        self.sender_bits
    }

    /// `S + E`: where the context starts.
    fn context_shift(&self) -> u32 {
        u32::from(self.sender_bits) + u32::from(self.epoch_bits)
    }

    /// The largest context value a KID can carry: `2^(64-S-E) - 1` (0 when `S + E = 64`).
    pub fn max_context(&self) -> u64 {
        u64::MAX.checked_shr(self.context_shift()).unwrap_or(0)
    }

    /// The largest sender index a KID can carry: `2^S - 1`.
    pub fn max_sender_index(&self) -> u32 {
        // S <= 32, so the mask fits a u32.
        u32::try_from(low_mask(self.sender_bits)).unwrap_or(u32::MAX)
    }

    /// The low E bits of `epoch`: `epoch mod 2^E`.
    pub fn epoch_low(&self, epoch: u64) -> u64 {
        epoch & low_mask(self.epoch_bits)
    }

    /// `KID = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)`.
    ///
    /// # Errors
    /// [`Error::ContextOutOfRange`] or [`Error::SenderIndexOutOfRange`] when a value does not
    /// fit its field.
    pub fn kid(&self, context: u64, sender_index: u32, epoch: u64) -> Result<u64, Error> {
        if context > self.max_context() {
            return Err(Error::ContextOutOfRange {
                context,
                max: self.max_context(),
            });
        }
        if sender_index > self.max_sender_index() {
            return Err(Error::SenderIndexOutOfRange {
                sender_index,
                max: self.max_sender_index(),
            });
        }
        // A shift by 64 only happens for a field of 0 bits, whose value is then 0.
        let high = context.checked_shl(self.context_shift()).unwrap_or(0);
        let sender = u64::from(sender_index)
            .checked_shl(u32::from(self.epoch_bits))
            .unwrap_or(0);
        Ok(high | sender | self.epoch_low(epoch))
    }

    /// Takes `kid` apart.
    pub fn split(&self, kid: u64) -> KidParts {
        let context = kid.checked_shr(self.context_shift()).unwrap_or(0);
        let sender = kid.checked_shr(u32::from(self.epoch_bits)).unwrap_or(0)
            & low_mask(self.sender_bits);
        KidParts {
            context,
            // S <= 32: the masked value fits.
            sender_index: u32::try_from(sender).unwrap_or(u32::MAX),
            epoch_low: self.epoch_low(kid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC's definition, written as a search: the smallest S with `size <= 2^S`.
    fn smallest_s(size: u64) -> u8 {
        (0..=64u8)
            .find(|&s| u128::from(size) <= 1u128 << s)
            .unwrap_or(64)
    }

    #[test]
    fn sender_bits_follow_the_rfc_definition() {
        // Powers of two need no extra bit: a group of 4 is encoded in 2 bits (leaves 0..=3).
        assert_eq!(sender_bits_for(0), 0);
        assert_eq!(sender_bits_for(1), 0);
        assert_eq!(sender_bits_for(2), 1);
        assert_eq!(sender_bits_for(3), 2);
        assert_eq!(sender_bits_for(4), 2);
        assert_eq!(sender_bits_for(5), 3);
        assert_eq!(sender_bits_for(8), 3);
        assert_eq!(sender_bits_for(9), 4);
        assert_eq!(sender_bits_for(255), 8);
        assert_eq!(sender_bits_for(256), 8);
        assert_eq!(sender_bits_for(257), 9);
        assert_eq!(sender_bits_for(u64::from(u32::MAX)), 32);
        assert_eq!(sender_bits_for(1 << 32), 32);
        assert_eq!(sender_bits_for((1 << 32) + 1), 33);
        assert_eq!(sender_bits_for(u64::MAX), 64);
        for size in (0..=70_000).chain([u64::MAX - 1, 1 << 63, (1 << 63) + 1]) {
            assert_eq!(sender_bits_for(size), smallest_s(size), "group of {size}");
        }
    }

    #[test]
    fn sender_bits_for_leaves_never_truncates_an_index() {
        assert_eq!(sender_bits_for_leaves([]), 0);
        assert_eq!(sender_bits_for_leaves([0]), 0);
        assert_eq!(sender_bits_for_leaves([0, 1, 2, 3]), 2);
        assert_eq!(sender_bits_for_leaves([3, 1, 0, 2, 4]), 3);
        // Two members, but at leaves 0 and 5 (1 to 4 blank): 5 needs 3 bits.
        assert_eq!(sender_bits_for_leaves([0, 5]), 3);
        assert_eq!(sender_bits_for_leaves([u32::MAX]), 32);
        for highest in (0..5000u32).chain([u32::MAX - 1, u32::MAX]) {
            let s = sender_bits_for_leaves([0, highest]);
            let layout = KidLayout::new(0, s).unwrap();
            assert!(highest <= layout.max_sender_index(), "leaf {highest}, S {s}");
            assert!(s == 0 || highest > layout.max_sender_index() >> 1, "S {s} is not minimal");
        }
    }

    #[test]
    fn the_rfc_figure_examples() {
        // RFC 9605 section 5.2 draws E = 4, S = 6; its examples.
        let layout = KidLayout::new(4, 6).unwrap();
        assert_eq!(layout.kid(0, 33, 17).unwrap(), 0x211);
        assert_eq!(layout.kid(0, 51, 17).unwrap(), 0x331);
        assert_eq!(layout.kid(2, 2, 16).unwrap(), 0x820);
        assert_eq!(layout.kid(3, 2, 16).unwrap(), 0xc20);
        assert_eq!(layout.kid(0, 3, 15).unwrap(), 0x3f);
        assert_eq!(layout.kid(0, 20, 14).unwrap(), 0x14e);
    }

    #[test]
    fn fields_at_their_limits() {
        let l = KidLayout::new(0, 32).unwrap();
        assert_eq!(l.max_context(), u32::MAX as u64);
        assert_eq!(l.kid(u32::MAX as u64, u32::MAX, 99).unwrap(), u64::MAX);
        let l = KidLayout::new(16, 32).unwrap();
        assert_eq!(l.max_context(), 0xffff);
        assert_eq!(l.kid(0xffff, u32::MAX, 0x1_ffff).unwrap(), u64::MAX);
        assert_eq!(
            l.kid(0x1_0000, 0, 0),
            Err(Error::ContextOutOfRange {
                context: 0x1_0000,
                max: 0xffff
            })
        );
        let l = KidLayout::new(2, 3).unwrap();
        assert_eq!(
            l.kid(0, 8, 0),
            Err(Error::SenderIndexOutOfRange {
                sender_index: 8,
                max: 7
            })
        );
        assert_eq!(
            l.split(l.kid(5, 7, 6).unwrap()),
            KidParts {
                context: 5,
                sender_index: 7,
                epoch_low: 2
            }
        );
        assert!(KidLayout::new(0, 33).is_err());
        assert!(KidLayout::new(33, 32).is_err());
        assert!(KidLayout::new(65, 0).is_err());
        assert!(KidLayout::new(u8::MAX, 1).is_err());
    }

    #[test]
    fn large_epoch_fields() {
        // E = 20 (a peer's choice), S = 5.
        let l = KidLayout::new(20, 5).unwrap();
        let kid = l.kid(3, 17, 0x12_3456).unwrap();
        assert_eq!(kid, (3 << 25) | (17 << 20) | 0x2_3456);
        assert_eq!(
            l.split(kid),
            KidParts {
                context: 3,
                sender_index: 17,
                epoch_low: 0x2_3456
            }
        );
        // E + S = 63: one context bit left.
        let l = KidLayout::new(31, 32).unwrap();
        assert_eq!(l.max_context(), 1);
        assert_eq!(l.kid(1, u32::MAX, u64::MAX).unwrap(), u64::MAX);
        // E + S = 64: no context bits; the context must be 0.
        let l = KidLayout::new(32, 32).unwrap();
        assert_eq!(l.max_context(), 0);
        assert!(l.kid(1, 0, 0).is_err());
        let kid = l.kid(0, 0xdead_beef, 0x1_2345_6789).unwrap();
        assert_eq!(kid, 0xdead_beef_2345_6789);
        assert_eq!(
            l.split(kid),
            KidParts {
                context: 0,
                sender_index: 0xdead_beef,
                epoch_low: 0x2345_6789
            }
        );
        // E = 64: the whole KID is the epoch, every member is leaf 0.
        let l = KidLayout::new(64, 0).unwrap();
        assert_eq!((l.max_context(), l.max_sender_index()), (0, 0));
        assert_eq!(l.kid(0, 0, u64::MAX - 7).unwrap(), u64::MAX - 7);
        assert_eq!(l.split(u64::MAX).epoch_low, u64::MAX);
        assert!(l.kid(0, 1, 0).is_err());
        // E = 0, S = 0: the whole KID is the context.
        let l = KidLayout::new(0, 0).unwrap();
        assert_eq!(l.kid(u64::MAX, 0, 77).unwrap(), u64::MAX);
        assert_eq!(l.split(9).context, 9);
    }
}
