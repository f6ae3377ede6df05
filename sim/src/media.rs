//! One participant's media path: `sframe-rtp`'s pipeline (`MediaSender`, `MediaReceiver`) with
//! the member's MLS keyring (`sframe-mls`) as its key source. Frames go out sealed by the
//! keyring, packetized (per-packet mode: a codec payloader first, one SFrame frame per payload)
//! and SRTP-protected in one reused buffer; packets come back through SRTP, the depacketizer,
//! the keyring and, per-packet, the codec assembler. Frames the keyring holds until their epoch
//! arrives come out of the same drain, placed in their stream by the pipeline's own token.
//!
//! The only addition here is metering: a thin key source around the keyring times sealing and
//! opening, so the report can split the crypto path into stages.

use std::ops::Range;
use std::time::{Duration, Instant};

use serde::Serialize;
use sframe_core::{CipherSuite, FrameOpener, FrameSealer, Header, Opened, OpenerEvent};
use sframe_mls::{Event, Keyring};
use sframe_rtp::{
    AudioLevel, DepacketizerConfig, FrameDrop, FrameMetadata, MediaReceiver, MediaReceiverConfig,
    MediaSender, MediaSenderConfig, Mode, ReassemblyConfig, ReceiveOutput, SframeRtpError,
    SrtpError, SrtpTransform,
};

use crate::cause::Cause;
use crate::config::AUDIO_LEVEL_ID;
use crate::error::MediaError;
use crate::meter::{CryptoMeters, Meter};
use crate::stream::Kind;

/// The keyring as the pipeline's key source, with sealing and opening timed.
struct Metered<'a> {
    ring: &'a mut Keyring,
    meter: &'a mut Meter,
}

impl FrameSealer for Metered<'_> {
    type Error = sframe_mls::SframeMlsError;

    fn suite(&self) -> CipherSuite {
        FrameSealer::suite(&*self.ring)
    }

    fn next_header(&mut self, stream: u64) -> Result<Header, Self::Error> {
        self.ring.next_header(stream)
    }

    fn seal<'a>(
        &mut self,
        stream: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Self::Error> {
        let started = Instant::now();
        let len = plaintext.len();
        let sealed = self.ring.seal(stream, metadata, buf, plaintext);
        self.meter.add(started, len);
        sealed
    }
}

impl FrameOpener for Metered<'_> {
    type Error = sframe_mls::SframeMlsError;
    type Event = Event;

    fn open<'a>(
        &mut self,
        now: Duration,
        stream: u64,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Self::Error> {
        let started = Instant::now();
        let len = frame.len();
        let opened = self.ring.open(now, stream, token, metadata, frame);
        self.meter.add(started, len);
        opened
    }

    fn poll_event(&mut self) -> Option<OpenerEvent<Self::Error, Event>> {
        FrameOpener::poll_event(self.ring)
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.ring.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Duration) {
        self.ring.handle_timeout(now);
    }
}

/// One media frame on its way out.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The KID of its (first) SFrame frame, as on the wire.
    pub(crate) kid: u64,
    /// SRTP packets.
    pub(crate) packets: usize,
}

/// The sending half: keyring -> (payloader) -> packetizer -> SRTP, in `sframe-rtp`.
pub(crate) struct Outbound {
    sender: MediaSender,
    ssrcs: [u32; 2],
    /// The buffer every packet is written into, then copied onto the simulated link.
    buf: Vec<u8>,
}

impl core::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outbound")
            .field("sender", &self.sender)
            .field("ssrcs", &self.ssrcs)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    /// `ssrcs` are the audio and video SSRCs; each is sealed under its MLS context.
    pub(crate) fn new(
        mode: Mode,
        mtu: usize,
        ssrcs: [u32; 2],
        first_seqs: [u16; 2],
        srtp: Box<dyn SrtpTransform>,
    ) -> Result<Self, MediaError> {
        let mut sender = MediaSender::new(MediaSenderConfig { mode, mtu }, srtp);
        for ((kind, ssrc), seq) in Kind::ALL.into_iter().zip(ssrcs).zip(first_seqs) {
            let codec = (mode == Mode::PerPacket).then(|| kind.codec());
            sender
                .add_stream(ssrc, seq, kind.context(), codec)
                .map_err(MediaError::Rtp)?;
        }
        Ok(Self {
            sender,
            ssrcs,
            buf: vec![0; mtu],
        })
    }

    /// Seals, packetizes and protects one media frame of `kind` at `timestamp` (audio with
    /// its RFC 6464 `level`); appends the packets to `out`.
    pub(crate) fn send(
        &mut self,
        keyring: &mut Keyring,
        (kind, timestamp, level): (Kind, u32, Option<AudioLevel>),
        frame: &[u8],
        out: &mut Vec<Vec<u8>>,
        meters: &mut CryptoMeters,
    ) -> Result<Sent, MediaError> {
        let ssrc = self.ssrcs[kind as usize];
        let mut meta = FrameMetadata {
            payload_type: kind.payload_type(),
            timestamp,
            marker: true,
            ..FrameMetadata::default()
        };
        if let Some(level) = level {
            level.set_on(&mut meta, AUDIO_LEVEL_ID);
        }
        let kid = keyring
            .next_send_header(kind.context())
            .map_err(MediaError::Keyring)?
            .kid;
        let mut keys = Metered {
            ring: keyring,
            meter: &mut meters.sframe_encrypt,
        };
        self.sender
            .send_frame(&mut keys, ssrc, frame, &meta)
            .map_err(|e| match e {
                sframe_rtp::PipelineError::Media(e) => MediaError::Rtp(e),
                sframe_rtp::PipelineError::KeySource(e) => MediaError::Keyring(e),
            })?;
        let first = out.len();
        loop {
            let started = Instant::now();
            let Some(t) = self
                .sender
                .poll_transmit(&mut self.buf)
                .map_err(MediaError::Rtp)?
            else {
                break;
            };
            // Packetizing and SRTP, per packet.
            meters.srtp_protect.add(started, t.len);
            out.push(self.buf[..t.len].to_vec());
        }
        Ok(Sent {
            kid,
            packets: out.len() - first,
        })
    }
}

/// Counters of the receiving half that no outcome carries.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct InboundStats {
    /// SRTP packets that reached it.
    pub packets: u64,
    /// Extra copies the network delivered, refused by SRTP's replay check.
    pub srtp_replays: u64,
    /// Packets SRTP refused for another reason (should be none).
    pub srtp_other: u64,
    /// Packets the depacketizer dropped as malformed, duplicates, late or inconsistent
    /// (should be none: SRTP refuses duplicates first).
    pub depacketizer_dropped: u64,
}

/// What the receiving half hands out, in order.
#[derive(Debug)]
pub(crate) enum Received<'a> {
    /// A media frame, decrypted (and assembled, per-packet mode).
    Frame {
        ssrc: u32,
        timestamp: u32,
        data: &'a [u8],
    },
    /// An SFrame frame of this media frame was refused or given up.
    Refused {
        ssrc: u32,
        timestamp: u32,
        cause: Cause,
    },
    /// What the keyring had to say (epoch ready, switched, retired).
    Keyring(Event),
}

/// The receiving half: SRTP -> depacketizer -> keyring -> (codec assembler), in `sframe-rtp`.
pub(crate) struct Inbound {
    receiver: MediaReceiver<Keyring>,
    packets: u64,
    srtp_replays: u64,
    srtp_other: u64,
    rejected: u64,
}

impl core::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inbound")
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

impl Inbound {
    /// A receiver for up to `max_streams` SSRCs.
    pub(crate) fn new(srtp: Box<dyn SrtpTransform>, max_streams: usize) -> Self {
        // 128 packets of reordering per stream: over 1 s of video at the simulation's rates
        // (about 90 packets/s), twice the largest spread of delays a link can have (0.54 s),
        // at an eighth of the default's memory per stream (a receiver of a large meeting
        // meets tens of streams as speakers change).
        let config = MediaReceiverConfig {
            depacketizer: DepacketizerConfig {
                reassembly: ReassemblyConfig {
                    window: 128,
                    ..ReassemblyConfig::default()
                },
                max_streams,
            },
            codecs: Kind::ALL
                .iter()
                .map(|k| (k.payload_type(), k.codec()))
                .collect(),
        };
        Self {
            receiver: MediaReceiver::new(config, srtp),
            packets: 0,
            srtp_replays: 0,
            srtp_other: 0,
            rejected: 0,
        }
    }

    /// Accepts SRTP packets of `ssrc`.
    pub(crate) fn allow(&mut self, ssrc: u32) {
        self.receiver.add_stream(ssrc);
    }

    /// Handles one SRTP packet from the SFU (unprotected in place); what it completes comes
    /// out of [`Inbound::poll`].
    pub(crate) fn receive(
        &mut self,
        now: Duration,
        keyring: &mut Keyring,
        packet: &mut [u8],
        meters: &mut CryptoMeters,
    ) {
        self.packets += 1;
        let mut keys = Metered {
            ring: keyring,
            meter: &mut meters.sframe_decrypt,
        };
        let started = Instant::now();
        let decrypting = keys.meter.nanos;
        let result = self.receiver.handle_packet(&mut keys, now, packet);
        // SRTP and the depacketizer: the call less the time the keyring spent opening.
        let opening = meters.sframe_decrypt.nanos - decrypting;
        meters.srtp_unprotect.add(started, packet.len());
        meters.srtp_unprotect.nanos = meters.srtp_unprotect.nanos.saturating_sub(opening);
        match result {
            Ok(()) => {}
            Err(SframeRtpError::Srtp(SrtpError::Replay { .. })) => self.srtp_replays += 1,
            Err(SframeRtpError::Srtp(_)) => self.srtp_other += 1,
            Err(_) => self.rejected += 1,
        }
    }

    /// The next frame, refusal or keyring event (frames the keyring released late included).
    pub(crate) fn poll<'a>(
        &'a mut self,
        keyring: &'a mut Keyring,
        meters: &'a mut CryptoMeters,
    ) -> Option<Received<'a>> {
        let mut keys = Metered {
            ring: keyring,
            meter: &mut meters.sframe_decrypt,
        };
        Some(match self.receiver.poll_output(&mut keys)? {
            ReceiveOutput::Frame(f) => Received::Frame {
                ssrc: f.place.ssrc,
                timestamp: f.place.timestamp,
                data: f.data,
            },
            ReceiveOutput::Dropped(d) => Received::Refused {
                ssrc: d.place.ssrc,
                timestamp: d.place.timestamp,
                cause: match &d.cause {
                    FrameDrop::KeySource(e) => Cause::of(e),
                    FrameDrop::Codec => Cause::Codec,
                },
            },
            ReceiveOutput::KeySource(e) => Received::Keyring(e),
        })
    }

    /// The counters.
    pub(crate) fn stats(&self) -> InboundStats {
        let r = self.receiver.reassembly_stats();
        InboundStats {
            packets: self.packets,
            srtp_replays: self.srtp_replays,
            srtp_other: self.srtp_other,
            depacketizer_dropped: self.rejected + r.duplicates + r.late + r.inconsistent_frames,
        }
    }

    /// End of the meeting: evicts incomplete frames.
    pub(crate) fn flush(&mut self) {
        self.receiver.flush();
    }
}
