//! How media is put into SFrame frames.

/// Per-frame or per-packet SFrame (draft-ietf-avtcore-rtp-sframe's T bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One SFrame frame per media frame, split over packets (T = 0).
    PerFrame,
    /// The codec packetizer first, then one SFrame frame per RTP payload (T = 1).
    PerPacket,
}
