//! The SFU server: WHIP-style signaling over HTTP, one str0m peer connection per participant
//! on one UDP socket, media forwarded to every other member of the group without any SFrame
//! key, and the MLS delivery service ([`crate::DeliveryService`]) on the data channels.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::MediaKind;
use str0m::media::Pt;
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::rtp::{RtpPacket, RtpWrite};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

use crate::clip::vp8_payload_shows_key_frame;
use crate::delivery::{DeliveryOutput, DeliveryService, DeliveryStats, PeerId};
use crate::error::WebrtcError;
use crate::framing::MlsMessage;
use crate::sfu_peer::SfuPeer;
use crate::signaling::{Command, Registry, serve_http};
use crate::synthetic::contains_canary;

/// How the SFU is set up.
#[derive(Clone, Debug)]
pub struct SfuConfig {
    /// The HTTP signaling address (loopback). The UDP socket binds the same address (port 0:
    /// any free port for each).
    pub listen: SocketAddr,
    /// A participant silent this long is removed from the group.
    pub peer_timeout: Duration,
    /// The WebAssembly module the meeting page loads (`sframe_wasm.wasm`); `None`: the page
    /// is served but cannot run.
    pub wasm: Option<PathBuf>,
}

impl SfuConfig {
    /// An SFU signaling on `listen`, timing out silent participants after 5 s.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            peer_timeout: Duration::from_secs(5),
            wasm: None,
        }
    }
}

/// What the SFU counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SfuStats {
    /// Datagrams read from the UDP socket.
    pub datagrams: u64,
    /// Refused: not STUN, DTLS, RTP or RTCP (RFC 7983 demultiplexing).
    pub refused_unparsed: u64,
    /// Refused: STUN that no peer connection claims (unknown ICE credentials).
    pub refused_stun: u64,
    /// Refused: DTLS from an address no peer connection knows.
    pub refused_dtls: u64,
    /// Refused: RTP or RTCP from an address no peer connection knows.
    pub refused_rtp: u64,
    /// Datagrams a peer connection claimed but refused (str0m's error).
    pub refused_by_peer: u64,
    /// RTP packets received from participants (after SRTP).
    pub rtp_in: u64,
    /// RTP packets of peers not (yet) in the group: not forwarded.
    pub rtp_not_member: u64,
    /// RTP packets written to other participants.
    pub rtp_forwarded: u64,
    /// Packets not forwarded to a browser that has no receive line left for their sender.
    pub rtp_no_line: u64,
    /// Packets not forwarded to a participant because they came before its first packet of
    /// their stream, across a sequence-number rollover (late, reordered packets).
    pub rtp_late: u64,
    /// Received RTP payloads that showed plaintext: the synthetic frames' canary, or a VP8
    /// key frame's start code at the start of a frame. Must be 0.
    pub plaintext_seen: u64,
    /// Data-channel messages the framing refused.
    pub mls_malformed: u64,
    /// Data-channel messages the delivery service refused.
    pub mls_refused: u64,
    /// Participants that joined through signaling.
    pub peers_added: u64,
    /// Participants that asked to leave (HTTP DELETE).
    pub peers_left: u64,
    /// Participants removed for silence.
    pub peers_timed_out: u64,
    /// Participants closed because their peer connection panicked (a bug in the WebRTC stack
    /// reached through their input); must be 0.
    pub peers_failed: u64,
    /// Peer connections now.
    pub peers_now: u64,
    /// CPU time of the SFU's media thread (Linux: from /proc, 10 ms resolution).
    pub cpu_nanos: Option<u64>,
    /// The delivery service's counters.
    pub delivery: DeliveryStats,
    /// The group's members now: name and leaf.
    pub members: BTreeMap<String, u32>,
}

/// A running SFU: its threads and sockets until [`SfuServer::stop`] (or drop).
pub struct SfuServer {
    http_addr: SocketAddr,
    udp_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<SfuStats>>,
    http: Option<Arc<tiny_http::Server>>,
    threads: Vec<JoinHandle<()>>,
}

impl core::fmt::Debug for SfuServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SfuServer")
            .field("http_addr", &self.http_addr)
            .field("udp_addr", &self.udp_addr)
            .finish_non_exhaustive()
    }
}

impl SfuServer {
    /// Binds the HTTP and UDP sockets and starts the signaling and media threads.
    ///
    /// # Errors
    /// [`WebrtcError::Io`] if a socket cannot be bound or a thread started.
    pub fn start(config: SfuConfig) -> Result<Self, WebrtcError> {
        let http = tiny_http::Server::http(config.listen)
            .map_err(|e| WebrtcError::Io(std::io::Error::other(e.to_string())))?;
        let http_addr = http
            .server_addr()
            .to_ip()
            .ok_or(WebrtcError::InvalidConfig(
                "HTTP listens on a non-IP address",
            ))?;
        let udp = UdpSocket::bind(SocketAddr::new(config.listen.ip(), config.listen.port()))
            .or_else(|_| UdpSocket::bind(SocketAddr::new(config.listen.ip(), 0)))?;
        let udp_addr = udp.local_addr()?;
        let http = Arc::new(http);
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(SfuStats::default()));
        let registry = Registry::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let wasm = config.wasm.clone();
        let media = {
            let (stop, stats, registry) = (stop.clone(), stats.clone(), registry.clone());
            std::thread::Builder::new()
                .name("sfu-media".into())
                .spawn(move || {
                    MediaLoop::new(config, udp, udp_addr, rx, registry, stats).run(&stop)
                })?
        };
        let signaling = {
            let http = http.clone();
            std::thread::Builder::new()
                .name("sfu-http".into())
                .spawn(move || {
                    serve_http(&http, http_addr, udp_addr, &tx, &registry, wasm.as_deref());
                })?
        };
        Ok(Self {
            http_addr,
            udp_addr,
            stop,
            stats,
            http: Some(http),
            threads: vec![media, signaling],
        })
    }

    /// The base URL of its signaling, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The signaling address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The media (UDP) address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// Its counters now.
    pub fn stats(&self) -> SfuStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops both threads and closes every socket; returns the final counters.
    pub fn stop(mut self) -> SfuStats {
        self.shutdown();
        self.stats()
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(http) = self.http.take() {
            http.unblock();
        }
        for t in self.threads.drain(..) {
            // A panicked thread has nothing left to clean up.
            let _ = t.join();
        }
    }
}

impl Drop for SfuServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The media thread's state.
struct MediaLoop {
    config: SfuConfig,
    socket: UdpSocket,
    local: SocketAddr,
    commands: Receiver<Command>,
    registry: Registry,
    shared: Arc<Mutex<SfuStats>>,
    stats: SfuStats,
    peers: Vec<SfuPeer>,
    ds: DeliveryService,
    cpu_start: Option<u64>,
}

impl MediaLoop {
    fn new(
        config: SfuConfig,
        socket: UdpSocket,
        local: SocketAddr,
        commands: Receiver<Command>,
        registry: Registry,
        shared: Arc<Mutex<SfuStats>>,
    ) -> Self {
        Self {
            config,
            socket,
            local,
            commands,
            registry,
            shared,
            stats: SfuStats::default(),
            peers: Vec::new(),
            ds: DeliveryService::new(),
            cpu_start: thread_cpu_nanos(),
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut buf = vec![0u8; 2048];
        let mut published = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            self.commands();
            self.timers(now);
            let wake = self.drive(now);
            self.receive(&mut buf, wake);
            if published.elapsed() >= Duration::from_millis(50) {
                self.publish();
                published = Instant::now();
            }
        }
        for p in &mut self.peers {
            p.rtc.disconnect();
        }
        self.peers.clear();
        self.publish();
    }

    fn publish(&mut self) {
        self.stats.peers_now = self.peers.len() as u64;
        self.stats.delivery = self.ds.stats();
        self.stats.members = self
            .peers
            .iter()
            .filter_map(|p| Some((p.name.clone(), self.ds.leaf(p.id)?)))
            .collect();
        self.stats.cpu_nanos = thread_cpu_nanos()
            .zip(self.cpu_start)
            .map(|(a, b)| a.saturating_sub(b));
        if let Ok(mut s) = self.shared.lock() {
            s.clone_from(&self.stats);
        }
    }

    /// New participants and leave requests from the signaling thread.
    fn commands(&mut self) {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Add {
                    id,
                    name,
                    rtc,
                    media_only,
                }) => {
                    self.stats.peers_added += 1;
                    self.peers
                        .push(SfuPeer::new(id, name, *rtc, media_only, Instant::now()));
                }
                Ok(Command::Leave { id }) => {
                    self.stats.peers_left += 1;
                    self.leave(Instant::now(), id);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    fn leave(&mut self, now: Instant, id: PeerId) {
        if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
            p.leaving = true;
            // Closed once its removal is committed, or at the latest after this (a peer not
            // in the group yet has no removal to wait for).
            let latest = now + Duration::from_secs(5);
            p.close_at = Some(p.close_at.map_or(latest, |t| t.min(latest)));
        }
        self.ds.leave(now, id);
        self.delivery_outputs(now);
    }

    /// Silent peers out, removed peers closed, the delivery service's timers.
    fn timers(&mut self, now: Instant) {
        let silent: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|p| !p.leaving && now.duration_since(p.last_heard) > self.config.peer_timeout)
            .map(|p| p.id)
            .collect();
        for id in silent {
            self.stats.peers_timed_out += 1;
            self.leave(now, id);
            self.registry.remove(id);
        }
        if self.ds.poll_timeout().is_some_and(|t| t <= now) {
            self.ds.handle_timeout(now);
            self.delivery_outputs(now);
        }
        let registry = &self.registry;
        self.peers.retain_mut(|p| {
            let close = p.close_at.is_some_and(|t| t <= now) || !p.rtc.is_alive();
            if close {
                p.rtc.disconnect();
                registry.remove(p.id);
            }
            !close
        });
    }

    fn delivery_outputs(&mut self, now: Instant) {
        while let Some(out) = self.ds.poll_output() {
            match out {
                DeliveryOutput::Send(to, msg) => {
                    if let Some(p) = self.peers.iter_mut().find(|p| p.id == to) {
                        p.outbox.push_back(msg.encode());
                    }
                }
                DeliveryOutput::Removed(id) => {
                    if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
                        p.leaving = true;
                        let linger = now + Duration::from_secs(1);
                        p.close_at = Some(p.close_at.map_or(linger, |t| t.min(linger)));
                    }
                }
            }
        }
    }

    /// Runs every peer connection until it wants time; returns the earliest.
    fn drive(&mut self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_millis(20);
        if let Some(t) = self.ds.poll_timeout() {
            wake = wake.min(t);
        }
        let mut i = 0;
        while i < self.peers.len() {
            // A peer connection that panics (a bug in the WebRTC stack, reached by what one
            // peer sent) is closed; the SFU and everyone else go on.
            match catch_unwind(AssertUnwindSafe(|| self.drive_peer(i, now))) {
                Ok(Some(t)) => wake = wake.min(t),
                Ok(None) => {}
                Err(_) => self.fail_peer(i, now),
            }
            i += 1;
        }
        wake
    }

    /// Closes peer `i` after its peer connection panicked, and removes it from the group.
    fn fail_peer(&mut self, i: usize, now: Instant) {
        self.stats.peers_failed += 1;
        let Some(p) = self.peers.get_mut(i) else {
            return;
        };
        let id = p.id;
        p.leaving = true;
        p.close_at = Some(now);
        self.registry.remove(id);
        self.leave(now, id);
    }

    fn drive_peer(&mut self, i: usize, now: Instant) -> Option<Instant> {
        let p = self.peers.get_mut(i)?;
        if p.rtc.handle_input(Input::Timeout(now)).is_err() {
            p.rtc.disconnect();
            return None;
        }
        loop {
            let p = self.peers.get_mut(i)?;
            p.flush();
            if !p.rtc.is_alive() {
                return None;
            }
            let out = match p.rtc.poll_output() {
                Ok(o) => o,
                Err(_) => {
                    p.rtc.disconnect();
                    return None;
                }
            };
            match out {
                Output::Timeout(t) => return Some(t),
                Output::Transmit(t) => {
                    // A datagram the OS refuses is lost, as on any network.
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(e) => self.on_event(i, now, e),
            }
        }
    }

    fn on_event(&mut self, i: usize, now: Instant, e: Event) {
        let Some(p) = self.peers.get_mut(i) else {
            return;
        };
        match e {
            Event::MediaAdded(m) => p.add_line(m.mid, m.kind, m.direction),
            Event::ChannelOpen(id, _) => p.channel = Some(id),
            Event::ChannelData(d) => {
                let id = p.id;
                self.on_mls(now, id, &d.data);
            }
            Event::RtpPacket(packet) => self.forward(i, now, &packet),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                // Silence does the rest: the peer times out unless it comes back.
            }
            _ => {}
        }
    }

    fn on_mls(&mut self, now: Instant, from: PeerId, data: &[u8]) {
        match MlsMessage::decode(data) {
            Ok(msg) => {
                if self.ds.handle_message(now, from, msg).is_err() {
                    self.stats.mls_refused += 1;
                }
                self.delivery_outputs(now);
            }
            Err(_) => self.stats.mls_malformed += 1,
        }
    }

    /// Writes a member's RTP packet to every other member, on a line of the same kind, under
    /// the payload type the receiver negotiated for the same codec.
    fn forward(&mut self, from: usize, now: Instant, packet: &RtpPacket) {
        self.stats.rtp_in += 1;
        let ssrc = *packet.header.ssrc;
        let Some(src) = self.peers.get_mut(from) else {
            return;
        };
        let codec = codec_of(&src.rtc, packet.header.payload_type);
        if contains_canary(&packet.payload)
            || (codec == Some(Codec::Vp8) && vp8_payload_shows_key_frame(&packet.payload))
        {
            self.stats.plaintext_seen += 1;
        }
        let mid = src
            .rtc
            .direct_api()
            .stream_rx(&ssrc.into())
            .map(|s| s.mid());
        let kind = mid.and_then(|m| src.kind_of(m));
        let in_meeting = |p: &SfuPeer, ds: &DeliveryService| {
            !p.leaving && (p.media_only || ds.leaf(p.id).is_some())
        };
        if !in_meeting(src, &self.ds) {
            self.stats.rtp_not_member += 1;
            return;
        }
        let (Some(kind), Some(codec)) = (kind, codec) else {
            return;
        };
        for (j, p) in self.peers.iter_mut().enumerate() {
            if j == from || !in_meeting(p, &self.ds) {
                continue;
            }
            let Some(pt) = payload_type_of(&p.rtc, codec) else {
                continue;
            };
            let Some((mid, rid)) = p.send_line(kind, ssrc) else {
                // No line yet: its media lines are not negotiated (it has just connected).
                if !p.lines.is_empty() {
                    self.stats.rtp_no_line += 1;
                }
                continue;
            };
            // A shared line (a participant's): the sender's own stream, declared under its RID
            // the first time. A line of its own (a browser's): the stream str0m made for the
            // line in its answer, whose SSRC the browser was told in the SDP.
            if rid.is_some() && p.declared.insert(ssrc) {
                p.rtc
                    .direct_api()
                    .declare_stream_tx(ssrc.into(), None, mid, rid);
                let (audio, video) = match kind {
                    MediaKind::Audio => (vec![ssrc], vec![]),
                    MediaKind::Video => (vec![], vec![ssrc]),
                };
                p.outbox
                    .push_back(MlsMessage::Streams { audio, video }.encode());
            }
            let mut api = p.rtc.direct_api();
            let tx = match rid {
                Some(_) => api.stream_tx(&ssrc.into()),
                None => api.stream_tx_by_mid(mid, None),
            };
            if let Some(tx) = tx {
                let Some(seq) = p.seqs.map(ssrc, *packet.seq_no) else {
                    self.stats.rtp_late += 1;
                    continue;
                };
                let write = RtpWrite::new(
                    pt,
                    seq.into(),
                    packet.header.timestamp,
                    now,
                    packet.payload.clone(),
                )
                .marker(packet.header.marker);
                tx.write_rtp(write);
                self.stats.rtp_forwarded += 1;
            }
        }
    }

    /// Reads one datagram (until `wake`) and hands it to the peer connection that claims it.
    fn receive(&mut self, buf: &mut [u8], wake: Instant) {
        let wait = wake
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        if self.socket.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        let Ok((n, source)) = self.socket.recv_from(buf) else {
            return;
        };
        self.stats.datagrams += 1;
        let Some(data) = buf.get(..n) else {
            return;
        };
        let first = data.first().copied().unwrap_or(255);
        let Ok(contents) = DatagramRecv::try_from(data) else {
            self.stats.refused_unparsed += 1;
            return;
        };
        let now = Instant::now();
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        let Some(i) = self.peers.iter().position(|p| p.rtc.accepts(&input)) else {
            match first {
                0..=3 => self.stats.refused_stun += 1,
                20..=63 => self.stats.refused_dtls += 1,
                _ => self.stats.refused_rtp += 1,
            }
            return;
        };
        let Some(p) = self.peers.get_mut(i) else {
            return;
        };
        p.last_heard = now;
        match catch_unwind(AssertUnwindSafe(|| p.rtc.handle_input(input))) {
            Ok(Ok(())) => {}
            Ok(Err(_)) => self.stats.refused_by_peer += 1,
            Err(_) => self.fail_peer(i, now),
        }
    }
}

/// The codec a peer connection negotiated under `pt`.
fn codec_of(rtc: &Rtc, pt: Pt) -> Option<Codec> {
    rtc.codec_config()
        .params()
        .iter()
        .find(|p| *p.pt() == *pt)
        .map(|p| p.spec().codec)
}

/// The payload type a peer connection negotiated for `codec`.
fn payload_type_of(rtc: &Rtc, codec: Codec) -> Option<Pt> {
    rtc.codec_config()
        .params()
        .iter()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
}

/// This thread's CPU time, user and system (Linux; `None` elsewhere).
fn thread_cpu_nanos() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which ends with the last ')'): state is field 3;
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000_000)
}
