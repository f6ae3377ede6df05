//! Codec-packetized SFrame: what a browser with an encoded transform sends. The whole media
//! frame is SFrame-encrypted (no clear prefix), then packetized by the codec's own RTP
//! payloader (VP8's RFC 7741 payload descriptor, one Opus frame per packet) under the codec's
//! payload type; there is no SFrame RTP payload format (draft-ietf-avtcore-rtp-sframe) on the
//! wire. An SFU forwards it like any VP8 or Opus stream, without keys.
//!
//! [`CodecSframeSender`] encrypts a frame with any [`FrameSealer`] (an MLS keyring, static
//! keys) and packetizes it; [`CodecSframeReceiver`] reassembles a frame from its packets (the
//! codec's first-packet bit, the marker bit, a bounded reorder window) and decrypts it with
//! any [`FrameOpener`]. For VP8 the decrypted frame is the VP8 bitstream the browser's encoder
//! produced (a key frame carries the start code `9d 01 2a` at byte 3).
//!
//! Packets are plain RTP (SRTP, if any, is the transport's). Each packet is a `Vec<u8>` of its
//! own, and the `rtp` payloaders allocate per packet: this mode talks to browsers, whose
//! packet rates are those of one participant, not an SFU's.

use core::fmt;
use core::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use rtp::packetizer::Payloader;
use sframe_core::{FrameOpener, FrameSealer, Header, Opened};

use crate::codec::{Codec, MediaAssembler, payload};
use crate::error::Error;
use crate::reassembly::{ReassemblyConfig, ReassemblyStats};
use crate::rtp_view::{FIXED_HEADER_LEN, RtpView};

/// Why a frame was not sent or a packet not taken: the RTP side, or the key source's.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodecSframeError<K> {
    /// A malformed packet, a payload the codec refuses, an unknown stream; or, sending, an
    /// MTU too small or a payloader that refused.
    Rtp(Error),
    /// The key source refused: a frame that did not authenticate, a replay, an unknown key
    /// (receiving); no key or an exhausted counter (sending).
    Key(K),
}

impl<K: fmt::Display> fmt::Display for CodecSframeError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rtp(_) => f.write_str("codec-packetized SFrame: the RTP layer refused"),
            Self::Key(_) => f.write_str("codec-packetized SFrame: the key source refused"),
        }
    }
}

impl<K: std::error::Error + 'static> std::error::Error for CodecSframeError<K> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rtp(e) => Some(e),
            Self::Key(e) => Some(e),
        }
    }
}

impl<K> From<Error> for CodecSframeError<K> {
    fn from(e: Error) -> Self {
        Self::Rtp(e)
    }
}

/// Sends frames of one stream (SSRC) the way a browser's encoded transform does.
pub struct CodecSframeSender {
    codec: Codec,
    payloader: Box<dyn Payloader + Send + Sync>,
    payload_type: u8,
    ssrc: u32,
    next_seq: u16,
    mtu: usize,
    frame: Vec<u8>,
}

impl fmt::Debug for CodecSframeSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecSframeSender")
            .field("codec", &self.codec)
            .field("payload_type", &self.payload_type)
            .field("ssrc", &self.ssrc)
            .field("next_seq", &self.next_seq)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl CodecSframeSender {
    /// A sender of `codec` frames under `payload_type` and `ssrc`, its first packet numbered
    /// `first_seq`, packets at most `mtu` bytes (RTP header included).
    ///
    /// # Errors
    /// [`Error::MtuTooSmall`] if no payload byte fits after the RTP header and the codec's
    /// payload descriptor.
    pub fn new(
        codec: Codec,
        payload_type: u8,
        ssrc: u32,
        first_seq: u16,
        mtu: usize,
    ) -> Result<Self, Error> {
        // VP8's descriptor takes 1 byte here (the rtp payloader writes no extensions).
        let overhead = FIXED_HEADER_LEN + 1;
        if mtu <= overhead {
            return Err(Error::MtuTooSmall { mtu, overhead });
        }
        Ok(Self {
            codec,
            payloader: codec.payloader(),
            payload_type: payload_type & 0x7f,
            ssrc,
            next_seq: first_seq,
            mtu,
            frame: Vec::new(),
        })
    }

    /// Encrypts `plaintext` (a whole encoded frame) for `stream` (the key source's name for
    /// it: the MLS context, a KID, an SSRC) and appends its RTP packets to `packets`, all with
    /// `timestamp`, the marker bit on the last. Returns how many were appended.
    ///
    /// # Errors
    /// [`CodecSframeError::Key`] if the key source cannot seal (nothing is used up then);
    /// [`CodecSframeError::Rtp`] with [`Error::Codec`] if the payloader refuses, or
    /// [`Error::PacketTooLarge`] if a packet exceeds the MTU (an Opus frame is never split).
    pub fn send<S: FrameSealer>(
        &mut self,
        sealer: &mut S,
        stream: u64,
        timestamp: u32,
        plaintext: &[u8],
        packets: &mut Vec<Vec<u8>>,
    ) -> Result<usize, CodecSframeError<S::Error>> {
        let header_len = sealer
            .next_header(stream)
            .map_err(CodecSframeError::Key)?
            .len();
        let tag_len = sealer.suite().tag_len();
        let body = header_len..header_len + plaintext.len();
        self.frame.clear();
        self.frame.resize(body.end + tag_len, 0);
        self.frame[body.clone()].copy_from_slice(plaintext);
        let frame = sealer
            .seal(stream, b"", &mut self.frame, body)
            .map_err(CodecSframeError::Key)?;
        let frame = Bytes::copy_from_slice(frame);
        let budget = self.mtu - FIXED_HEADER_LEN;
        let payloads = payload(self.payloader.as_mut(), self.codec, budget, &frame)?;
        if let Some(size) = payloads
            .iter()
            .map(|p| p.len() + FIXED_HEADER_LEN)
            .find(|&size| size > self.mtu)
        {
            return Err(Error::PacketTooLarge {
                size,
                mtu: self.mtu,
            }
            .into());
        }
        let count = payloads.len();
        for (i, p) in payloads.iter().enumerate() {
            let marker = i + 1 == count;
            packets.push(self.packet(marker, timestamp, p));
        }
        Ok(count)
    }

    fn packet(&mut self, marker: bool, timestamp: u32, payload: &[u8]) -> Vec<u8> {
        let mut packet = Vec::with_capacity(FIXED_HEADER_LEN + payload.len());
        packet.push(0x80); // V=2, no padding, no extension, no CSRC
        packet.push(u8::from(marker) << 7 | self.payload_type);
        packet.extend_from_slice(&self.next_seq.to_be_bytes());
        packet.extend_from_slice(&timestamp.to_be_bytes());
        packet.extend_from_slice(&self.ssrc.to_be_bytes());
        packet.extend_from_slice(payload);
        self.next_seq = self.next_seq.wrapping_add(1);
        packet
    }
}

/// A frame received and decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct CodecSframeFrame {
    /// The SSRC it came on.
    pub ssrc: u32,
    /// Its payload type.
    pub payload_type: u8,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// Its SFrame header (KID and counter).
    pub header: Header,
    /// The buffer the frame was reassembled into, decrypted in place.
    pub buf: Vec<u8>,
    /// Where the plaintext lies in `buf`.
    pub plaintext: Range<usize>,
}

impl CodecSframeFrame {
    /// The decrypted media frame.
    pub fn plaintext(&self) -> &[u8] {
        self.buf.get(self.plaintext.clone()).unwrap_or_default()
    }
}

impl fmt::Debug for CodecSframeFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecSframeFrame")
            .field("ssrc", &self.ssrc)
            .field("payload_type", &self.payload_type)
            .field("timestamp", &self.timestamp)
            .field("header", &self.header)
            .field("len", &self.plaintext.len())
            .finish_non_exhaustive()
    }
}

/// Receives codec-packetized SFrame: RTP packets in, decrypted frames out.
///
/// # Peer input
/// Packets are parsed with [`RtpView`]; reassembly is bounded per SSRC
/// ([`ReassemblyConfig`]) and at most `max_streams` SSRCs are tracked. A packet or frame that
/// does not parse, does not authenticate or is a replay is an error and changes nothing the
/// next genuine frame depends on.
pub struct CodecSframeReceiver {
    assembler: MediaAssembler,
    next_token: u64,
}

impl fmt::Debug for CodecSframeReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecSframeReceiver")
            .field("assembler", &self.assembler)
            .finish_non_exhaustive()
    }
}

impl CodecSframeReceiver {
    /// A receiver for the payload types in `codecs` (VP8, VP9 and Opus reassemble; H.264 and
    /// AV1 have no frame boundaries in their payloads here and are refused as unknown).
    pub fn new(codecs: &[(u8, Codec)], config: ReassemblyConfig, max_streams: usize) -> Self {
        Self {
            assembler: MediaAssembler::new(codecs, config, max_streams),
            next_token: 0,
        }
    }

    /// Takes one RTP packet; returns the frame it completed, decrypted, if any. A frame the
    /// opener holds (an MLS epoch not known yet) comes out of the opener's
    /// [`FrameOpener::poll_event`] instead, its token the `u64` returned by
    /// [`CodecSframeReceiver::last_token`].
    ///
    /// # Errors
    /// [`CodecSframeError::Rtp`] for a malformed packet, a codec payload that does not parse,
    /// a payload type not configured or too many SSRCs; [`CodecSframeError::Key`] for a frame
    /// the opener refuses.
    pub fn push<O: FrameOpener>(
        &mut self,
        opener: &mut O,
        now: Duration,
        packet: &[u8],
    ) -> Result<Option<CodecSframeFrame>, CodecSframeError<O::Error>> {
        let rtp = RtpView::parse(packet).map_err(Error::Rtp)?;
        let (ssrc, payload_type) = (rtp.ssrc(), rtp.payload_type());
        let assembled = self.assembler.push(
            ssrc,
            rtp.sequence_number(),
            payload_type,
            rtp.timestamp(),
            rtp.marker(),
            Bytes::copy_from_slice(rtp.payload()),
        )?;
        let Some(assembled) = assembled else {
            return Ok(None);
        };
        self.next_token = self.next_token.wrapping_add(1);
        let mut buf = assembled.data.to_vec();
        let base = buf.as_ptr() as usize;
        let opened = opener
            .open(now, u64::from(ssrc), self.next_token, b"", &mut buf)
            .map_err(CodecSframeError::Key)?;
        let Opened::Plaintext { header, data } = opened else {
            return Ok(None);
        };
        let start = (data.as_ptr() as usize).saturating_sub(base);
        let plaintext = start..start + data.len();
        Ok(Some(CodecSframeFrame {
            ssrc,
            payload_type,
            timestamp: assembled.timestamp,
            header,
            buf,
            plaintext,
        }))
    }

    /// The token of the last frame given to the opener.
    pub fn last_token(&self) -> u64 {
        self.next_token
    }

    /// Reassembly counters over all streams.
    pub fn stats(&self) -> ReassemblyStats {
        self.assembler.stats()
    }
}
