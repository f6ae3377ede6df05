//! The KID layout of RFC 9605 section 5.2 and the MLS exporter parameters.
//!
//! ```text
//!   64-S-E bits   S bits   E bits
//! +-------------+--------+-------+
//! |   context   | sender | epoch |
//! +-------------+--------+-------+
//! KID = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))
//! ```

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

/// The largest number of epoch bits `E` accepted (a keyring holds up to `2^E` epochs).
pub const MAX_EPOCH_BITS: u8 = 16;

/// The largest number of sender bits `S` accepted (an MLS leaf index is a `u32`).
pub const MAX_SENDER_BITS: u8 = 32;

/// `S` for a group of `group_size` leaves: the smallest value with `group_size < (1 << S)`
/// (RFC 9605 section 5.2). Every leaf index of such a group fits in `S` bits.
pub fn sender_bits_for(group_size: u32) -> u8 {
    // group_size < 2^S  <=>  S > log2(group_size)  <=>  S = bit length of group_size.
    (u32::BITS - group_size.leading_zeros()) as u8
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

impl KidLayout {
    /// A layout with `epoch_bits` (E) and `sender_bits` (S).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if E exceeds [`MAX_EPOCH_BITS`] or S exceeds
    /// [`MAX_SENDER_BITS`].
    pub fn new(epoch_bits: u8, sender_bits: u8) -> Result<Self, Error> {
        if epoch_bits > MAX_EPOCH_BITS {
            return Err(Error::InvalidConfig("epoch_bits (E) above 16"));
        }
        if sender_bits > MAX_SENDER_BITS {
            return Err(Error::InvalidConfig("sender_bits (S) above 32"));
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

    fn low_mask(bits: u8) -> u64 {
        // bits <= 48 here, so the shift never overflows.
        (1u64 << bits) - 1
    }

    /// The largest context value a KID can carry: `2^(64-S-E) - 1`.
    pub fn max_context(&self) -> u64 {
        u64::MAX >> (self.epoch_bits + self.sender_bits)
    }

    /// The largest sender index a KID can carry: `2^S - 1`.
    pub fn max_sender_index(&self) -> u32 {
        Self::low_mask(self.sender_bits) as u32
    }

    /// The low E bits of `epoch`: `epoch mod 2^E`.
    pub fn epoch_low(&self, epoch: u64) -> u64 {
        epoch & Self::low_mask(self.epoch_bits)
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
        let high = context
            .checked_shl(u32::from(self.sender_bits + self.epoch_bits))
            .unwrap_or(0);
        Ok(high | (u64::from(sender_index) << self.epoch_bits) | self.epoch_low(epoch))
    }

    /// Takes `kid` apart.
    pub fn split(&self, kid: u64) -> KidParts {
        let context = kid
            .checked_shr(u32::from(self.sender_bits + self.epoch_bits))
            .unwrap_or(0);
        let sender_index = ((kid >> self.epoch_bits) & Self::low_mask(self.sender_bits)) as u32;
        KidParts {
            context,
            sender_index,
            epoch_low: self.epoch_low(kid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_bits_follow_the_rfc_definition() {
        // The smallest S with group_size < 2^S.
        assert_eq!(sender_bits_for(0), 0);
        assert_eq!(sender_bits_for(1), 1);
        assert_eq!(sender_bits_for(2), 2);
        assert_eq!(sender_bits_for(3), 2);
        assert_eq!(sender_bits_for(4), 3);
        assert_eq!(sender_bits_for(255), 8);
        assert_eq!(sender_bits_for(256), 9);
        assert_eq!(sender_bits_for(u32::MAX), 32);
    }

    #[test]
    fn the_rfc_figure_examples() {
        // RFC 9605 section 5.2 draws E = 4, S = 6 for small KIDs; its examples, context 0.
        let layout = KidLayout::new(4, 6).unwrap();
        assert_eq!(layout.kid(0, 33, 17).unwrap(), 0x211);
        assert_eq!(layout.kid(0, 51, 17).unwrap(), 0x331);
        assert_eq!(layout.kid(0, 2, 16).unwrap(), 0x20);
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
        assert!(KidLayout::new(17, 0).is_err());
        assert!(KidLayout::new(0, 33).is_err());
    }
}
