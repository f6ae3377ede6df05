//! What a participant saw: frames sent, decrypted, lost and dropped by cause, epochs and
//! security codes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sframe_mls::SframeMlsError;
use sframe_rtp::FrameDrop;

/// A participant's report at the end of its meeting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ParticipantReport {
    /// Its name.
    pub name: String,
    /// Its leaf in the group (the last one it had).
    pub leaf: Option<u32>,
    /// Its own SSRCs (audio, video).
    pub ssrcs: Vec<u32>,
    /// Audio frames it sent.
    pub audio_sent: u64,
    /// Video frames it sent.
    pub video_sent: u64,
    /// Frames of others it decrypted (intact synthetic frames).
    pub decrypted: u64,
    /// Decrypted frames per sending SSRC.
    pub decrypted_by_ssrc: BTreeMap<u32, u64>,
    /// Frames that decrypted but were not the synthetic frame their header promised.
    pub corrupt: u64,
    /// Frames missing inside each stream's range of frames it saw (never arrived whole).
    pub lost: u64,
    /// Frames that arrived but did not decrypt, by cause.
    pub dropped: BTreeMap<String, u64>,
    /// Of those, frames sent under the epoch before this participant joined (it was never
    /// given that epoch's key, by design).
    pub before_join: u64,
    /// Of those, frames lost to key rollover (an epoch it should have had was missing, or
    /// arrived too late): must be 0.
    pub rollover_drops: u64,
    /// The epochs it entered.
    pub epochs: Vec<u64>,
    /// The security code of each epoch it entered.
    pub security_codes: BTreeMap<u64, String>,
    /// The security code of its last epoch.
    pub security_code: Option<String>,
    /// Whether a commit removed it (it left, or the SFU timed it out).
    pub removed: bool,
    /// RTP packets that reached it (after SRTP).
    pub rtp_received: u64,
    /// Of those, packets the media receiver refused (malformed, beyond its limits).
    pub rtp_refused: u64,
    /// Data-channel messages from the SFU it refused (malformed, or not for a participant).
    pub refused_from_sfu: u64,
    /// Decrypted VP8 key frames (codec-packetized media: a browser's or a clip's).
    pub vp8_key_frames: u64,
    /// Of those, key frames without the VP8 start code `9d 01 2a` at byte 3: must be 0.
    pub vp8_key_frames_without_start_code: u64,
}

/// Counts frames per stream to find the lost ones.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    seen: BTreeMap<u32, BTreeSet<u32>>,
}

impl Tally {
    /// Frame `index` of stream `ssrc` arrived (decrypted or dropped).
    pub(crate) fn saw(&mut self, ssrc: u32, index: u32) {
        self.seen.entry(ssrc).or_default().insert(index);
    }

    /// Frames inside each stream's seen range that never arrived.
    pub(crate) fn lost(&self) -> u64 {
        self.seen
            .values()
            .map(|s| match (s.first(), s.last()) {
                (Some(&a), Some(&b)) => u64::from(b - a + 1) - s.len() as u64,
                _ => 0,
            })
            .sum()
    }
}

/// The cause of a frame refused by the keyring, in words, and whether it is a rollover loss.
pub(crate) fn drop_cause(drop: &FrameDrop<SframeMlsError>) -> (&'static str, Option<u64>) {
    match drop {
        FrameDrop::Codec => ("codec", None),
        FrameDrop::KeySource(e) => error_cause(e),
    }
}

/// The cause in words and the frame's KID where the error names it.
pub(crate) fn error_cause(e: &SframeMlsError) -> (&'static str, Option<u64>) {
    match e {
        SframeMlsError::UnknownEpoch { kid } => ("unknown epoch", Some(*kid)),
        SframeMlsError::HeldExpired { kid } => ("expired in buffer", Some(*kid)),
        SframeMlsError::HeldEvicted { kid } => ("buffer overflow", Some(*kid)),
        SframeMlsError::Cleared { kid } => ("cleared", Some(*kid)),
        SframeMlsError::UnknownSender { .. } => ("unknown sender", None),
        SframeMlsError::Throttled { kid } => ("throttled", Some(*kid)),
        SframeMlsError::Frame(sframe_core::SframeError::AuthenticationFailed) => {
            ("authentication", None)
        }
        SframeMlsError::Frame(sframe_core::SframeError::Replay { .. }) => ("replay", None),
        _ => ("malformed", None),
    }
}

/// Whether a drop of this cause is a key-rollover loss.
pub(crate) fn is_rollover(cause: &str) -> bool {
    matches!(
        cause,
        "unknown epoch" | "expired in buffer" | "buffer overflow"
    )
}
