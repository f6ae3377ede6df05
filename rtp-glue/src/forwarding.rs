//! What the SFU forwards to whom: the audio of the few loudest speakers, the video of the last
//! few who spoke, every frame whole (see [`ForwardingConfig`]).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::sfu::ParticipantId;

/// What a source carries, for the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Audio: ranked by its RFC 6464 level, forwarded for the top K speakers.
    Audio,
    /// Video: forwarded for the last N speakers.
    Video,
}

/// What the SFU forwards to whom: the audio of the few loudest speakers, the video of the last
/// few who spoke, every frame whole.
///
/// Real SFUs do not forward everything to everyone. This policy reads the RFC 6464 audio level
/// ([`AudioLevel`](crate::AudioLevel)) that senders put, in clear, on their audio packets, and
/// every `interval` (the caller drives it through [`Sfu::handle_timeout`](crate::Sfu::handle_timeout);
/// no clock is read here) it re-ranks the speakers:
///
/// - **audio**: the `audio_top_k` loudest speakers whose smoothed level is at least
///   `speech_level`; the others' audio is held back;
/// - **video**: the `video_last_n` participants who were most recently the loudest speaker
///   (most recent first); the others' video is held back.
///
/// The selection is one for the whole SFU: a receiver who is itself selected gets the others
/// (K - 1 audio streams if it is among the K loudest). A sender with no level on its audio
/// counts as silent.
///
/// **Frames stay whole.** All packets of one SFrame frame (S..E of the payload descriptor)
/// carry the same RTP timestamp, so the policy decides once per (source, timestamp), on the
/// frame's first packet to arrive, and every later packet of that frame, in any order, follows
/// that decision: a switch only ever takes effect between frames. A source remembers its last
/// few decisions; a packet of a frame older than every one it remembers is held back as
/// [`HoldReason::StaleFrame`] (it can only arrive after heavy reordering).
///
/// **No gaps.** A held-back frame is held from every receiver, so the SFU renumbers the
/// source's later packets past the ones it held (one offset per source, fixed when a frame is
/// decided): receivers see consecutive sequence numbers, and their reorder window never waits
/// for, or resynchronises over, what was held. This is exact as long as a frame's first packet
/// does not overtake packets of the frame before it.
///
/// **Upstream pause.** With `video_last_n` set, a video source that the policy forwards to
/// nobody is wasted work for its sender, its uplink and the SFU. The SFU says so through
/// [`Sfu::poll_demand`](crate::Sfu::poll_demand): a [`SourceDemand`] with `wanted: false`
/// when a video source leaves the selection (or is declared outside it), and `wanted: true`
/// when it enters it. The application carries it to the sender (over its data channel or
/// signalling; what LiveKit calls dynacast and Jitsi sender video constraints), which stops
/// encoding that video and, on resume, starts again with a key frame. A paused sender that
/// sends anyway is simply held back, as before. Audio is never paused: the policy ranks
/// speakers by their audio levels, so silent senders keep sending (sparsely, with Opus DTX).
///
/// [`ForwardingConfig::forward_all`] (the default) keeps the SFU forwarding everything; the
/// counters still say what went to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardingConfig {
    /// Forward the audio of at most this many speakers; `None` forwards all audio.
    pub audio_top_k: Option<usize>,
    /// Forward the video of the last this many speakers; `None` forwards all video.
    pub video_last_n: Option<usize>,
    /// The header extension ID of the RFC 6464 audio level (1..=14 in the one-byte form).
    pub audio_level_id: u8,
    /// A speaker counts as speaking when its smoothed level is this loud or louder, in -dBov
    /// (0 loudest, 127 silence).
    pub speech_level: u8,
    /// How often the speakers are re-ranked.
    pub interval: Duration,
}

impl ForwardingConfig {
    /// Forward everything to everyone (the SFU's behaviour without a policy).
    pub const fn forward_all() -> Self {
        Self {
            audio_top_k: None,
            video_last_n: None,
            audio_level_id: 1,
            speech_level: 80,
            interval: Duration::from_millis(100),
        }
    }

    /// Audio of the `top_k` loudest speakers, video of the `last_n` most recent speakers,
    /// levels read from extension `audio_level_id`; re-ranked every 100 ms, speaking at
    /// 80 -dBov or louder.
    pub const fn speakers(top_k: usize, last_n: usize, audio_level_id: u8) -> Self {
        Self {
            audio_top_k: Some(top_k),
            video_last_n: Some(last_n),
            ..Self::forward_all()
        }
        .with_level_id(audio_level_id)
    }

    const fn with_level_id(mut self, id: u8) -> Self {
        self.audio_level_id = id;
        self
    }
}

impl Default for ForwardingConfig {
    fn default() -> Self {
        Self::forward_all()
    }
}

/// Packets and frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Packets.
    pub packets: u64,
    /// Frames (counted on each frame's first packet to arrive).
    pub frames: u64,
}

impl Counted {
    fn add(&mut self, new_frame: bool) {
        self.packets += 1;
        self.frames += u64::from(new_frame);
    }
}

/// Why the policy did not forward a packet to a receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HoldReason {
    /// Audio of a speaker not among the top K.
    NotLoudest,
    /// Video of a participant not among the last N speakers.
    NotRecentSpeaker,
    /// A packet of a frame older than every decision its source remembers: forwarding it
    /// could send part of a frame.
    StaleFrame,
}

/// What one receiver was sent and what was held back from it, and why. Only sources given a
/// [`MediaKind`] are counted; sources reaching the receiver through a slot are not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardingStats {
    /// Audio forwarded.
    pub audio_forwarded: Counted,
    /// Video forwarded.
    pub video_forwarded: Counted,
    /// Audio held back: [`HoldReason::NotLoudest`].
    pub held_not_loudest: Counted,
    /// Video held back: [`HoldReason::NotRecentSpeaker`].
    pub held_not_recent_speaker: Counted,
    /// Held back: [`HoldReason::StaleFrame`] (packets only: such a frame was counted when
    /// first seen).
    pub held_stale: Counted,
}

impl ForwardingStats {
    /// What was held back for `reason`.
    pub fn held(&self, reason: HoldReason) -> Counted {
        match reason {
            HoldReason::NotLoudest => self.held_not_loudest,
            HoldReason::NotRecentSpeaker => self.held_not_recent_speaker,
            HoldReason::StaleFrame => self.held_stale,
        }
    }

    /// These forwarded counters with the held ones derived from the SFU-wide count: what was
    /// held since `base`, less what was not held from this receiver.
    pub(crate) fn with_held(mut self, all: &Self, base: &Self, not_its: &Self) -> Self {
        let since = |a: Counted, b: Counted, c: Counted| Counted {
            packets: a.packets.saturating_sub(b.packets + c.packets),
            frames: a.frames.saturating_sub(b.frames + c.frames),
        };
        self.held_not_loudest = since(
            all.held_not_loudest,
            base.held_not_loudest,
            not_its.held_not_loudest,
        );
        self.held_not_recent_speaker = since(
            all.held_not_recent_speaker,
            base.held_not_recent_speaker,
            not_its.held_not_recent_speaker,
        );
        self.held_stale = since(all.held_stale, base.held_stale, not_its.held_stale);
        self
    }

    pub(crate) fn count(&mut self, v: &Verdict) {
        let c = match (v.hold, v.kind) {
            (None, MediaKind::Audio) => &mut self.audio_forwarded,
            (None, MediaKind::Video) => &mut self.video_forwarded,
            (Some(HoldReason::NotLoudest), _) => &mut self.held_not_loudest,
            (Some(HoldReason::NotRecentSpeaker), _) => &mut self.held_not_recent_speaker,
            (Some(HoldReason::StaleFrame), _) => &mut self.held_stale,
        };
        c.add(v.new_frame);
    }
}

/// Whether anyone is forwarded a source, as it changes: see [`Sfu::poll_demand`](crate::Sfu::poll_demand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceDemand {
    /// The participant sending the source.
    pub participant: ParticipantId,
    /// The source.
    pub ssrc: u32,
    /// `false`: the policy forwards the source to nobody, so its sender may stop sending it;
    /// `true`: it forwards the source again from its next frame, which should be a key frame.
    pub wanted: bool,
}

/// The policy's decision on one packet, the same for every receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) kind: MediaKind,
    pub(crate) new_frame: bool,
    pub(crate) hold: Option<HoldReason>,
    /// Subtract from the sequence number of a forwarded packet: the packets of the source's
    /// frames held back before this frame, so that receivers see no gap.
    pub(crate) seq_offset: u16,
}

/// How many frame decisions a source remembers.
const REMEMBERED_FRAMES: usize = 4;

/// `a` is at or before `b` in RTP timestamp order (serial arithmetic).
fn not_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

#[derive(Debug)]
struct Source {
    owner: ParticipantId,
    kind: MediaKind,
    /// (timestamp, forward, sequence offset) of the last frames decided.
    frames: [Option<(u32, bool, u16)>; REMEMBERED_FRAMES],
    /// The newest timestamp a decision was forgotten for.
    floor: Option<u32>,
    /// Packets held back from everyone so far (wrapping, as sequence numbers do).
    removed: u16,
    /// What the last [`SourceDemand`] said (a source starts wanted).
    wanted: bool,
}

impl Source {
    /// The decision for a packet of the frame with timestamp `ts`, taking `selected` for a
    /// new frame: (forward, new frame, sequence offset); `None` for a frame older than what
    /// is remembered.
    fn decide(&mut self, ts: u32, selected: bool) -> Option<(bool, bool, u16)> {
        let (forward, new_frame, offset) = self.frame(ts, selected)?;
        if !forward {
            self.removed = self.removed.wrapping_add(1);
        }
        Some((forward, new_frame, offset))
    }

    fn frame(&mut self, ts: u32, selected: bool) -> Option<(bool, bool, u16)> {
        if let Some(&(_, fwd, offset)) = self.frames.iter().flatten().find(|(t, ..)| *t == ts) {
            return Some((fwd, false, offset));
        }
        if self.floor.is_some_and(|f| not_after(ts, f)) {
            return None;
        }
        let slot = match self.frames.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                // Forget the oldest decision.
                let mut oldest = 0;
                for (i, f) in self.frames.iter().enumerate() {
                    if let (Some((t, ..)), Some(Some((o, ..)))) = (f, self.frames.get(oldest))
                        && not_after(*t, *o)
                    {
                        oldest = i;
                    }
                }
                if let Some(Some((t, ..))) = self.frames.get(oldest) {
                    let t = *t;
                    if self.floor.is_none_or(|f| not_after(f, t)) {
                        self.floor = Some(t);
                    }
                }
                oldest
            }
        };
        if let Some(f) = self.frames.get_mut(slot) {
            *f = Some((ts, selected, self.removed));
        }
        Some((selected, true, self.removed))
    }
}

#[derive(Debug, Default)]
struct Speaker {
    /// Sum of loudness (127 - level) over this interval's packets.
    sum: u64,
    /// Audio packets this interval.
    packets: u64,
    /// Smoothed loudness, times 16.
    score: u64,
}

/// The policy's state inside the SFU.
#[derive(Debug)]
pub(crate) struct Policy {
    config: ForwardingConfig,
    sources: HashMap<u32, Source>,
    speakers: HashMap<ParticipantId, Speaker>,
    /// The top K, loudest first.
    audio: Vec<ParticipantId>,
    /// The last N speakers, most recent first.
    video: Vec<ParticipantId>,
    next_ranking: Option<Duration>,
    ranking: Vec<(u64, ParticipantId)>,
    /// Changes of demand not polled yet.
    demand: VecDeque<SourceDemand>,
}

impl Policy {
    pub(crate) fn new(config: ForwardingConfig) -> Self {
        Self {
            config,
            sources: HashMap::new(),
            speakers: HashMap::new(),
            audio: Vec::new(),
            video: Vec::new(),
            next_ranking: None,
            ranking: Vec::new(),
            demand: VecDeque::new(),
        }
    }

    pub(crate) fn config(&self) -> &ForwardingConfig {
        &self.config
    }

    pub(crate) fn set_source(&mut self, ssrc: u32, owner: ParticipantId, kind: MediaKind) {
        let wanted = self.wanted(owner, kind);
        self.sources.insert(
            ssrc,
            Source {
                owner,
                kind,
                frames: [None; REMEMBERED_FRAMES],
                floor: None,
                removed: 0,
                wanted,
            },
        );
        if kind == MediaKind::Audio {
            self.speakers.entry(owner).or_default();
        }
        if !wanted {
            self.demand.push_back(SourceDemand {
                participant: owner,
                ssrc,
                wanted,
            });
        }
    }

    /// Whether the policy forwards `owner`'s source of `kind` to anyone now: audio always
    /// (its levels are what the ranking reads), video when it is not limited or `owner` is
    /// among the last speakers.
    fn wanted(&self, owner: ParticipantId, kind: MediaKind) -> bool {
        kind == MediaKind::Audio
            || self.config.video_last_n.is_none()
            || self.video.contains(&owner)
    }

    /// The next change of demand.
    pub(crate) fn poll_demand(&mut self) -> Option<SourceDemand> {
        self.demand.pop_front()
    }

    /// Queues a [`SourceDemand`] for every video source whose owner entered or left the
    /// video selection, in SSRC order.
    fn video_demand_changed(&mut self) {
        let start = self.demand.len();
        for (&ssrc, source) in &mut self.sources {
            if source.kind != MediaKind::Video {
                continue;
            }
            let wanted = self.video.contains(&source.owner);
            if wanted != source.wanted {
                source.wanted = wanted;
                self.demand.push_back(SourceDemand {
                    participant: source.owner,
                    ssrc,
                    wanted,
                });
            }
        }
        self.demand.make_contiguous()[start..].sort_unstable_by_key(|d| d.ssrc);
    }

    pub(crate) fn remove_participant(&mut self, id: ParticipantId) {
        self.demand.retain(|d| d.participant != id);
        self.sources.retain(|_, s| s.owner != id);
        self.speakers.remove(&id);
        self.audio.retain(|p| *p != id);
        self.video.retain(|p| *p != id);
    }

    /// Whether `ssrc` is an audio source whose level the policy reads.
    pub(crate) fn reads_level(&self, ssrc: u32) -> bool {
        self.sources
            .get(&ssrc)
            .is_some_and(|s| s.kind == MediaKind::Audio)
    }

    pub(crate) fn level_id(&self) -> u8 {
        self.config.audio_level_id
    }

    /// The decision on a packet of `ssrc` with timestamp `ts` (and, for audio, its level in
    /// -dBov); `None` for a source without a kind.
    pub(crate) fn on_packet(&mut self, ssrc: u32, ts: u32, level: Option<u8>) -> Option<Verdict> {
        let source = self.sources.get_mut(&ssrc)?;
        let (selected, hold) = match source.kind {
            MediaKind::Audio => {
                if let Some(s) = self.speakers.get_mut(&source.owner) {
                    s.sum += u64::from(127 - level.unwrap_or(127).min(127));
                    s.packets += 1;
                }
                (
                    self.config.audio_top_k.is_none() || self.audio.contains(&source.owner),
                    HoldReason::NotLoudest,
                )
            }
            MediaKind::Video => (
                self.config.video_last_n.is_none() || self.video.contains(&source.owner),
                HoldReason::NotRecentSpeaker,
            ),
        };
        let kind = source.kind;
        Some(match source.decide(ts, selected) {
            Some((forward, new_frame, seq_offset)) => Verdict {
                kind,
                new_frame,
                hold: (!forward).then_some(hold),
                seq_offset,
            },
            None => Verdict {
                kind,
                new_frame: false,
                hold: Some(HoldReason::StaleFrame),
                seq_offset: 0,
            },
        })
    }

    pub(crate) fn poll_timeout(&self) -> Option<Duration> {
        if self.speakers.is_empty() {
            return None;
        }
        Some(self.next_ranking.unwrap_or_default())
    }

    /// Re-ranks the speakers if `now` is at or past the next ranking time.
    pub(crate) fn handle_timeout(&mut self, now: Duration) {
        if self.next_ranking.is_some_and(|t| now < t) {
            return;
        }
        self.next_ranking = Some(now.saturating_add(self.config.interval));
        let speaking = 16 * u64::from(127 - self.config.speech_level.min(127));
        self.ranking.clear();
        for (&id, s) in &mut self.speakers {
            let mean = (16 * s.sum).checked_div(s.packets).unwrap_or(0);
            s.score = (s.score + mean) / 2;
            s.sum = 0;
            s.packets = 0;
            if s.score >= speaking && s.score > 0 {
                self.ranking.push((s.score, id));
            }
        }
        // Loudest first; ties to the lower id, so the outcome does not depend on hashing.
        self.ranking
            .sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.audio.clear();
        let k = self.config.audio_top_k.unwrap_or(usize::MAX);
        self.audio
            .extend(self.ranking.iter().take(k).map(|&(_, id)| id));
        if let Some(&(_, dominant)) = self.ranking.first() {
            // The selection's members change only when the dominant speaker enters it (and,
            // the list being full, the longest silent leaves); otherwise it only reorders.
            let entered = !self.video.contains(&dominant);
            self.video.retain(|p| *p != dominant);
            self.video.insert(0, dominant);
            self.video
                .truncate(self.config.video_last_n.unwrap_or(usize::MAX));
            if self.config.video_last_n.is_some() && entered {
                self.video_demand_changed();
            }
        }
    }

    /// The audio selection, loudest first.
    pub(crate) fn audio(&self) -> &[ParticipantId] {
        &self.audio
    }

    /// The video selection, most recent speaker first.
    pub(crate) fn video(&self) -> &[ParticipantId] {
        &self.video
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            owner: 1,
            kind: MediaKind::Video,
            frames: [None; REMEMBERED_FRAMES],
            floor: None,
            removed: 0,
            wanted: true,
        }
    }

    #[test]
    fn a_frame_keeps_its_first_decision_and_held_packets_shift_the_next() {
        let mut s = source();
        assert_eq!(s.decide(100, true), Some((true, true, 0)));
        assert_eq!(s.decide(100, false), Some((true, false, 0)));
        assert_eq!(s.decide(200, false), Some((false, true, 0)));
        assert_eq!(s.decide(200, true), Some((false, false, 0)));
        assert_eq!(s.decide(100, false), Some((true, false, 0)));
        assert_eq!(
            s.decide(300, true),
            Some((true, true, 2)),
            "two packets held"
        );
    }

    #[test]
    fn forgotten_frames_are_stale_and_unseen_older_ones_decided() {
        let mut s = source();
        for t in [10u32, 20, 30, 40] {
            assert_eq!(s.decide(t, true), Some((true, true, 0)));
        }
        // Never seen, older than some remembered, nothing forgotten yet: decided fresh.
        assert_eq!(s.decide(5, false), Some((false, true, 0))); // forgets 10
        assert_eq!(s.decide(10, false), None, "10 was forgotten");
        assert_eq!(s.decide(7, false), None, "at or before a forgotten frame");
        assert_eq!(s.decide(50, false), Some((false, true, 1))); // forgets 5
        assert_eq!(s.decide(20, false), Some((true, false, 0)));
    }

    #[test]
    fn timestamps_wrap() {
        let mut s = source();
        for t in [u32::MAX - 10, u32::MAX, 5, 15] {
            s.decide(t, true);
        }
        s.decide(25, false); // forgets u32::MAX - 10, the oldest in serial order
        assert_eq!(s.decide(u32::MAX, false), Some((true, false, 0)));
        assert_eq!(s.decide(u32::MAX - 10, false), None);
    }
}
