//! One participant's peer connection at the SFU.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use str0m::Rtc;
use str0m::channel::ChannelId;
use str0m::media::{MediaKind, Mid};

use crate::delivery::PeerId;

/// A participant's peer connection and what the SFU keeps about it.
#[derive(Debug)]
pub(crate) struct SfuPeer {
    pub(crate) id: PeerId,
    pub(crate) name: String,
    pub(crate) rtc: Rtc,
    pub(crate) channel: Option<ChannelId>,
    /// MLS messages waiting for the channel.
    pub(crate) outbox: VecDeque<Vec<u8>>,
    pub(crate) audio_mid: Option<Mid>,
    pub(crate) video_mid: Option<Mid>,
    /// SSRCs of others declared for sending on this connection.
    pub(crate) declared: HashSet<u32>,
    /// When a datagram of it last arrived.
    pub(crate) last_heard: Instant,
    /// Its removal is committed: close it at this time (after the commit went out).
    pub(crate) close_at: Option<Instant>,
    /// It asked to leave or timed out: nothing more is sent to it but the commit.
    pub(crate) leaving: bool,
}

impl SfuPeer {
    pub(crate) fn new(id: PeerId, name: String, rtc: Rtc, now: Instant) -> Self {
        Self {
            id,
            name,
            rtc,
            channel: None,
            outbox: VecDeque::new(),
            audio_mid: None,
            video_mid: None,
            declared: HashSet::new(),
            last_heard: now,
            close_at: None,
            leaving: false,
        }
    }

    /// Its media line of `kind`.
    pub(crate) fn mid(&self, kind: MediaKind) -> Option<Mid> {
        match kind {
            MediaKind::Audio => self.audio_mid,
            MediaKind::Video => self.video_mid,
        }
    }

    /// The kind of its media line `mid`.
    pub(crate) fn kind_of(&self, mid: Mid) -> Option<MediaKind> {
        if self.audio_mid == Some(mid) {
            Some(MediaKind::Audio)
        } else if self.video_mid == Some(mid) {
            Some(MediaKind::Video)
        } else {
            None
        }
    }

    /// Writes what waits for the data channel, as far as it takes it.
    pub(crate) fn flush(&mut self) {
        let Some(id) = self.channel else {
            return;
        };
        while let Some(msg) = self.outbox.front() {
            let Some(mut ch) = self.rtc.channel(id) else {
                return;
            };
            match ch.write(true, msg) {
                Ok(true) => {
                    self.outbox.pop_front();
                }
                // Full: the rest waits for the next round. An error closes the channel.
                Ok(false) | Err(_) => return,
            }
        }
    }
}

/// The RID under which the SFU forwards `ssrc` to a participant. str0m keeps one send stream
/// per MID and RID, so several senders sharing a participant's audio (or video) line each get
/// their own RID, the SSRC in hex; the participant, told the SSRC over the data channel,
/// expects it under the same RID. (No RID header extension is sent: streams are told apart by
/// SSRC.)
pub(crate) fn forwarded_rid(ssrc: u32) -> str0m::media::Rid {
    str0m::media::Rid::from(format!("{ssrc:08x}").as_str())
}
