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
//!
//! This module is the meeting's media path as one piece, to be replaced by `sframe-rtp`'s own
//! MLS-keyed pipeline.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use sframe_core::{CipherSuite, Header, MAX_HEADER_LEN};
use sframe_mls::{DecryptedFrame, DroppedFrame, Keyring, Received};
use sframe_rtp::{
    Codec, Depacketizer, DepacketizerConfig, Error as RtpError, FrameMetadata, MediaAssembler,
    Mode, Origin, Packetizer, PacketizerConfig, Pushed, ReassemblyConfig, SrtpError, SrtpTransform,
    rtp::packetizer::Payloader,
};

use crate::cause::Cause;
use crate::error::MediaError;
use crate::meter::CryptoMeters;
use crate::stream::Kind;

/// What became of a received SFrame frame (or media frame, per-packet mode).
#[derive(Debug)]
pub enum Outcome {
    /// A media frame, decrypted (and assembled, per-packet mode).
    Frame {
        /// Its stream.
        ssrc: u32,
        /// Its RTP timestamp.
        timestamp: u32,
        /// The plaintext.
        data: Bytes,
    },
    /// An SFrame frame of this media frame was refused or given up.
    Refused {
        /// Its stream.
        ssrc: u32,
        /// Its RTP timestamp.
        timestamp: u32,
        /// Why.
        cause: Cause,
    },
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

fn parse_aad(a: &[u8]) -> Option<Place> {
    let a: &[u8; AAD_LEN] = a.try_into().ok()?;
    Some(Place {
        ssrc: u32::from_be_bytes([a[0], a[1], a[2], a[3]]),
        timestamp: u32::from_be_bytes([a[4], a[5], a[6], a[7]]),
        seq: u16::from_be_bytes([a[8], a[9]]),
        payload_type: a[10],
        marker: a[11] != 0,
    })
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
    ) -> Result<Sent, MediaError> {
        let first = out.len();
        let overhead = self.overhead;
        let stream = self
            .streams
            .iter_mut()
            .find(|s| s.kind == kind)
            .ok_or(MediaError::NoStream)?;
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
                .map_err(MediaError::Encrypt)?;
            meters.sframe_encrypt.add(started, len);
            let (header, _) = Header::parse(buf).map_err(MediaError::Header)?;
            kid.get_or_insert(header.kid);
            Ok::<(), MediaError>(())
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
                    .map_err(MediaError::Packetize)?;
            }
            Mode::PerPacket => {
                let budget = stream
                    .packetizer
                    .payload_budget(&meta)
                    .map_err(MediaError::Packetize)?
                    .checked_sub(overhead)
                    .filter(|b| *b > 0)
                    .ok_or(MediaError::NoRoomForSframe)?;
                let payloads = stream
                    .payloader
                    .payload(budget, &Bytes::copy_from_slice(frame))
                    .map_err(MediaError::Payload)?;
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
                        .map_err(MediaError::Packetize)?;
                    out.push(packet);
                }
            }
        }
        for packet in out.iter_mut().skip(first) {
            let started = Instant::now();
            let len = packet.len();
            self.srtp.protect(packet).map_err(MediaError::Protect)?;
            meters.srtp_protect.add(started, len);
        }
        Ok(Sent {
            kid: kid.ok_or(MediaError::EmptyFrame)?,
            packets: out.len() - first,
        })
    }
}

/// Counters of a participant's receiving media path (SRTP and the depacketizer) beyond the
/// frames it delivers.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct InboundStats {
    /// SRTP packets that reached it.
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
    /// Its counters.
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
        let plain = match self.srtp.unprotect(packet) {
            Ok(p) => p,
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
        let (ssrc, pushed) = match self.depacketizer.push(plain) {
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
        let result = keyring.decrypt(now, &aad, &mut frame.data);
        meters.sframe_decrypt.add(started, len);
        match result {
            Ok(Received::Plaintext { data, .. }) => {
                let data = Bytes::copy_from_slice(data);
                self.plaintext(place, data)
            }
            Ok(Received::Buffered) => None,
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
        let place = parse_aad(&d.metadata)?;
        self.plaintext(place, Bytes::from(d.plaintext))
    }

    /// A frame the keyring held back was given up.
    pub fn dropped_later(d: &DroppedFrame) -> Option<Outcome> {
        let place = parse_aad(&d.metadata)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_metadata_round_trips() {
        let a = frame_aad(0xdead_beef, 0x0102_0304, 0xfffe, 96, true);
        let p = parse_aad(&a).unwrap_or_else(|| panic!("parses"));
        assert_eq!(
            (p.ssrc, p.timestamp, p.seq, p.payload_type, p.marker),
            (0xdead_beef, 0x0102_0304, 0xfffe, 96, true)
        );
        assert!(parse_aad(&a[..11]).is_none());
    }
}
