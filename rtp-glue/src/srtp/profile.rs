//! The SRTP protection profiles (RFC 5764 section 4.1.2, RFC 7714 section 14.2).

/// An SRTP protection profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SrtpProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (RFC 3711): 16-byte key, 14-byte salt, 10-byte tag.
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (RFC 3711, RFC 5764): as the 80-bit profile, but a 4-byte
    /// SRTP tag (SRTCP keeps 10 bytes).
    Aes128CmHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM (RFC 7714): 16-byte key, 12-byte salt, 16-byte tag.
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (RFC 7714): 32-byte key, 12-byte salt, 16-byte tag.
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Every profile.
    pub const ALL: [Self; 4] = [
        Self::Aes128CmHmacSha1_80,
        Self::Aes128CmHmacSha1_32,
        Self::AeadAes128Gcm,
        Self::AeadAes256Gcm,
    ];

    /// Master (and session) key length.
    pub const fn key_len(self) -> usize {
        match self {
            Self::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master (and session) salt length.
    pub const fn salt_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::Aes128CmHmacSha1_32 => 14,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 12,
        }
    }

    /// `true` for the AEAD (AES-GCM) profiles.
    pub const fn is_aead(self) -> bool {
        matches!(self, Self::AeadAes128Gcm | Self::AeadAes256Gcm)
    }

    /// Bytes SRTP adds to each RTP packet (the tag).
    pub const fn overhead(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => 10,
            Self::Aes128CmHmacSha1_32 => 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
        }
    }

    /// Bytes SRTCP adds to each RTCP packet (the E bit and SRTCP index, and the tag).
    pub const fn rtcp_overhead(self) -> usize {
        4 + self.rtcp_tag_len()
    }

    /// Length of the SRTCP tag: 10 bytes for both AES-CM profiles, 16 for AES-GCM.
    pub const fn rtcp_tag_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::Aes128CmHmacSha1_32 => 10,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
        }
    }

    /// The IANA name (RFC 5764, RFC 7714), e.g. `SRTP_AEAD_AES_128_GCM`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
            Self::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_HMAC_SHA1_32",
            Self::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            Self::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }
}
