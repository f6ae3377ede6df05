//! Hop-by-hop SRTP and SRTCP (RFC 3711, RFC 7714) behind a small trait, [`SrtpTransform`].
//!
//! Two implementations:
//! - [`SrtpContext`], our own engine, the default: in place (the tag goes into room the caller
//!   reserved after the packet; unprotect hands back a sub-slice of the input), no allocation
//!   per packet, session keys expanded once, crypto through `sframe-core`'s backends
//!   ([`sframe_core::primitives`]).
//! - [`WebrtcSrtp`], a wrapper around `webrtc-srtp` 0.17: kept as the differential-test peer
//!   and the benchmark baseline (it allocates and copies per packet).
//!
//! ```
//! use sframe_rtp::{SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};
//!
//! let keys = SrtpKeys {
//!     profile: SrtpProfile::AeadAes128Gcm,
//!     master_key: vec![1; 16],
//!     master_salt: vec![2; 12],
//! };
//! let mut tx = SrtpContext::sender(&keys)?;
//! let mut rx = SrtpContext::receiver(&keys, 1024)?;
//! rx.allow_ssrc(0x1234);
//!
//! // An RTP packet (12-byte header, 5-byte payload) with room for the tag behind it.
//! let mut buf = [0u8; 64];
//! buf[..12].copy_from_slice(&[0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34]);
//! buf[12..17].copy_from_slice(b"hello");
//! let len = tx.protect(&mut buf, 17)?;
//! assert_eq!(len, 17 + keys.profile.overhead());
//!
//! let rtp = rx.unprotect(&mut buf[..len])?;
//! assert_eq!(&rtp[12..], b"hello");
//!
//! // The same sequence number again is a replay, refused before any state changes.
//! let len = tx.protect(&mut buf, 17)?;
//! assert!(matches!(
//!     rx.unprotect(&mut buf[..len]),
//!     Err(sframe_rtp::SframeRtpError::Srtp(sframe_rtp::SrtpError::Replay { seq: 1, .. }))
//! ));
//! # Ok::<(), sframe_rtp::SframeRtpError>(())
//! ```

mod context;
mod kdf;
mod profile;
mod replay;
mod webrtc;

pub use context::SrtpContext;
pub use profile::SrtpProfile;
pub use webrtc::WebrtcSrtp;

use crate::error::Error;

/// One SRTP leg's transform: protect what is sent, unprotect what is received, in the
/// caller's buffers.
pub trait SrtpTransform: Send + core::fmt::Debug {
    /// The profile.
    fn profile(&self) -> SrtpProfile;

    /// Protects the RTP packet `buf[..len]` in place: the payload is encrypted and the tag
    /// goes into room the caller reserved after it (`buf.len() >= len +
    /// self.profile().overhead()`). Returns the SRTP packet's length.
    ///
    /// # Errors
    /// [`Error::Rtp`] for a malformed header; [`Error::BufferTooSmall`] if there is no room
    /// for the tag; [`Error::SrtpIndexExhausted`] when the key must be changed.
    fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error>;

    /// Authenticates, replay-checks and decrypts the SRTP packet `packet` in place. Returns
    /// the RTP packet (header and decrypted payload) as a sub-slice of `packet`.
    ///
    /// # Errors
    /// [`Error::Rtp`] for a malformed header; [`Error::Srtp`]: an unknown SSRC, a packet too
    /// short, authentication failure, replay. A refused packet changes no state of the
    /// transform; its bytes in `packet` may have been overwritten (aws-lc-rs zeroes a text
    /// that fails AES-GCM authentication).
    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error>;

    /// Protects the RTCP compound packet `buf[..len]` in place (SRTCP, encrypted, E bit set):
    /// the SRTCP index and tag go into room the caller reserved after it (`buf.len() >= len +
    /// self.profile().rtcp_overhead()`). Returns the SRTCP packet's length.
    ///
    /// # Errors
    /// [`Error::Srtp`] ([`crate::SrtpError::TooShort`]) for fewer than 8 bytes;
    /// [`Error::BufferTooSmall`]; [`Error::SrtpIndexExhausted`] after 2^31 packets.
    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error>;

    /// Authenticates, replay-checks and (if the E bit says so) decrypts the SRTCP packet
    /// `packet` in place; returns the RTCP packet as a sub-slice of `packet`.
    ///
    /// # Errors
    /// As [`SrtpTransform::unprotect`].
    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error>;

    /// Lets packets (SRTP and SRTCP) of `ssrc` through on receive.
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
