//! One participant's media path, wired from the crates: frames are encrypted by its MLS
//! keyring (`sframe-mls`), packetized by the SFrame RTP packetizer (per-packet mode: a codec
//! payloader first, one SFrame frame per payload) and SRTP-protected (`sframe-rtp`); packets
//! coming back go through SRTP, the depacketizer, the keyring and, per-packet, the codec
//! assembler.
//!
//! Each SFrame frame authenticates, as its metadata, the RTP fields that place it in its stream
//! (SSRC, timestamp, first sequence number, payload type, marker). The receiver reads them from
//! the RTP header, and from the metadata of a frame its keyring held back until the frame's
//! epoch arrived.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use sframe_core::{CipherSuite, Header, MAX_HEADER_LEN};
use sframe_mls::{DecryptedFrame, DropCause, DroppedFrame, Keyring, Received};
use sframe_rtp::{
    Codec, Depacketizer, DepacketizerConfig, Error as RtpError, FrameMetadata, MediaAssembler,
    Mode, Origin, Packetizer, PacketizerConfig, Pushed, ReassemblyConfig, SrtpError, SrtpTransform,
    rtp::packetizer::Payloader,
};

/// The two streams every participant sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Audio,
    Video,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Audio, Kind::Video];

    /// The SFrame context (RFC 9605 section 5.2): one KID space per stream.
    fn context(self) -> u64 {
        match self {
            Kind::Audio => 0,
            Kind::Video => 1,
        }
    }

    fn payload_type(self) -> u8 {
        match self {
            Kind::Audio => 111,
            Kind::Video => 96,
        }
    }

    fn codec(self) -> Codec {
        match self {
            Kind::Audio => Codec::Opus,
            Kind::Video => Codec::Vp8,
        }
    }

    /// RTP clock ticks per millisecond (Opus 48 kHz, video 90 kHz).
    pub fn ticks_per_ms(self) -> u64 {
        match self {
            Kind::Audio => 48,
            Kind::Video => 90,
        }
    }
}

/// Why a received SFrame frame did not decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Its epoch was not held and it could not be buffered.
    UnknownEpoch,
    /// Its KID names a sender that is not a member of the epoch.
    UnknownSender,
    /// It did not authenticate.
    Authentication,
    /// It was a replay.
    Replay,
    /// Malformed or truncated.
    Malformed,
    /// Buffered for an epoch that did not arrive in time.
    ExpiredInBuffer,
    /// Evicted from a full buffer.
    BufferOverflow,
    /// The keyring was cleared.
    Cleared,
    /// Decrypted, but the codec assembler refused the payload (per-packet mode).
    Codec,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::UnknownEpoch => "unknown epoch",
            Cause::UnknownSender => "unknown sender",
            Cause::Authentication => "authentication",
            Cause::Replay => "replay",
            Cause::Malformed => "malformed",
            Cause::ExpiredInBuffer => "expired in buffer",
            Cause::BufferOverflow => "buffer overflow",
            Cause::Cleared => "cleared",
            Cause::Codec => "codec",
        }
    }

    fn of(e: &sframe_mls::Error) -> Self {
        match e {
            sframe_mls::Error::UnknownEpoch { .. } => Cause::UnknownEpoch,
            sframe_mls::Error::UnknownSender { .. } => Cause::UnknownSender,
            sframe_mls::Error::Frame(sframe_core::Error::AuthenticationFailed) => {
                Cause::Authentication
            }
            sframe_mls::Error::Frame(sframe_core::Error::Replay { .. }) => Cause::Replay,
            _ => Cause::Malformed,
        }
    }

    fn of_drop(c: &DropCause) -> Self {
        match c {
            DropCause::Expired => Cause::ExpiredInBuffer,
            DropCause::Overflow => Cause::BufferOverflow,
            DropCause::Undecryptable(e) => Cause::of(e),
            DropCause::Cleared => Cause::Cleared,
        }
    }
}

/// What became of a received SFrame frame (or media frame, per-packet mode).
#[derive(Debug)]
pub enum Outcome {
    /// A media frame, decrypted (and assembled, per-packet mode).
    Frame {
        ssrc: u32,
        timestamp: u32,
        data: Bytes,
    },
    /// An SFrame frame of this media frame was refused or given up.
    Refused {
        ssrc: u32,
        timestamp: u32,
        cause: Cause,
    },
}

/// Time and bytes spent in one stage of the crypto path.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Meter {
    pub calls: u64,
    pub bytes: u64,
    pub nanos: u64,
}

impl Meter {
    pub fn add(&mut self, started: Instant, bytes: usize) {
        self.calls += 1;
        self.bytes += bytes as u64;
        self.nanos += started.elapsed().as_nanos() as u64;
    }

    /// MB (10^6 bytes) per second of CPU time in this stage.
    pub fn mb_per_s(&self) -> f64 {
        if self.nanos == 0 {
            0.0
        } else {
            self.bytes as f64 / self.nanos as f64 * 1e3
        }
    }
}

/// The meters of the crypto path, over all participants and the SFU.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CryptoMeters {
    pub sframe_encrypt: Meter,
    pub sframe_decrypt: Meter,
    pub srtp_protect: Meter,
    pub srtp_unprotect: Meter,
    /// The SFU: SRTP unprotect of each packet and re-protect per leg.
    pub sfu_srtp: Meter,
}

/// Metadata bound to each SFrame frame: where it sits in its RTP stream.
const AAD_LEN: usize = 12;

fn frame_aad(ssrc: u32, timestamp: u32, seq: u16, payload_type: u8, marker: bool) -> [u8; 12] {
    let mut a = [0u8; AAD_LEN];
    a[..4].copy_from_slice(&ssrc.to_be_bytes());
    a[4..8].copy_from_slice(&timestamp.to_be_bytes());
    a[8..10].copy_from_slice(&seq.to_be_bytes());
    a[10] = payload_type;
    a[11] = u8::from(marker);
    a
}

struct Place {
    ssrc: u32,
    timestamp: u32,
    seq: u16,
    payload_type: u8,
    marker: bool,
}

struct OutStream {
    kind: Kind,
    ssrc: u32,
    packetizer: Packetizer,
    payloader: Box<dyn Payloader + Send + Sync>,
}

/// The sending half: keyring -> (payloader) -> packetizer -> SRTP.
pub struct Outbound {
    mode: Mode,
    streams: Vec<OutStream>,
    srtp: Box<dyn SrtpTransform>,
    overhead: usize,
}

/// One media frame on its way out.
#[derive(Debug)]
pub struct Sent {
    /// The KID of its (first) SFrame frame, as on the wire.
    pub kid: u64,
    /// SRTP packets.
    pub packets: usize,
}

impl Outbound {
    /// `ssrcs` are the audio and video SSRCs.
    pub fn new(
        mode: Mode,
        suite: CipherSuite,
        mtu: usize,
        ssrcs: [u32; 2],
        first_seqs: [u16; 2],
        srtp: Box<dyn SrtpTransform>,
    ) -> Self {
        let config = PacketizerConfig {
            mtu,
            srtp_overhead: srtp.profile().overhead(),
        };
        let streams = Kind::ALL
            .iter()
            .zip(ssrcs.iter().zip(first_seqs))
            .map(|(&kind, (&ssrc, seq))| OutStream {
                kind,
                ssrc,
                packetizer: Packetizer::new(ssrc, seq, config),
                payloader: kind.codec().payloader(),
            })
            .collect();
        Self {
            mode,
            streams,
            srtp,
            overhead: MAX_HEADER_LEN + suite.tag_len(),
        }
    }

    /// Encrypts, packetizes and protects one media frame; appends the packets to `out`.
    pub fn send(
        &mut self,
        keyring: &mut Keyring,
        kind: Kind,
        timestamp: u32,
        frame: &[u8],
        out: &mut Vec<Vec<u8>>,
        meters: &mut CryptoMeters,
    ) -> Result<Sent, String> {
        let first = out.len();
        let overhead = self.overhead;
        let stream = self
            .streams
            .iter_mut()
            .find(|s| s.kind == kind)
            .ok_or("no such stream")?;
        let meta = FrameMetadata {
            payload_type: kind.payload_type(),
            timestamp,
            marker: true,
            ..FrameMetadata::default()
        };
        let mut kid = None;
        let mut seal = |keyring: &mut Keyring, aad: &[u8], buf: &mut Vec<u8>| {
            let started = Instant::now();
            let len = buf.len();
            keyring
                .encrypt(kind.context(), aad, buf)
                .map_err(|e| format!("SFrame encrypt: {e}"))?;
            meters.sframe_encrypt.add(started, len);
            let (header, _) = Header::parse(buf).map_err(|e| e.to_string())?;
            kid.get_or_insert(header.kid);
            Ok::<(), String>(())
        };
        match self.mode {
            Mode::PerFrame => {
                let seq = stream.packetizer.next_sequence_number();
                let aad = frame_aad(stream.ssrc, timestamp, seq, meta.payload_type, true);
                let mut buf = frame.to_vec();
                seal(keyring, &aad, &mut buf)?;
                stream
                    .packetizer
                    .packetize_frame(&meta, Origin::Raw, &buf, out)
                    .map_err(|e| e.to_string())?;
            }
            Mode::PerPacket => {
                let budget = stream
                    .packetizer
                    .payload_budget(&meta)
                    .map_err(|e| e.to_string())?
                    .checked_sub(overhead)
                    .filter(|b| *b > 0)
                    .ok_or("the MTU leaves no room for SFrame")?;
                let payloads = stream
                    .payloader
                    .payload(budget, &Bytes::copy_from_slice(frame))
                    .map_err(|e| e.to_string())?;
                let count = payloads.len();
                let mut m = meta.clone();
                for (i, payload) in payloads.iter().enumerate() {
                    m.marker = i + 1 == count;
                    let seq = stream.packetizer.next_sequence_number();
                    let aad = frame_aad(stream.ssrc, timestamp, seq, m.payload_type, m.marker);
                    let mut buf = payload.to_vec();
                    seal(keyring, &aad, &mut buf)?;
                    let packet = stream
                        .packetizer
                        .packetize_single(&m, buf.len(), |p| {
                            p.extend_from_slice(&buf);
                            Ok(())
                        })
                        .map_err(|e| e.to_string())?;
                    out.push(packet);
                }
            }
        }
        for packet in out.iter_mut().skip(first) {
            let started = Instant::now();
            let len = packet.len();
            packet.resize(len + self.srtp.profile().overhead(), 0);
            let n = self.srtp.protect(packet, len).map_err(|e| e.to_string())?;
            packet.truncate(n);
            meters.srtp_protect.add(started, len);
        }
        Ok(Sent {
            kid: kid.ok_or("empty frame")?,
            packets: out.len() - first,
        })
    }
}

/// Counters of the receiving half that no [`Outcome`] carries.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct InboundStats {
    pub packets: u64,
    /// Extra copies the network delivered, refused by SRTP's replay check.
    pub srtp_replays: u64,
    /// Packets SRTP refused for another reason (should be none).
    pub srtp_other: u64,
    /// Packets the depacketizer dropped as duplicates, late or inconsistent (should be none).
    pub depacketizer_dropped: u64,
}

/// The receiving half: SRTP -> depacketizer -> keyring -> (codec assembler).
pub struct Inbound {
    mode: Mode,
    srtp: Box<dyn SrtpTransform>,
    depacketizer: Depacketizer,
    assembler: MediaAssembler,
    /// Where each frame the keyring holds belongs, by the token it was given with.
    held: std::collections::HashMap<u64, Place>,
    next_token: u64,
    pub stats: InboundStats,
}

impl Inbound {
    /// A receiver for up to `max_streams` SSRCs.
    pub fn new(mode: Mode, srtp: Box<dyn SrtpTransform>, max_streams: usize) -> Self {
        // 512 packets of reordering per stream: far beyond what the simulated links do (at
        // most 0.5 s of jitter), at half the default's memory per stream.
        let config = DepacketizerConfig {
            reassembly: ReassemblyConfig {
                window: 512,
                ..ReassemblyConfig::default()
            },
            max_streams,
        };
        let codecs: Vec<(u8, Codec)> = Kind::ALL
            .iter()
            .map(|k| (k.payload_type(), k.codec()))
            .collect();
        Self {
            mode,
            srtp,
            depacketizer: Depacketizer::new(config),
            assembler: MediaAssembler::new(&codecs, config.reassembly, max_streams),
            held: std::collections::HashMap::new(),
            next_token: 0,
            stats: InboundStats::default(),
        }
    }

    /// Accepts SRTP packets of `ssrc`.
    pub fn allow(&mut self, ssrc: u32) {
        self.srtp.allow_ssrc(ssrc);
    }

    /// Handles one SRTP packet from the SFU.
    pub fn receive(
        &mut self,
        now: Duration,
        keyring: &mut Keyring,
        packet: &[u8],
        meters: &mut CryptoMeters,
    ) -> Option<Outcome> {
        self.stats.packets += 1;
        let started = Instant::now();
        let mut buf = packet.to_vec();
        let plain = match self.srtp.unprotect(&mut buf) {
            Ok(p) => bytes::Bytes::copy_from_slice(p),
            Err(RtpError::Srtp(SrtpError::Replay { .. })) => {
                self.stats.srtp_replays += 1;
                return None;
            }
            Err(_) => {
                self.stats.srtp_other += 1;
                return None;
            }
        };
        meters.srtp_unprotect.add(started, packet.len());
        let (ssrc, pushed) = match self.depacketizer.push(&plain) {
            Ok(p) => p,
            Err(_) => {
                self.stats.depacketizer_dropped += 1;
                return None;
            }
        };
        let mut frame = match pushed {
            Pushed::Frame(f) => f,
            Pushed::Pending => return None,
            _ => {
                self.stats.depacketizer_dropped += 1;
                return None;
            }
        };
        let place = Place {
            ssrc,
            timestamp: frame.timestamp,
            seq: frame.first_seq,
            payload_type: frame.payload_type,
            marker: frame.marker,
        };
        let aad = frame_aad(
            ssrc,
            place.timestamp,
            place.seq,
            place.payload_type,
            place.marker,
        );
        let started = Instant::now();
        let len = frame.data.len();
        let token = self.next_token;
        self.next_token += 1;
        let result = keyring.decrypt(now, token, &aad, &mut frame.data);
        meters.sframe_decrypt.add(started, len);
        match result {
            Ok(Received::Plaintext { data, .. }) => {
                let data = Bytes::copy_from_slice(data);
                self.plaintext(place, data)
            }
            Ok(Received::Buffered) => {
                self.held.insert(token, place);
                None
            }
            Err(e) => Some(Outcome::Refused {
                ssrc,
                timestamp: place.timestamp,
                cause: Cause::of(&e),
            }),
        }
    }

    /// A decrypted SFrame frame: a media frame (per-frame), or a codec payload to assemble.
    fn plaintext(&mut self, place: Place, data: Bytes) -> Option<Outcome> {
        let Place {
            ssrc, timestamp, ..
        } = place;
        match self.mode {
            Mode::PerFrame => Some(Outcome::Frame {
                ssrc,
                timestamp,
                data,
            }),
            Mode::PerPacket => {
                match self.assembler.push(
                    ssrc,
                    place.seq,
                    place.payload_type,
                    timestamp,
                    place.marker,
                    data,
                ) {
                    Ok(Some(frame)) => Some(Outcome::Frame {
                        ssrc,
                        timestamp,
                        data: frame.data,
                    }),
                    Ok(None) => None,
                    Err(_) => Some(Outcome::Refused {
                        ssrc,
                        timestamp,
                        cause: Cause::Codec,
                    }),
                }
            }
        }
    }

    /// A frame the keyring held back decrypted once its epoch arrived.
    pub fn decrypted_later(&mut self, d: DecryptedFrame) -> Option<Outcome> {
        let place = self.held.remove(&d.token)?;
        let data = Bytes::copy_from_slice(d.plaintext());
        self.plaintext(place, data)
    }

    /// A frame the keyring held back was given up.
    pub fn dropped_later(&mut self, d: &DroppedFrame) -> Option<Outcome> {
        let place = self.held.remove(&d.token)?;
        Some(Outcome::Refused {
            ssrc: place.ssrc,
            timestamp: place.timestamp,
            cause: Cause::of_drop(&d.cause),
        })
    }

    /// End of the meeting: evicts incomplete frames.
    pub fn flush(&mut self) {
        self.depacketizer.flush();
        self.assembler.flush();
    }
}
