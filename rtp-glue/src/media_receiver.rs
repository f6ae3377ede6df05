//! The receiving half of the media pipeline: SRTP packets in, media frames out, through any
//! [`FrameOpener`].
//!
//! [`MediaReceiver::handle_packet`] unprotects a packet, reassembles SFrame frames and opens
//! them; [`MediaReceiver::poll_output`] is the one drain: decrypted media frames (including
//! frames the key source held back and released later), frames given up with their cause,
//! and the key source's own events, in order.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sframe_core::{FrameOpener, Header, Opened, OpenerEvent};

use crate::codec::{Codec, MediaAssembler};
use crate::depacketizer::{Depacketizer, DepacketizerConfig};
use crate::descriptor::Origin;
use crate::error::{Error, SrtpError};
use crate::metadata::SFRAME_METADATA;
use crate::reassembly::{Pushed, ReassemblyStats};
use crate::srtp::SrtpTransform;

/// What a [`MediaReceiver`] needs.
#[derive(Clone, Debug)]
pub struct MediaReceiverConfig {
    /// Limits of the depacketizer (and of the codec assembler, per-packet mode).
    pub depacketizer: DepacketizerConfig,
    /// Payload types whose per-packet payloads are assembled into media frames.
    pub codecs: Vec<(u8, Codec)>,
}

impl Default for MediaReceiverConfig {
    fn default() -> Self {
        Self {
            depacketizer: DepacketizerConfig::default(),
            codecs: Vec::new(),
        }
    }
}

/// Where a frame sits in its RTP stream (from the RTP headers it arrived with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePlace {
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
    /// T = 1: a codec payload (per-packet mode), not a whole frame.
    origin: Origin,
}

/// A decrypted media frame, borrowed from the receiver until the next call.
#[derive(Debug, PartialEq, Eq)]
pub struct MediaFrame<'a> {
    /// Where it came from in its RTP stream.
    pub place: FramePlace,
    /// The SFrame header of its (last) SFrame frame.
    pub header: Header,
    /// Whether a whole frame (per-frame mode, or assembled from per-packet payloads), or one
    /// codec payload of a payload type not assembled here.
    pub kind: FrameKind,
    /// The plaintext.
    pub data: &'a [u8],
}

/// What a [`MediaFrame`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A whole media frame from per-frame SFrame (T = 0).
    Frame,
    /// A whole media frame assembled from per-packet SFrame payloads (T = 1).
    Assembled,
    /// One decrypted codec payload (T = 1) of a payload type not assembled here.
    Payload,
}

/// Why a frame that arrived whole is not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameDrop<E> {
    /// The key source refused it, at once or after holding it.
    KeySource(E),
    /// It decrypted, but the codec assembler refused the payload (per-packet mode).
    Codec,
}

/// A frame given up, with its place and cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedMedia<E> {
    /// Where it sat in its RTP stream.
    pub place: FramePlace,
    /// Why.
    pub cause: FrameDrop<E>,
}

/// What [`MediaReceiver::poll_output`] hands out.
#[derive(Debug)]
pub enum ReceiveOutput<'a, E, Ev> {
    /// A decrypted media frame (or codec payload).
    Frame(MediaFrame<'a>),
    /// A frame given up.
    Dropped(DroppedMedia<E>),
    /// The key source's own event (the MLS keyring: epoch ready, switched, retired).
    KeySource(Ev),
}

/// Counters of a [`MediaReceiver`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaReceiverStats {
    /// Packets handed in.
    pub packets: u64,
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
    /// SFrame frames decrypted (at once or after being held).
    pub sframe_decrypted: u64,
    /// SFrame frames held by the key source.
    pub sframe_held: u64,
    /// SFrame frames refused or given up by the key source.
    pub sframe_failures: u64,
    /// Codec payloads the codec depacketizer refused.
    pub codec_failures: u64,
    /// Media frames handed out (whole or assembled).
    pub frames: u64,
    /// Codec payloads handed out.
    pub payloads: u64,
}

/// The bytes of a ready frame.
#[derive(Debug)]
enum Plain {
    Reassembled(BytesMut, Range<usize>),
    Released(Vec<u8>, Range<usize>),
    Assembled(Bytes),
}

impl Plain {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Reassembled(b, r) => b.get(r.clone()).unwrap_or_default(),
            Self::Released(b, r) => b.get(r.clone()).unwrap_or_default(),
            Self::Assembled(b) => b,
        }
    }
}

#[derive(Debug)]
enum Ready<E, Ev> {
    Frame {
        place: FramePlace,
        header: Header,
        kind: FrameKind,
        plain: Plain,
    },
    Dropped(DroppedMedia<E>),
    Event(Ev),
}

/// SRTP packets in, media frames out, sans IO. Generic over the key source `O`, which the
/// caller owns and passes to each call (an MLS client uses the same keyring to send).
pub struct MediaReceiver<O: FrameOpener> {
    srtp: Box<dyn SrtpTransform>,
    depacketizer: Depacketizer,
    assembler: MediaAssembler,
    stats: MediaReceiverStats,
    /// Frames the key source holds, by the token they were given with.
    held: HashMap<u64, FramePlace>,
    next_token: u64,
    ready: VecDeque<Ready<O::Error, O::Event>>,
    /// The output handed out last (its bytes are borrowed until the next call).
    current: Option<Ready<O::Error, O::Event>>,
}

impl<O: FrameOpener> core::fmt::Debug for MediaReceiver<O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaReceiver")
            .field("stats", &self.stats)
            .field("held", &self.held.len())
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl<O: FrameOpener> MediaReceiver<O> {
    /// A receiver unprotecting with `srtp`. Announce streams before packets arrive.
    pub fn new(config: MediaReceiverConfig, srtp: Box<dyn SrtpTransform>) -> Self {
        let assembler = MediaAssembler::new(
            &config.codecs,
            config.depacketizer.reassembly,
            config.depacketizer.max_streams,
        );
        Self {
            srtp,
            depacketizer: Depacketizer::new(config.depacketizer),
            assembler,
            stats: MediaReceiverStats::default(),
            held: HashMap::new(),
            next_token: 0,
            ready: VecDeque::new(),
            current: None,
        }
    }

    /// Accepts packets of `ssrc` (SRTP drops the others before keeping any state for them).
    pub fn add_stream(&mut self, ssrc: u32) {
        self.srtp.allow_ssrc(ssrc);
    }

    /// The counters.
    pub fn stats(&self) -> MediaReceiverStats {
        let mut s = self.stats;
        s.malformed_rtp += self.depacketizer.malformed();
        s.refused_streams += self.depacketizer.refused_streams();
        s
    }

    /// The depacketizer (to inspect per-SSRC counters or pending state).
    pub fn depacketizer(&self) -> &Depacketizer {
        &self.depacketizer
    }

    /// The SFrame depacketizer's counters (duplicates, loss, incomplete frames...).
    pub fn reassembly_stats(&self) -> ReassemblyStats {
        self.depacketizer.stats()
    }

    /// The codec assembler's counters (per-packet mode).
    pub fn media_assembly_stats(&self) -> ReassemblyStats {
        self.assembler.stats()
    }

    /// Frames the key source holds for this receiver.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// End of all streams: evicts everything pending in the reassembly windows.
    pub fn flush(&mut self) {
        self.depacketizer.flush();
        self.assembler.flush();
    }

    /// When [`MediaReceiver::handle_timeout`] should run next.
    pub fn poll_timeout(&self, keys: &O) -> Option<Duration> {
        keys.poll_timeout()
    }

    /// Lets time pass for the key source (held frames expire and come out as drops).
    pub fn handle_timeout(&mut self, keys: &mut O, now: Duration) {
        keys.handle_timeout(now);
    }

    /// Handles one SRTP packet from the network, unprotecting it in place in `packet`. Its
    /// frame, if it completes one, comes out of [`MediaReceiver::poll_output`].
    ///
    /// # Errors
    /// Bad peer input, already counted in the stats: SRTP refusals, malformed RTP, streams
    /// beyond the limits. Frames the key source refuses are not errors here: they come out
    /// as [`ReceiveOutput::Dropped`] with their place.
    pub fn handle_packet(
        &mut self,
        keys: &mut O,
        now: Duration,
        packet: &mut [u8],
    ) -> Result<(), Error> {
        self.stats.packets += 1;
        let plain = match self.srtp.unprotect(packet) {
            Ok(p) => p,
            Err(e) => {
                self.count_srtp_error(&e);
                return Err(e);
            }
        };
        let (ssrc, pushed) = self.depacketizer.push(plain)?;
        let Pushed::Frame(mut frame) = pushed else {
            return Ok(());
        };
        let place = FramePlace {
            ssrc,
            payload_type: frame.payload_type,
            timestamp: frame.timestamp,
            marker: frame.marker,
            first_seq: frame.first_seq,
            packets: frame.packets,
            origin: frame.origin,
        };
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        let opened = keys.open(now, u64::from(ssrc), token, SFRAME_METADATA, &mut frame.data);
        match opened {
            Ok(Opened::Plaintext { header, data }) => {
                let len = data.len();
                let start = header.len();
                self.stats.sframe_decrypted += 1;
                self.plaintext(place, header, Plain::Reassembled(frame.data, start..start + len));
            }
            Ok(Opened::Held) => {
                self.stats.sframe_held += 1;
                self.held.insert(token, place);
            }
            Err(e) => {
                self.stats.sframe_failures += 1;
                self.ready.push_back(Ready::Dropped(DroppedMedia {
                    place,
                    cause: FrameDrop::KeySource(e),
                }));
            }
        }
        Ok(())
    }

    fn count_srtp_error(&mut self, e: &Error) {
        match e {
            Error::Srtp(SrtpError::AuthenticationFailed) => self.stats.srtp_auth_failures += 1,
            Error::Srtp(SrtpError::Replay { .. }) => self.stats.srtp_replays += 1,
            Error::Srtp(SrtpError::UnknownSsrc(_)) => self.stats.srtp_unknown_ssrc += 1,
            Error::Rtp(_) => self.stats.malformed_rtp += 1,
            _ => self.stats.srtp_other += 1,
        }
    }

    /// A decrypted SFrame frame: a media frame, or (T = 1) a codec payload to assemble.
    fn plaintext(&mut self, place: FramePlace, header: Header, plain: Plain) {
        if place.origin == Origin::Raw {
            self.stats.frames += 1;
            self.ready.push_back(Ready::Frame {
                place,
                header,
                kind: FrameKind::Frame,
                plain,
            });
            return;
        }
        if !self.assembler.assembles(place.payload_type) {
            self.stats.payloads += 1;
            self.ready.push_back(Ready::Frame {
                place,
                header,
                kind: FrameKind::Payload,
                plain,
            });
            return;
        }
        let payload = Bytes::copy_from_slice(plain.bytes());
        match self.assembler.push(
            place.ssrc,
            place.first_seq,
            place.payload_type,
            place.timestamp,
            place.marker,
            payload,
        ) {
            Ok(Some(a)) => {
                self.stats.frames += 1;
                self.ready.push_back(Ready::Frame {
                    place: FramePlace {
                        first_seq: a.first_seq,
                        packets: a.packets,
                        ..place
                    },
                    header,
                    kind: FrameKind::Assembled,
                    plain: Plain::Assembled(a.data),
                });
            }
            Ok(None) => {}
            Err(_) => {
                self.stats.codec_failures += 1;
                self.ready.push_back(Ready::Dropped(DroppedMedia {
                    place,
                    cause: FrameDrop::Codec,
                }));
            }
        }
    }

    /// Moves the key source's events (released frames, drops, its own events) into the
    /// ready queue, in the order it reported them.
    fn drain_key_source(&mut self, keys: &mut O) {
        while let Some(event) = keys.poll_event() {
            match event {
                OpenerEvent::Opened(r) => {
                    if let Some(place) = self.held.remove(&r.token) {
                        self.stats.sframe_decrypted += 1;
                        self.plaintext(place, r.header, Plain::Released(r.buf, r.plaintext));
                    }
                }
                OpenerEvent::Dropped { token, error, .. } => {
                    if let Some(place) = self.held.remove(&token) {
                        self.stats.sframe_failures += 1;
                        self.ready.push_back(Ready::Dropped(DroppedMedia {
                            place,
                            cause: FrameDrop::KeySource(error),
                        }));
                    }
                }
                OpenerEvent::Other(e) => self.ready.push_back(Ready::Event(e)),
            }
        }
    }

    /// The next output: frames in the order they completed, drops, the key source's events.
    /// Run it until `None` after every [`MediaReceiver::handle_packet`] and
    /// [`MediaReceiver::handle_timeout`] (and after giving the key source a new epoch).
    pub fn poll_output(&mut self, keys: &mut O) -> Option<ReceiveOutput<'_, O::Error, O::Event>> {
        self.drain_key_source(keys);
        self.current = self.ready.pop_front();
        match self.current.take()? {
            Ready::Dropped(d) => Some(ReceiveOutput::Dropped(d)),
            Ready::Event(e) => Some(ReceiveOutput::KeySource(e)),
            frame @ Ready::Frame { .. } => {
                let Ready::Frame {
                    place,
                    header,
                    kind,
                    plain,
                } = self.current.insert(frame)
                else {
                    return None;
                };
                Some(ReceiveOutput::Frame(MediaFrame {
                    place: *place,
                    header: *header,
                    kind: *kind,
                    data: plain.bytes(),
                }))
            }
        }
    }
}
