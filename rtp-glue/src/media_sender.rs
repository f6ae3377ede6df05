//! The sending half of the media pipeline: frames in, SRTP packets out, through any
//! [`FrameSealer`] (static keys, ratchets, per-SSRC keys, the MLS epoch keyring).
//!
//! [`MediaSender::send_frame`] seals a frame (per-frame mode: the whole frame once; per-packet
//! mode: each codec payload) and queues it; [`MediaSender::poll_transmit`] writes the next
//! packet into the caller's buffer and protects it there. The sealed bytes wait in one buffer
//! the sender reuses, so sending allocates nothing once warmed up (per-packet mode: the `rtp`
//! crate's codec payloaders allocate their payloads).

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;
use rtp::packetizer::Payloader;
use sframe_core::{FrameSealer, Header, MAX_HEADER_LEN};

use crate::codec::{self, Codec};
use crate::descriptor::{Descriptor, Origin};
use crate::error::Error;
use crate::metadata::SFRAME_METADATA;
use crate::mode::Mode;
use crate::packetizer::{FrameMetadata, Packetizer, PacketizerConfig};
use crate::pipeline_error::PipelineError;
use crate::srtp::SrtpTransform;

/// What a [`MediaSender`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaSenderConfig {
    /// Per-frame or per-packet SFrame.
    pub mode: Mode,
    /// The largest packet on the wire, SRTP tag included.
    pub mtu: usize,
}

struct SendStream {
    ssrc: u32,
    /// The key source's name for this stream (KID, MLS context or SSRC).
    key_stream: u64,
    packetizer: Packetizer,
    payloader: Option<Box<dyn Payloader + Send + Sync>>,
}

/// One sealed SFrame frame waiting to be packetized.
#[derive(Debug)]
struct Queued {
    stream: usize,
    meta: FrameMetadata,
    origin: Origin,
    /// Where its sealed bytes are in the sender's buffer.
    sealed: Range<usize>,
    /// How many packets it goes out in, and how many went.
    packets: usize,
    sent: usize,
}

/// A packet [`MediaSender::poll_transmit`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Its SSRC.
    pub ssrc: u32,
    /// Its length: the SRTP packet is `buf[..len]`.
    pub len: usize,
}

/// Media frames in, SRTP packets out, sans IO.
pub struct MediaSender {
    config: MediaSenderConfig,
    srtp: Box<dyn SrtpTransform>,
    streams: Vec<SendStream>,
    /// Sealed frames, back to back, for the queue.
    sealed: Vec<u8>,
    queue: VecDeque<Queued>,
    /// Metadata buffers of frames sent, kept to be reused (`clone_from` keeps capacity).
    spare: Vec<FrameMetadata>,
}

impl core::fmt::Debug for MediaSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaSender")
            .field("config", &self.config)
            .field("streams", &self.streams.len())
            .field("queued", &self.queue.len())
            .field("srtp", &self.srtp)
            .finish_non_exhaustive()
    }
}

impl MediaSender {
    /// A sender protecting its packets with `srtp`.
    pub fn new(config: MediaSenderConfig, srtp: Box<dyn SrtpTransform>) -> Self {
        Self {
            config,
            srtp,
            streams: Vec::new(),
            sealed: Vec::new(),
            queue: VecDeque::new(),
            spare: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> MediaSenderConfig {
        self.config
    }

    /// Adds the RTP stream `ssrc`, sealed under the key source's stream `key_stream` (the KID
    /// for a core `Sender`, the MLS context for the keyring, the SSRC for per-SSRC keys).
    /// `codec` is needed in per-packet mode.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the SSRC exists, or per-packet mode has no codec.
    pub fn add_stream(
        &mut self,
        ssrc: u32,
        first_seq: u16,
        key_stream: u64,
        codec: Option<Codec>,
    ) -> Result<(), Error> {
        if self.streams.iter().any(|s| s.ssrc == ssrc) {
            return Err(Error::InvalidConfig("SSRC already in use"));
        }
        if self.config.mode == Mode::PerPacket && codec.is_none() {
            return Err(Error::InvalidConfig("per-packet SFrame needs a codec"));
        }
        let cfg = PacketizerConfig {
            mtu: self.config.mtu,
            srtp_overhead: self.srtp.profile().overhead(),
        };
        self.streams.push(SendStream {
            ssrc,
            key_stream,
            packetizer: Packetizer::new(ssrc, first_seq, cfg),
            payloader: codec.map(Codec::payloader),
        });
        Ok(())
    }

    /// Points stream `ssrc` at another key-source stream (a core `Sender` whose key
    /// ratcheted to a new KID, say).
    ///
    /// # Errors
    /// [`Error::UnknownStream`].
    pub fn set_key_stream(&mut self, ssrc: u32, key_stream: u64) -> Result<(), Error> {
        let i = self.stream_index(ssrc)?;
        if let Some(s) = self.streams.get_mut(i) {
            s.key_stream = key_stream;
        }
        Ok(())
    }

    fn stream_index(&self, ssrc: u32) -> Result<usize, Error> {
        self.streams
            .iter()
            .position(|s| s.ssrc == ssrc)
            .ok_or(Error::UnknownStream(ssrc))
    }

    /// The largest packet [`MediaSender::poll_transmit`] writes: the MTU.
    pub fn max_packet_len(&self) -> usize {
        self.config.mtu
    }

    /// Packets queued and not yet written.
    pub fn queued_packets(&self) -> usize {
        self.queue.iter().map(|q| q.packets - q.sent).sum()
    }

    /// Seals one media frame of stream `ssrc` with `keys` and queues its packets; returns
    /// how many. Drain them with [`MediaSender::poll_transmit`].
    ///
    /// # Errors
    /// [`PipelineError::KeySource`] from sealing; [`Error::UnknownStream`], packetizer errors
    /// (MTU, metadata) and codec errors. On error nothing is queued (per-packet mode: counters
    /// used by payloads sealed before the error stay used, as they must).
    pub fn send_frame<K: FrameSealer>(
        &mut self,
        keys: &mut K,
        ssrc: u32,
        frame: &[u8],
        meta: &FrameMetadata,
    ) -> Result<usize, PipelineError<K::Error>> {
        let stream = self.stream_index(ssrc)?;
        let (queued_before, sealed_before) = (self.queue.len(), self.sealed.len());
        let result = match self.config.mode {
            Mode::PerFrame => self.queue_frame(keys, stream, frame, meta),
            Mode::PerPacket => self.queue_payloads(keys, stream, frame, meta),
        };
        if result.is_err() {
            while self.queue.len() > queued_before {
                if let Some(q) = self.queue.pop_back() {
                    self.spare.push(q.meta);
                }
            }
            self.sealed.truncate(sealed_before);
        }
        result
    }

    /// Seals `plain` into the end of the sealed buffer; returns its range there.
    fn seal<K: FrameSealer>(
        &mut self,
        keys: &mut K,
        key_stream: u64,
        plain: &[u8],
    ) -> Result<Range<usize>, PipelineError<K::Error>> {
        let header_len = keys
            .next_header(key_stream)
            .map_err(PipelineError::KeySource)?
            .len();
        let tag_len = keys.suite().tag_len();
        let base = self.sealed.len();
        let start = base + header_len;
        self.sealed.resize(start, 0);
        self.sealed.extend_from_slice(plain);
        self.sealed.resize(start + plain.len() + tag_len, 0);
        let len = keys
            .seal(
                key_stream,
                SFRAME_METADATA,
                &mut self.sealed,
                start..start + plain.len(),
            )
            .map_err(PipelineError::KeySource)?
            .len();
        Ok(base..base + len)
    }

    fn enqueue(&mut self, stream: usize, meta: &FrameMetadata, origin: Origin, sealed: Range<usize>, packets: usize) {
        let mut m = self.spare.pop().unwrap_or_default();
        m.clone_from(meta);
        self.queue.push_back(Queued {
            stream,
            meta: m,
            origin,
            sealed,
            packets,
            sent: 0,
        });
    }

    fn queue_frame<K: FrameSealer>(
        &mut self,
        keys: &mut K,
        stream: usize,
        frame: &[u8],
        meta: &FrameMetadata,
    ) -> Result<usize, PipelineError<K::Error>> {
        let (key_stream, packetizer) = match self.streams.get_mut(stream) {
            Some(s) => (s.key_stream, &mut s.packetizer),
            None => return Err(Error::UnknownStream(0).into()),
        };
        let sealed_len = keys
            .next_header(key_stream)
            .map_err(PipelineError::KeySource)?
            .len()
            + frame.len()
            + keys.suite().tag_len();
        let packets = packetizer.fragments(meta, sealed_len)?;
        let sealed = self.seal(keys, key_stream, frame)?;
        self.enqueue(stream, meta, Origin::Raw, sealed, packets);
        Ok(packets)
    }

    fn queue_payloads<K: FrameSealer>(
        &mut self,
        keys: &mut K,
        stream: usize,
        frame: &[u8],
        meta: &FrameMetadata,
    ) -> Result<usize, PipelineError<K::Error>> {
        let Some(s) = self.streams.get_mut(stream) else {
            return Err(Error::UnknownStream(0).into());
        };
        let key_stream = s.key_stream;
        let next = keys
            .next_header(key_stream)
            .map_err(PipelineError::KeySource)?;
        // The SFrame header of any payload of this frame is at most this long: its CTR is
        // below `next + frame.len() + 1` (a payload carries at least one byte).
        let worst = Header::new(
            next.kid,
            next.ctr.saturating_add(frame.len() as u64 + 1),
        );
        let overhead = worst.len().min(MAX_HEADER_LEN) + keys.suite().tag_len();
        let budget = s.packetizer.payload_budget(meta)?;
        let codec_budget = budget
            .checked_sub(overhead)
            .filter(|b| *b > 0)
            .ok_or(Error::MtuTooSmall {
                mtu: self.config.mtu,
                overhead: self.config.mtu - budget + overhead,
            })?;
        let payloader = s
            .payloader
            .as_deref_mut()
            .ok_or(Error::InvalidConfig("per-packet SFrame needs a codec"))?;
        let payloads = codec::payload(payloader, codec_budget, &Bytes::copy_from_slice(frame))?;
        // A payloader may not split (Opus): refuse the frame before sealing anything.
        if let Some(big) = payloads.iter().find(|p| p.len() > codec_budget) {
            return Err(Error::PacketTooLarge {
                size: self.config.mtu - codec_budget + big.len(),
                mtu: self.config.mtu,
            }
            .into());
        }
        let count = payloads.len();
        let mut m = meta.clone();
        for (i, payload) in payloads.iter().enumerate() {
            m.marker = meta.marker && i + 1 == count;
            let sealed = self.seal(keys, key_stream, payload)?;
            self.enqueue(stream, &m, Origin::Packetized, sealed, 1);
        }
        Ok(count)
    }

    /// Writes the next queued packet into `buf` (at least [`MediaSender::max_packet_len`]
    /// bytes) and SRTP-protects it; `None` when nothing is queued.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (the packet stays queued); SRTP errors (the packet is
    /// dropped).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Result<Option<Transmit>, Error> {
        let Some(q) = self.queue.front_mut() else {
            return Ok(None);
        };
        let stream = self
            .streams
            .get_mut(q.stream)
            .ok_or(Error::InvalidConfig("queued frame of a removed stream"))?;
        let sealed = self.sealed.get(q.sealed.clone()).unwrap_or_default();
        let (base, extra) = (sealed.len() / q.packets, sealed.len() % q.packets);
        let start = q.sent * base + q.sent.min(extra);
        let len = base + usize::from(q.sent < extra);
        let piece = sealed.get(start..start + len).unwrap_or_default();
        let last = q.sent + 1 == q.packets;
        let d = Descriptor {
            start: q.sent == 0,
            end: last,
            origin: q.origin,
        };
        let written = stream
            .packetizer
            .write_packet(&q.meta, d, q.meta.marker && last, piece, buf)?;
        q.sent += 1;
        let ssrc = stream.ssrc;
        if last && let Some(done) = self.queue.pop_front() {
            self.spare.push(done.meta);
            if self.queue.is_empty() {
                self.sealed.clear();
            }
        }
        // The packetizer left room for the tag after the packet.
        let len = self.srtp.protect(buf, written)?;
        Ok(Some(Transmit { ssrc, len }))
    }
}
