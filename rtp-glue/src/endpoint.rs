//! The two ends of the media path, sans IO: a [`MediaSender`] turns media frames into SRTP
//! packets (SFrame, then the SFrame packetizer, then SRTP), a [`MediaReceiver`] turns SRTP
//! packets back into media frames (SRTP, depacketizer, SFrame, and in per-packet mode the codec
//! depacketizer). Neither does IO or reads a clock: packets go in and out as values.

use std::collections::HashMap;

use bytes::Bytes;
use rtp::packetizer::Payloader;
use sframe_core::{CipherSuite, Header as SFrameHeader, Receiver, Sender};

use crate::codec::{self, Codec, MediaAssembler};
use crate::depacketizer::{Depacketizer, DepacketizerConfig};
use crate::descriptor::Origin;
use crate::error::{Error, SrtpError};
use crate::keys::ssrc_base_key;
use crate::packetizer::{FrameMetadata, Packetizer, PacketizerConfig};
use crate::reassembly::{Pushed, ReassemblyStats};
use crate::srtp::SrtpTransform;

/// How media is put into SFrame frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One SFrame frame per media frame, split over packets (T = 0).
    PerFrame,
    /// The codec packetizer first, then one SFrame frame per RTP payload (T = 1).
    PerPacket,
}

/// Which SFrame key protects a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyMode {
    /// One key per KID for all of a sender's streams.
    Shared,
    /// The draft's per-SSRC derivation: each stream's base key is
    /// `HKDF-Expand(HKDF-Extract(SSRC, base_key), "SFrame 1.0 RTP Stream", Nh)`, same KID.
    PerSsrc,
}

/// What a [`MediaSender`] needs.
#[derive(Clone, Debug)]
pub struct SenderConfig {
    /// The SFrame suite.
    pub suite: CipherSuite,
    /// The sender's KID.
    pub kid: u64,
    /// Per-frame or per-packet.
    pub mode: Mode,
    /// Shared or per-SSRC keys.
    pub key_mode: KeyMode,
    /// The largest packet on the wire, SRTP tag included.
    pub mtu: usize,
}

struct SendStream {
    packetizer: Packetizer,
    payloader: Option<Box<dyn Payloader + Send + Sync>>,
    /// The stream's own SFrame context in [`KeyMode::PerSsrc`].
    sframe: Option<Sender>,
}

/// Media frames in, SRTP packets out.
pub struct MediaSender {
    config: SenderConfig,
    base_key: Vec<u8>,
    shared: Sender,
    streams: HashMap<u32, SendStream>,
    srtp: Box<dyn SrtpTransform>,
    scratch: Vec<u8>,
}

impl core::fmt::Debug for MediaSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaSender")
            .field("config", &self.config)
            .field("streams", &self.streams.len())
            .field("srtp", &self.srtp)
            .finish_non_exhaustive()
    }
}

impl Drop for MediaSender {
    fn drop(&mut self) {
        self.base_key.fill(0);
    }
}

impl MediaSender {
    /// A sender with SFrame base key `base_key`, protecting its packets with `srtp`.
    ///
    /// # Errors
    /// [`Error::SFrame`] for a bad key.
    pub fn new(
        config: SenderConfig,
        base_key: &[u8],
        srtp: Box<dyn SrtpTransform>,
    ) -> Result<Self, Error> {
        let mut shared = Sender::new(config.suite);
        if config.key_mode == KeyMode::Shared {
            shared.add_key(config.kid, base_key)?;
        }
        Ok(Self {
            config,
            base_key: base_key.to_vec(),
            shared,
            streams: HashMap::new(),
            srtp,
            scratch: Vec::new(),
        })
    }

    /// Adds a stream (an SSRC). `codec` is required in [`Mode::PerPacket`].
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the SSRC exists, or no codec in per-packet mode.
    pub fn add_stream(
        &mut self,
        ssrc: u32,
        first_seq: u16,
        codec: Option<Codec>,
    ) -> Result<(), Error> {
        if self.streams.contains_key(&ssrc) {
            return Err(Error::InvalidConfig("SSRC already in use"));
        }
        if self.config.mode == Mode::PerPacket && codec.is_none() {
            return Err(Error::InvalidConfig("per-packet SFrame needs a codec"));
        }
        let sframe = match self.config.key_mode {
            KeyMode::Shared => None,
            KeyMode::PerSsrc => {
                let key = ssrc_base_key(self.config.suite, &self.base_key, ssrc)?;
                let mut s = Sender::new(self.config.suite);
                s.add_key(self.config.kid, key.expose())?;
                Some(s)
            }
        };
        let cfg = PacketizerConfig {
            mtu: self.config.mtu,
            srtp_overhead: self.srtp.profile().overhead(),
        };
        self.streams.insert(
            ssrc,
            SendStream {
                packetizer: Packetizer::new(ssrc, first_seq, cfg),
                payloader: codec.map(Codec::payloader),
                sframe,
            },
        );
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Encrypts, packetizes and SRTP-protects one media frame of stream `ssrc`; appends the
    /// SRTP packets to `out` and returns how many.
    ///
    /// # Errors
    /// [`Error::UnknownStream`]; errors of SFrame, of the packetizer (MTU, metadata), of the
    /// codec payloader, of SRTP. On error, packets already appended for this frame are
    /// removed.
    pub fn send_frame(
        &mut self,
        ssrc: u32,
        frame: &[u8],
        meta: &FrameMetadata,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, Error> {
        let start = out.len();
        let result = self.send_frame_inner(ssrc, frame, meta, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn send_frame_inner(
        &mut self,
        ssrc: u32,
        frame: &[u8],
        meta: &FrameMetadata,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, Error> {
        let kid = self.config.kid;
        let tag_len = self.config.suite.tag_len();
        let Self {
            shared,
            streams,
            srtp,
            scratch,
            config,
            ..
        } = self;
        let stream = streams.get_mut(&ssrc).ok_or(Error::UnknownStream(ssrc))?;
        let SendStream {
            packetizer,
            payloader,
            sframe,
        } = stream;
        let sender = sframe.as_mut().unwrap_or(shared);
        let first = out.len();
        match config.mode {
            Mode::PerFrame => {
                let header_len = sender.header_len(kid)?;
                scratch.clear();
                scratch.resize(header_len, 0);
                scratch.extend_from_slice(frame);
                scratch.resize(header_len + frame.len() + tag_len, 0);
                let sealed = sender.encrypt_in_place(
                    kid,
                    &[],
                    scratch,
                    header_len..header_len + frame.len(),
                )?;
                packetizer.packetize_frame(meta, Origin::Raw, sealed, out)?;
            }
            Mode::PerPacket => {
                let payloader = payloader
                    .as_deref_mut()
                    .ok_or(Error::InvalidConfig("per-packet SFrame needs a codec"))?;
                // The SFrame header of any packet of this frame is at most this long: its CTR
                // is below `next + frame.len() + 1` (a payload carries at least one byte).
                let next = sender.next_counter(kid)?;
                let worst = SFrameHeader::new(kid, next.saturating_add(frame.len() as u64 + 1));
                let overhead = worst.len() + tag_len;
                let budget = packetizer.payload_budget(meta)?;
                let codec_budget =
                    budget
                        .checked_sub(overhead)
                        .filter(|b| *b > 0)
                        .ok_or(Error::MtuTooSmall {
                            mtu: config.mtu,
                            overhead: config.mtu - budget + overhead,
                        })?;
                let payloads =
                    codec::payload(payloader, codec_budget, &Bytes::copy_from_slice(frame))?;
                let mut m = meta.clone();
                let count = payloads.len();
                for (i, payload) in payloads.iter().enumerate() {
                    m.marker = meta.marker && i + 1 == count;
                    let packet =
                        packetizer.packetize_single(&m, payload.len() + overhead, |buf| {
                            let header_len = sender.header_len(kid)?;
                            let base = buf.len();
                            buf.resize(base + header_len, 0);
                            buf.extend_from_slice(payload);
                            buf.resize(base + header_len + payload.len() + tag_len, 0);
                            let tail = buf.get_mut(base..).unwrap_or(&mut []);
                            sender.encrypt_in_place(
                                kid,
                                &[],
                                tail,
                                header_len..header_len + payload.len(),
                            )?;
                            Ok(())
                        })?;
                    out.push(packet);
                }
            }
        }
        for packet in out.iter_mut().skip(first) {
            let len = packet.len();
            packet.resize(len + srtp.profile().overhead(), 0);
            let n = srtp.protect(packet, len)?;
            packet.truncate(n);
        }
        Ok(out.len() - first)
    }
}

/// What a [`MediaReceiver`] needs.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// The SFrame suite.
    pub suite: CipherSuite,
    /// Shared or per-SSRC keys.
    pub key_mode: KeyMode,
    /// Limits of the depacketizer (and of the codec assembler, per-packet mode).
    pub depacketizer: DepacketizerConfig,
    /// Payload types whose per-packet payloads are assembled into media frames.
    pub codecs: Vec<(u8, Codec)>,
}

/// A media frame (or, per-packet mode without an assembler for the codec, one codec payload),
/// decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFrame {
    /// The SSRC it came on.
    pub ssrc: u32,
    /// The payload type.
    pub payload_type: u8,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The marker bit of its last packet.
    pub marker: bool,
    /// The sequence number of its first packet.
    pub first_seq: u16,
    /// How many packets it came in.
    pub packets: u16,
    /// The SFrame KID (of its last SFrame frame, per-packet mode).
    pub kid: u64,
    /// The plaintext.
    pub data: Bytes,
}

/// What [`MediaReceiver::receive`] hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A whole media frame from per-frame SFrame (T = 0).
    Frame(MediaFrame),
    /// A whole media frame assembled from per-packet SFrame payloads (T = 1).
    Assembled(MediaFrame),
    /// One decrypted codec payload (T = 1) of a payload type not assembled here.
    Payload(MediaFrame),
}

/// Counters of a [`MediaReceiver`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// SRTP packets that failed authentication.
    pub srtp_auth_failures: u64,
    /// SRTP packets refused as replays.
    pub srtp_replays: u64,
    /// SRTP packets of SSRCs not announced.
    pub srtp_unknown_ssrc: u64,
    /// Other SRTP refusals (too short...).
    pub srtp_other: u64,
    /// Packets that were not valid RTP (after SRTP), or had no descriptor.
    pub malformed_rtp: u64,
    /// Packets of SSRCs beyond the depacketizer's limit.
    pub refused_streams: u64,
    /// SFrame frames decrypted.
    pub sframe_decrypted: u64,
    /// SFrame frames that did not decrypt (authentication, unknown KID, replay...).
    pub sframe_failures: u64,
    /// Codec payloads the codec depacketizer refused.
    pub codec_failures: u64,
    /// Media frames handed out ([`Received::Frame`] and [`Received::Assembled`]).
    pub frames: u64,
    /// Codec payloads handed out ([`Received::Payload`]).
    pub payloads: u64,
}

/// SRTP packets in, media frames out.
pub struct MediaReceiver {
    config: ReceiverConfig,
    shared: Receiver,
    per_ssrc: HashMap<u32, Receiver>,
    srtp: Box<dyn SrtpTransform>,
    depacketizer: Depacketizer,
    assembler: MediaAssembler,
    stats: ReceiverStats,
}

impl core::fmt::Debug for MediaReceiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaReceiver")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl MediaReceiver {
    /// A receiver unprotecting with `srtp`. Add keys and streams before packets arrive.
    pub fn new(config: ReceiverConfig, srtp: Box<dyn SrtpTransform>) -> Self {
        let assembler = MediaAssembler::new(
            &config.codecs,
            config.depacketizer.reassembly,
            config.depacketizer.max_streams,
        );
        Self {
            shared: Receiver::new(config.suite),
            per_ssrc: HashMap::new(),
            srtp,
            depacketizer: Depacketizer::new(config.depacketizer),
            assembler,
            stats: ReceiverStats::default(),
            config,
        }
    }

    /// Accepts packets of `ssrc` (SRTP drops the others before keeping any state for them).
    pub fn add_stream(&mut self, ssrc: u32) {
        self.srtp.allow_ssrc(ssrc);
    }

    /// Installs a sender's key ([`KeyMode::Shared`]).
    ///
    /// # Errors
    /// [`Error::SFrame`] for a bad key.
    pub fn add_key(&mut self, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        Ok(self.shared.add_key(kid, base_key)?)
    }

    /// Accepts packets of `ssrc` and installs its per-SSRC key derived from the sender's
    /// `base_key` ([`KeyMode::PerSsrc`]).
    ///
    /// # Errors
    /// [`Error::KeyDerivation`], [`Error::SFrame`].
    pub fn add_stream_key(&mut self, ssrc: u32, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        let key = ssrc_base_key(self.config.suite, base_key, ssrc)?;
        let receiver = self
            .per_ssrc
            .entry(ssrc)
            .or_insert_with(|| Receiver::new(self.config.suite));
        receiver.add_key(kid, key.expose())?;
        self.srtp.allow_ssrc(ssrc);
        Ok(())
    }

    /// The counters.
    pub fn stats(&self) -> ReceiverStats {
        let mut s = self.stats;
        s.malformed_rtp += self.depacketizer.malformed();
        s.refused_streams += self.depacketizer.refused_streams();
        s
    }

    /// The SFrame depacketizer's counters (duplicates, loss, incomplete frames...).
    pub fn reassembly_stats(&self) -> ReassemblyStats {
        self.depacketizer.stats()
    }

    /// The codec assembler's counters (per-packet mode).
    pub fn media_assembly_stats(&self) -> ReassemblyStats {
        self.assembler.stats()
    }

    /// The depacketizer (to inspect per-SSRC counters or pending state).
    pub fn depacketizer(&self) -> &Depacketizer {
        &self.depacketizer
    }

    /// End of all streams: evicts everything pending and counts it.
    pub fn flush(&mut self) {
        self.depacketizer.flush();
        self.assembler.flush();
    }

    /// Handles one SRTP packet from the network.
    ///
    /// # Errors
    /// Bad input, already counted in [`MediaReceiver::stats`]: [`Error::Srtp`], [`Error::Rtp`],
    /// [`Error::UnknownStream`], [`Error::SFrame`], [`Error::CodecPayload`].
    pub fn receive(&mut self, packet: &[u8]) -> Result<Option<Received>, Error> {
        let mut buf = packet.to_vec();
        let plain = match self.srtp.unprotect(&mut buf) {
            Ok(p) => Bytes::copy_from_slice(p),
            Err(e) => {
                match &e {
                    Error::Srtp(SrtpError::AuthenticationFailed) => {
                        self.stats.srtp_auth_failures += 1
                    }
                    Error::Srtp(SrtpError::Replay { .. }) => self.stats.srtp_replays += 1,
                    Error::Srtp(SrtpError::UnknownSsrc(_)) => self.stats.srtp_unknown_ssrc += 1,
                    Error::Rtp(_) => self.stats.malformed_rtp += 1,
                    _ => self.stats.srtp_other += 1,
                }
                return Err(e);
            }
        };
        let (ssrc, pushed) = self.depacketizer.push(plain)?;
        let Pushed::Frame(mut frame) = pushed else {
            return Ok(None);
        };
        let receiver = match self.config.key_mode {
            KeyMode::Shared => &mut self.shared,
            KeyMode::PerSsrc => self
                .per_ssrc
                .get_mut(&ssrc)
                .ok_or(Error::UnknownStream(ssrc))?,
        };
        let kid = SFrameHeader::parse(&frame.data).map(|(h, _)| h.kid);
        if let Err(e) = receiver.decrypt(&[], &mut frame.data) {
            self.stats.sframe_failures += 1;
            return Err(e.into());
        }
        self.stats.sframe_decrypted += 1;
        let media = MediaFrame {
            ssrc,
            payload_type: frame.payload_type,
            timestamp: frame.timestamp,
            marker: frame.marker,
            first_seq: frame.first_seq,
            packets: frame.packets,
            kid: kid.unwrap_or_default(),
            data: frame.data.freeze(),
        };
        match frame.origin {
            Origin::Raw => {
                self.stats.frames += 1;
                Ok(Some(Received::Frame(media)))
            }
            Origin::Packetized if self.assembler.assembles(media.payload_type) => {
                let assembled = self.assembler.push(
                    ssrc,
                    media.first_seq,
                    media.payload_type,
                    media.timestamp,
                    media.marker,
                    media.data.clone(),
                );
                match assembled {
                    Ok(Some(a)) => {
                        self.stats.frames += 1;
                        Ok(Some(Received::Assembled(MediaFrame {
                            first_seq: a.first_seq,
                            packets: a.packets,
                            data: a.data,
                            ..media
                        })))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => {
                        self.stats.codec_failures += 1;
                        Err(e)
                    }
                }
            }
            Origin::Packetized => {
                self.stats.payloads += 1;
                Ok(Some(Received::Payload(media)))
            }
        }
    }
}
