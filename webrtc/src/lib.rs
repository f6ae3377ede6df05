//! SFrame over real WebRTC: an SFU and participants on str0m 0.25.
//!
//! Everything travels over UDP on loopback through a real WebRTC stack: ICE, DTLS-SRTP and
//! RTCP by str0m (sans IO, driven by our own loop over `std::net::UdpSocket`), SFrame media
//! in the draft-ietf-avtcore-rtp-sframe payload built and read by `sframe-rtp` and carried
//! whole by str0m's RTP mode, and MLS on a data channel per participant.
//!
//! ```text
//! participant                         SFU                                participant
//! MlsMember -> Keyring                 (no SFrame key)                   Keyring <- MlsMember
//! MediaSender -> str0m RTP mode  ==SRTP==> str0m -> forward -> str0m ==SRTP==> MediaReceiver
//! data channel  <--- MLS framing --->  DeliveryService  <--- MLS framing --->  data channel
//! HTTP POST offer / DELETE  ------->  WHIP-style signaling
//! ```
//!
//! An SFU and two participants on loopback, for a few seconds:
//!
//! ```
//! use std::sync::atomic::Ordering;
//! use std::time::Duration;
//! use sframe_webrtc::{ParticipantConfig, ParticipantHandle, SfuConfig, SfuServer};
//!
//! let sfu = SfuServer::start(SfuConfig::new("127.0.0.1:0".parse()?))?;
//! let secs = Duration::from_secs;
//! let alice = ParticipantHandle::spawn(ParticipantConfig::new(&sfu.url(), "alice", secs(3)))?;
//! while !alice.progress().joined.load(Ordering::SeqCst) {
//!     std::thread::sleep(Duration::from_millis(20)); // Alice creates the group
//! }
//! let bob = ParticipantHandle::spawn(ParticipantConfig::new(&sfu.url(), "bob", secs(1)))?;
//! let (bob, alice) = (bob.join()?, alice.join()?);
//! assert!(alice.decrypted > 0 && bob.decrypted > 0);
//! assert_eq!(alice.rollover_drops + bob.rollover_drops, 0);
//! assert_eq!(alice.security_codes[&1], bob.security_codes[&1]); // epoch 1: Bob is in
//! let stats = sfu.stop();
//! assert_eq!(stats.plaintext_seen, 0); // the SFU never saw a frame in clear
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Browsers join the same meeting: the SFU serves a meeting page (`wasm/web/`, SFrame in
//! Chromium's encoded transform with the `sframe-wasm` module), participants can send
//! codec-packetized SFrame as browsers do ([`MediaFormat::CodecPacketized`], real VP8 and
//! Opus from a [`clip::MediaClip`]), and a member lends its keys to a page ([`KeyDelegate`])
//! until pages are MLS members of their own.
//!
//! The pieces: [`SfuServer`] (signaling, media forwarding, the MLS [`DeliveryService`]),
//! [`ParticipantHandle`] / [`run_participant`] (a participant on its own thread and socket),
//! [`MlsMessage`] (the data channel's framing), [`SrtpByStr0m`] (how `sframe-rtp`'s
//! pipeline leaves SRTP to str0m), and [`synthetic`] (the media frames and the plaintext
//! canary the SFU scans for).

//! Dependencies, and why: str0m 0.25 (`default-features = false`, its `aws-lc-rs` crypto)
//! for WebRTC, because it is sans IO like the rest of the workspace; `tiny_http` for the
//! signaling server, a small synchronous HTTP/1.1 server that runs on one std thread beside
//! the media loop (signaling is a few requests per participant, so nothing faster is needed,
//! and no async runtime enters the crate); `ureq` (no TLS compiled in) for the participant's
//! two requests. Threads and std sockets only: no tokio.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod clip;
mod delegate;
mod delivery;
mod error;
mod framing;
mod hop;
pub mod legs;
mod participant;
mod report;
mod session;
mod sfu;
mod sfu_peer;
mod signaling;
pub mod synthetic;
mod udp_meeting;
mod web;
mod whip_client;

pub use delegate::{KEPT_EPOCHS, KeyDelegate};
pub use delivery::{
    BATCH, COMMIT_TIMEOUT, DeliveryError, DeliveryOutput, DeliveryService, DeliveryStats, PeerId,
};
pub use error::{FramingError, WebrtcError};
pub use framing::{FRAMING_VERSION, MAX_MESSAGE_LEN, MlsMessage};
pub use hop::SrtpByStr0m;
pub use participant::{
    MediaFormat, ParticipantConfig, ParticipantHandle, Progress, run_participant,
};
pub use report::ParticipantReport;
pub use sfu::{SfuConfig, SfuServer, SfuStats};
pub use signaling::MAX_OFFER_LEN;
pub use udp_meeting::{UdpMeetingConfig, UdpMeetingReport, run_udp_meeting};
