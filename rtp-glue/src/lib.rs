//! SFrame inside RTP (draft-ietf-avtcore-rtp-sframe), hop-by-hop SRTP, and an SFU that
//! forwards what it cannot read.
//!
//! ```text
//! MediaSender:   frame -> key source seals (SFrame) -> SFrame packetizer -> SRTP (leg A) ->
//! Sfu:           SRTP (leg A) -> read RTP header, descriptor, KID/CTR -> SRTP (leg B) ->
//! MediaReceiver: SRTP (leg B) -> depacketizer (reorder window) -> key source opens -> frame
//! ```
//!
//! One pipeline carries media from any key source of `sframe-core`'s traits
//! ([`FrameSealer`](sframe_core::FrameSealer), [`FrameOpener`](sframe_core::FrameOpener)):
//! the MLS epoch keyring of `sframe-mls`, static or ratcheting keys (`sframe_core::StaticKeys`),
//! or per-SSRC keys ([`SsrcKeys`]). Everything is sans IO: packets go in and out of buffers
//! the caller owns, time comes in as an argument, and one drain ([`MediaEndpoint::poll_output`])
//! yields packets to send, frames received (also those the keyring held back until their
//! epoch arrived) and the key source's events. Frames carry empty SFrame metadata (see
//! [`SFRAME_METADATA`] for why).
//!
//! Two MLS members, Alice and Bob, keyed from the same epoch, talk through an SFU:
//!
//! ```
//! use std::time::Duration;
//! use sframe_core::CipherSuite;
//! use sframe_mls::{EpochKeys, Keyring, KeyringConfig};
//! use sframe_rtp::*;
//!
//! let suite = CipherSuite::Aes128GcmSha256_128;
//! let srtp = |seed: u8| SrtpKeys {
//!     profile: SrtpProfile::AeadAes128Gcm,
//!     master_key: vec![seed; 16],
//!     master_salt: vec![seed; 12],
//! };
//! let now = Duration::ZERO;
//! // Epoch 1 of a group with leaves 0 (Alice) and 1 (Bob); the base key is the epoch's MLS
//! // exporter output (a stand-in here).
//! let keyring = |own: u32| -> Result<Keyring, sframe_mls::SframeMlsError> {
//!     let mut ring = Keyring::new(KeyringConfig::new(suite))?;
//!     ring.add_epoch(now, EpochKeys::new(1, &[7u8; 16], Some(own), [0, 1])?)?;
//!     Ok(ring)
//! };
//! let send = MediaSenderConfig { mode: Mode::PerFrame, mtu: 1200 };
//! let endpoint = |own: u32, up: u8, down: u8| -> Result<MediaEndpoint<Keyring>, Box<dyn std::error::Error>> {
//!     Ok(MediaEndpoint::new(keyring(own)?, send, MediaReceiverConfig::default(),
//!         Box::new(SrtpContext::sender(&srtp(up))?), Box::new(SrtpContext::receiver(&srtp(down), 1024)?)))
//! };
//! let (mut alice, mut bob) = (endpoint(0, 1, 2)?, endpoint(1, 3, 4)?);
//! // Alice's video: SSRC 0xA11CE, MLS context 1.
//! alice.add_send_stream(0xA11CE, 0, 1, None)?;
//! bob.add_receive_stream(0xA11CE);
//!
//! // The SFU terminates SRTP on each leg and holds no SFrame key.
//! let mut sfu = Sfu::new();
//! sfu.add_participant(1, Box::new(SrtpContext::receiver(&srtp(1), 1024)?),
//!     Box::new(SrtpContext::sender(&srtp(2))?), &[0xA11CE])?;
//! sfu.add_participant(2, Box::new(SrtpContext::receiver(&srtp(3), 1024)?),
//!     Box::new(SrtpContext::sender(&srtp(4))?), &[])?;
//!
//! let frame = vec![7u8; 5000];
//! let meta = FrameMetadata { payload_type: 96, timestamp: 3000, marker: true, ..Default::default() };
//! alice.send_frame(0xA11CE, &frame, &meta)?;
//! let mut buf = [0u8; 1500];
//! let mut wire = Vec::new();
//! while let Some(out) = alice.poll_output(&mut buf)? {
//!     if let Output::Transmit(t) = out {
//!         wire.push(buf[..t.len].to_vec()); // to the socket
//!     }
//! }
//! assert_eq!(wire.len(), 5);
//! let mut got = Vec::new();
//! for packet in wire.iter().rev() { // in any order
//!     for (_to, forwarded) in sfu.receive(1, packet)?.out {
//!         let mut forwarded = forwarded;
//!         bob.handle_packet(now, &mut forwarded)?;
//!         while let Some(out) = bob.poll_output(&mut buf)? {
//!             if let Output::Frame(f) = out {
//!                 got.push((f.place.ssrc, f.data.to_vec()));
//!             }
//!         }
//!     }
//! }
//! assert_eq!(got, [(0xA11CE, frame)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules are private; everything is re-exported here. (A simulated network and clock to run
//! endpoints and an SFU on is the workspace's `sframe-sim` crate.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Without `test-support` the stage-by-stage API is compiled but not exported.
#![cfg_attr(not(feature = "test-support"), allow(dead_code, unreachable_pub))]

mod audio_level;
mod codec;
mod codec_sframe;
mod depacketizer;
mod descriptor;
mod endpoint;
mod error;
mod forwarding;
mod keys;
mod media_receiver;
mod media_sender;
mod metadata;
mod mode;
mod packetizer;
mod pipeline_error;
mod reassembly;
mod rtp_view;
mod sfu;
mod srtp;
mod ssrc_keys;

pub use audio_level::AudioLevel;
pub use codec::Codec;
pub use codec_sframe::{
    CodecSframeError, CodecSframeFrame, CodecSframeReceiver, CodecSframeSender,
};
pub use depacketizer::DepacketizerConfig;
pub use descriptor::{Descriptor, Origin};
pub use endpoint::{MediaEndpoint, Output};
pub use error::{RtpError, SframeRtpError, SrtpError};
pub use forwarding::{
    Counted, ForwardingConfig, ForwardingStats, HoldReason, MediaKind, SourceDemand,
};
pub use keys::{SSRC_KEY_LABEL, ssrc_base_key, ssrc_base_key_with};
pub use media_receiver::{
    DroppedMedia, FrameDrop, FrameKind, FramePlace, MediaFrame, MediaReceiver, MediaReceiverConfig,
    MediaReceiverStats, ReceiveOutput,
};
pub use media_sender::{MediaSender, MediaSenderConfig, Transmit};
pub use metadata::SFRAME_METADATA;
pub use mode::Mode;
pub use packetizer::FrameMetadata;
pub use pipeline_error::PipelineError;
pub use reassembly::{MAX_DROPOUT, ReassemblyConfig, ReassemblyStats};
pub use rtp_view::{FIXED_HEADER_LEN, RtpView};
pub use sfu::{
    Forwarded, PacketInfo, PacketSummary, ParticipantId, Sfu, SfuOutput, SfuReceived, SfuStats,
};
pub use srtp::{SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform, WebrtcSrtp};
pub use ssrc_keys::SsrcKeys;

// The pipeline's parts, one by one, behind the `test-support` feature: for tests, fuzzing and
// benchmarks of each stage. The pipeline above is what applications use.
#[cfg(feature = "test-support")]
pub use codec::{AssembledFrame, MediaAssembler};
#[cfg(feature = "test-support")]
pub use depacketizer::Depacketizer;
#[cfg(feature = "test-support")]
pub use packetizer::{Packetizer, PacketizerConfig};
#[cfg(feature = "test-support")]
pub use reassembly::{Fragment, Pushed, ReassembledFrame, Reassembler};
#[cfg(feature = "test-support")]
pub use rtp_view::rewrite_header;

/// The `rtp` crate, re-exported for its `Extension` type and codec payloaders.
pub use rtp;
