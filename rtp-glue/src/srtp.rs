//! Hop-by-hop SRTP (RFC 3711, RFC 7714) behind a small trait, [`SrtpTransform`].
//!
//! The one implementation today, [`WebrtcSrtp`], wraps `webrtc-srtp` 0.17's synchronous
//! `Context`. It costs what that library costs: a fresh buffer per packet both ways, and
//! (AEAD_AES_128_GCM) a byte-by-byte copy of the ciphertext; the trait protects in place in
//! the caller's `Vec<u8>`, so a faster in-place implementation can replace it without touching
//! the packetizer, the receiver or the SFU (the bench shows the share SRTP takes).
//!
//! Two things are added around `webrtc-srtp`:
//! - every packet is checked by [`RtpView::parse_header`] first, because `rtp`'s header parser
//!   (which `webrtc-srtp` calls) panics on some malformed extension blocks;
//! - on receive only SSRCs announced with [`SrtpTransform::allow_ssrc`] are let through, since
//!   `webrtc-srtp` creates per-SSRC state for every SSRC it is shown, before authenticating.

use std::collections::HashSet;

use bytes::Bytes;
use webrtc_srtp::context::Context;
use webrtc_srtp::option::{
    srtcp_no_replay_protection, srtp_no_replay_protection, srtp_replay_protection,
};
use webrtc_srtp::protection_profile::ProtectionProfile;

use crate::error::{Error, SrtpError};
use crate::rtp_view::RtpView;

/// The SRTP protection profiles offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SrtpProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (RFC 3711): 16-byte key, 14-byte salt, 10-byte tag.
    Aes128CmHmacSha1_80,
    /// SRTP_AEAD_AES_128_GCM (RFC 7714): 16-byte key, 12-byte salt, 16-byte tag.
    AeadAes128Gcm,
}

impl SrtpProfile {
    /// Both profiles.
    pub const ALL: [Self; 2] = [Self::Aes128CmHmacSha1_80, Self::AeadAes128Gcm];

    /// Master key length.
    pub const fn key_len(self) -> usize {
        16
    }

    /// Master salt length.
    pub const fn salt_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => 14,
            Self::AeadAes128Gcm => 12,
        }
    }

    /// Bytes SRTP adds to each RTP packet.
    pub const fn overhead(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => 10,
            Self::AeadAes128Gcm => 16,
        }
    }

    fn webrtc(self) -> ProtectionProfile {
        match self {
            Self::Aes128CmHmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Self::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        }
    }
}

/// One direction of one SRTP leg.
pub trait SrtpTransform: Send + core::fmt::Debug {
    /// The profile.
    fn profile(&self) -> SrtpProfile;

    /// Protects the plaintext RTP packet in `packet`, in place: on return it holds the SRTP
    /// packet (header, encrypted payload, tag).
    ///
    /// # Errors
    /// [`Error::Rtp`] for a malformed packet, [`Error::Srtp`] if SRTP refuses.
    fn protect(&mut self, packet: &mut Vec<u8>) -> Result<(), Error>;

    /// Authenticates, replay-checks and decrypts an SRTP packet; returns the plaintext RTP
    /// packet.
    ///
    /// # Errors
    /// [`Error::Rtp`] for a malformed header; [`Error::Srtp`]: an unknown SSRC, a packet too
    /// short, authentication failure, replay.
    fn unprotect(&mut self, packet: &[u8]) -> Result<Bytes, Error>;

    /// Lets packets of `ssrc` through on receive.
    fn allow_ssrc(&mut self, ssrc: u32);
}

/// The master key and salt of one direction of a leg.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The profile.
    pub profile: SrtpProfile,
    /// Master key ([`SrtpProfile::key_len`] bytes).
    pub master_key: Vec<u8>,
    /// Master salt ([`SrtpProfile::salt_len`] bytes).
    pub master_salt: Vec<u8>,
}

impl core::fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Drop for SrtpKeys {
    fn drop(&mut self) {
        self.master_key.fill(0);
        self.master_salt.fill(0);
    }
}

/// [`SrtpTransform`] over `webrtc-srtp` 0.17.
pub struct WebrtcSrtp {
    profile: SrtpProfile,
    context: Context,
    allowed: HashSet<u32>,
}

impl core::fmt::Debug for WebrtcSrtp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebrtcSrtp")
            .field("profile", &self.profile)
            .field("allowed_ssrcs", &self.allowed.len())
            .finish_non_exhaustive()
    }
}

impl WebrtcSrtp {
    /// A context for sending (protect only).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for keys of the wrong length.
    pub fn sender(keys: &SrtpKeys) -> Result<Self, Error> {
        Self::with_replay(keys, None)
    }

    /// A context for receiving (unprotect only), with a replay window of `replay_window`
    /// packets per SSRC.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for keys of the wrong length.
    pub fn receiver(keys: &SrtpKeys, replay_window: usize) -> Result<Self, Error> {
        Self::with_replay(keys, Some(replay_window))
    }

    fn with_replay(keys: &SrtpKeys, replay_window: Option<usize>) -> Result<Self, Error> {
        let srtp_option = match replay_window {
            Some(w) => srtp_replay_protection(w),
            None => srtp_no_replay_protection(),
        };
        let context = Context::new(
            &keys.master_key,
            &keys.master_salt,
            keys.profile.webrtc(),
            Some(srtp_option),
            Some(srtcp_no_replay_protection()),
        )
        .map_err(|_| Error::InvalidConfig("SRTP master key or salt of the wrong length"))?;
        Ok(Self {
            profile: keys.profile,
            context,
            allowed: HashSet::new(),
        })
    }
}

fn map_error(e: webrtc_srtp::Error, ssrc: u32, seq: u16) -> Error {
    use webrtc_srtp::Error as E;
    Error::Srtp(match e {
        E::SrtpSsrcDuplicated(..) | E::ErrDuplicated => SrtpError::Replay { ssrc, seq },
        E::ErrTooShortRtp | E::SrtpTooSmall(..) => SrtpError::TooShort,
        E::ErrExceededMaxPackets => SrtpError::Other,
        // Tag mismatch (HMAC) and every AES-GCM failure.
        _ => SrtpError::AuthenticationFailed,
    })
}

impl SrtpTransform for WebrtcSrtp {
    fn profile(&self) -> SrtpProfile {
        self.profile
    }

    fn protect(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let view = RtpView::parse_header(packet)?;
        let (ssrc, seq) = (view.ssrc(), view.sequence_number());
        let out = self
            .context
            .encrypt_rtp(packet)
            .map_err(|e| map_error(e, ssrc, seq))?;
        packet.clear();
        packet.extend_from_slice(&out);
        Ok(())
    }

    fn unprotect(&mut self, packet: &[u8]) -> Result<Bytes, Error> {
        let view = RtpView::parse_header(packet)?;
        let (ssrc, seq) = (view.ssrc(), view.sequence_number());
        if !self.allowed.contains(&ssrc) {
            return Err(SrtpError::UnknownSsrc(ssrc).into());
        }
        if packet.len() < view.header_len() + self.profile.overhead() {
            return Err(SrtpError::TooShort.into());
        }
        self.context
            .decrypt_rtp(packet)
            .map_err(|e| map_error(e, ssrc, seq))
    }

    fn allow_ssrc(&mut self, ssrc: u32) {
        self.allowed.insert(ssrc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::Origin;
    use crate::packetizer::{FrameMetadata, Packetizer, PacketizerConfig};

    fn keys(profile: SrtpProfile, seed: u8) -> SrtpKeys {
        SrtpKeys {
            profile,
            master_key: vec![seed; profile.key_len()],
            master_salt: vec![seed ^ 0x55; profile.salt_len()],
        }
    }

    fn rtp_packets(n: usize) -> Vec<Vec<u8>> {
        let cfg = PacketizerConfig {
            mtu: 300,
            srtp_overhead: 16,
        };
        let mut p = Packetizer::new(0x1111, 65530, cfg);
        let meta = FrameMetadata {
            payload_type: 111,
            ..FrameMetadata::default()
        };
        let mut out = vec![];
        p.packetize_frame(&meta, Origin::Raw, &vec![0x42; 250 * n], &mut out)
            .unwrap();
        out
    }

    #[test]
    fn round_trip_replay_and_tamper_both_profiles() {
        for profile in SrtpProfile::ALL {
            let mut tx = WebrtcSrtp::sender(&keys(profile, 1)).unwrap();
            let mut rx = WebrtcSrtp::receiver(&keys(profile, 1), 64).unwrap();
            let mut wrong = WebrtcSrtp::receiver(&keys(profile, 2), 64).unwrap();
            rx.allow_ssrc(0x1111);
            wrong.allow_ssrc(0x1111);
            for plain in rtp_packets(10) {
                let mut wire = plain.clone();
                tx.protect(&mut wire).unwrap();
                assert_eq!(wire.len(), plain.len() + profile.overhead());
                assert_ne!(wire[12..plain.len()], plain[12..], "payload encrypted");
                assert_eq!(
                    wrong.unprotect(&wire),
                    Err(Error::Srtp(SrtpError::AuthenticationFailed))
                );
                let mut flipped = wire.clone();
                flipped[20] ^= 1;
                assert_eq!(
                    rx.unprotect(&flipped),
                    Err(Error::Srtp(SrtpError::AuthenticationFailed))
                );
                assert_eq!(&rx.unprotect(&wire).unwrap()[..], &plain[..]);
                let seq = u16::from_be_bytes([wire[2], wire[3]]);
                assert_eq!(
                    rx.unprotect(&wire),
                    Err(Error::Srtp(SrtpError::Replay { ssrc: 0x1111, seq })),
                    "{profile:?}: replay across the sequence wrap too"
                );
            }
        }
    }

    #[test]
    fn unknown_ssrc_and_garbage_are_refused_without_state() {
        for profile in SrtpProfile::ALL {
            let mut rx = WebrtcSrtp::receiver(&keys(profile, 1), 64).unwrap();
            let mut tx = WebrtcSrtp::sender(&keys(profile, 1)).unwrap();
            let mut wire = rtp_packets(1).remove(0);
            tx.protect(&mut wire).unwrap();
            assert_eq!(
                rx.unprotect(&wire),
                Err(Error::Srtp(SrtpError::UnknownSsrc(0x1111)))
            );
            rx.allow_ssrc(0x1111);
            assert!(matches!(
                rx.unprotect(&wire[..14]),
                Err(Error::Srtp(SrtpError::TooShort))
            ));
            assert!(matches!(rx.unprotect(&[0x90; 16]), Err(Error::Rtp(_))));
            assert!(rx.unprotect(&wire).is_ok());
        }
    }
}
