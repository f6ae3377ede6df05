//! One participant's peer connection at the SFU.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use str0m::Rtc;
use str0m::channel::ChannelId;
use str0m::media::{Direction, MediaKind, Mid, Rid};

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
    /// Its media lines: MID, kind, and whether the SFU sends on it.
    pub(crate) lines: Vec<(Mid, MediaKind, bool)>,
    /// It offered no data channel: a browser page whose keys a member lends it (it is in no
    /// MLS group itself, and its media is forwarded as any member's).
    pub(crate) media_only: bool,
    /// Slot mode: the line each forwarded SSRC has to itself.
    slots: HashMap<u32, Mid>,
    /// SSRCs of others declared for sending on this connection.
    pub(crate) declared: HashSet<u32>,
    /// The sequence numbers of what the SFU forwards on this connection.
    pub(crate) seqs: DownstreamSeqs,
    /// When a datagram of it last arrived.
    pub(crate) last_heard: Instant,
    /// Its removal is committed: close it at this time (after the commit went out).
    pub(crate) close_at: Option<Instant>,
    /// It asked to leave or timed out: nothing more is sent to it but the commit.
    pub(crate) leaving: bool,
}

impl SfuPeer {
    pub(crate) fn new(id: PeerId, name: String, rtc: Rtc, media_only: bool, now: Instant) -> Self {
        Self {
            id,
            name,
            rtc,
            channel: None,
            outbox: VecDeque::new(),
            lines: Vec::new(),
            media_only,
            slots: HashMap::new(),
            declared: HashSet::new(),
            seqs: DownstreamSeqs::default(),
            last_heard: now,
            close_at: None,
            leaving: false,
        }
    }

    /// A media line the negotiation added.
    pub(crate) fn add_line(&mut self, mid: Mid, kind: MediaKind, direction: Direction) {
        let sends = matches!(direction, Direction::SendOnly | Direction::SendRecv);
        self.lines.retain(|(m, _, _)| *m != mid);
        self.lines.push((mid, kind, sends));
    }

    /// Where the SFU sends `ssrc` (of `kind`) to this peer: the MID, and the RID that tells it
    /// apart there.
    ///
    /// - One send line of the kind (a native participant): every sender shares it, each under
    ///   its own RID ([`forwarded_rid`]); the participant learns the SSRCs on the data channel.
    /// - Several (a browser, which offers a receive-only transceiver per remote track): each
    ///   sender gets a line of its own, no RID, and goes out under the SSRC the SFU's answer
    ///   gave that line (the browser knows it from the SDP). When the lines run out, `None`:
    ///   the sender is not forwarded to this peer.
    pub(crate) fn send_line(&mut self, kind: MediaKind, ssrc: u32) -> Option<(Mid, Option<Rid>)> {
        let mut lines = self
            .lines
            .iter()
            .filter(|(_, k, sends)| *k == kind && *sends)
            .map(|(m, _, _)| *m);
        let first = lines.next()?;
        let Some(second) = lines.next() else {
            return Some((first, Some(forwarded_rid(ssrc))));
        };
        if let Some(mid) = self.slots.get(&ssrc) {
            return Some((*mid, None));
        }
        let free = [first, second]
            .into_iter()
            .chain(lines)
            .find(|m| !self.slots.values().any(|used| used == m))?;
        self.slots.insert(ssrc, free);
        Some((free, None))
    }

    /// The kind of its media line `mid`.
    pub(crate) fn kind_of(&self, mid: Mid) -> Option<MediaKind> {
        self.lines
            .iter()
            .find(|(m, _, _)| *m == mid)
            .map(|(_, k, _)| *k)
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

/// The extended sequence numbers of the streams the SFU forwards on one connection.
///
/// A receiver that never heard of a stream takes its SRTP rollover counter to be 0
/// (RFC 3711 section 3.3.1; RFC 4771 describes this late joiner's problem). A stream that reaches this connection after its sender's
/// sequence numbers wrapped must therefore start at rollover counter 0 here too: under the
/// sender's counter, every packet of it would fail authentication at the receiver. The 16-bit
/// sequence number on the wire stays the sender's.
#[derive(Debug, Default)]
pub(crate) struct DownstreamSeqs {
    /// Per forwarded SSRC: the sender's rollovers before this connection's first packet of
    /// it, times 2^16.
    base: HashMap<u32, u64>,
}

impl DownstreamSeqs {
    /// The extended sequence number under which the sender's packet `seq` (extended as the
    /// SFU received it) of `ssrc` goes out here, or `None` for a packet from before this
    /// connection's first one of `ssrc` across a rollover (late: not sent).
    pub(crate) fn map(&mut self, ssrc: u32, seq: u64) -> Option<u64> {
        let base = *self.base.entry(ssrc).or_insert(seq & !0xFFFF);
        seq.checked_sub(base)
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

#[cfg(test)]
mod tests {
    use super::DownstreamSeqs;

    #[test]
    fn each_connection_starts_a_stream_at_rollover_counter_zero() {
        let mut seqs = DownstreamSeqs::default();
        // The sender wrapped twice before this connection's first packet of 7.
        let first = (2 << 16) | 65_530;
        assert_eq!(seqs.map(7, first), Some(65_530));
        // Its next wrap is this connection's first; the 16 bits are the sender's.
        assert_eq!(seqs.map(7, first + 10), Some(0x1_0004));
        // A late packet from before the first one, across the wrap, is not sent.
        assert_eq!(seqs.map(7, (2 << 16) - 3), None);
        // Late but after the base: sent under counter 0.
        assert_eq!(seqs.map(7, first - 5), Some(65_525));
        // Another stream has its own base; a stream that never wrapped keeps its numbers.
        assert_eq!(seqs.map(8, 40), Some(40));
        assert_eq!(seqs.map(8, 0x1_0002), Some(0x1_0002));
    }
}
