//! [`WebrtcSrtp`]: the [`SrtpTransform`] seam over `webrtc-srtp` 0.17's synchronous
//! `Context`, kept as the differential-test peer and the benchmark baseline.
//!
//! It costs what that library costs: a fresh buffer per packet both ways, copied back into
//! the caller's buffer here, and (AEAD_AES_128_GCM) a byte-by-byte copy of the ciphertext.
//!
//! Two things are added around `webrtc-srtp`:
//! - every RTP packet is checked by [`RtpView::parse_header`] first, because `rtp`'s header
//!   parser (which `webrtc-srtp` calls) panics on some malformed extension blocks;
//! - on receive only SSRCs announced with [`SrtpTransform::allow_ssrc`] are let through, since
//!   `webrtc-srtp` creates per-SSRC state for every SSRC it is shown, before authenticating.

use std::collections::HashSet;

use webrtc_srtp::context::Context;
use webrtc_srtp::option::{
    srtcp_no_replay_protection, srtcp_replay_protection, srtp_no_replay_protection,
    srtp_replay_protection,
};
use webrtc_srtp::protection_profile::ProtectionProfile;

use super::{SrtpKeys, SrtpProfile, SrtpTransform};
use crate::error::{Error, SrtpError};
use crate::rtp_view::RtpView;

fn webrtc_profile(profile: SrtpProfile) -> ProtectionProfile {
    match profile {
        SrtpProfile::Aes128CmHmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
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
        let (srtp_option, srtcp_option) = match replay_window {
            Some(w) => (srtp_replay_protection(w), srtcp_replay_protection(w)),
            None => (srtp_no_replay_protection(), srtcp_no_replay_protection()),
        };
        let context = Context::new(
            &keys.master_key,
            &keys.master_salt,
            webrtc_profile(keys.profile),
            Some(srtp_option),
            Some(srtcp_option),
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
        E::SrtpSsrcDuplicated(..) | E::SrtcpSsrcDuplicated(..) | E::ErrDuplicated => {
            SrtpError::Replay { ssrc, seq }
        }
        E::ErrTooShortRtp | E::ErrTooShortRtcp | E::SrtpTooSmall(..) => SrtpError::TooShort,
        E::ErrExceededMaxPackets => SrtpError::Other,
        // Tag mismatch (HMAC) and every AES-GCM failure.
        _ => SrtpError::AuthenticationFailed,
    })
}

/// Copies `out` into `buf` (from the start), checking room.
fn copy_out(buf: &mut [u8], out: &[u8]) -> Result<usize, Error> {
    let available = buf.len();
    buf.get_mut(..out.len())
        .ok_or(Error::BufferTooSmall {
            needed: out.len(),
            available,
        })?
        .copy_from_slice(out);
    Ok(out.len())
}

fn rtcp_ssrc(packet: &[u8]) -> Result<u32, Error> {
    match packet.get(4..8) {
        Some(&[a, b, c, d]) if packet.first().is_some_and(|b0| b0 >> 6 == 2) => {
            Ok(u32::from_be_bytes([a, b, c, d]))
        }
        Some(_) => {
            Err(crate::error::RtpError::BadVersion(packet.first().map_or(0, |b| b >> 6)).into())
        }
        None => Err(SrtpError::TooShort.into()),
    }
}

impl SrtpTransform for WebrtcSrtp {
    fn profile(&self) -> SrtpProfile {
        self.profile
    }

    fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let packet = buf.get(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available: buf.len(),
        })?;
        let view = RtpView::parse_header(packet)?;
        let (ssrc, seq) = (view.ssrc(), view.sequence_number());
        if buf.len() < len + self.profile.overhead() {
            return Err(Error::BufferTooSmall {
                needed: len + self.profile.overhead(),
                available: buf.len(),
            });
        }
        let out = self
            .context
            .encrypt_rtp(packet)
            .map_err(|e| map_error(e, ssrc, seq))?;
        copy_out(buf, &out)
    }

    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        let view = RtpView::parse_header(packet)?;
        let (ssrc, seq) = (view.ssrc(), view.sequence_number());
        if !self.allowed.contains(&ssrc) {
            return Err(SrtpError::UnknownSsrc(ssrc).into());
        }
        if packet.len() < view.header_len() + self.profile.overhead() {
            return Err(SrtpError::TooShort.into());
        }
        let out = self
            .context
            .decrypt_rtp(packet)
            .map_err(|e| map_error(e, ssrc, seq))?;
        let n = copy_out(packet, &out)?;
        Ok(packet.split_at_mut(n).0)
    }

    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let packet = buf.get(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available: buf.len(),
        })?;
        let ssrc = rtcp_ssrc(packet)?;
        if buf.len() < len + self.profile.rtcp_overhead() {
            return Err(Error::BufferTooSmall {
                needed: len + self.profile.rtcp_overhead(),
                available: buf.len(),
            });
        }
        let out = self
            .context
            .encrypt_rtcp(packet)
            .map_err(|e| map_error(e, ssrc, 0))?;
        copy_out(buf, &out)
    }

    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        let ssrc = rtcp_ssrc(packet)?;
        if !self.allowed.contains(&ssrc) {
            return Err(SrtpError::UnknownSsrc(ssrc).into());
        }
        if packet.len() < 8 + self.profile.rtcp_overhead() {
            return Err(SrtpError::TooShort.into());
        }
        let out = self
            .context
            .decrypt_rtcp(packet)
            .map_err(|e| map_error(e, ssrc, 0))?;
        let n = copy_out(packet, &out)?;
        Ok(packet.split_at_mut(n).0)
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

    fn protect(tx: &mut dyn SrtpTransform, plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.resize(plain.len() + tx.profile().overhead(), 0);
        let n = tx.protect(&mut buf, plain.len()).unwrap();
        buf.truncate(n);
        buf
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
                let wire = protect(&mut tx, &plain);
                assert_eq!(wire.len(), plain.len() + profile.overhead());
                assert_ne!(wire[12..plain.len()], plain[12..], "payload encrypted");
                assert_eq!(
                    wrong.unprotect(&mut wire.clone()),
                    Err(Error::Srtp(SrtpError::AuthenticationFailed))
                );
                let mut flipped = wire.clone();
                flipped[20] ^= 1;
                assert_eq!(
                    rx.unprotect(&mut flipped),
                    Err(Error::Srtp(SrtpError::AuthenticationFailed))
                );
                assert_eq!(&rx.unprotect(&mut wire.clone()).unwrap()[..], &plain[..]);
                let seq = u16::from_be_bytes([wire[2], wire[3]]);
                assert_eq!(
                    rx.unprotect(&mut wire.clone()),
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
            let wire = protect(&mut tx, &rtp_packets(1).remove(0));
            assert_eq!(
                rx.unprotect(&mut wire.clone()),
                Err(Error::Srtp(SrtpError::UnknownSsrc(0x1111)))
            );
            rx.allow_ssrc(0x1111);
            assert!(matches!(
                rx.unprotect(&mut wire.clone()[..14]),
                Err(Error::Srtp(SrtpError::TooShort))
            ));
            assert!(matches!(rx.unprotect(&mut [0x90; 16]), Err(Error::Rtp(_))));
            assert!(rx.unprotect(&mut wire.clone()).is_ok());
        }
    }
}
