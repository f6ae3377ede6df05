//! A short code people read to each other to check they are in the same MLS epoch.

use core::fmt;

/// Groups of digits in a [`SecurityCode`].
pub const SECURITY_CODE_GROUPS: usize = 6;

/// Bytes of the authenticator used per group.
const BYTES_PER_GROUP: usize = 5;

/// The epoch authenticator of an MLS epoch (RFC 9420 section 8.7) shown as six groups of five
/// digits, e.g. `04521 88213 30977 65120 00834 91456`.
///
/// Every member of an epoch derives the same authenticator, and an impersonating delivery
/// service cannot make two members' authenticators agree, so participants who compare codes
/// (out loud, on screen) rule out a man in the middle. Each group is five bytes of the
/// authenticator read big-endian, modulo 100000 (about 16.6 bits per group, 99.6 bits in all).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityCode {
    epoch: u64,
    groups: [u32; SECURITY_CODE_GROUPS],
}

impl SecurityCode {
    /// The code of `epoch` from its epoch authenticator. `None` if the authenticator is shorter
    /// than 30 bytes (every MLS cipher suite's is at least 32).
    pub fn from_authenticator(epoch: u64, authenticator: &[u8]) -> Option<Self> {
        let mut groups = [0u32; SECURITY_CODE_GROUPS];
        let mut chunks = authenticator.chunks_exact(BYTES_PER_GROUP);
        for group in &mut groups {
            let chunk = chunks.next()?;
            let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            *group = (value % 100_000) as u32;
        }
        Some(Self { epoch, groups })
    }

    /// The epoch this code belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The six five-digit groups.
    pub fn groups(&self) -> [u32; SECURITY_CODE_GROUPS] {
        self.groups
    }
}

impl fmt::Display for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{g:05}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityCode(epoch {}: {self})", self.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_by_hand() {
        // Groups: 00 00 00 00 01 -> 1; 00 00 01 86 a0 = 100000 -> 0; ff ff ff ff ff =
        // 1099511627775 -> 27775; 00 00 01 86 9f = 99999; 00 00 00 30 39 = 12345; 0x..2a = 42.
        let auth = hex::decode(concat!(
            "0000000001",
            "00000186a0",
            "ffffffffff",
            "000001869f",
            "0000003039",
            "000000002a",
            "eeee"
        ))
        .unwrap();
        let code = SecurityCode::from_authenticator(7, &auth).unwrap();
        assert_eq!(code.groups(), [1, 0, 27775, 99999, 12345, 42]);
        assert_eq!(code.to_string(), "00001 00000 27775 99999 12345 00042");
        assert_eq!(code.epoch(), 7);
        assert!(SecurityCode::from_authenticator(7, &auth[..29]).is_none());
        assert!(SecurityCode::from_authenticator(7, &auth[..30]).is_some());
    }
}
