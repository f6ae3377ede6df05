//! SFrame inside RTP (draft-ietf-avtcore-rtp-sframe), hop-by-hop SRTP, and an SFU that
//! forwards what it cannot read.
//!
//! ```text
//! MediaSender:   frame -> SFrame (sframe-core) -> SFrame packetizer -> SRTP (leg A) ->
//! Sfu:           SRTP (leg A) -> read RTP header, descriptor, KID/CTR -> SRTP (leg B) ->
//! MediaReceiver: SRTP (leg B) -> depacketizer (reorder window) -> SFrame -> frame
//! ```
//!
//! Everything is sans IO: packets go in and come out as values; no socket, no clock, no async.
//!
//! ```
//! use sframe_core::CipherSuite;
//! use sframe_rtp::*;
//!
//! let suite = CipherSuite::Aes128GcmSha256_128;
//! let srtp = |seed: u8| SrtpKeys {
//!     profile: SrtpProfile::AeadAes128Gcm,
//!     master_key: vec![seed; 16],
//!     master_salt: vec![seed; 12],
//! };
//! let (alice_up, bob_down) = (srtp(1), srtp(2));
//!
//! // Alice sends one video stream, per-frame SFrame, KID 1.
//! let cfg = SenderConfig { suite, kid: 1, mode: Mode::PerFrame, key_mode: KeyMode::Shared, mtu: 1200 };
//! let mut alice = MediaSender::new(cfg, b"alice's SFrame key", Box::new(WebrtcSrtp::sender(&alice_up)?))?;
//! alice.add_stream(0xA11CE, 0, None)?;
//!
//! // The SFU terminates SRTP on each leg and holds no SFrame key.
//! let mut sfu = Sfu::new();
//! sfu.add_participant(1, Box::new(WebrtcSrtp::receiver(&alice_up, 1024)?),
//!     Box::new(WebrtcSrtp::sender(&srtp(3))?), &[0xA11CE])?;
//! sfu.add_participant(2, Box::new(WebrtcSrtp::receiver(&srtp(4), 1024)?),
//!     Box::new(WebrtcSrtp::sender(&bob_down)?), &[])?;
//!
//! // Bob knows Alice's SFrame key and his own SRTP leg.
//! let cfg = ReceiverConfig { suite, key_mode: KeyMode::Shared,
//!     depacketizer: DepacketizerConfig::default(), codecs: vec![] };
//! let mut bob = MediaReceiver::new(cfg, Box::new(WebrtcSrtp::receiver(&bob_down, 1024)?));
//! bob.add_stream(0xA11CE);
//! bob.add_key(1, b"alice's SFrame key")?;
//!
//! let frame = vec![7u8; 5000];
//! let meta = FrameMetadata { payload_type: 96, timestamp: 3000, marker: true, ..Default::default() };
//! let mut packets = Vec::new();
//! alice.send_frame(0xA11CE, &frame, &meta, &mut packets)?;
//! assert_eq!(packets.len(), 5);
//! let mut got = None;
//! for p in packets.iter().rev() { // in any order
//!     let forwarded = sfu.receive(1, p)?;
//!     for (_to, out) in forwarded.out {
//!         if let Some(Received::Frame(f)) = bob.receive(&out)? {
//!             got = Some(f);
//!         }
//!     }
//! }
//! assert_eq!(got.map(|f| f.data.to_vec()), Some(frame));
//! # Ok::<(), Error>(())
//! ```
//!
//! Modules are private; everything is re-exported here. (A simulated network and clock to run
//! endpoints and an SFU on is the workspace's `sframe-sim` crate.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod depacketizer;
mod descriptor;
mod endpoint;
mod error;
mod keys;
mod packetizer;
mod reassembly;
mod rtp_view;
mod sfu;
mod srtp;

pub use codec::{AssembledFrame, Codec, MediaAssembler};
pub use depacketizer::{Depacketizer, DepacketizerConfig};
pub use descriptor::{Descriptor, Origin};
pub use endpoint::{
    KeyMode, MediaFrame, MediaReceiver, MediaSender, Mode, Received, ReceiverConfig, ReceiverStats,
    SenderConfig,
};
pub use error::{Error, RtpError, SrtpError};
pub use keys::{SSRC_KEY_LABEL, ssrc_base_key};
pub use packetizer::{FrameMetadata, Packetizer, PacketizerConfig};
pub use reassembly::{
    Fragment, Pushed, ReassembledFrame, Reassembler, ReassemblyConfig, ReassemblyStats,
};
pub use rtp_view::{FIXED_HEADER_LEN, RtpView, rewrite_header};
pub use sfu::{Forwarded, PacketInfo, ParticipantId, Sfu, SfuStats};
pub use srtp::{SrtpKeys, SrtpProfile, SrtpTransform, WebrtcSrtp};

/// The `rtp` crate, re-exported for its `Extension` type and codec payloaders.
pub use rtp;
