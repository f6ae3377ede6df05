//! What a participant counted, per direction, and why frames were dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sframe_mls::SframeMlsError;

use crate::participant::cause_of;

/// Why a frame was not encrypted or not decrypted. A transform drops such a frame and counts
/// it; nothing is thrown into the media pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TransformDrop {
    /// Sending: no epoch installed yet, or this participant is receive-only.
    NoSendEpoch,
    /// Receiving: the header does not parse or the frame is shorter than its tag.
    Malformed,
    /// Receiving: the frame did not authenticate.
    AuthenticationFailed,
    /// Receiving: a counter already seen under its KID.
    Replay,
    /// Receiving: the KID names an epoch not installed (or already retired).
    UnknownEpoch,
    /// Receiving: the KID names a leaf that is not a member of its epoch.
    UnknownSender,
    /// The caller's input was wrong: a frame too large for the buffer, a context too large for
    /// the KID, an exhausted counter.
    Other,
}

impl TransformDrop {
    /// Every cause, in the order of [`TransformDrop::code`].
    pub const ALL: [TransformDrop; 7] = [
        TransformDrop::NoSendEpoch,
        TransformDrop::Malformed,
        TransformDrop::AuthenticationFailed,
        TransformDrop::Replay,
        TransformDrop::UnknownEpoch,
        TransformDrop::UnknownSender,
        TransformDrop::Other,
    ];

    /// The name used in [`ParticipantStats::to_json`].
    pub const fn name(self) -> &'static str {
        match self {
            TransformDrop::NoSendEpoch => "no_send_epoch",
            TransformDrop::Malformed => "malformed",
            TransformDrop::AuthenticationFailed => "authentication_failed",
            TransformDrop::Replay => "replay",
            TransformDrop::UnknownEpoch => "unknown_epoch",
            TransformDrop::UnknownSender => "unknown_sender",
            TransformDrop::Other => "other",
        }
    }

    /// The negative number the exported functions return for this cause: `-1` to `-7`.
    pub const fn code(self) -> i32 {
        -1 - self as i32
    }

    /// The cause of a [`TransformDrop::code`].
    pub fn from_code(code: i32) -> Option<TransformDrop> {
        let index = usize::try_from((-1_i32).checked_sub(code)?).ok()?;
        TransformDrop::ALL.get(index).copied()
    }
}

/// Counts of one participant: frames encrypted (send direction), frames decrypted per sender
/// and epoch (receive direction), and drops by cause in each direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParticipantStats {
    /// Frames encrypted.
    pub encrypted: u64,
    /// Frames encrypted per epoch.
    pub encrypted_by_epoch: BTreeMap<u64, u64>,
    /// Frames not encrypted, by cause.
    pub send_dropped: BTreeMap<TransformDrop, u64>,
    /// Frames decrypted.
    pub decrypted: u64,
    /// Frames decrypted per sender leaf.
    pub decrypted_by_sender: BTreeMap<u32, u64>,
    /// Frames decrypted per epoch.
    pub decrypted_by_epoch: BTreeMap<u64, u64>,
    /// Frames not decrypted, by cause.
    pub recv_dropped: BTreeMap<TransformDrop, u64>,
    /// Times the sender switched epoch.
    pub switches: u64,
    /// Epochs retired.
    pub retired: u64,
}

impl ParticipantStats {
    pub(crate) fn sent(&mut self, epoch: Option<u64>) {
        self.encrypted += 1;
        if let Some(epoch) = epoch {
            *self.encrypted_by_epoch.entry(epoch).or_default() += 1;
        }
    }

    pub(crate) fn send_dropped(&mut self, e: &SframeMlsError) -> TransformDrop {
        let cause = match cause_of(e) {
            TransformDrop::NoSendEpoch => TransformDrop::NoSendEpoch,
            _ => TransformDrop::Other,
        };
        *self.send_dropped.entry(cause).or_default() += 1;
        cause
    }

    pub(crate) fn received(&mut self, sender: u32, epoch: u64) {
        self.decrypted += 1;
        *self.decrypted_by_sender.entry(sender).or_default() += 1;
        *self.decrypted_by_epoch.entry(epoch).or_default() += 1;
    }

    pub(crate) fn recv_dropped(&mut self, e: &SframeMlsError) -> TransformDrop {
        self.recv_dropped_cause(cause_of(e))
    }

    pub(crate) fn recv_dropped_cause(&mut self, cause: TransformDrop) -> TransformDrop {
        *self.recv_dropped.entry(cause).or_default() += 1;
        cause
    }

    /// Frames dropped on sending, all causes.
    pub fn send_dropped_total(&self) -> u64 {
        self.send_dropped.values().sum()
    }

    /// Frames dropped on receiving, all causes.
    pub fn recv_dropped_total(&self) -> u64 {
        self.recv_dropped.values().sum()
    }

    /// The counts as one JSON object, for the page:
    /// `{"send":{"encrypted":N,"by_epoch":{..},"dropped":{cause:N,..}},"recv":{"decrypted":N,
    /// "by_sender":{..},"by_epoch":{..},"dropped":{..}},"switches":N,"retired":N}`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        let _ = write!(
            out,
            "{{\"send\":{{\"encrypted\":{},\"by_epoch\":{},\"dropped\":{}}},",
            self.encrypted,
            map_json(&self.encrypted_by_epoch, |k| k.to_string()),
            map_json(&self.send_dropped, |k| k.name().to_owned()),
        );
        let _ = write!(
            out,
            "\"recv\":{{\"decrypted\":{},\"by_sender\":{},\"by_epoch\":{},\"dropped\":{}}},",
            self.decrypted,
            map_json(&self.decrypted_by_sender, |k| k.to_string()),
            map_json(&self.decrypted_by_epoch, |k| k.to_string()),
            map_json(&self.recv_dropped, |k| k.name().to_owned()),
        );
        let _ = write!(
            out,
            "\"switches\":{},\"retired\":{}}}",
            self.switches, self.retired
        );
        out
    }
}

/// `{"key":count,...}`; keys are digits or the fixed cause names, so nothing needs escaping.
fn map_json<K>(map: &BTreeMap<K, u64>, key: impl Fn(&K) -> String) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("\"{}\":{v}", key(k)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_negative() {
        for cause in TransformDrop::ALL {
            assert!(cause.code() < 0);
            assert_eq!(TransformDrop::from_code(cause.code()), Some(cause));
        }
        assert_eq!(TransformDrop::from_code(0), None);
        assert_eq!(TransformDrop::from_code(-8), None);
        assert_eq!(TransformDrop::from_code(i32::MIN), None);
    }

    #[test]
    fn json_names_every_count() {
        let mut stats = ParticipantStats::default();
        stats.sent(Some(2));
        stats.received(1, 2);
        stats.recv_dropped_cause(TransformDrop::Replay);
        assert_eq!(
            stats.to_json(),
            "{\"send\":{\"encrypted\":1,\"by_epoch\":{\"2\":1},\"dropped\":{}},\
             \"recv\":{\"decrypted\":1,\"by_sender\":{\"1\":1},\"by_epoch\":{\"2\":1},\
             \"dropped\":{\"replay\":1}},\"switches\":0,\"retired\":0}"
        );
    }
}
