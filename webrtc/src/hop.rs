//! The hop-by-hop layer as `sframe-rtp` sees it when str0m does SRTP.

use sframe_rtp::{SframeRtpError, SrtpProfile, SrtpTransform};

/// An [`SrtpTransform`] that leaves packets as they are, because str0m protects and
/// unprotects them (DTLS-SRTP, its own keys per leg): `sframe-rtp`'s `MediaSender` and
/// `MediaReceiver` then build and read whole RTP packets and str0m's RTP mode carries them.
///
/// It reports the AES-GCM profile so that the packetizer leaves room for the 16-byte tag str0m
/// adds (`mtu` stays the size on the wire).
#[derive(Clone, Copy, Debug, Default)]
pub struct SrtpByStr0m;

impl SrtpTransform for SrtpByStr0m {
    fn profile(&self) -> SrtpProfile {
        SrtpProfile::AeadAes128Gcm
    }

    fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SframeRtpError> {
        if len > buf.len() {
            return Err(SframeRtpError::InvalidConfig("length beyond the buffer"));
        }
        Ok(len)
    }

    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], SframeRtpError> {
        Ok(packet)
    }

    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SframeRtpError> {
        self.protect(buf, len)
    }

    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], SframeRtpError> {
        Ok(packet)
    }

    fn allow_ssrc(&mut self, _ssrc: u32) {}
}
