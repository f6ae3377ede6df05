//! One participant's peer connection, MLS member and media pipeline, driven by
//! [`crate::participant`]'s loop: str0m's events in, MLS messages and media out.

use std::collections::{BTreeMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use sframe_core::CipherSuite;
use sframe_core::{FrameOpener, OpenerEvent, counter_with_config_bit};
use sframe_mls::{Event as KeyEvent, Keyring, KeyringConfig, MemberConfig, MlsMember};
use sframe_rtp::{
    Codec, CodecSframeError, CodecSframeReceiver, CodecSframeSender, DepacketizerConfig,
    FrameMetadata, MediaReceiver, MediaReceiverConfig, MediaSender, MediaSenderConfig, Mode,
    PipelineError, ReassemblyConfig, ReceiveOutput, RtpView,
};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::format::Codec as Str0mCodec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, RtpWrite, SeqNo, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::clip::{MediaClip, vp8_has_start_code, vp8_is_key_frame};
use crate::delegate::{KEPT_EPOCHS, KeyDelegate};
use crate::error::WebrtcError;
use crate::framing::MlsMessage;
use crate::hop::SrtpByStr0m;
use crate::participant::{MediaFormat, ParticipantConfig, Progress};
use crate::report::{ParticipantReport, Tally, drop_cause, error_cause, is_rollover};
use crate::sfu_peer::forwarded_rid;
use crate::synthetic::{
    AUDIO_FPS, AUDIO_FRAME_LEN, CANARY, KEY_FRAME_EVERY, VIDEO_FPS, VIDEO_FRAME_LEN, frame,
    parse_frame,
};

/// The MTU of media packets on the wire.
const MTU: usize = 1200;
/// RTP clock ticks per audio frame (48 kHz, 20 ms) and per video frame (90 kHz, 30 fps).
const AUDIO_TICKS: u32 = 960;
const VIDEO_TICKS: u32 = 3000;
/// The SFrame suite of the media.
const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
/// The keyring's epoch bits (its default).
const EPOCH_MASK: u64 = 0xf;

/// An outgoing RTP stream.
#[derive(Debug)]
struct TxStream {
    ssrc: u32,
    pt: u8,
    ticks: u32,
    index: u32,
    ext_seq: Option<u64>,
    next_at: Instant,
    every: Duration,
}

/// Codec-packetized media (what a browser's encoded transform sends): one sender per outgoing
/// stream, one receiver for everyone else's.
struct CodecMedia {
    senders: Vec<CodecSframeSender>,
    receiver: CodecSframeReceiver,
    /// Frames the keyring holds (an epoch not known yet), by token: their SSRC and payload type.
    held: BTreeMap<u64, (u32, u8)>,
    packets: Vec<Vec<u8>>,
}

/// The most held frames whose stream the session remembers (the keyring holds fewer).
const MAX_HELD: usize = 1024;

/// The participant's state (see the module docs).
pub(crate) struct Session {
    pub(crate) rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    start: Instant,
    audio_mid: Mid,
    video_mid: Mid,
    channel: Option<ChannelId>,
    outbox: VecDeque<Vec<u8>>,
    member: MlsMember,
    sender: MediaSender,
    receiver: MediaReceiver<Keyring>,
    format: MediaFormat,
    codec: Option<CodecMedia>,
    clip: Option<Arc<MediaClip>>,
    /// The first RTP sequence number of its streams (`None`: unpredictable).
    first_seq: Option<u16>,
    delegate: Option<Arc<KeyDelegate>>,
    /// Acknowledgements waiting until the delegate's page has fetched the epoch.
    held_acks: Vec<u64>,
    tx: Vec<TxStream>,
    pub(crate) media_on: bool,
    join_epoch: Option<u64>,
    pub(crate) removed: bool,
    pub(crate) disconnected: bool,
    pub(crate) report: ParticipantReport,
    tally: Tally,
    tap: Option<Sender<Vec<u8>>>,
    rx_tap: Option<Sender<Vec<u8>>>,
    /// Raw data-channel messages to send once in the group (tests).
    pub(crate) raw_mls: Vec<Vec<u8>>,
    progress: Arc<Progress>,
    buf: Vec<u8>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("local", &self.local)
            .field("name", &self.report.name)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session on `socket` with an SDP offer for audio, video and the MLS data channel.
    pub(crate) fn new(
        config: &ParticipantConfig,
        socket: UdpSocket,
        progress: Arc<Progress>,
    ) -> Result<(Self, String, SdpPendingOffer), WebrtcError> {
        let name = config.name.as_str();
        let tap: Option<Sender<Vec<u8>>> = config.tap.clone();
        let rx_tap = config.rx_tap.clone();
        let start = Instant::now();
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            // No header extensions: the SFU maps our SSRCs from the SDP, and we take only the
            // SSRCs the SFU announces (a MID extension would make str0m remap a line's stream
            // to every new sender).
            .clear_extension_map()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .build(start);
        let candidate = Candidate::host(local, "udp")
            .map_err(|_| WebrtcError::InvalidConfig("no host candidate for the socket"))?;
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let audio_mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let video_mid = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        api.add_channel("mls".into());
        let (offer, pending) = api
            .apply()
            .ok_or(WebrtcError::InvalidConfig("empty offer"))?;
        let mut member = MlsMember::new(
            name.as_bytes(),
            MemberConfig::new(KeyringConfig::new(SUITE)),
        )?;
        member.set_ratchet_tree_in_welcome(false)?;
        let receiver_config = MediaReceiverConfig {
            depacketizer: DepacketizerConfig {
                max_streams: 256,
                ..DepacketizerConfig::default()
            },
            codecs: Vec::new(),
        };
        let session = Self {
            rtc,
            socket,
            local,
            start,
            audio_mid,
            video_mid,
            channel: None,
            outbox: VecDeque::new(),
            member,
            sender: MediaSender::new(
                MediaSenderConfig {
                    mode: Mode::PerFrame,
                    mtu: MTU,
                },
                Box::new(SrtpByStr0m),
            ),
            receiver: MediaReceiver::new(receiver_config, Box::new(SrtpByStr0m)),
            format: config.format,
            codec: None,
            clip: config.clip.clone(),
            first_seq: config.first_seq,
            delegate: config.delegate.clone(),
            held_acks: Vec::new(),
            tx: Vec::new(),
            media_on: false,
            join_epoch: None,
            removed: false,
            disconnected: false,
            report: ParticipantReport {
                name: name.to_owned(),
                ..ParticipantReport::default()
            },
            tally: Tally::default(),
            tap,
            rx_tap,
            raw_mls: Vec::new(),
            progress,
            buf: vec![0; 2048],
        };
        Ok((session, offer.to_sdp_string(), pending))
    }

    /// Applies the SFU's answer and sets up the send streams str0m negotiated.
    pub(crate) fn accept_answer(
        &mut self,
        pending: SdpPendingOffer,
        answer: &str,
    ) -> Result<(), WebrtcError> {
        let answer = SdpAnswer::from_sdp_string(answer).map_err(WebrtcError::Sdp)?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        let pt_of = |codec| {
            self.rtc
                .codec_config()
                .params()
                .iter()
                .find(|p| p.spec().codec == codec)
                .map(|p| *p.pt())
        };
        let audio_pt = pt_of(Str0mCodec::Opus).ok_or(WebrtcError::BadAnswer("Opus"))?;
        let video_pt = pt_of(Str0mCodec::Vp8).ok_or(WebrtcError::BadAnswer("VP8"))?;
        let now = Instant::now();
        let mut senders = Vec::new();
        let streams = [
            (self.audio_mid, audio_pt, AUDIO_TICKS, AUDIO_FPS, 0),
            (self.video_mid, video_pt, VIDEO_TICKS, VIDEO_FPS, 1),
        ];
        for (mid, pt, ticks, fps, context) in streams {
            let ssrc = self
                .rtc
                .direct_api()
                .stream_tx_by_mid(mid, None)
                .map(|s| *s.ssrc())
                .ok_or(WebrtcError::BadAnswer("a send stream"))?;
            // RFC 3550 section 5.1: an unpredictable first sequence number, unless a test
            // chose one.
            let first_seq = self
                .first_seq
                .unwrap_or_else(|| RandomState::new().hash_one(ssrc) as u16);
            self.sender.add_stream(ssrc, first_seq, context, None)?;
            if self.format == MediaFormat::CodecPacketized {
                let codec = if context == 0 {
                    Codec::Opus
                } else {
                    Codec::Vp8
                };
                senders.push(
                    CodecSframeSender::new(codec, pt, ssrc, first_seq, MTU)
                        .map_err(WebrtcError::Media)?,
                );
            }
            self.report.ssrcs.push(ssrc);
            self.tx.push(TxStream {
                ssrc,
                pt,
                ticks,
                index: 0,
                ext_seq: None,
                next_at: now,
                every: Duration::from_secs(1) / fps,
            });
        }
        if self.format == MediaFormat::CodecPacketized {
            let codecs = [(audio_pt, Codec::Opus), (video_pt, Codec::Vp8)];
            self.codec = Some(CodecMedia {
                senders,
                receiver: CodecSframeReceiver::new(&codecs, ReassemblyConfig::default(), 256),
                held: BTreeMap::new(),
                packets: Vec::new(),
            });
        }
        Ok(())
    }

    fn t(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }

    /// Queues an MLS message for the data channel.
    fn send_mls(&mut self, msg: &MlsMessage) {
        self.outbox.push_back(msg.encode());
    }

    fn flush_outbox(&mut self) -> Result<(), WebrtcError> {
        let Some(id) = self.channel else {
            return Ok(());
        };
        while let Some(msg) = self.outbox.front() {
            let Some(mut ch) = self.rtc.channel(id) else {
                return Ok(());
            };
            if !ch.write(true, msg)? {
                return Ok(());
            }
            self.outbox.pop_front();
        }
        Ok(())
    }

    /// Runs str0m until it wants time, sending what it transmits; handles its events.
    pub(crate) fn drive(&mut self, now: Instant) -> Result<Instant, WebrtcError> {
        self.rtc.handle_input(Input::Timeout(now))?;
        loop {
            self.flush_outbox()?;
            match self.rtc.poll_output()? {
                Output::Timeout(t) => return Ok(t),
                Output::Transmit(t) => {
                    if let Some(tap) = &self.tap {
                        let _ = tap.send(t.contents.to_vec());
                    }
                    // A datagram the OS refuses is a lost datagram, as on any network.
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(e) => self.on_event(now, e)?,
            }
        }
    }

    /// Waits for one datagram until `until` and hands it to str0m.
    pub(crate) fn receive(&mut self, until: Instant) -> Result<(), WebrtcError> {
        let wait = until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(wait))?;
        let (n, source) = match self.socket.recv_from(&mut self.buf) {
            Ok(v) => v,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let Some(data) = self.buf.get(..n) else {
            return Ok(());
        };
        if let Some(tap) = &self.rx_tap {
            let _ = tap.send(data.to_vec());
        }
        let Ok(contents) = data.try_into() else {
            return Ok(());
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if self.rtc.accepts(&input) {
            self.rtc.handle_input(input)?;
        }
        Ok(())
    }

    fn on_event(&mut self, now: Instant, e: Event) -> Result<(), WebrtcError> {
        match e {
            Event::ChannelOpen(id, _) => {
                self.channel = Some(id);
                let key_package = self.member.key_package()?;
                self.send_mls(&MlsMessage::Join { key_package });
            }
            Event::ChannelData(d) => match MlsMessage::decode(&d.data) {
                Ok(msg) => self.on_mls(now, msg)?,
                // The SFU is trusted for ordering only: a malformed message changes nothing.
                Err(_) => self.report.refused_from_sfu += 1,
            },
            Event::RtpPacket(p) => self.on_rtp(now, &p),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                self.disconnected = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_mls(&mut self, now: Instant, msg: MlsMessage) -> Result<(), WebrtcError> {
        let t = self.t(now);
        match msg {
            MlsMessage::Create => {
                self.member.create_group(t)?;
                let ratchet_tree = self.member.ratchet_tree()?;
                self.send_mls(&MlsMessage::Created { ratchet_tree });
                self.entered(now);
            }
            MlsMessage::Welcome {
                welcome,
                ratchet_tree,
                ..
            } => {
                self.member
                    .join_with_ratchet_tree(t, &welcome, &ratchet_tree)?;
                self.entered(now);
            }
            MlsMessage::CommitRequest { adds, removes, .. } => {
                let out = self.member.commit(t, &adds, &removes)?;
                self.member.merge_pending_commit()?;
                let ratchet_tree = self.member.ratchet_tree()?;
                self.send_mls(&MlsMessage::Commit {
                    epoch: out.epoch,
                    commit: out.commit,
                    welcome: out.welcome.unwrap_or_default(),
                    ratchet_tree,
                    added: out.added,
                });
                self.new_epoch();
            }
            MlsMessage::Handshake { commit, .. } => {
                let out = self.member.process_commit(t, &commit)?;
                if out.self_removed {
                    self.removed = true;
                    self.media_on = false;
                } else {
                    self.new_epoch();
                }
            }
            MlsMessage::Ack { leaf, epoch } => {
                self.member.keyring_mut().acknowledge(t, leaf, epoch);
            }
            MlsMessage::Streams { audio, video } => {
                let mut api = self.rtc.direct_api();
                for (ssrcs, mid) in [(audio, self.audio_mid), (video, self.video_mid)] {
                    for ssrc in ssrcs {
                        api.expect_stream_rx(ssrc.into(), None, mid, Some(forwarded_rid(ssrc)));
                    }
                }
            }
            // What only participants send: refused, nothing changes.
            MlsMessage::Join { .. } | MlsMessage::Created { .. } | MlsMessage::Commit { .. } => {
                self.report.refused_from_sfu += 1;
            }
        }
        self.drain_receiver(now);
        Ok(())
    }

    /// This participant is in the group: it starts sending.
    fn entered(&mut self, now: Instant) {
        self.join_epoch = self.member.epoch();
        self.media_on = true;
        for s in &mut self.tx {
            s.next_at = now;
        }
        self.progress.joined.store(true, Ordering::SeqCst);
        self.outbox.extend(std::mem::take(&mut self.raw_mls));
        self.new_epoch();
    }

    fn new_epoch(&mut self) {
        let Some(epoch) = self.member.epoch() else {
            return;
        };
        self.report.leaf = self.member.own_leaf_index();
        self.report.epochs.push(epoch);
        self.progress.epoch.store(epoch, Ordering::SeqCst);
        if let Some(code) = self.member.security_code() {
            let code = code.to_string();
            self.report.security_codes.insert(epoch, code.clone());
            self.report.security_code = Some(code);
        }
        if let Some(d) = &self.delegate
            && let Ok(lent) = self.member.delegated_epoch()
        {
            d.publish(SUITE, lent);
        }
    }

    /// Acknowledges the epochs the delegate's page has fetched (all of them without one).
    fn release_acks(&mut self) {
        let fetched = self.delegate.as_ref().map(|d| d.fetched());
        let Some(leaf) = self.member.own_leaf_index() else {
            return;
        };
        let (ready, wait): (Vec<u64>, Vec<u64>) = std::mem::take(&mut self.held_acks)
            .into_iter()
            .partition(|&e| fetched.is_none_or(|f| f.is_some_and(|f| f >= e)));
        self.held_acks = wait;
        // A page that never fetches: keep the newest few (an older epoch's acknowledgement
        // is moot once a newer one goes out; the others switch after their grace anyway).
        if self.held_acks.len() > KEPT_EPOCHS {
            self.held_acks.sort_unstable();
            let excess = self.held_acks.len() - KEPT_EPOCHS;
            self.held_acks.drain(..excess);
        }
        for epoch in ready {
            self.send_mls(&MlsMessage::Ack { leaf, epoch });
        }
    }

    /// Sends the media frames that are due.
    pub(crate) fn send_media(&mut self, now: Instant) -> Result<(), WebrtcError> {
        // A member that lends its keys to a page sends nothing itself: the page sends as its
        // leaf, and two senders under one leaf would reuse counters.
        if !self.media_on
            || self.delegate.is_some()
            || self.member.keyring().sending_epoch().is_none()
        {
            return Ok(());
        }
        for i in 0..self.tx.len() {
            while self.tx.get(i).is_some_and(|s| s.next_at <= now) {
                self.send_frame(i, now)?;
            }
        }
        Ok(())
    }

    fn send_frame(&mut self, i: usize, now: Instant) -> Result<(), WebrtcError> {
        let Some(s) = self.tx.get_mut(i) else {
            return Ok(());
        };
        let (ssrc, index, pt) = (s.ssrc, s.index, s.pt);
        let audio = s.ticks == AUDIO_TICKS;
        let meta = FrameMetadata {
            payload_type: pt,
            timestamp: index.wrapping_mul(s.ticks),
            marker: true,
            ..FrameMetadata::default()
        };
        s.index += 1;
        s.next_at += s.every;
        let len = if audio {
            AUDIO_FRAME_LEN
        } else if index % KEY_FRAME_EVERY == 0 {
            VIDEO_FRAME_LEN.0
        } else {
            VIDEO_FRAME_LEN.1
        };
        let plain = match &self.clip {
            Some(clip) if audio => clip.audio_frame(index).to_vec(),
            Some(clip) => clip.video_frame(index).to_vec(),
            None => frame(ssrc, index, len),
        };
        if audio {
            self.report.audio_sent += 1;
        } else {
            self.report.video_sent += 1;
        }
        if let Some(codec) = &mut self.codec {
            // As a browser's worker does (wasm/web/worker.js): VP8 key frames under context 1,
            // delta frames under 2, each with counters whose config byte tells Chromium's VP8
            // depacketizer the frame type (`sframe_core::counter_with_config_bit`).
            let key = !audio && vp8_is_key_frame(&plain);
            let context = match (audio, key) {
                (true, _) => 0,
                (false, true) => 1,
                (false, false) => 2,
            };
            if !audio {
                let ring = self.member.keyring_mut();
                let next = ring.next_send_header(context).map_err(sealing)?.ctr;
                let ctr = counter_with_config_bit(next, !key)
                    .ok_or(WebrtcError::InvalidConfig("the VP8 counters are used up"))?;
                ring.skip_send_counter(context, ctr).map_err(sealing)?;
            }
            let mut packets = std::mem::take(&mut codec.packets);
            packets.clear();
            let sent = match codec.senders.get_mut(i) {
                Some(sender) => sender.send(
                    self.member.keyring_mut(),
                    context,
                    meta.timestamp,
                    &plain,
                    &mut packets,
                ),
                None => Ok(0),
            };
            let result = match sent {
                Ok(_) => packets.iter().try_for_each(|p| self.write_rtp(now, p)),
                Err(CodecSframeError::Key(e)) => {
                    Err(WebrtcError::Sealing(PipelineError::KeySource(e)))
                }
                Err(CodecSframeError::Rtp(e)) => Err(WebrtcError::Sealing(PipelineError::Media(e))),
                Err(_) => Err(WebrtcError::InvalidConfig(
                    "codec-packetized sending failed",
                )),
            };
            if let Some(codec) = &mut self.codec {
                codec.packets = packets;
            }
            return result;
        }
        self.sender
            .send_frame(self.member.keyring_mut(), ssrc, &plain, &meta)
            .map_err(WebrtcError::Sealing)?;
        let mut buf = [0u8; MTU + 64];
        while let Some(t) = self.sender.poll_transmit(&mut buf)? {
            let Some(packet) = buf.get(..t.len) else {
                continue;
            };
            self.write_rtp(now, packet)?;
        }
        Ok(())
    }

    /// Hands a whole RTP packet from the sender to str0m (RTP mode).
    fn write_rtp(&mut self, now: Instant, packet: &[u8]) -> Result<(), WebrtcError> {
        let view = RtpView::parse(packet).map_err(|e| WebrtcError::Media(e.into()))?;
        let Some(s) = self.tx.iter_mut().find(|s| s.ssrc == view.ssrc()) else {
            return Ok(());
        };
        let seq = extend_seq(s.ext_seq, view.sequence_number());
        s.ext_seq = Some(seq);
        let write = RtpWrite::new(
            view.payload_type().into(),
            SeqNo::from(seq),
            view.timestamp(),
            now,
            view.payload().to_vec(),
        )
        .marker(view.marker());
        let mut api = self.rtc.direct_api();
        if let Some(tx) = api.stream_tx(&Ssrc::from(view.ssrc())) {
            tx.write_rtp(write);
        }
        Ok(())
    }

    /// A forwarded RTP packet: rebuilt whole (str0m hands the header and payload apart) and
    /// given to the media receiver.
    fn on_rtp(&mut self, now: Instant, p: &RtpPacket) {
        let ssrc = *p.header.ssrc;
        let mut packet = Vec::with_capacity(12 + p.payload.len());
        packet.push(0x80);
        packet.push((u8::from(p.header.marker) << 7) | (*p.header.payload_type & 0x7f));
        packet.extend_from_slice(&p.header.sequence_number.to_be_bytes());
        packet.extend_from_slice(&p.header.timestamp.to_be_bytes());
        packet.extend_from_slice(&ssrc.to_be_bytes());
        packet.extend_from_slice(&p.payload);
        let t = self.t(now);
        if let Some(codec) = &mut self.codec {
            self.report.rtp_received += 1;
            let before = codec.receiver.last_token();
            let pushed = codec.receiver.push(self.member.keyring_mut(), t, &packet);
            let token = codec.receiver.last_token();
            match pushed {
                Ok(Some(f)) => self.media_frame(f.ssrc, f.payload_type, f.plaintext()),
                Ok(None) if token != before => {
                    // Held by the keyring (an epoch not known yet): it comes back as an event.
                    if codec.held.len() >= MAX_HELD {
                        codec.held.pop_first();
                    }
                    codec.held.insert(token, (ssrc, *p.header.payload_type));
                }
                Ok(None) => {}
                Err(CodecSframeError::Key(e)) => {
                    let (cause, kid) = error_cause(&e);
                    self.count_drop(cause, kid);
                }
                Err(_) => self.report.rtp_refused += 1,
            }
            self.drain_receiver(now);
            return;
        }
        self.receiver.add_stream(ssrc);
        self.report.rtp_received += 1;
        let handled = self
            .receiver
            .handle_packet(self.member.keyring_mut(), t, &mut packet);
        if handled.is_err() {
            self.report.rtp_refused += 1;
        }
        self.drain_receiver(now);
    }

    /// Runs the receiver's timers (held frames, grace periods).
    pub(crate) fn tick(&mut self, now: Instant) {
        let t = self.t(now);
        self.receiver.handle_timeout(self.member.keyring_mut(), t);
        self.drain_receiver(now);
    }

    /// A decrypted frame: a synthetic one is checked and counted in the tally; real media
    /// (a browser's, a clip's) is counted, and a VP8 key frame checked for its start code.
    fn media_frame(&mut self, ssrc: u32, payload_type: u8, plaintext: &[u8]) {
        match parse_frame(plaintext) {
            Some((s, index)) if s == ssrc => self.tally.saw(ssrc, index),
            Some(_) => {
                self.report.corrupt += 1;
                return;
            }
            None if plaintext.starts_with(CANARY) => {
                self.report.corrupt += 1;
                return;
            }
            None => {
                let vp8 = self.tx.get(1).is_some_and(|s| s.pt == payload_type);
                if vp8 && vp8_is_key_frame(plaintext) {
                    self.report.vp8_key_frames += 1;
                    if !vp8_has_start_code(plaintext) {
                        self.report.vp8_key_frames_without_start_code += 1;
                    }
                }
            }
        }
        self.report.decrypted += 1;
        *self.report.decrypted_by_ssrc.entry(ssrc).or_default() += 1;
    }

    /// A frame dropped for `cause` (its KID, if known).
    fn count_drop(&mut self, cause: &'static str, kid: Option<u64>) {
        let before = self
            .join_epoch
            .zip(kid)
            .is_some_and(|(j, kid)| kid & EPOCH_MASK == j.wrapping_sub(1) & EPOCH_MASK);
        if before {
            self.report.before_join += 1;
        } else if is_rollover(cause) {
            self.report.rollover_drops += 1;
        }
        *self.report.dropped.entry(cause.to_owned()).or_default() += 1;
    }

    /// The keyring's events in codec-packetized mode (nothing else drains them there).
    fn drain_key_events(&mut self, acks: &mut Vec<u64>) {
        while let Some(ev) = FrameOpener::poll_event(self.member.keyring_mut()) {
            match ev {
                OpenerEvent::Opened(f) => {
                    let held = self.codec.as_mut().and_then(|c| c.held.remove(&f.token));
                    let (ssrc, pt) = held.unwrap_or_default();
                    self.media_frame(ssrc, pt, f.plaintext());
                }
                OpenerEvent::Dropped { token, kid, error } => {
                    if let Some(c) = &mut self.codec {
                        c.held.remove(&token);
                    }
                    let (cause, _) = error_cause(&error);
                    self.count_drop(cause, Some(kid));
                }
                OpenerEvent::Other(KeyEvent::EpochReady { epoch }) => acks.push(epoch),
                _ => {}
            }
        }
    }

    fn drain_receiver(&mut self, _now: Instant) {
        let mut acks = Vec::new();
        if self.codec.is_some() {
            self.drain_key_events(&mut acks);
        }
        let video_pt = self.tx.get(1).map(|s| s.pt);
        while let Some(out) = self.receiver.poll_output(self.member.keyring_mut()) {
            match out {
                ReceiveOutput::Frame(f) => match parse_frame(f.data) {
                    Some((ssrc, index)) if ssrc == f.place.ssrc => {
                        self.report.decrypted += 1;
                        *self.report.decrypted_by_ssrc.entry(ssrc).or_default() += 1;
                        self.tally.saw(ssrc, index);
                    }
                    _ => self.report.corrupt += 1,
                },
                ReceiveOutput::Dropped(d) => {
                    let ticks = if Some(d.place.payload_type) == video_pt {
                        VIDEO_TICKS
                    } else {
                        AUDIO_TICKS
                    };
                    self.tally.saw(d.place.ssrc, d.place.timestamp / ticks);
                    let (cause, kid) = drop_cause(&d.cause);
                    self.count_drop(cause, kid);
                }
                ReceiveOutput::KeySource(KeyEvent::EpochReady { epoch }) => acks.push(epoch),
                ReceiveOutput::KeySource(_) => {}
            }
        }
        self.progress
            .decrypted
            .store(self.report.decrypted, Ordering::SeqCst);
        self.held_acks.extend(acks);
        self.release_acks();
    }

    /// The report, with the lost frames counted; the peer connection closes with the socket.
    /// Nothing more is sent (a killed participant says nothing either).
    pub(crate) fn finish(mut self) -> ParticipantReport {
        self.report.lost = self.tally.lost();
        self.report.removed = self.removed;
        self.report
    }
}

/// A keyring error while sealing.
fn sealing(e: sframe_mls::SframeMlsError) -> WebrtcError {
    WebrtcError::Sealing(PipelineError::KeySource(e))
}

/// The extended sequence number of `seq` following `last`.
fn extend_seq(last: Option<u64>, seq: u16) -> u64 {
    let Some(last) = last else {
        return u64::from(seq);
    };
    let roc = last >> 16;
    let candidate = (roc << 16) | u64::from(seq);
    if candidate + 0x8000 < last {
        candidate + 0x1_0000
    } else {
        candidate
    }
}
