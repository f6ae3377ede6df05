//! What the SFrame metadata (RFC 9605 section 4.4.3: authenticated, not encrypted) holds for
//! RTP media: nothing.
//!
//! The policy every endpoint built from this crate follows, so that any two interoperate:
//! each SFrame frame is sealed with **empty metadata**. An SFU may legitimately rewrite the
//! SSRC, sequence number, timestamp and payload type of what it forwards (switching sources in
//! a slot, renumbering per leg), so no RTP header field survives end to end and none may be
//! bound into the frame. What identifies the sender end to end is the KID (and, under MLS, the
//! epoch and sender index it carries); where a frame sits in its stream comes from the RTP
//! header on arrival, and a frame a key source held back is matched to its stream by the
//! token the pipeline gave it, never by data hidden in the metadata.

/// The SFrame metadata of RTP media: empty (see the module docs).
pub const SFRAME_METADATA: &[u8] = &[];
