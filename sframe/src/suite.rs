//! The SFrame cipher suites: RFC 9605 section 8.1 and draft-barnes-sframe-iana-256.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// An SFrame cipher suite.
///
/// Suites 0x0001 to 0x0005 are registered by RFC 9605; 0x0006 to 0x0008 (AES-256-CTR with
/// HMAC-SHA-512) by draft-barnes-sframe-iana-256, which applies the section 4.5.1 construction
/// at the 256-bit security level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// 0x0001: AES-128-CTR, HMAC-SHA-256 tag truncated to 80 bits.
    Aes128CtrHmacSha256_80,
    /// 0x0002: AES-128-CTR, HMAC-SHA-256 tag truncated to 64 bits.
    Aes128CtrHmacSha256_64,
    /// 0x0003: AES-128-CTR, HMAC-SHA-256 tag truncated to 32 bits.
    Aes128CtrHmacSha256_32,
    /// 0x0004: AES-128-GCM, SHA-256 key schedule.
    Aes128GcmSha256_128,
    /// 0x0005: AES-256-GCM, SHA-512 key schedule.
    Aes256GcmSha512_128,
    /// 0x0006: AES-256-CTR, HMAC-SHA-512 tag truncated to 80 bits.
    Aes256CtrHmacSha512_80,
    /// 0x0007: AES-256-CTR, HMAC-SHA-512 tag truncated to 64 bits.
    Aes256CtrHmacSha512_64,
    /// 0x0008: AES-256-CTR, HMAC-SHA-512 tag truncated to 32 bits.
    Aes256CtrHmacSha512_32,
}

/// The hash function behind a suite's key schedule (and HMAC, for the CTR suites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

/// The AEAD construction behind a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AeadKind {
    /// AES-GCM with a key of the given length in bytes.
    Gcm { key_len: usize },
    /// RFC 9605 section 4.5.1: AES-CTR with `enc_key_len` bytes, then a truncated HMAC.
    CtrHmac { enc_key_len: usize },
}

impl CipherSuite {
    /// Every suite this crate implements, in registry order.
    pub const ALL: [CipherSuite; 8] = [
        Self::Aes128CtrHmacSha256_80,
        Self::Aes128CtrHmacSha256_64,
        Self::Aes128CtrHmacSha256_32,
        Self::Aes128GcmSha256_128,
        Self::Aes256GcmSha512_128,
        Self::Aes256CtrHmacSha512_80,
        Self::Aes256CtrHmacSha512_64,
        Self::Aes256CtrHmacSha512_32,
    ];

    /// The suite registered under `id`, if any.
    pub const fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            0x0001 => Self::Aes128CtrHmacSha256_80,
            0x0002 => Self::Aes128CtrHmacSha256_64,
            0x0003 => Self::Aes128CtrHmacSha256_32,
            0x0004 => Self::Aes128GcmSha256_128,
            0x0005 => Self::Aes256GcmSha512_128,
            0x0006 => Self::Aes256CtrHmacSha512_80,
            0x0007 => Self::Aes256CtrHmacSha512_64,
            0x0008 => Self::Aes256CtrHmacSha512_32,
            _ => return None,
        })
    }

    /// The two-byte registry value, as it enters the key schedule labels.
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128CtrHmacSha256_80 => 0x0001,
            Self::Aes128CtrHmacSha256_64 => 0x0002,
            Self::Aes128CtrHmacSha256_32 => 0x0003,
            Self::Aes128GcmSha256_128 => 0x0004,
            Self::Aes256GcmSha512_128 => 0x0005,
            Self::Aes256CtrHmacSha512_80 => 0x0006,
            Self::Aes256CtrHmacSha512_64 => 0x0007,
            Self::Aes256CtrHmacSha512_32 => 0x0008,
        }
    }

    /// The registry name, e.g. `AES_128_GCM_SHA256_128`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128CtrHmacSha256_80 => "AES_128_CTR_HMAC_SHA256_80",
            Self::Aes128CtrHmacSha256_64 => "AES_128_CTR_HMAC_SHA256_64",
            Self::Aes128CtrHmacSha256_32 => "AES_128_CTR_HMAC_SHA256_32",
            Self::Aes128GcmSha256_128 => "AES_128_GCM_SHA256_128",
            Self::Aes256GcmSha512_128 => "AES_256_GCM_SHA512_128",
            Self::Aes256CtrHmacSha512_80 => "AES_256_CTR_HMAC_SHA512_80",
            Self::Aes256CtrHmacSha512_64 => "AES_256_CTR_HMAC_SHA512_64",
            Self::Aes256CtrHmacSha512_32 => "AES_256_CTR_HMAC_SHA512_32",
        }
    }

    /// `AEAD.Nk`: the length in bytes of the AEAD key (for the CTR suites, the encryption and
    /// authentication keys together).
    pub const fn key_len(self) -> usize {
        match self.aead() {
            AeadKind::Gcm { key_len } => key_len,
            AeadKind::CtrHmac { enc_key_len } => enc_key_len + self.hash_len(),
        }
    }

    /// `AEAD.Nn`: the nonce length in bytes (12 for every suite).
    pub const fn nonce_len(self) -> usize {
        NONCE_LEN
    }

    /// `AEAD.Nt`: the tag length in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80 | Self::Aes256CtrHmacSha512_80 => 10,
            Self::Aes128CtrHmacSha256_64 | Self::Aes256CtrHmacSha512_64 => 8,
            Self::Aes128CtrHmacSha256_32 | Self::Aes256CtrHmacSha512_32 => 4,
            Self::Aes128GcmSha256_128 | Self::Aes256GcmSha512_128 => 16,
        }
    }

    /// `Nh`: the output length in bytes of the suite's hash function.
    pub const fn hash_len(self) -> usize {
        match self.hash() {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }

    pub(crate) const fn hash(self) -> Hash {
        match self {
            Self::Aes128CtrHmacSha256_80
            | Self::Aes128CtrHmacSha256_64
            | Self::Aes128CtrHmacSha256_32
            | Self::Aes128GcmSha256_128 => Hash::Sha256,
            Self::Aes256GcmSha512_128
            | Self::Aes256CtrHmacSha512_80
            | Self::Aes256CtrHmacSha512_64
            | Self::Aes256CtrHmacSha512_32 => Hash::Sha512,
        }
    }

    pub(crate) const fn aead(self) -> AeadKind {
        match self {
            Self::Aes128CtrHmacSha256_80
            | Self::Aes128CtrHmacSha256_64
            | Self::Aes128CtrHmacSha256_32 => AeadKind::CtrHmac { enc_key_len: 16 },
            Self::Aes256CtrHmacSha512_80
            | Self::Aes256CtrHmacSha512_64
            | Self::Aes256CtrHmacSha512_32 => AeadKind::CtrHmac { enc_key_len: 32 },
            Self::Aes128GcmSha256_128 => AeadKind::Gcm { key_len: 16 },
            Self::Aes256GcmSha512_128 => AeadKind::Gcm { key_len: 32 },
        }
    }

    /// For the AES-CTR + HMAC suites, `Nka`: the length of the encryption part of the key
    /// (RFC 9605 section 4.5.1 `derive_subkeys`). `None` for the GCM suites.
    pub const fn enc_key_len(self) -> Option<usize> {
        match self.aead() {
            AeadKind::CtrHmac { enc_key_len } => Some(enc_key_len),
            AeadKind::Gcm { .. } => None,
        }
    }
}

/// Every suite's nonce length (`AEAD.Nn`).
pub const NONCE_LEN: usize = 12;
/// The longest tag of any suite.
pub const MAX_TAG_LEN: usize = 16;
/// The longest key (`AEAD.Nk`) of any suite.
pub const MAX_KEY_LEN: usize = 96;
/// The longest hash output (`Nh`) of any suite.
pub const MAX_HASH_LEN: usize = 64;

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<u16> for CipherSuite {
    type Error = Error;

    fn try_from(id: u16) -> Result<Self, Error> {
        Self::from_id(id).ok_or(Error::UnsupportedSuite(id))
    }
}

impl FromStr for CipherSuite {
    type Err = Error;

    /// Accepts the registry name (any case), the decimal id (`4`) or the hex id (`0x0004`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if let Some(suite) = Self::ALL.iter().find(|c| c.name().eq_ignore_ascii_case(s)) {
            return Ok(*suite);
        }
        let id = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u16::from_str_radix(hex, 16),
            None => s.parse::<u16>(),
        }
        .map_err(|_| Error::UnknownSuiteName)?;
        Self::try_from(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_parameters_match_the_registries() {
        for suite in CipherSuite::ALL {
            assert_eq!(CipherSuite::from_id(suite.id()), Some(suite));
            assert_eq!(suite.name().parse::<CipherSuite>().ok(), Some(suite));
            assert_eq!(
                suite.id().to_string().parse::<CipherSuite>().ok(),
                Some(suite)
            );
            assert!(suite.key_len() <= MAX_KEY_LEN && suite.tag_len() <= MAX_TAG_LEN);
        }
        let nk: Vec<usize> = CipherSuite::ALL.iter().map(|s| s.key_len()).collect();
        assert_eq!(nk, [48, 48, 48, 16, 32, 96, 96, 96]);
        let nt: Vec<usize> = CipherSuite::ALL.iter().map(|s| s.tag_len()).collect();
        assert_eq!(nt, [10, 8, 4, 16, 16, 10, 8, 4]);
        assert_eq!(CipherSuite::from_id(0), None);
        assert_eq!(CipherSuite::from_id(9), None);
        assert!("0x0009".parse::<CipherSuite>().is_err());
        assert_eq!(
            "0x0005".parse::<CipherSuite>().ok(),
            Some(CipherSuite::Aes256GcmSha512_128)
        );
    }
}
