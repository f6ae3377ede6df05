//! The SFU's forwarding policy: the audio of the top K speakers by their RFC 6464 level, the
//! video of the last N speakers, every forwarded frame whole across switches, and exact
//! per-receiver counts of what was forwarded and what was held back.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use sframe_rtp::{
    AudioLevel, Codec, Descriptor, ForwardingConfig, FrameMetadata, HoldReason, MediaKind, Mode,
    RtpView, Sfu, SrtpContext, SrtpProfile, SrtpTransform,
};

const PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;
const LEVEL_ID: u8 = 1;
/// 20 ms of 48 kHz audio; 30 fps of 90 kHz video.
const AUDIO_TICK: u32 = 960;
const VIDEO_TICK: u32 = 3000;

fn audio(p: u32) -> u32 {
    p * 10 + 1
}
fn video(p: u32) -> u32 {
    p * 10 + 2
}

struct Meeting {
    sfu: Sfu,
    ids: Vec<u32>,
    senders: BTreeMap<u32, Tx>,
    receivers: BTreeMap<u32, Rx>,
    /// Each receiver's leg, to read what the SFU sent it.
    legs: BTreeMap<u32, SrtpContext>,
}

fn meeting(config: ForwardingConfig, ids: &[u32]) -> Meeting {
    let mut sfu = Sfu::with_forwarding(config);
    let mut senders = BTreeMap::new();
    let mut receivers = BTreeMap::new();
    let mut legs = BTreeMap::new();
    for &p in ids {
        let up = srtp_keys(PROFILE, 100 + u64::from(p));
        let down = srtp_keys(PROFILE, 200 + u64::from(p));
        let mut s = media_sender(Mode::PerFrame, KeyMode::Shared, u64::from(p), &up);
        s.add_stream(audio(p), 0, Some(Codec::Opus)).unwrap();
        s.add_stream(video(p), 40_000, Some(Codec::Vp8)).unwrap();
        let mut r = media_receiver(KeyMode::Shared, &down);
        let mut leg = SrtpContext::receiver(&down, 1024).unwrap();
        for &q in ids.iter().filter(|q| **q != p) {
            r.add_stream(audio(q));
            r.add_stream(video(q));
            leg.allow_ssrc(audio(q));
            leg.allow_ssrc(video(q));
            r.add_key(u64::from(q), &sframe_base_key(q)).unwrap();
        }
        sfu.add_participant(
            p,
            Box::new(SrtpContext::receiver(&up, 512).unwrap()),
            Box::new(SrtpContext::sender(&down).unwrap()),
            &[audio(p), video(p)],
        )
        .unwrap();
        sfu.set_source_kind(audio(p), MediaKind::Audio).unwrap();
        sfu.set_source_kind(video(p), MediaKind::Video).unwrap();
        senders.insert(p, s);
        receivers.insert(p, r);
        legs.insert(p, leg);
    }
    Meeting {
        sfu,
        ids: ids.to_vec(),
        senders,
        receivers,
        legs,
    }
}

/// What one receiver got, read from the packets the SFU sent it.
#[derive(Default)]
struct Got {
    /// Decoded frames per sending participant and kind.
    audio_frames: BTreeMap<u32, u64>,
    video_frames: BTreeMap<u32, u64>,
    /// Forwarded packets per (SSRC, timestamp): their descriptors, by sequence number.
    packets: BTreeMap<(u32, u32), BTreeMap<u16, Descriptor>>,
    /// Every sequence number forwarded per SSRC, in arrival order.
    seqs: BTreeMap<u32, Vec<u16>>,
}

impl Meeting {
    /// Sends the packets in `wire` from `from` through the SFU, decodes at every receiver.
    fn forward(&mut self, from: u32, wire: &[Vec<u8>], got: &mut BTreeMap<u32, Got>) {
        for w in wire {
            let fwd = self.sfu.receive(from, w).unwrap();
            for (to, packet) in fwd.out {
                let plain = unprotect_vec(self.legs.get_mut(&to).unwrap(), &packet);
                let view = RtpView::parse(&plain).unwrap();
                let d = Descriptor::from_byte(view.payload()[0]);
                let g = got.entry(to).or_default();
                g.packets
                    .entry((view.ssrc(), view.timestamp()))
                    .or_default()
                    .insert(view.sequence_number(), d);
                g.seqs
                    .entry(view.ssrc())
                    .or_default()
                    .push(view.sequence_number());
                if let Some(Received::Frame(f)) = self
                    .receivers
                    .get_mut(&to)
                    .unwrap()
                    .receive(&packet)
                    .unwrap()
                {
                    let sender = u32::try_from(f.kid).unwrap();
                    assert_eq!(f.ssrc / 10, sender);
                    let map = if f.ssrc == audio(sender) {
                        &mut g.audio_frames
                    } else {
                        &mut g.video_frames
                    };
                    *map.entry(sender).or_default() += 1;
                }
            }
        }
    }

    /// Seals one audio frame of `p` at `level` (-dBov).
    fn audio_frame(&mut self, p: u32, tick: u32, level: u8) -> Vec<Vec<u8>> {
        let mut meta = FrameMetadata {
            payload_type: AUDIO_PT,
            timestamp: tick * AUDIO_TICK,
            marker: true,
            ..FrameMetadata::default()
        };
        AudioLevel::new(level, level < 127).set_on(&mut meta, LEVEL_ID);
        let mut wire = vec![];
        self.senders
            .get_mut(&p)
            .unwrap()
            .send_frame(audio(p), &[p as u8; 80], &meta, &mut wire)
            .unwrap();
        wire
    }

    /// Seals one video frame of `p` of `len` bytes (several packets).
    fn video_frame(&mut self, p: u32, tick: u32, len: usize) -> Vec<Vec<u8>> {
        let meta = FrameMetadata {
            payload_type: VIDEO_PT,
            timestamp: tick * VIDEO_TICK,
            marker: true,
            ..FrameMetadata::default()
        };
        let mut wire = vec![];
        self.senders
            .get_mut(&p)
            .unwrap()
            .send_frame(video(p), &vec![p as u8; len], &meta, &mut wire)
            .unwrap();
        wire
    }
}

/// Levels of each participant over time: `script(p, t_ms)`.
type Script = fn(u32, u64) -> u8;

/// Runs steps `steps` (20 ms each) of a meeting: every step an audio frame of everyone (at the
/// script's level); every other step a video frame of everyone (`video_len` bytes), its
/// packets interleaved across senders, in reverse order for odd senders. The SFU re-ranks
/// when it asks: on audio-only steps before the audio, on video steps in the middle of the
/// video frames (after each sender's first packet), so switches land mid-frame.
///
/// Returns what each receiver got, and what the selection at the moment each frame's first
/// packet reached the SFU implies it should have got.
fn run(m: &mut Meeting, steps: std::ops::Range<u64>, video_len: usize, script: Script) -> Expect {
    let mut got = BTreeMap::new();
    let mut expect = Expect::default();
    let ids = m.ids.clone();
    for step in steps {
        let now = Duration::from_millis(step * 20);
        let rank = |sfu: &mut Sfu| {
            if sfu.poll_timeout().is_some_and(|t| t <= now) {
                sfu.handle_timeout(now);
            }
        };
        let tick = u32::try_from(step).unwrap();
        let video_step = step % 2 == 0;
        if !video_step {
            rank(&mut m.sfu);
        }
        for &p in &ids {
            let wire = m.audio_frame(p, tick, script(p, step * 20));
            let selected = m.sfu.forwarding_config().audio_top_k.is_none()
                || m.sfu.audio_selection().contains(&p);
            m.forward(p, &wire, &mut got);
            for &r in ids.iter().filter(|r| **r != p) {
                let e = expect.per.entry(r).or_default();
                if selected {
                    e.audio_fwd += 1;
                    *e.audio_from.entry(p).or_default() += 1;
                } else {
                    e.audio_held += 1;
                }
            }
        }
        if !video_step {
            continue;
        }
        let mut frames: Vec<(u32, Vec<Vec<u8>>)> = ids
            .iter()
            .map(|&p| {
                let mut w = m.video_frame(p, tick / 2, video_len);
                if p % 2 == 1 {
                    w.reverse();
                }
                (p, w)
            })
            .collect();
        let longest = frames.iter().map(|f| f.1.len()).max().unwrap();
        for i in 0..longest {
            if i == 1 {
                rank(&mut m.sfu);
            }
            for (p, wire) in &mut frames {
                let Some(w) = wire.get(i) else { continue };
                if i == 0 {
                    let selected = m.sfu.forwarding_config().video_last_n.is_none()
                        || m.sfu.video_selection().contains(p);
                    for &r in ids.iter().filter(|r| **r != *p) {
                        let e = expect.per.entry(r).or_default();
                        if selected {
                            e.video_fwd += 1;
                            e.video_fwd_packets += wire.len() as u64;
                            *e.video_from.entry(*p).or_default() += 1;
                        } else {
                            e.video_held += 1;
                            e.video_held_packets += wire.len() as u64;
                        }
                    }
                }
                let w = w.clone();
                m.forward(*p, std::slice::from_ref(&w), &mut got);
            }
        }
        if longest < 2 {
            rank(&mut m.sfu);
        }
    }
    expect.got = got;
    expect
}

#[derive(Default)]
struct PerReceiver {
    audio_fwd: u64,
    audio_held: u64,
    video_fwd: u64,
    video_held: u64,
    video_fwd_packets: u64,
    video_held_packets: u64,
    audio_from: BTreeMap<u32, u64>,
    video_from: BTreeMap<u32, u64>,
}

#[derive(Default)]
struct Expect {
    per: BTreeMap<u32, PerReceiver>,
    got: BTreeMap<u32, Got>,
}

impl Expect {
    fn add(mut self, other: Expect) -> Self {
        for (r, o) in other.per {
            let e = self.per.entry(r).or_default();
            e.audio_fwd += o.audio_fwd;
            e.audio_held += o.audio_held;
            e.video_fwd += o.video_fwd;
            e.video_held += o.video_held;
            e.video_fwd_packets += o.video_fwd_packets;
            e.video_held_packets += o.video_held_packets;
            for (p, n) in o.audio_from {
                *e.audio_from.entry(p).or_default() += n;
            }
            for (p, n) in o.video_from {
                *e.video_from.entry(p).or_default() += n;
            }
        }
        for (r, o) in other.got {
            let g = self.got.entry(r).or_default();
            for (p, n) in o.audio_frames {
                *g.audio_frames.entry(p).or_default() += n;
            }
            for (p, n) in o.video_frames {
                *g.video_frames.entry(p).or_default() += n;
            }
            for (k, v) in o.packets {
                g.packets.entry(k).or_default().extend(v);
            }
            for (k, v) in o.seqs {
                g.seqs.entry(k).or_default().extend(v);
            }
        }
        self
    }

    /// The SFU's counters, the receivers' decoded frames and the selection-implied
    /// expectation agree exactly, for every receiver.
    fn check_counts(&self, m: &Meeting) {
        for &r in &m.ids {
            let stats = m.sfu.forwarding_stats(r).unwrap();
            let e = &self.per[&r];
            let g = self.got.get(&r);
            let decoded_audio = g.map_or(BTreeMap::new(), |g| g.audio_frames.clone());
            let decoded_video = g.map_or(BTreeMap::new(), |g| g.video_frames.clone());
            assert_eq!(stats.audio_forwarded.frames, e.audio_fwd, "receiver {r}");
            assert_eq!(
                stats.audio_forwarded.packets, e.audio_fwd,
                "one packet per audio frame"
            );
            assert_eq!(
                stats.held(HoldReason::NotLoudest).frames,
                e.audio_held,
                "receiver {r}"
            );
            assert_eq!(stats.held_not_loudest.packets, e.audio_held);
            assert_eq!(stats.video_forwarded.frames, e.video_fwd, "receiver {r}");
            assert_eq!(stats.video_forwarded.packets, e.video_fwd_packets);
            assert_eq!(
                stats.held(HoldReason::NotRecentSpeaker).frames,
                e.video_held,
                "receiver {r}"
            );
            assert_eq!(stats.held_not_recent_speaker.packets, e.video_held_packets);
            assert_eq!(stats.held(HoldReason::StaleFrame), Default::default());
            // Every forwarded frame was decoded: none arrived partial.
            assert_eq!(decoded_audio, e.audio_from, "receiver {r} audio");
            assert_eq!(decoded_video, e.video_from, "receiver {r} video");
        }
    }

    /// Every frame a receiver got a packet of, it got whole: S on the first sequence number,
    /// E on the last, all numbers between; and per SSRC the forwarded numbers run without a
    /// gap (the SFU renumbers past what it held back).
    fn check_whole(&self, frame_packets: impl Fn(u32) -> usize) {
        for (r, g) in &self.got {
            for ((ssrc, ts), pkts) in &g.packets {
                let seqs: Vec<u16> = pkts.keys().copied().collect();
                let first = *pkts.values().next().unwrap();
                let last = *pkts.values().last().unwrap();
                let span = seqs.last().unwrap().wrapping_sub(seqs[0]) as usize + 1;
                assert!(
                    first.start && last.end,
                    "receiver {r}: frame {ssrc}/{ts} cut"
                );
                assert_eq!(
                    span,
                    pkts.len(),
                    "receiver {r}: frame {ssrc}/{ts} has a hole"
                );
                assert_eq!(
                    pkts.len(),
                    frame_packets(*ssrc),
                    "receiver {r}: {ssrc}/{ts}"
                );
                assert!(pkts.values().skip(1).all(|d| !d.start));
            }
            for (ssrc, seqs) in &g.seqs {
                let set: BTreeSet<u16> = seqs.iter().copied().collect();
                assert_eq!(set.len(), seqs.len(), "no duplicates");
                let lo = *set.first().unwrap();
                let hi = *set.last().unwrap();
                assert_eq!(
                    usize::from(hi - lo) + 1,
                    set.len(),
                    "receiver {r}: SSRC {ssrc} numbered without gaps"
                );
            }
        }
    }
}

/// 1 and 2 speak (2 louder) for the first second, then 3 and 4 while 1 and 2 fall silent; 5
/// and 6 murmur below the speech level throughout.
fn two_pairs(p: u32, t: u64) -> u8 {
    match (p, t < 1000) {
        (1, true) => 30,
        (2, true) => 20,
        (3, false) => 25,
        (4, false) => 35,
        (5 | 6, _) => 100,
        _ => 127,
    }
}

const IDS: [u32; 6] = [1, 2, 3, 4, 5, 6];

#[test]
fn top_k_audio_follows_levels() {
    let mut m = meeting(ForwardingConfig::speakers(2, 6, LEVEL_ID), &IDS);
    let first = run(&mut m, 0..50, 500, two_pairs);
    assert_eq!(m.sfu.audio_selection(), [2, 1], "loudest first");
    let second = run(&mut m, 50..100, 500, two_pairs);
    assert_eq!(m.sfu.audio_selection(), [3, 4]);
    // After the switch settles, receiver 6 hears 3 and 4, and 1 only in the switch's first
    // 100 ms.
    let g6 = &second.got[&6];
    assert!(
        g6.audio_frames[&3] > 40 && g6.audio_frames[&4] > 30,
        "{:?}",
        g6.audio_frames
    );
    assert!(
        g6.audio_frames.get(&1).copied().unwrap_or(0) <= 10,
        "{:?}",
        g6.audio_frames
    );
    let all = first.add(second);
    for g in all.got.values() {
        assert!(
            !g.audio_frames.contains_key(&5) && !g.audio_frames.contains_key(&6),
            "murmur"
        );
    }
    // 1 heard its rival 2 in the first second, not itself.
    assert!(all.got[&1].audio_frames[&2] > 40);
    assert!(!all.got[&1].audio_frames.contains_key(&1));
    for &r in &IDS {
        let e = &all.per[&r];
        assert_eq!(
            e.audio_fwd + e.audio_held,
            5 * 100,
            "2 s of 20 ms frames of 5 others"
        );
    }
    all.check_counts(&m);
    all.check_whole(|_| 1);
}

/// One speaker at a time: 1, then 2, then 3, 600 ms each; everyone else silent.
fn one_at_a_time(p: u32, t: u64) -> u8 {
    let speaker = 1 + u32::try_from(t / 600).unwrap();
    if p == speaker { 30 } else { 127 }
}

#[test]
fn last_n_video_follows_speakers() {
    let mut m = meeting(ForwardingConfig::speakers(6, 2, LEVEL_ID), &IDS);
    let a = run(&mut m, 0..30, 3000, one_at_a_time);
    assert_eq!(m.sfu.video_selection(), [1]);
    let b = run(&mut m, 30..60, 3000, one_at_a_time);
    assert_eq!(m.sfu.video_selection(), [2, 1]);
    let c = run(&mut m, 60..90, 3000, one_at_a_time);
    assert_eq!(m.sfu.video_selection(), [3, 2]);
    // Receiver 6 saw 1's video until 3 took over, 3's only once 3 spoke, never 4's or 5's.
    let g6 = &c.got[&6];
    assert!(
        g6.video_frames.get(&1).copied().unwrap_or(0) <= 3,
        "{:?}",
        g6.video_frames
    );
    assert!(g6.video_frames[&3] >= 12 && g6.video_frames[&2] >= 14);
    assert!(!a.got[&6].video_frames.contains_key(&3));
    let all = a.add(b).add(c);
    for g in all.got.values() {
        assert!(!g.video_frames.contains_key(&4) && !g.video_frames.contains_key(&5));
    }
    all.check_counts(&m);
    all.check_whole(|ssrc| if ssrc % 10 == 1 { 1 } else { 3 });
}

/// The speaker changes every 120 ms, round the table, so rankings keep landing in the middle
/// of multi-packet video frames.
fn rotating(p: u32, t: u64) -> u8 {
    let speaker = 1 + u32::try_from((t / 120) % 6).unwrap();
    if p == speaker { 20 } else { 127 }
}

#[test]
fn every_forwarded_frame_arrives_whole_across_switches() {
    let mut m = meeting(ForwardingConfig::speakers(1, 2, LEVEL_ID), &IDS);
    let e = run(&mut m, 0..150, 6000, rotating);
    let g6 = &e.got[&6];
    assert!(
        g6.video_frames.len() == 5,
        "every other speaker's video reached 6: {:?}",
        g6.video_frames
    );
    let s6 = m.sfu.forwarding_stats(6).unwrap();
    assert!(s6.held_not_recent_speaker.frames > 100 && s6.video_forwarded.frames > 100);
    assert!(
        s6.held_not_loudest.frames > 300 && s6.audio_forwarded.frames > 50,
        "{s6:?}"
    );
    e.check_counts(&m);
    e.check_whole(|ssrc| if ssrc % 10 == 1 { 1 } else { 6 });
    for r in m.receivers.values_mut() {
        r.flush();
        let s = r.reassembly_stats();
        assert_eq!((s.lost_packets, s.incomplete_frames, s.resyncs), (0, 0, 0));
    }
}

#[test]
fn forward_all_forwards_everything_and_counts_it() {
    let mut m = meeting(ForwardingConfig::forward_all(), &IDS);
    let e = run(&mut m, 0..20, 3000, rotating);
    for &r in &IDS {
        let s = m.sfu.forwarding_stats(r).unwrap();
        assert_eq!(s.audio_forwarded.frames, 5 * 20);
        assert_eq!(s.video_forwarded.frames, 5 * 10);
        assert_eq!(s.video_forwarded.packets, 5 * 10 * 3);
        assert_eq!(s.held_not_loudest, Default::default());
        assert_eq!(s.held_not_recent_speaker, Default::default());
    }
    e.check_counts(&m);
    e.check_whole(|ssrc| if ssrc % 10 == 1 { 1 } else { 3 });
}

/// Upstream pause: the SFU tells each sender whether anyone is forwarded its video. Every
/// change comes once (a source's demands alternate), and after any stretch of the meeting the
/// sources the demands call wanted are exactly the video of the current selection.
#[test]
fn demand_pauses_exactly_the_video_nobody_is_forwarded() {
    let mut m = meeting(ForwardingConfig::speakers(1, 2, LEVEL_ID), &IDS);
    // Declared before anyone spoke: every video source is paused, no audio source ever is.
    let mut wanted: BTreeMap<u32, bool> = BTreeMap::new();
    let mut changes = 0;
    let drain = |sfu: &mut Sfu, wanted: &mut BTreeMap<u32, bool>, changes: &mut u32| {
        while let Some(d) = sfu.poll_demand() {
            assert_eq!(d.ssrc, video(d.participant), "only video is paused: {d:?}");
            let before = wanted.insert(d.ssrc, d.wanted).unwrap_or(true);
            assert_ne!(before, d.wanted, "a demand repeated: {d:?}");
            *changes += 1;
        }
    };
    drain(&mut m.sfu, &mut wanted, &mut changes);
    assert_eq!(changes, 6);
    assert!(wanted.values().all(|w| !w));
    for chunk in 0..15 {
        run(&mut m, chunk * 10..chunk * 10 + 10, 3000, rotating);
        drain(&mut m.sfu, &mut wanted, &mut changes);
        let selected: BTreeSet<u32> = m.sfu.video_selection().iter().map(|&p| video(p)).collect();
        let resumed: BTreeSet<u32> = wanted
            .iter()
            .filter(|(_, w)| **w)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(resumed, selected, "after step {}", chunk * 10 + 10);
    }
    // The speaker rotated every 120 ms: sources were paused and resumed many times.
    assert!(changes > 20, "{changes}");

    // A participant who leaves takes its queued demands with it.
    m.sfu.handle_timeout(Duration::from_secs(100));
    m.sfu.remove_participant(6);
    while let Some(d) = m.sfu.poll_demand() {
        assert_ne!(d.participant, 6);
    }
}

#[test]
fn forwarding_everything_pauses_nothing() {
    let mut m = meeting(ForwardingConfig::forward_all(), &IDS);
    run(&mut m, 0..40, 3000, rotating);
    assert_eq!(m.sfu.poll_demand(), None);
    // Audio limited, video not: still nothing to pause.
    let mut m = meeting(
        ForwardingConfig {
            video_last_n: None,
            ..ForwardingConfig::speakers(1, 2, LEVEL_ID)
        },
        &IDS,
    );
    run(&mut m, 0..40, 3000, rotating);
    assert_eq!(m.sfu.poll_demand(), None);
}
