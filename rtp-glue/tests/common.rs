//! Shared by the integration tests: a deterministic PRNG, a simulated link with loss,
//! reordering, duplication and jitter that keeps a ledger of what it did to every packet, and
//! helpers to build senders, receivers and an SFU.

// Each test file uses part of it; setup helpers panic on failure, like the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use std::time::Duration;

use bytes::Bytes;
use sframe_core::{
    CipherSuite, FrameOpener, FrameSealer, Header, Opened, OpenerEvent, StaticKeys,
};
use sframe_rtp::{
    Codec, Depacketizer, DepacketizerConfig, Error, FrameDrop, FrameKind, FrameMetadata,
    MediaReceiver, MediaReceiverConfig, MediaReceiverStats, MediaSender, MediaSenderConfig, Mode,
    ReassemblyStats, ReceiveOutput, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform, SsrcKeys,
};

/// The seeded generator the library's simulator uses.
pub use sframe_rtp::sim::Rng;

/// The library simulator's link parameters. This file's [`Link`] is a different model (a
/// queue with its own ledger) but reads the same fields; it draws jitter in `[0, jitter_us)`
/// and kept below a stream's packet spacing, so reordering comes from `reorder` alone.
pub use sframe_rtp::sim::LinkConfig;

/// The link: 5% loss, 2% reordering, 1% duplication, 20 ms + jitter.
pub const LOSSY: LinkConfig = LinkConfig {
    loss: 0.05,
    reorder: 0.02,
    duplicate: 0.01,
    delay_us: 20_000,
    jitter_us: 50,
    reorder_min_us: 5_000,
    reorder_max_us: 40_000,
};

/// The link's own record, keyed by the (clear) SSRC and sequence number of each packet.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Packets handed to the link.
    pub sent: u64,
    /// Dropped.
    pub lost: u64,
    /// Delayed past later packets.
    pub reordered: u64,
    /// Delivered twice.
    pub duplicated: u64,
    /// Copies delivered per (SSRC, seq) (0 if lost).
    pub copies: HashMap<(u32, u16), u32>,
}

impl Ledger {
    pub fn delivered(&self, ssrc: u32, seq: u16) -> u32 {
        self.copies.get(&(ssrc, seq)).copied().unwrap_or(0)
    }

    /// Extra copies: what SRTP replay protection must refuse.
    pub fn extra_copies(&self) -> u64 {
        self.copies
            .values()
            .map(|&c| u64::from(c.saturating_sub(1)))
            .sum()
    }
}

/// A one-way link on a simulated clock.
#[derive(Debug)]
pub struct Link {
    cfg: LinkConfig,
    rng: Rng,
    queue: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>>,
    order: u64,
    pub ledger: Ledger,
}

fn ssrc_seq(packet: &[u8]) -> (u32, u16) {
    let seq = u16::from_be_bytes([packet[2], packet[3]]);
    let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
    (ssrc, seq)
}

impl Link {
    pub fn new(cfg: LinkConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            order: 0,
            ledger: Ledger::default(),
        }
    }

    fn delay(&mut self) -> (u64, bool) {
        let mut d = self.cfg.delay_us + self.rng.below(self.cfg.jitter_us.max(1));
        let reordered = self.rng.unit() < self.cfg.reorder;
        if reordered {
            d += self.cfg.reorder_min_us
                + self.rng.below(
                    self.cfg
                        .reorder_max_us
                        .saturating_sub(self.cfg.reorder_min_us),
                );
        }
        (d, reordered)
    }

    /// Sends `packet` at time `now_us`.
    pub fn send(&mut self, now_us: u64, packet: Vec<u8>) {
        self.ledger.sent += 1;
        let key = ssrc_seq(&packet);
        if self.rng.unit() < self.cfg.loss {
            self.ledger.lost += 1;
            self.ledger.copies.entry(key).or_insert(0);
            return;
        }
        let duplicate = self.rng.unit() < self.cfg.duplicate;
        let copies = if duplicate { 2 } else { 1 };
        *self.ledger.copies.entry(key).or_insert(0) += copies;
        if duplicate {
            self.ledger.duplicated += 1;
            let (d, r) = self.delay();
            self.ledger.reordered += u64::from(r);
            self.order += 1;
            self.queue
                .push(Reverse((now_us + d, self.order, packet.clone())));
        }
        let (d, r) = self.delay();
        self.ledger.reordered += u64::from(r);
        self.order += 1;
        self.queue.push(Reverse((now_us + d, self.order, packet)));
    }

    /// Packets due by `now_us`, in delivery order.
    pub fn poll(&mut self, now_us: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > now_us {
                break;
            }
            if let Some(Reverse((_, _, p))) = self.queue.pop() {
                out.push(p);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

pub const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
pub const MTU: usize = 1200;

pub fn srtp_keys(profile: SrtpProfile, seed: u64) -> SrtpKeys {
    let mut rng = Rng::new(seed);
    let mut master_key = vec![0; profile.key_len()];
    let mut master_salt = vec![0; profile.salt_len()];
    rng.fill(&mut master_key);
    rng.fill(&mut master_salt);
    SrtpKeys {
        profile,
        master_key,
        master_salt,
    }
}

pub fn sframe_base_key(participant: u32) -> Vec<u8> {
    format!("SFrame base key of participant {participant} ----").into_bytes()
}

/// Which key source the test endpoints use: one static key per sender (the core's
/// `StaticKeys`), or the draft's per-SSRC keys (`SsrcKeys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    Shared,
    PerSsrc,
}

/// Either key source, as one type, so test endpoints of both kinds can sit in one list: the
/// key-source traits compose.
#[derive(Debug)]
pub enum TestKeys {
    Shared(StaticKeys),
    PerSsrc(SsrcKeys),
}

impl FrameSealer for TestKeys {
    type Error = Error;

    fn suite(&self) -> CipherSuite {
        SUITE
    }

    fn next_header(&mut self, stream: u64) -> Result<Header, Error> {
        match self {
            Self::Shared(k) => Ok(k.next_header(stream)?),
            Self::PerSsrc(k) => k.next_header(stream),
        }
    }

    fn seal<'a>(
        &mut self,
        stream: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: std::ops::Range<usize>,
    ) -> Result<&'a mut [u8], Error> {
        match self {
            Self::Shared(k) => Ok(k.seal(stream, metadata, buf, plaintext)?),
            Self::PerSsrc(k) => k.seal(stream, metadata, buf, plaintext),
        }
    }
}

impl FrameOpener for TestKeys {
    type Error = Error;
    type Event = std::convert::Infallible;

    fn open<'a>(
        &mut self,
        now: Duration,
        stream: u64,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Error> {
        match self {
            Self::Shared(k) => Ok(k.open(now, stream, token, metadata, frame)?),
            Self::PerSsrc(k) => k.open(now, stream, token, metadata, frame),
        }
    }

    fn poll_event(&mut self) -> Option<OpenerEvent<Error, Self::Event>> {
        None
    }
}

/// A sending endpoint for tests: the library's `MediaSender` and its key source, packets
/// collected into a list.
#[derive(Debug)]
pub struct Tx {
    keys: TestKeys,
    kid: u64,
    base_key: Vec<u8>,
    sender: MediaSender,
}

impl Tx {
    pub fn add_stream(&mut self, ssrc: u32, first_seq: u16, codec: Option<Codec>) -> Result<(), Error> {
        let key_stream = match &mut self.keys {
            TestKeys::Shared(_) => self.kid,
            TestKeys::PerSsrc(k) => {
                k.add_send_stream(ssrc, self.kid, &self.base_key)?;
                u64::from(ssrc)
            }
        };
        self.sender.add_stream(ssrc, first_seq, key_stream, codec)
    }

    /// Seals and packetizes one frame; appends its SRTP packets to `out`.
    pub fn send_frame(
        &mut self,
        ssrc: u32,
        frame: &[u8],
        meta: &FrameMetadata,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, Error> {
        let n = self
            .sender
            .send_frame(&mut self.keys, ssrc, frame, meta)
            .map_err(|e| match e {
                sframe_rtp::PipelineError::Media(e) | sframe_rtp::PipelineError::KeySource(e) => e,
            })?;
        let mut buf = vec![0u8; MTU];
        while let Some(t) = self.sender.poll_transmit(&mut buf)? {
            out.push(buf[..t.len].to_vec());
        }
        Ok(n)
    }
}

pub fn media_sender(mode: Mode, key_mode: KeyMode, kid: u64, keys: &SrtpKeys) -> Tx {
    let srtp = SrtpContext::sender(keys).unwrap();
    let base_key = sframe_base_key(kid as u32);
    let keys = match key_mode {
        KeyMode::Shared => {
            let mut k = StaticKeys::new(SUITE);
            k.sender.add_key(kid, &base_key).unwrap();
            TestKeys::Shared(k)
        }
        KeyMode::PerSsrc => TestKeys::PerSsrc(SsrcKeys::new(SUITE)),
    };
    Tx {
        keys,
        kid,
        base_key,
        sender: MediaSender::new(MediaSenderConfig { mode, mtu: MTU }, Box::new(srtp)),
    }
}

pub const VIDEO_PT: u8 = 96;
pub const AUDIO_PT: u8 = 111;

/// A received frame, owned (the pipeline lends it until the next call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFrame {
    pub ssrc: u32,
    pub payload_type: u8,
    pub timestamp: u32,
    pub marker: bool,
    pub first_seq: u16,
    pub packets: u16,
    pub kid: u64,
    pub data: Bytes,
}

/// What a test receiver got from one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Frame(MediaFrame),
    Assembled(MediaFrame),
    Payload(MediaFrame),
}

/// A receiving endpoint for tests: the library's `MediaReceiver` and its key source; a frame
/// the key source refuses comes back as that error, as a caller would see it.
#[derive(Debug)]
pub struct Rx {
    keys: TestKeys,
    receiver: MediaReceiver<TestKeys>,
}

impl Rx {
    pub fn add_stream(&mut self, ssrc: u32) {
        self.receiver.add_stream(ssrc);
    }

    pub fn add_key(&mut self, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        match &mut self.keys {
            TestKeys::Shared(k) => Ok(k.receiver.add_key(kid, base_key)?),
            TestKeys::PerSsrc(_) => Err(Error::InvalidConfig("per-SSRC receiver")),
        }
    }

    pub fn add_stream_key(&mut self, ssrc: u32, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        match &mut self.keys {
            TestKeys::PerSsrc(k) => k.add_receive_stream(ssrc, kid, base_key)?,
            TestKeys::Shared(_) => return Err(Error::InvalidConfig("shared-key receiver")),
        }
        self.receiver.add_stream(ssrc);
        Ok(())
    }

    pub fn receive(&mut self, packet: &[u8]) -> Result<Option<Received>, Error> {
        let mut packet = packet.to_vec();
        self.receiver
            .handle_packet(&mut self.keys, Duration::ZERO, &mut packet)?;
        let mut got = Ok(None);
        while let Some(out) = self.receiver.poll_output(&mut self.keys) {
            got = match out {
                ReceiveOutput::Frame(f) => {
                    let frame = MediaFrame {
                        ssrc: f.place.ssrc,
                        payload_type: f.place.payload_type,
                        timestamp: f.place.timestamp,
                        marker: f.place.marker,
                        first_seq: f.place.first_seq,
                        packets: f.place.packets,
                        kid: f.header.kid,
                        data: Bytes::copy_from_slice(f.data),
                    };
                    Ok(Some(match f.kind {
                        FrameKind::Frame => Received::Frame(frame),
                        FrameKind::Assembled => Received::Assembled(frame),
                        FrameKind::Payload => Received::Payload(frame),
                    }))
                }
                ReceiveOutput::Dropped(d) => Err(match d.cause {
                    FrameDrop::KeySource(e) => e,
                    FrameDrop::Codec => Error::CodecPayload,
                }),
                ReceiveOutput::KeySource(never) => match never {},
            };
        }
        got
    }

    pub fn stats(&self) -> MediaReceiverStats {
        self.receiver.stats()
    }

    pub fn reassembly_stats(&self) -> ReassemblyStats {
        self.receiver.reassembly_stats()
    }

    pub fn media_assembly_stats(&self) -> ReassemblyStats {
        self.receiver.media_assembly_stats()
    }

    pub fn depacketizer(&self) -> &Depacketizer {
        self.receiver.depacketizer()
    }

    pub fn flush(&mut self) {
        self.receiver.flush();
    }
}

pub fn media_receiver(key_mode: KeyMode, keys: &SrtpKeys) -> Rx {
    media_receiver_with(
        key_mode,
        keys,
        vec![(VIDEO_PT, Codec::Vp8), (AUDIO_PT, Codec::Opus)],
    )
}

pub fn media_receiver_with(key_mode: KeyMode, keys: &SrtpKeys, codecs: Vec<(u8, Codec)>) -> Rx {
    let cfg = MediaReceiverConfig {
        depacketizer: DepacketizerConfig::default(),
        codecs,
    };
    let keys_ = match key_mode {
        KeyMode::Shared => TestKeys::Shared(StaticKeys::new(SUITE)),
        KeyMode::PerSsrc => TestKeys::PerSsrc(SsrcKeys::new(SUITE)),
    };
    Rx {
        keys: keys_,
        receiver: MediaReceiver::new(cfg, Box::new(SrtpContext::receiver(keys, 1024).unwrap())),
    }
}

/// Protects the RTP packet in `w` in place, growing it for the tag.
pub fn protect_vec(srtp: &mut dyn SrtpTransform, w: &mut Vec<u8>) {
    let len = w.len();
    w.resize(len + srtp.profile().overhead(), 0);
    let n = srtp.protect(w, len).unwrap();
    w.truncate(n);
}

/// Unprotects a copy of `w`; returns the RTP packet.
pub fn unprotect_vec(srtp: &mut dyn SrtpTransform, w: &[u8]) -> Vec<u8> {
    let mut buf = w.to_vec();
    srtp.unprotect(&mut buf).unwrap().to_vec()
}

/// Finds `needle` in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut i = 0;
    while let Some(pos) = hay[i..].iter().position(|&b| b == first) {
        let at = i + pos;
        if hay[at + 1..].starts_with(rest) {
            return true;
        }
        i = at + 1;
    }
    false
}
