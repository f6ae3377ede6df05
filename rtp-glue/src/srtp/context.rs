//! [`SrtpContext`]: our SRTP/SRTCP engine, in place, with no allocation per packet.
//!
//! ```text
//! AES-CM + HMAC-SHA1 (RFC 3711)
//!   SRTP   IV  = salt<<16 XOR SSRC<<64 XOR index<<16        index = ROC<<16 | SEQ
//!          pkt = header || AES-CM(payload) || HMAC(header || ct || ROC)[..10 or 4]
//!   SRTCP  IV  = salt<<16 XOR SSRC<<64 XOR srtcp_index<<16
//!          pkt = header(8) || AES-CM(rest) || E|index || HMAC(all before)[..10]
//! AES-GCM (RFC 7714)
//!   SRTP   IV  = salt XOR (0^16 || SSRC || ROC || SEQ)        AAD = header
//!          pkt = header || GCM(payload) || tag(16)
//!   SRTCP  IV  = salt XOR (0^16 || SSRC || 0^16 || index)     AAD = header(8) || E|index
//!          pkt = header(8) || GCM(rest) || tag(16) || E|index
//! ```
//!
//! Receive-side state (the rollover counter, the highest index, the replay windows) moves
//! only after a packet authenticated, so forged packets, whatever their sequence numbers,
//! can neither advance the rollover counter nor poison the window.

use sframe_core::Backend;
use sframe_core::primitives::{AesCtr, AesGcm, HmacSha1};

use super::kdf::{
    Kdf, LABEL_RTCP_AUTH, LABEL_RTCP_ENCRYPTION, LABEL_RTCP_SALT, LABEL_RTP_AUTH,
    LABEL_RTP_ENCRYPTION, LABEL_RTP_SALT,
};
use super::replay::{Refused, ReplayWindow, estimate_index};
use super::{SrtpKeys, SrtpProfile, SrtpTransform};
use crate::error::{Error, RtpError, SrtpError};

const AUTH_KEY_LEN: usize = 20;
const RTCP_HEADER_LEN: usize = 8;
const E_BIT: u32 = 0x8000_0000;
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// The keyed cipher of one direction of SRTP or SRTCP.
// Two per context, built once: boxing the large variant would add an indirection per packet.
#[allow(clippy::large_enum_variant)]
enum Cipher {
    CmHmac {
        ctr: AesCtr,
        mac: HmacSha1,
        salt: [u8; 14],
    },
    Gcm {
        gcm: AesGcm,
        salt: [u8; 12],
    },
}

impl Drop for Cipher {
    fn drop(&mut self) {
        match self {
            Self::CmHmac { salt, .. } => salt.fill(0),
            Self::Gcm { salt, .. } => salt.fill(0),
        }
    }
}

impl Cipher {
    /// From session keys (the RFC 7714 vectors give these directly).
    fn from_session(
        backend: Backend,
        profile: SrtpProfile,
        key: &[u8],
        auth: &[u8],
        salt: &[u8],
    ) -> Result<Self, Error> {
        let bad = |_| Error::InvalidConfig("SRTP session key of the wrong length");
        Ok(if profile.is_aead() {
            Self::Gcm {
                gcm: AesGcm::new(backend, key).map_err(bad)?,
                salt: salt
                    .try_into()
                    .map_err(|_| Error::InvalidConfig("SRTP session salt of the wrong length"))?,
            }
        } else {
            Self::CmHmac {
                ctr: AesCtr::new(backend, key).map_err(bad)?,
                mac: HmacSha1::new(backend, auth).map_err(bad)?,
                salt: salt
                    .try_into()
                    .map_err(|_| Error::InvalidConfig("SRTP session salt of the wrong length"))?,
            }
        })
    }

    fn derive(
        backend: Backend,
        profile: SrtpProfile,
        kdf: &Kdf,
        labels: [u8; 3],
    ) -> Result<Self, Error> {
        let [enc_label, auth_label, salt_label] = labels;
        let key_len = profile.key_len();
        let salt_len = profile.salt_len();
        let mut key = [0u8; 32];
        let mut auth = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; 14];
        let result = (|| {
            let key = key
                .get_mut(..key_len)
                .ok_or(Error::InvalidConfig("SRTP key length"))?;
            let salt = salt
                .get_mut(..salt_len)
                .ok_or(Error::InvalidConfig("SRTP salt length"))?;
            kdf.derive(enc_label, key)?;
            kdf.derive(salt_label, salt)?;
            if !profile.is_aead() {
                kdf.derive(auth_label, &mut auth)?;
            }
            Self::from_session(backend, profile, key, &auth, salt)
        })();
        key.fill(0);
        auth.fill(0);
        salt.fill(0);
        result
    }
}

/// What this context knows of one SSRC (its SSRC is in `SrtpContext::ssrcs`, at the same
/// position).
///
/// Laid out by hand, on a cache line of its own: everything a packet reads besides one word of
/// the replay bits (`allowed`, the send index, the replay window's top) is in the first line.
/// A server or a receiver with many streams meets a packet's stream cold, and the compiler's
/// own order put `allowed` 324 bytes in, a miss of its own on every packet.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Stream {
    /// Set by [`SrtpTransform::allow_ssrc`]: packets of this SSRC may be unprotected.
    allowed: bool,
    /// Sending: the last SRTCP index used (the first packet gets 1).
    tx_rtcp_index: u32,
    /// Sending: the highest SRTP index protected so far.
    tx_highest: Option<u64>,
    /// Receiving: the highest authenticated SRTP index and the replay window below it.
    rx_rtp: ReplayWindow,
    /// Receiving: the SRTCP replay window.
    rx_rtcp: ReplayWindow,
}

impl Stream {
    fn new(window: usize) -> Self {
        Self {
            allowed: false,
            tx_highest: None,
            tx_rtcp_index: 0,
            rx_rtp: ReplayWindow::new(window),
            rx_rtcp: ReplayWindow::new(window),
        }
    }
}

/// Our SRTP and SRTCP engine (RFC 3711, RFC 7714), one direction or both of one leg: an
/// [`SrtpTransform`] that works in place and allocates nothing per packet (only once per new
/// SSRC).
///
/// Session keys are derived and expanded once, in the constructor. On receive only SSRCs
/// announced with [`SrtpTransform::allow_ssrc`] are let through; their state (rollover
/// counter, replay windows) changes only when a packet authenticates.
pub struct SrtpContext {
    profile: SrtpProfile,
    rtp: Cipher,
    rtcp: Cipher,
    /// Sorted by SSRC.
    streams: Vec<Stream>,
    /// The streams' SSRCs, in the same order: searched instead of `streams`, whose entries
    /// (replay windows) are large enough that a search over them misses the cache at every
    /// step.
    ssrcs: Vec<u32>,
    /// Where the last stream looked up lies in `streams` (checked before searching: most
    /// packets are of the same SSRC as the one before).
    last: usize,
    window: usize,
}

impl core::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("streams", &self.streams.len())
            .field("replay_window", &self.window)
            .finish_non_exhaustive()
    }
}

/// The length of the RTP header at the start of `packet` (fixed part, CSRCs, extension).
fn rtp_header_len(packet: &[u8]) -> Result<usize, RtpError> {
    let truncated = |needed| RtpError::Truncated {
        needed,
        available: packet.len(),
    };
    let b0 = *packet.first().ok_or(truncated(1))?;
    if b0 >> 6 != 2 {
        return Err(RtpError::BadVersion(b0 >> 6));
    }
    let mut len = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let words = match packet.get(len + 2..len + 4) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => return Err(truncated(len + 4)),
        };
        len += 4 + 4 * usize::from(words);
    }
    if packet.len() < len {
        return Err(truncated(len));
    }
    Ok(len)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => Some(u32::from_be_bytes([w, x, y, z])),
        _ => None,
    }
}

fn room(buf: &[u8], needed: usize) -> Result<(), Error> {
    if buf.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            available: buf.len(),
        });
    }
    Ok(())
}

// The IVs are computed as one 128-bit XOR (a few instructions) rather than byte by byte.

fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..14].copy_from_slice(salt);
    let fields = u128::from(ssrc) << 64 | u128::from(index & 0xffff_ffff_ffff) << 16;
    (u128::from_be_bytes(s) ^ fields).to_be_bytes()
}

fn gcm_iv(salt: &[u8; 12], ssrc: u32, hi: u32, lo: u16) -> [u8; 12] {
    let mut s = [0u8; 16];
    s[4..].copy_from_slice(salt);
    let fields = u128::from(ssrc) << 48 | u128::from(hi) << 16 | u128::from(lo);
    let iv = (u128::from_be_bytes(s) ^ fields).to_be_bytes();
    let mut out = [0u8; 12];
    out.copy_from_slice(&iv[4..]);
    out
}

fn rtp_gcm_iv(salt: &[u8; 12], ssrc: u32, index: u64) -> [u8; 12] {
    gcm_iv(salt, ssrc, (index >> 16) as u32, index as u16)
}

fn rtcp_gcm_iv(salt: &[u8; 12], ssrc: u32, index: u32) -> [u8; 12] {
    gcm_iv(salt, ssrc, index >> 16, index as u16)
}

fn replay_error(refused: Refused, ssrc: u32, seq: u16) -> Error {
    match refused {
        Refused::Duplicate | Refused::TooOld => SrtpError::Replay { ssrc, seq }.into(),
    }
}

impl SrtpContext {
    /// A context that derives its session keys from `keys` on the default backend, with a
    /// replay window of `replay_window` packets per SSRC (clamped to 64..=1024).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a master key or salt of the wrong length.
    pub fn new(keys: &SrtpKeys, replay_window: usize) -> Result<Self, Error> {
        Self::with_backend(Backend::default(), keys, replay_window)
    }

    /// As [`SrtpContext::new`], on the crypto backend `backend`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a master key or salt of the wrong length.
    pub fn with_backend(
        backend: Backend,
        keys: &SrtpKeys,
        replay_window: usize,
    ) -> Result<Self, Error> {
        let profile = keys.profile;
        if keys.master_key.len() != profile.key_len() {
            return Err(Error::InvalidConfig("SRTP master key of the wrong length"));
        }
        if keys.master_salt.len() != profile.salt_len() {
            return Err(Error::InvalidConfig("SRTP master salt of the wrong length"));
        }
        let kdf = Kdf::new(backend, &keys.master_key, &keys.master_salt)?;
        let rtp = Cipher::derive(
            backend,
            profile,
            &kdf,
            [LABEL_RTP_ENCRYPTION, LABEL_RTP_AUTH, LABEL_RTP_SALT],
        )?;
        let rtcp = Cipher::derive(
            backend,
            profile,
            &kdf,
            [LABEL_RTCP_ENCRYPTION, LABEL_RTCP_AUTH, LABEL_RTCP_SALT],
        )?;
        Ok(Self {
            profile,
            rtp,
            rtcp,
            streams: Vec::new(),
            ssrcs: Vec::new(),
            last: 0,
            window: replay_window,
        })
    }

    /// A context for sending; [`SrtpContext::new`] with the smallest replay window.
    ///
    /// # Errors
    /// As [`SrtpContext::new`].
    pub fn sender(keys: &SrtpKeys) -> Result<Self, Error> {
        Self::new(keys, 64)
    }

    /// A context for receiving; the same as [`SrtpContext::new`].
    ///
    /// # Errors
    /// As [`SrtpContext::new`].
    pub fn receiver(keys: &SrtpKeys, replay_window: usize) -> Result<Self, Error> {
        Self::new(keys, replay_window)
    }

    /// The rollover counter of `ssrc` on receive (of the highest authenticated packet), if a
    /// packet of it was received.
    pub fn rx_roc(&self, ssrc: u32) -> Option<u32> {
        let stream = self.stream(ssrc)?;
        stream.rx_rtp.top().map(|top| (top >> 16) as u32)
    }

    fn stream(&self, ssrc: u32) -> Option<&Stream> {
        let i = self.ssrcs.binary_search(&ssrc).ok()?;
        self.streams.get(i)
    }

    /// The position of `ssrc`'s stream, found or not.
    fn find(&mut self, ssrc: u32) -> Result<usize, usize> {
        if self.ssrcs.get(self.last) == Some(&ssrc) {
            return Ok(self.last);
        }
        let found = self.ssrcs.binary_search(&ssrc);
        if let Ok(i) = found {
            self.last = i;
        }
        found
    }

    fn allowed_stream(&mut self, ssrc: u32) -> Result<usize, Error> {
        match self.find(ssrc) {
            Ok(i) if self.streams.get(i).is_some_and(|s| s.allowed) => Ok(i),
            _ => Err(SrtpError::UnknownSsrc(ssrc).into()),
        }
    }

    /// The stream of `ssrc`, created if new (sending creates streams as it meets them).
    fn stream_index(&mut self, ssrc: u32) -> usize {
        match self.find(ssrc) {
            Ok(i) => i,
            Err(i) => {
                self.streams.insert(i, Stream::new(self.window));
                self.ssrcs.insert(i, ssrc);
                self.last = i;
                i
            }
        }
    }

    fn stream_mut(&mut self, i: usize) -> Result<&mut Stream, Error> {
        self.streams
            .get_mut(i)
            .ok_or(Error::InvalidConfig("SRTP stream table out of step"))
    }

    #[cfg(test)]
    pub(crate) fn from_session_keys(
        profile: SrtpProfile,
        key: &[u8],
        auth: &[u8],
        salt: &[u8],
    ) -> Result<Self, Error> {
        let backend = Backend::default();
        Ok(Self {
            profile,
            rtp: Cipher::from_session(backend, profile, key, auth, salt)?,
            rtcp: Cipher::from_session(backend, profile, key, auth, salt)?,
            streams: Vec::new(),
            ssrcs: Vec::new(),
            last: 0,
            window: 64,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_tx_rtcp_index(&mut self, ssrc: u32, last: u32) {
        let i = self.stream_index(ssrc);
        if let Some(s) = self.streams.get_mut(i) {
            s.tx_rtcp_index = last;
        }
    }

    fn seal_rtp(
        &self,
        buf: &mut [u8],
        len: usize,
        hl: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        let tag_len = self.profile.overhead();
        let out_len = len + tag_len;
        match &self.rtp {
            Cipher::CmHmac { ctr, mac, salt } => {
                let (packet, rest) = buf.split_at_mut(len);
                let payload = packet.get_mut(hl..).ok_or(Error::InvalidConfig("header"))?;
                ctr.apply_keystream(&cm_iv(salt, ssrc, index), payload)
                    .map_err(|_| Error::InvalidConfig("SRTP cipher refused"))?;
                let roc = ((index >> 16) as u32).to_be_bytes();
                let tag = mac.sign(&[packet, &roc]);
                let (out, tag) = (rest.get_mut(..tag_len), tag.get(..tag_len));
                match (out, tag) {
                    (Some(out), Some(tag)) => out.copy_from_slice(tag),
                    _ => return Err(Error::InvalidConfig("SRTP tag length")),
                }
            }
            Cipher::Gcm { gcm, salt } => {
                let (header, rest) = buf.split_at_mut(hl);
                let text = rest
                    .get_mut(..out_len - hl)
                    .ok_or(Error::InvalidConfig("SRTP buffer"))?;
                gcm.seal(&rtp_gcm_iv(salt, ssrc, index), header, text)
                    .map_err(|_| Error::InvalidConfig("SRTP cipher refused"))?;
            }
        }
        Ok(out_len)
    }

    /// Authenticates and decrypts; returns the RTP packet's length. Changes no state.
    fn open_rtp(
        &self,
        packet: &mut [u8],
        hl: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        let tag_len = self.profile.overhead();
        let len = packet.len() - tag_len;
        match &self.rtp {
            Cipher::CmHmac { ctr, mac, salt } => {
                let (authenticated, tag) = packet.split_at_mut(len);
                let roc = ((index >> 16) as u32).to_be_bytes();
                if !mac.verify_truncated(&[authenticated, &roc], tag) {
                    return Err(SrtpError::AuthenticationFailed.into());
                }
                let payload = authenticated.get_mut(hl..).ok_or(SrtpError::TooShort)?;
                ctr.apply_keystream(&cm_iv(salt, ssrc, index), payload)
                    .map_err(|_| SrtpError::AuthenticationFailed)?;
            }
            Cipher::Gcm { gcm, salt } => {
                let (header, rest) = packet.split_at_mut(hl);
                gcm.open(&rtp_gcm_iv(salt, ssrc, index), header, rest)
                    .map_err(|_| SrtpError::AuthenticationFailed)?;
            }
        }
        Ok(len)
    }
}

impl SrtpTransform for SrtpContext {
    fn profile(&self) -> SrtpProfile {
        self.profile
    }

    fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let packet = buf.get(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available: buf.len(),
        })?;
        let hl = rtp_header_len(packet)?;
        let ssrc = be32(packet, 8).ok_or(RtpError::Truncated {
            needed: 12,
            available: len,
        })?;
        let seq = match packet.get(2..4) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => {
                return Err(RtpError::Truncated {
                    needed: 12,
                    available: len,
                }
                .into());
            }
        };
        room(buf, len + self.profile.overhead())?;
        let i = self.stream_index(ssrc);
        let highest = self.stream_mut(i)?.tx_highest;
        let index = estimate_index(highest, seq).ok_or(Error::SrtpIndexExhausted)?;
        let out = self.seal_rtp(buf, len, hl, ssrc, index)?;
        let stream = self.stream_mut(i)?;
        if highest.is_none_or(|h| index > h) {
            stream.tx_highest = Some(index);
        }
        Ok(out)
    }

    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        let hl = rtp_header_len(packet)?;
        let ssrc = be32(packet, 8).ok_or(SrtpError::TooShort)?;
        let seq = match packet.get(2..4) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => return Err(SrtpError::TooShort.into()),
        };
        if packet.len() < hl + self.profile.overhead() {
            return Err(SrtpError::TooShort.into());
        }
        let i = self.allowed_stream(ssrc)?;
        let window = &self.stream_mut(i)?.rx_rtp;
        let index = estimate_index(window.top(), seq).ok_or(SrtpError::Replay { ssrc, seq })?;
        window
            .check(index)
            .map_err(|r| replay_error(r, ssrc, seq))?;
        let len = self.open_rtp(packet, hl, ssrc, index)?;
        self.stream_mut(i)?.rx_rtp.accept(index);
        Ok(packet.split_at_mut(len).0)
    }

    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let packet = buf.get(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available: buf.len(),
        })?;
        if len < RTCP_HEADER_LEN {
            return Err(SrtpError::TooShort.into());
        }
        let b0 = packet.first().copied().unwrap_or(0);
        if b0 >> 6 != 2 {
            return Err(RtpError::BadVersion(b0 >> 6).into());
        }
        let ssrc = be32(packet, 4).ok_or(SrtpError::TooShort)?;
        let out_len = len + self.profile.rtcp_overhead();
        room(buf, out_len)?;
        let i = self.stream_index(ssrc);
        let index = self.stream_mut(i)?.tx_rtcp_index + 1;
        if index > MAX_SRTCP_INDEX {
            return Err(Error::SrtpIndexExhausted);
        }
        let e_index = (E_BIT | index).to_be_bytes();
        let tag_len = self.profile.rtcp_tag_len();
        match &self.rtcp {
            Cipher::CmHmac { ctr, mac, salt } => {
                let (packet, rest) = buf.split_at_mut(len);
                let body = packet
                    .get_mut(RTCP_HEADER_LEN..)
                    .ok_or(SrtpError::TooShort)?;
                ctr.apply_keystream(&cm_iv(salt, ssrc, u64::from(index)), body)
                    .map_err(|_| Error::InvalidConfig("SRTCP cipher refused"))?;
                let (idx_out, tag_out) = rest.split_at_mut(4);
                idx_out.copy_from_slice(&e_index);
                let tag = mac.sign(&[packet, &e_index]);
                match (tag_out.get_mut(..tag_len), tag.get(..tag_len)) {
                    (Some(out), Some(tag)) => out.copy_from_slice(tag),
                    _ => return Err(Error::InvalidConfig("SRTCP tag length")),
                }
            }
            Cipher::Gcm { gcm, salt } => {
                let mut aad = [0u8; RTCP_HEADER_LEN + 4];
                aad[..RTCP_HEADER_LEN]
                    .copy_from_slice(packet.get(..RTCP_HEADER_LEN).ok_or(SrtpError::TooShort)?);
                aad[RTCP_HEADER_LEN..].copy_from_slice(&e_index);
                let sealed_end = len + tag_len;
                let (head, rest) = buf.split_at_mut(sealed_end);
                let text = head.get_mut(RTCP_HEADER_LEN..).ok_or(SrtpError::TooShort)?;
                gcm.seal(&rtcp_gcm_iv(salt, ssrc, index), &aad, text)
                    .map_err(|_| Error::InvalidConfig("SRTCP cipher refused"))?;
                rest.get_mut(..4)
                    .ok_or(Error::InvalidConfig("SRTCP buffer"))?
                    .copy_from_slice(&e_index);
            }
        }
        self.stream_mut(i)?.tx_rtcp_index = index;
        Ok(out_len)
    }

    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        let total = packet.len();
        let overhead = self.profile.rtcp_overhead();
        let tag_len = self.profile.rtcp_tag_len();
        if total < RTCP_HEADER_LEN + overhead {
            return Err(SrtpError::TooShort.into());
        }
        let b0 = packet.first().copied().unwrap_or(0);
        if b0 >> 6 != 2 {
            return Err(RtpError::BadVersion(b0 >> 6).into());
        }
        let ssrc = be32(packet, 4).ok_or(SrtpError::TooShort)?;
        let len = total - overhead;
        // The E bit and index: last for AES-GCM, before the tag for AES-CM.
        let idx_at = if self.profile.is_aead() {
            total - 4
        } else {
            len
        };
        let e_index = be32(packet, idx_at).ok_or(SrtpError::TooShort)?;
        let encrypted = e_index & E_BIT != 0;
        let index = e_index & MAX_SRTCP_INDEX;
        let i = self.allowed_stream(ssrc)?;
        // The replay error names the low 16 bits of the SRTCP index as its "sequence number".
        self.stream_mut(i)?
            .rx_rtcp
            .check(u64::from(index))
            .map_err(|r| replay_error(r, ssrc, index as u16))?;
        match &self.rtcp {
            Cipher::CmHmac { ctr, mac, salt } => {
                let (authenticated, tag) = packet.split_at_mut(total - tag_len);
                if !mac.verify_truncated(&[authenticated], tag) {
                    return Err(SrtpError::AuthenticationFailed.into());
                }
                if encrypted {
                    let body = authenticated
                        .get_mut(RTCP_HEADER_LEN..len)
                        .ok_or(SrtpError::TooShort)?;
                    ctr.apply_keystream(&cm_iv(salt, ssrc, u64::from(index)), body)
                        .map_err(|_| SrtpError::AuthenticationFailed)?;
                }
            }
            Cipher::Gcm { gcm, salt } => {
                let iv = rtcp_gcm_iv(salt, ssrc, index);
                if encrypted {
                    let mut aad = [0u8; RTCP_HEADER_LEN + 4];
                    aad[..RTCP_HEADER_LEN]
                        .copy_from_slice(packet.get(..RTCP_HEADER_LEN).ok_or(SrtpError::TooShort)?);
                    aad[RTCP_HEADER_LEN..].copy_from_slice(&e_index.to_be_bytes());
                    let sealed = packet
                        .get_mut(RTCP_HEADER_LEN..total - 4)
                        .ok_or(SrtpError::TooShort)?;
                    gcm.open(&iv, &aad, sealed)
                        .map_err(|_| SrtpError::AuthenticationFailed)?;
                } else {
                    // Authentication only: the AAD is the packet and the E|index word, which
                    // follows the tag on the wire. Rotate the word in front of the tag so the
                    // AAD is contiguous, check, and rotate back.
                    let trailer = packet.get_mut(len..total).ok_or(SrtpError::TooShort)?;
                    trailer.rotate_right(4);
                    let (aad, tag) = packet.split_at_mut(len + 4);
                    let ok = gcm.open(&iv, aad, tag).is_ok();
                    if let Some(trailer) = packet.get_mut(len..total) {
                        trailer.rotate_left(4);
                    }
                    if !ok {
                        return Err(SrtpError::AuthenticationFailed.into());
                    }
                }
            }
        }
        self.stream_mut(i)?.rx_rtcp.accept(u64::from(index));
        Ok(packet.split_at_mut(len).0)
    }

    fn allow_ssrc(&mut self, ssrc: u32) {
        let i = self.stream_index(ssrc);
        if let Some(s) = self.streams.get_mut(i) {
            s.allowed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream's scalars (allowed, the send index, the replay window's top and size) stay in
    /// its first cache line, and streams start on one.
    #[test]
    fn stream_scalars_share_the_first_cache_line() {
        assert_eq!(core::mem::align_of::<Stream>(), 64);
        let end = core::mem::offset_of!(Stream, rx_rtp) + super::super::replay::SCALAR_BYTES;
        assert!(end <= 64, "{end}");
        assert!(core::mem::offset_of!(Stream, tx_highest) < 64);
        assert_eq!(core::mem::offset_of!(Stream, allowed), 0);
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // RFC 7714 sections 16 and 17: session key and salt given directly.
    const KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
    const KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SALT: &str = "517569642070726f2071756f";
    const RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                       20646976 69736120 696e2070 61727465 73207472 6573";
    const RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930
                        4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";

    fn gcm(profile: SrtpProfile) -> SrtpContext {
        let key = if profile == SrtpProfile::AeadAes128Gcm {
            KEY_128
        } else {
            KEY_256
        };
        let mut c =
            SrtpContext::from_session_keys(profile, &unhex(key), &[], &unhex(SALT)).unwrap();
        c.allow_ssrc(0x5501a0b2);
        c.allow_ssrc(0x4d617273);
        c
    }

    fn protect_with_garbage_room(c: &mut SrtpContext, plain: &[u8], rtcp: bool) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.extend_from_slice(&[0xa5; 40]);
        let n = if rtcp {
            c.protect_rtcp(&mut buf, plain.len()).unwrap()
        } else {
            c.protect(&mut buf, plain.len()).unwrap()
        };
        buf.truncate(n);
        buf
    }

    #[test]
    fn rfc7714_16_rtp_both_key_sizes() {
        let cases = [
            (
                SrtpProfile::AeadAes128Gcm,
                "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
                 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
            ),
            (
                SrtpProfile::AeadAes256Gcm,
                "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238
                 9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
            ),
        ];
        for (profile, want) in cases {
            let want = unhex(want);
            let mut tx = gcm(profile);
            assert_eq!(protect_with_garbage_room(&mut tx, &unhex(RTP), false), want);
            let mut rx = gcm(profile);
            let mut wire = want.clone();
            assert_eq!(rx.unprotect(&mut wire).unwrap(), &unhex(RTP)[..]);
            let mut wire = want.clone();
            assert_eq!(
                rx.unprotect(&mut wire),
                Err(Error::Srtp(SrtpError::Replay {
                    ssrc: 0x5501a0b2,
                    seq: 0xf17b
                }))
            );
        }
    }

    #[test]
    fn rfc7714_17_srtcp_encrypted_and_authenticated_only() {
        // 17.1 (AES-128, encrypted) and 17.2 (AES-256, encrypted), index 0x5d4.
        let cases = [
            (
                SrtpProfile::AeadAes128Gcm,
                "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
                 c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872
                 45d9eade 800005d4",
            ),
            (
                SrtpProfile::AeadAes256Gcm,
                "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50
                 a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c
                 b26ac3be 800005d4",
            ),
        ];
        for (profile, want) in cases {
            let want = unhex(want);
            let mut tx = gcm(profile);
            tx.set_tx_rtcp_index(0x4d617273, 0x5d3);
            assert_eq!(protect_with_garbage_room(&mut tx, &unhex(RTCP), true), want);
            let mut rx = gcm(profile);
            let mut wire = want.clone();
            assert_eq!(rx.unprotect_rtcp(&mut wire).unwrap(), &unhex(RTCP)[..]);
            let mut wire = want.clone();
            assert!(matches!(
                rx.unprotect_rtcp(&mut wire),
                Err(Error::Srtp(SrtpError::Replay { .. }))
            ));
        }
        // 17.3 and 17.4: E bit clear, the packet authenticated only.
        let cases = [
            (
                SrtpProfile::AeadAes128Gcm,
                "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
                 deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790
                 125f62b3 000005d4",
            ),
            (
                SrtpProfile::AeadAes256Gcm,
                "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
                 deadbeef deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393
                 ed2615fe 000005d4",
            ),
        ];
        for (profile, wire) in cases {
            let mut rx = gcm(profile);
            let mut bad = unhex(wire);
            let n = bad.len();
            bad[n - 10] ^= 1;
            assert_eq!(
                rx.unprotect_rtcp(&mut bad),
                Err(Error::Srtp(SrtpError::AuthenticationFailed))
            );
            let mut wire = unhex(wire);
            assert_eq!(rx.unprotect_rtcp(&mut wire).unwrap(), &unhex(RTCP)[..]);
        }
    }

    #[test]
    fn rfc3711_b2_keystream_through_the_iv_layout() {
        // Appendix B.2: session key, salt, SSRC 0 and index 0; the keystream is AES-CM from
        // IV = salt << 16.
        let salt: [u8; 14] = unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let iv = cm_iv(&salt, 0, 0);
        assert_eq!(iv.to_vec(), unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
        for &backend in Backend::ALL {
            let ctr = AesCtr::new(backend, &unhex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
            let mut ks = vec![0u8; 0xff02 * 16];
            ctr.apply_keystream(&iv, &mut ks).unwrap();
            let block = |i: usize| ks[i * 16..(i + 1) * 16].to_vec();
            assert_eq!(block(0), unhex("E03EAD0935C95E80E166B16DD92B4EB4"));
            assert_eq!(block(1), unhex("D23513162B02D0F72A43A2FE4A5F97AB"));
            assert_eq!(block(2), unhex("41E95B3BB0A2E8DD477901E4FCA894C0"));
            assert_eq!(block(0xfeff), unhex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
            assert_eq!(block(0xff00), unhex("362B7C3C6773516318A077D7FC5073AE"));
            assert_eq!(block(0xff01), unhex("6A2CC3787889374FBEB4C81B17BA6C44"));
        }
    }

    #[test]
    fn iv_layouts_match_rfc7714_examples() {
        let salt: [u8; 12] = unhex(SALT).try_into().unwrap();
        assert_eq!(
            rtp_gcm_iv(&salt, 0x5501a0b2, 0xf17b).to_vec(),
            unhex("51753c6580c2726f20718414")
        );
        assert_eq!(
            rtcp_gcm_iv(&salt, 0x4d617273, 0x5d4).to_vec(),
            unhex("517524055203726f207170bb")
        );
    }

    fn keys(profile: SrtpProfile, seed: u8) -> SrtpKeys {
        SrtpKeys {
            profile,
            master_key: vec![seed; profile.key_len()],
            master_salt: vec![seed ^ 0x55; profile.salt_len()],
        }
    }

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 1, 0x11, 0x11, 0x11, 0x11]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn forged_packets_move_no_state_and_wrap_is_followed() {
        for profile in SrtpProfile::ALL {
            let mut tx = SrtpContext::sender(&keys(profile, 1)).unwrap();
            let mut rx = SrtpContext::receiver(&keys(profile, 1), 64).unwrap();
            rx.allow_ssrc(0x1111_1111);
            for seq in (65000..=65535).chain(0..600) {
                let seq = seq as u16;
                let plain = rtp(seq, &[seq as u8; 33]);
                let mut wire = protect_with_garbage_room(&mut tx, &plain, false);
                // A storm of forged packets with random sequence numbers first.
                for k in 0..3u16 {
                    let mut forged = wire.clone();
                    forged[2..4].copy_from_slice(&seq.wrapping_add(20_000 * (k + 1)).to_be_bytes());
                    assert!(rx.unprotect(&mut forged).is_err());
                }
                let before = rx.rx_roc(0x1111_1111);
                let mut tampered = wire.clone();
                let last = tampered.len() - 1;
                tampered[last] ^= 0x80;
                assert_eq!(
                    rx.unprotect(&mut tampered),
                    Err(Error::Srtp(SrtpError::AuthenticationFailed))
                );
                assert_eq!(rx.rx_roc(0x1111_1111), before);
                assert_eq!(rx.unprotect(&mut wire.clone()).unwrap(), &plain[..]);
                assert!(matches!(
                    rx.unprotect(&mut wire),
                    Err(Error::Srtp(SrtpError::Replay { .. }))
                ));
            }
            assert_eq!(rx.rx_roc(0x1111_1111), Some(1), "{profile:?}");
        }
    }

    #[test]
    fn bad_input_is_refused_with_typed_errors() {
        for profile in SrtpProfile::ALL {
            let mut tx = SrtpContext::sender(&keys(profile, 1)).unwrap();
            let mut rx = SrtpContext::receiver(&keys(profile, 1), 64).unwrap();
            let plain = rtp(7, b"payload");
            let wire = protect_with_garbage_room(&mut tx, &plain, false);
            assert_eq!(
                rx.unprotect(&mut wire.clone()),
                Err(Error::Srtp(SrtpError::UnknownSsrc(0x1111_1111)))
            );
            rx.allow_ssrc(0x1111_1111);
            assert_eq!(
                rx.unprotect(&mut wire.clone()[..12 + profile.overhead() - 1]),
                Err(Error::Srtp(SrtpError::TooShort))
            );
            assert!(matches!(rx.unprotect(&mut [0x40; 20]), Err(Error::Rtp(_))));
            assert!(matches!(rx.unprotect(&mut [0x90; 14]), Err(Error::Rtp(_))));
            assert!(matches!(rx.unprotect(&mut []), Err(Error::Rtp(_))));
            // No room for the tag: caller misuse, nothing written.
            let mut small = plain.clone();
            assert_eq!(
                tx.protect(&mut small, plain.len()),
                Err(Error::BufferTooSmall {
                    needed: plain.len() + profile.overhead(),
                    available: plain.len()
                })
            );
            assert_eq!(small, plain);
            assert!(rx.unprotect(&mut wire.clone()).is_ok());
            // SRTCP: too short, unknown SSRC.
            assert!(matches!(
                rx.unprotect_rtcp(&mut [0x80; 10]),
                Err(Error::Srtp(SrtpError::TooShort))
            ));
            let mut r = unhex(RTCP);
            let n = r.len();
            r.extend_from_slice(&[0; 40]);
            let len = tx.protect_rtcp(&mut r, n).unwrap();
            assert_eq!(len, n + profile.rtcp_overhead());
            r.truncate(len);
            assert_eq!(
                rx.unprotect_rtcp(&mut r.clone()),
                Err(Error::Srtp(SrtpError::UnknownSsrc(0x4d617273)))
            );
            rx.allow_ssrc(0x4d617273);
            let mut t = r.clone();
            t[9] ^= 4;
            assert_eq!(
                rx.unprotect_rtcp(&mut t),
                Err(Error::Srtp(SrtpError::AuthenticationFailed))
            );
            assert_eq!(rx.unprotect_rtcp(&mut r.clone()).unwrap(), &unhex(RTCP)[..]);
            assert!(matches!(
                rx.unprotect_rtcp(&mut r),
                Err(Error::Srtp(SrtpError::Replay { .. }))
            ));
        }
    }
}
