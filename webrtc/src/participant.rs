//! A participant: joins the MLS group through the SFU, sends synthetic SFrame audio and video
//! from its keyring, decrypts everyone else's, and reports what it saw.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clip::MediaClip;
use crate::delegate::KeyDelegate;
use crate::error::WebrtcError;
use crate::report::ParticipantReport;
use crate::session::Session;
use crate::whip_client::{delete_resource, post_offer};

/// How long the peer connection and the group may take to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a leaving participant waits for the commit that removes it.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest the loop sleeps (media ticks are 20 ms apart).
const MAX_WAIT: Duration = Duration::from_millis(5);

/// What a participant needs.
#[derive(Clone, Debug)]
pub struct ParticipantConfig {
    /// The SFU's signaling endpoint, e.g. `http://127.0.0.1:8080/whip`.
    pub endpoint: String,
    /// Its name (its MLS identity).
    pub name: String,
    /// How long it stays after joining the group, then leaves.
    pub duration: Duration,
    /// The address its UDP socket binds to (a port is chosen).
    pub bind: IpAddr,
    /// Tests: a copy of every datagram it sends (to replay them from elsewhere).
    pub tap: Option<Sender<Vec<u8>>>,
    /// Tests: a copy of every datagram it receives (to compare what legs carry).
    pub rx_tap: Option<Sender<Vec<u8>>>,
    /// Tests: raw data-channel messages sent once it is in the group, as they are (e.g.
    /// malformed ones, which the SFU must refuse without effect on the group).
    pub raw_mls: Vec<Vec<u8>>,
    /// How its media is packetized. Every participant of a meeting must use the same.
    pub format: MediaFormat,
    /// Real media to send (VP8 and Opus, in a loop) instead of synthetic frames: what a
    /// browser can decode. Meant for [`MediaFormat::CodecPacketized`].
    pub clip: Option<Arc<MediaClip>>,
    /// Lends this member's keys to a browser page through this key server
    /// ([`KeyDelegate`]); the participant then sends no media of its own (the page sends as
    /// its leaf) and acknowledges an epoch only once the page has fetched it.
    pub delegate: Option<Arc<KeyDelegate>>,
    /// The first RTP sequence number of each of its streams. `None` (the default): an
    /// unpredictable one, as RFC 3550 section 5.1 advises. Tests choose one near 65,535 to
    /// make the numbers wrap early.
    pub first_seq: Option<u16>,
}

/// How SFrame media is packetized on RTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MediaFormat {
    /// The SFrame RTP payload format (draft-ietf-avtcore-rtp-sframe), under the payload
    /// types negotiated for Opus and VP8.
    #[default]
    SframePayload,
    /// Codec-packetized SFrame, as a browser's encoded transform sends: each whole frame
    /// SFrame-encrypted, then packetized as Opus (one frame per packet) or VP8 (RFC 7741).
    CodecPacketized,
}

impl ParticipantConfig {
    /// A participant of the SFU at `sfu` (its base URL, `http://127.0.0.1:PORT`).
    pub fn new(sfu: &str, name: &str, duration: Duration) -> Self {
        Self {
            endpoint: format!(
                "{}/whip?name={}",
                sfu.trim_end_matches('/'),
                query_escape(name)
            ),
            name: name.to_owned(),
            duration,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tap: None,
            rx_tap: None,
            raw_mls: Vec::new(),
            format: MediaFormat::default(),
            clip: None,
            delegate: None,
            first_seq: None,
        }
    }
}

/// What a running participant shows its caller.
#[derive(Debug, Default)]
pub struct Progress {
    /// It is in the group.
    pub joined: AtomicBool,
    /// Frames of others it decrypted so far.
    pub decrypted: AtomicU64,
    /// Its group's epoch.
    pub epoch: AtomicU64,
    control: AtomicU8,
}

// 0: run.
const LEAVE: u8 = 1;
const KILL: u8 = 2;

/// A participant running on its own thread.
#[derive(Debug)]
pub struct ParticipantHandle {
    progress: Arc<Progress>,
    thread: JoinHandle<Result<ParticipantReport, WebrtcError>>,
}

impl ParticipantHandle {
    /// Starts a participant on a new thread.
    ///
    /// # Errors
    /// [`WebrtcError::Io`] if the thread cannot start.
    pub fn spawn(config: ParticipantConfig) -> Result<Self, WebrtcError> {
        let progress = Arc::new(Progress::default());
        let p = progress.clone();
        let thread = std::thread::Builder::new()
            .name(format!("participant-{}", config.name))
            .spawn(move || run_participant(&config, &p))?;
        Ok(Self { progress, thread })
    }

    /// What it has done so far.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Leaves now (as at the end of its duration).
    pub fn leave(&self) {
        self.progress.control.store(LEAVE, Ordering::SeqCst);
    }

    /// Disappears now without leaving: its thread stops and its socket closes, nothing is
    /// said to the SFU (as a crashed process). Returns what it saw until then.
    ///
    /// # Errors
    /// As [`ParticipantHandle::join`].
    pub fn kill(self) -> Result<ParticipantReport, WebrtcError> {
        self.progress.control.store(KILL, Ordering::SeqCst);
        self.join()
    }

    /// Waits for its end and its report.
    ///
    /// # Errors
    /// Whatever stopped it; [`WebrtcError::Io`] if its thread panicked.
    pub fn join(self) -> Result<ParticipantReport, WebrtcError> {
        self.thread
            .join()
            .map_err(|_| WebrtcError::Io(std::io::Error::other("participant thread panicked")))?
    }
}

/// Runs a participant on this thread until it has left (or `progress` says stop).
///
/// # Errors
/// Signaling failures, a peer connection or group that does not come up within 15 s, MLS
/// refusals of what the group sent, socket errors.
pub fn run_participant(
    config: &ParticipantConfig,
    progress: &Arc<Progress>,
) -> Result<ParticipantReport, WebrtcError> {
    let socket = UdpSocket::bind((config.bind, 0))?;
    let (mut session, offer, pending) = Session::new(config, socket, progress.clone())?;
    session.raw_mls.clone_from(&config.raw_mls);
    let (answer, resource) = post_offer(&config.endpoint, &offer)?;
    session.accept_answer(pending, &answer)?;
    let started = Instant::now();
    let mut joined_at: Option<Instant> = None;
    let mut leaving_since: Option<Instant> = None;
    loop {
        let now = Instant::now();
        match progress.control.load(Ordering::SeqCst) {
            KILL => return Ok(session.finish()),
            LEAVE if leaving_since.is_none() => {
                leaving_since = Some(leave(&mut session, &resource, now))
            }
            _ => {}
        }
        if joined_at.is_none() && progress.joined.load(Ordering::SeqCst) {
            joined_at = Some(now);
        }
        match (joined_at, leaving_since) {
            (None, _) if now > started + CONNECT_TIMEOUT => {
                return Err(WebrtcError::Timeout("joining the group"));
            }
            (Some(j), None) if now >= j + config.duration => {
                leaving_since = Some(leave(&mut session, &resource, now));
            }
            (_, Some(l)) if session.removed || session.disconnected || now >= l + LEAVE_TIMEOUT => {
                break;
            }
            _ => {}
        }
        if session.disconnected && leaving_since.is_none() {
            return Err(WebrtcError::Timeout("the SFU stopped answering"));
        }
        session.send_media(now)?;
        session.tick(now);
        let wake = session.drive(now)?.min(now + MAX_WAIT);
        session.receive(wake)?;
    }
    Ok(session.finish())
}

/// Stops the media and asks the SFU to remove this participant (HTTP DELETE).
fn leave(session: &mut Session, resource: &str, now: Instant) -> Instant {
    session.media_on = false;
    // If the SFU is gone the participant leaves anyway.
    let _ = delete_resource(resource);
    now
}

/// `name` percent-encoded for a URL query (RFC 3986 unreserved characters kept).
fn query_escape(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
