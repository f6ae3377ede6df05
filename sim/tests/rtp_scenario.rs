//! An RTP meeting with static SFrame keys: 3 participants each send 30 s of audio (50
//! frames/s, 160 B) and video (30 frames/s, a 50 KB key frame every 3 s, 1.2-10 KB otherwise)
//! through SFrame -> RTP -> SRTP -> link -> SFU -> SRTP -> link -> the two other participants,
//! on links with 5% loss, 2% reordering and 1% duplication (the simulator's [`Link`] and
//! [`Schedule`], fixed seeds), in both SFrame modes and both SRTP profiles.
//!
//! Every count is checked exactly against what the links did to each packet (every copy each
//! delivered, recorded from its [`Transit`]): a frame is expected at a receiver if and only if
//! every one of its packets crossed both links at least once; those decrypt exactly once and
//! byte for byte, the others are counted as incomplete (if some of their packets arrived) or
//! never seen; every extra copy is refused by SRTP's replay check, at the SFU or at the
//! receiver; and a replayed SRTP packet is refused afterwards.
//!
//! In debug builds (`cargo test` without `--release`) video frames are a quarter of those sizes
//! (key frames 12.5 KB, others 300 B-2.5 KB), so that the four runs stay within a minute on a
//! shared 2-core machine: webrtc-srtp's RustCrypto AES is unoptimised there. Release builds
//! use the full sizes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use std::time::Duration;

use sframe_core::{CipherSuite, StaticKeys};
use sframe_rtp::{
    Codec, DepacketizerConfig, FrameDrop, FrameKind, FrameMetadata, MediaReceiver,
    MediaReceiverConfig, MediaSender, MediaSenderConfig, Mode, ReceiveOutput,
    SframeRtpError as Error, Sfu, SrtpContext, SrtpError, SrtpKeys, SrtpProfile,
};
use sframe_sim::{Link, LinkConfig, Rng, Schedule, Transit};

const SECONDS: u64 = 30;
const PARTICIPANTS: [u32; 3] = [1, 2, 3];
const VIDEO_SCALE: usize = if cfg!(debug_assertions) { 4 } else { 1 };
const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const MTU: usize = 1200;
const VIDEO_PT: u8 = 96;
const AUDIO_PT: u8 = 111;

/// 5% loss, 2% reordering, 1% duplication, 20 ms + up to 50 us of jitter (below a stream's
/// packet spacing, so reordering comes from `reorder` alone).
const LOSSY: LinkConfig = LinkConfig {
    loss: 0.05,
    reorder: 0.02,
    duplicate: 0.01,
    delay_us: 20_000,
    jitter_us: 50,
    reorder_min_us: 5_000,
    reorder_max_us: 40_000,
};

fn audio_ssrc(p: u32) -> u32 {
    0x1000 * p + 1
}

fn video_ssrc(p: u32) -> u32 {
    0x1000 * p + 2
}

fn srtp_keys(profile: SrtpProfile, seed: u64) -> SrtpKeys {
    let mut rng = Rng::new(seed);
    let mut master_key = vec![0; profile.key_len()];
    let mut master_salt = vec![0; profile.salt_len()];
    rng.fill(&mut master_key);
    rng.fill(&mut master_salt);
    SrtpKeys {
        profile,
        master_key,
        master_salt,
    }
}

fn sframe_base_key(participant: u32) -> Vec<u8> {
    format!("SFrame base key of participant {participant} ----").into_bytes()
}

fn media_sender(mode: Mode, keys: &SrtpKeys) -> MediaSender {
    let srtp = SrtpContext::sender(keys).unwrap();
    MediaSender::new(MediaSenderConfig { mode, mtu: MTU }, Box::new(srtp))
}

fn media_receiver(keys: &SrtpKeys) -> MediaReceiver<StaticKeys> {
    let cfg = MediaReceiverConfig {
        depacketizer: DepacketizerConfig::default(),
        codecs: vec![(VIDEO_PT, Codec::Vp8), (AUDIO_PT, Codec::Opus)],
    };
    MediaReceiver::new(cfg, Box::new(SrtpContext::receiver(keys, 1024).unwrap()))
}

fn ssrc_seq(packet: &[u8]) -> (u32, u16) {
    let seq = u16::from_be_bytes([packet[2], packet[3]]);
    let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
    (ssrc, seq)
}

/// A simulated link, and the copies of each packet (by clear SSRC and sequence number) it
/// delivered.
struct Wire {
    link: Link,
    copies: HashMap<(u32, u16), u32>,
}

impl Wire {
    fn new(seed: u64) -> Self {
        Self {
            link: Link::new(LOSSY, seed),
            copies: HashMap::new(),
        }
    }

    /// `packet` enters the link at `now`; returns what became of it.
    fn transmit(&mut self, now: u64, packet: &[u8]) -> Transit {
        let transit = self.link.transmit_bytes(now, packet.len());
        *self.copies.entry(ssrc_seq(packet)).or_insert(0) += transit.arrivals().count() as u32;
        transit
    }

    fn delivered(&self, ssrc: u32, seq: u16) -> u32 {
        self.copies.get(&(ssrc, seq)).copied().unwrap_or(0)
    }

    /// Extra copies: what SRTP replay protection must refuse.
    fn extra_copies(&self) -> u64 {
        self.copies
            .values()
            .map(|&c| u64::from(c.saturating_sub(1)))
            .sum()
    }
}

/// A frame sent, as the sender knows it.
struct SentFrame {
    data: Vec<u8>,
    /// (SSRC, seq) of its packets.
    packets: Vec<(u32, u16)>,
}

/// A frame as a receiver got it: its (SSRC, timestamp) and plaintext.
type Delivered = ((u32, u32), Vec<u8>);

/// One participant: `sframe-rtp`'s pipeline keyed statically (its own SFrame key under KID
/// `p`, the others' keys to receive).
struct Participant {
    keys: StaticKeys,
    sender: MediaSender,
    receiver: MediaReceiver<StaticKeys>,
    rng: Rng,
}

impl Participant {
    /// Seals, packetizes and protects one frame; its SRTP packets.
    fn send(&mut self, ssrc: u32, data: &[u8], meta: &FrameMetadata) -> Vec<Vec<u8>> {
        self.sender
            .send_frame(&mut self.keys, ssrc, data, meta)
            .unwrap();
        let (mut buf, mut out) = (vec![0; MTU], Vec::new());
        while let Some(t) = self.sender.poll_transmit(&mut buf).unwrap() {
            out.push(buf[..t.len].to_vec());
        }
        out
    }

    /// One SRTP packet in; the (SSRC, timestamp) and plaintext of the frame it completed.
    fn receive(&mut self, w: &[u8]) -> Result<Option<Delivered>, Error> {
        let mut w = w.to_vec();
        self.receiver
            .handle_packet(&mut self.keys, Duration::ZERO, &mut w)?;
        let mut got = None;
        while let Some(out) = self.receiver.poll_output(&mut self.keys) {
            match out {
                ReceiveOutput::Frame(f) => {
                    assert_ne!(f.kind, FrameKind::Payload, "VP8 and Opus are assembled");
                    got = Some(((f.place.ssrc, f.place.timestamp), f.data.to_vec()));
                }
                ReceiveOutput::Dropped(d) => match d.cause {
                    FrameDrop::KeySource(e) => return Err(e.into()),
                    FrameDrop::Codec => return Err(Error::CodecPayload),
                },
                ReceiveOutput::KeySource(never) => match never {},
            }
        }
        Ok(got)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    complete: u64,
    partial: u64,
    invisible: u64,
    lost_packets: u64,
}

enum Ev {
    /// Every participant sends what is due this millisecond.
    Tick,
    AtSfu {
        from: u32,
        packet: Vec<u8>,
    },
    AtReceiver {
        to: u32,
        packet: Vec<u8>,
    },
}

/// The meeting's state: the parties, the links, and what was sent and delivered.
struct Run {
    sfu: Sfu,
    parts: HashMap<u32, Participant>,
    uplinks: HashMap<u32, Wire>,
    downlinks: HashMap<u32, Wire>,
    schedule: Schedule<Ev>,
    /// By (SSRC, timestamp).
    sent: HashMap<(u32, u32), SentFrame>,
    /// Sequence numbers as sent, per SSRC.
    order: HashMap<u32, Vec<u16>>,
    delivered: HashMap<u32, HashSet<(u32, u32)>>,
    first_uplink_packet: Option<(u32, Vec<u8>)>,
    first_downlink_packet: Option<(u32, Vec<u8>)>,
    sfu_refused: u64,
}

impl Run {
    fn new(mode: Mode, profile: SrtpProfile) -> Self {
        let mut run = Run {
            sfu: Sfu::new(),
            parts: HashMap::new(),
            uplinks: HashMap::new(),
            downlinks: HashMap::new(),
            schedule: Schedule::new(),
            sent: HashMap::new(),
            order: HashMap::new(),
            delivered: HashMap::new(),
            first_uplink_packet: None,
            first_downlink_packet: None,
            sfu_refused: 0,
        };
        for &p in &PARTICIPANTS {
            run.add(p, mode, profile);
        }
        run
    }

    fn add(&mut self, p: u32, mode: Mode, profile: SrtpProfile) {
        let up = srtp_keys(profile, u64::from(p) * 2);
        let down = srtp_keys(profile, u64::from(p) * 2 + 1);
        let mut sender = media_sender(mode, &up);
        let mut keys = StaticKeys::new(SUITE);
        keys.sender
            .add_key(u64::from(p), &sframe_base_key(p))
            .unwrap();
        // Video of participant 1 starts just before the sequence number wraps.
        let video_first_seq = if p == 1 { 65_000 } else { 1000 * p as u16 };
        sender
            .add_stream(
                audio_ssrc(p),
                100 * p as u16,
                u64::from(p),
                Some(Codec::Opus),
            )
            .unwrap();
        sender
            .add_stream(
                video_ssrc(p),
                video_first_seq,
                u64::from(p),
                Some(Codec::Vp8),
            )
            .unwrap();
        let mut receiver = media_receiver(&down);
        for &q in PARTICIPANTS.iter().filter(|q| **q != p) {
            receiver.add_stream(audio_ssrc(q));
            receiver.add_stream(video_ssrc(q));
            keys.receiver
                .add_key(u64::from(q), &sframe_base_key(q))
                .unwrap();
        }
        self.sfu
            .add_participant(
                p,
                Box::new(SrtpContext::receiver(&up, 1024).unwrap()),
                Box::new(SrtpContext::sender(&down).unwrap()),
                &[audio_ssrc(p), video_ssrc(p)],
            )
            .unwrap();
        let rng = Rng::new(1000 + u64::from(p));
        let part = Participant {
            keys,
            sender,
            receiver,
            rng,
        };
        self.parts.insert(p, part);
        self.uplinks.insert(p, Wire::new(10 + u64::from(p)));
        self.downlinks.insert(p, Wire::new(20 + u64::from(p)));
    }

    fn go(&mut self) {
        self.schedule.at(0, Ev::Tick);
        while let Some((now, ev)) = self.schedule.pop() {
            match ev {
                Ev::Tick => {
                    for &p in &PARTICIPANTS {
                        self.send_due(p, now);
                    }
                    if now + 1000 < SECONDS * 1_000_000 {
                        self.schedule.at(now + 1000, Ev::Tick);
                    }
                }
                Ev::AtSfu { from, packet } => self.at_sfu(from, &packet, now),
                Ev::AtReceiver { to, packet } => self.at_receiver(to, &packet),
            }
        }
    }

    /// The frames `p` sends at `now`: audio every 20 ms, video frame k at floor(k * 100 / 3) ms.
    fn send_due(&mut self, p: u32, now: u64) {
        let part = self.parts.get_mut(&p).unwrap();
        let mut frames = vec![];
        if now.is_multiple_of(20_000) {
            let k = now / 20_000;
            frames.push((audio_ssrc(p), AUDIO_PT, (k * 960) as u32, 160, false));
        }
        let k = (now / 1000 * 3).div_ceil(100);
        if k * 100 / 3 == now / 1000 && now.is_multiple_of(1000) {
            let size = if k.is_multiple_of(90) {
                50_000
            } else {
                1200 + part.rng.below(8800) as usize
            } / VIDEO_SCALE;
            frames.push((video_ssrc(p), VIDEO_PT, (k * 3000) as u32, size, true));
        }
        for (ssrc, pt, ts, size, marker) in frames {
            self.send_frame(p, now, (ssrc, pt, ts, size, marker));
        }
    }

    fn send_frame(
        &mut self,
        p: u32,
        now: u64,
        (ssrc, pt, ts, size, marker): (u32, u8, u32, usize, bool),
    ) {
        let part = self.parts.get_mut(&p).unwrap();
        let mut data = vec![0; size];
        part.rng.fill(&mut data);
        let meta = FrameMetadata {
            payload_type: pt,
            timestamp: ts,
            marker,
            ..FrameMetadata::default()
        };
        let out = part.send(ssrc, &data, &meta);
        let packets: Vec<(u32, u16)> = out.iter().map(|w| ssrc_seq(w)).collect();
        self.order
            .entry(ssrc)
            .or_default()
            .extend(packets.iter().map(|(_, q)| *q));
        self.sent.insert((ssrc, ts), SentFrame { data, packets });
        for w in out {
            if self.first_uplink_packet.is_none() {
                self.first_uplink_packet = Some((p, w.clone()));
            }
            let transit = self.uplinks.get_mut(&p).unwrap().transmit(now, &w);
            for at in transit.arrivals() {
                let packet = w.clone();
                self.schedule.at(at, Ev::AtSfu { from: p, packet });
            }
        }
    }

    fn at_sfu(&mut self, from: u32, w: &[u8], now: u64) {
        match self.sfu.receive(from, w) {
            Ok(fwd) => {
                for (to, packet) in fwd.out {
                    if self.first_downlink_packet.is_none() {
                        self.first_downlink_packet = Some((to, packet.clone()));
                    }
                    let transit = self.downlinks.get_mut(&to).unwrap().transmit(now, &packet);
                    for at in transit.arrivals() {
                        let packet = packet.clone();
                        self.schedule.at(at, Ev::AtReceiver { to, packet });
                    }
                }
            }
            Err(Error::Srtp(SrtpError::Replay { .. })) => self.sfu_refused += 1,
            Err(e) => panic!("SFU: {e}"),
        }
    }

    fn at_receiver(&mut self, p: u32, w: &[u8]) {
        let part = self.parts.get_mut(&p).unwrap();
        match part.receive(w) {
            Ok(Some((key, data))) => {
                let original = &self.sent[&key];
                assert_eq!(&data[..], &original.data[..], "frame {key:?} intact");
                assert!(
                    self.delivered.entry(p).or_default().insert(key),
                    "frame {key:?} delivered twice to {p}"
                );
            }
            Ok(None) => {}
            Err(Error::Srtp(SrtpError::Replay { .. })) => {}
            Err(e) => panic!("receiver {p}: {e}"),
        }
    }

    /// What the links' records say receiver `r` should have got.
    fn expected(&self, r: u32) -> (Expected, HashSet<(u32, u32)>) {
        let down = &self.downlinks[&r];
        let mut exp = Expected::default();
        let mut expected_set = HashSet::new();
        for (&(ssrc, ts), frame) in &self.sent {
            let from = ssrc / 0x1000;
            if from == r {
                continue;
            }
            let up = &self.uplinks[&from];
            let arrived: Vec<bool> = frame
                .packets
                .iter()
                .map(|&(s, q)| up.delivered(s, q) > 0 && down.delivered(s, q) > 0)
                .collect();
            match arrived.iter().filter(|a| **a).count() {
                n if n == arrived.len() => {
                    exp.complete += 1;
                    expected_set.insert((ssrc, ts));
                }
                0 => exp.invisible += 1,
                _ => exp.partial += 1,
            }
        }
        // Packets lost between the first and the last one that arrived, per SSRC, in the
        // order they were sent.
        for (&ssrc, seqs) in &self.order {
            if ssrc / 0x1000 == r {
                continue;
            }
            let up = &self.uplinks[&(ssrc / 0x1000)];
            let arrived: Vec<bool> = seqs
                .iter()
                .map(|&q| up.delivered(ssrc, q) > 0 && down.delivered(ssrc, q) > 0)
                .collect();
            let first = arrived.iter().position(|a| *a);
            let last = arrived.iter().rposition(|a| *a);
            if let (Some(f), Some(l)) = (first, last) {
                exp.lost_packets += arrived[f..=l].iter().filter(|a| !**a).count() as u64;
            }
        }
        (exp, expected_set)
    }

    /// Checks receiver `r` against the links' records; returns the frames others sent it.
    fn check_receiver(&mut self, r: u32, mode: Mode, profile: SrtpProfile) -> u64 {
        let (exp, expected_set) = self.expected(r);
        let frames_sent = exp.complete + exp.partial + exp.invisible;
        let down_extra = self.downlinks[&r].extra_copies();
        let got = self.delivered.remove(&r).unwrap_or_default();
        let receiver = &mut self.parts.get_mut(&r).unwrap().receiver;
        receiver.flush();
        let stats = receiver.stats();
        assert_eq!(
            got, expected_set,
            "receiver {r}: exactly the complete frames"
        );
        assert_eq!(stats.frames, exp.complete, "receiver {r}");
        assert_eq!(stats.srtp_replays, down_extra, "receiver {r}: replays");
        assert_eq!(
            stats.srtp_auth_failures + stats.sframe_failures + stats.malformed_rtp,
            0
        );
        let reassembly = receiver.reassembly_stats();
        assert_eq!(reassembly.duplicates, 0, "SRTP caught every copy first");
        assert_eq!(
            reassembly.late, 0,
            "the window is wider than any reordering"
        );
        assert_eq!(
            reassembly.lost_packets, exp.lost_packets,
            "receiver {r}: packet loss"
        );
        let incomplete = match mode {
            Mode::PerFrame => reassembly.incomplete_frames,
            Mode::PerPacket => {
                assert_eq!(
                    reassembly.incomplete_frames, 0,
                    "one SFrame frame per packet"
                );
                receiver.media_assembly_stats().incomplete_frames
            }
        };
        assert_eq!(incomplete, exp.partial, "receiver {r}: incomplete frames");
        assert!(
            exp.partial > 0 && exp.invisible > 0 && exp.complete > 0,
            "{exp:?}"
        );
        eprintln!("{mode:?} {profile:?} receiver {r}: {exp:?}, {stats:?}");
        frames_sent
    }

    /// A replayed SRTP packet is refused, at the SFU and at a receiver.
    fn check_replays_refused(&mut self) {
        let (p, packet) = self.first_uplink_packet.take().unwrap();
        assert!(matches!(
            self.sfu.receive(p, &packet),
            Err(Error::Srtp(SrtpError::Replay { .. }))
        ));
        let (r, packet) = self.first_downlink_packet.take().unwrap();
        let part = self.parts.get_mut(&r).unwrap();
        let before = part.receiver.stats();
        assert!(matches!(
            part.receive(&packet),
            Err(Error::Srtp(SrtpError::Replay { .. }))
        ));
        assert_eq!(part.receiver.stats().srtp_replays, before.srtp_replays + 1);
        assert_eq!(part.receiver.stats().frames, before.frames);
    }
}

fn run(mode: Mode, profile: SrtpProfile) {
    let mut run = Run::new(mode, profile);
    run.go();

    // The links' view, for each receiver.
    let uplink_extra: u64 = run.uplinks.values().map(Wire::extra_copies).sum();
    assert_eq!(run.sfu.stats().srtp_replays, uplink_extra);
    assert_eq!(run.sfu_refused, uplink_extra);
    assert!(uplink_extra > 0, "the links did duplicate packets");
    let reordered: u64 = run
        .uplinks
        .values()
        .chain(run.downlinks.values())
        .map(|w| w.link.stats().reordered)
        .sum();
    assert!(reordered > 0, "the links did reorder packets");
    let mut frames_sent = 0;
    for &r in &PARTICIPANTS {
        frames_sent += run.check_receiver(r, mode, profile);
    }
    assert_eq!(frames_sent, 2 * run.sent.len() as u64);
    run.check_replays_refused();
}

#[test]
fn meeting_per_frame_aes_cm_hmac_sha1_80() {
    run(Mode::PerFrame, SrtpProfile::Aes128CmHmacSha1_80);
}

#[test]
fn meeting_per_frame_aead_aes_128_gcm() {
    run(Mode::PerFrame, SrtpProfile::AeadAes128Gcm);
}

#[test]
fn meeting_per_packet_aes_cm_hmac_sha1_80() {
    run(Mode::PerPacket, SrtpProfile::Aes128CmHmacSha1_80);
}

#[test]
fn meeting_per_packet_aead_aes_128_gcm() {
    run(Mode::PerPacket, SrtpProfile::AeadAes128Gcm);
}
