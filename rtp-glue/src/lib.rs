//! SFrame inside RTP (draft-ietf-avtcore-rtp-sframe), hop-by-hop SRTP, and an SFU that
//! forwards what it cannot read.

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
pub use srtp::{SrtpKeys, SrtpProfile, SrtpTransform, WebrtcSrtp};

/// The `rtp` crate, re-exported for its `Extension` type and codec payloaders.
pub use rtp;
