//! The meeting: 3 participants each send 30 s of audio (50 frames/s, 160 B) and video
//! (30 frames/s, a 50 KB key frame every 3 s, 1.2-10 KB otherwise) through
//! SFrame -> RTP -> SRTP -> link -> SFU -> SRTP -> link -> the two other participants, on
//! links with 5% loss, 2% reordering and 1% duplication (simulated clock, fixed seeds), in
//! both SFrame modes and both SRTP profiles.
//!
//! Every count is checked exactly against the links' own ledgers: a frame is expected at a
//! receiver if and only if every one of its packets crossed both links at least once; those
//! decrypt exactly once and byte for byte, the others are counted as incomplete (if some of
//! their packets arrived) or never seen; every extra copy is refused by SRTP's replay check,
//! at the SFU or at the receiver; and a replayed SRTP packet is refused afterwards.
//!
//! In debug builds (`cargo test` without `--release`) video frames are a quarter of those sizes
//! (key frames 12.5 KB, others 300 B-2.5 KB), so that the four runs stay within a minute on a
//! shared 2-core machine: webrtc-srtp's RustCrypto AES is unoptimised there. Release builds
//! use the full sizes.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use sframe_rtp::{
    Codec, Error, FrameMetadata, Mode, Sfu,
    SrtpError, SrtpProfile, SrtpContext,
};

const SECONDS: u64 = 30;
const PARTICIPANTS: [u32; 3] = [1, 2, 3];
const VIDEO_SCALE: usize = if cfg!(debug_assertions) { 4 } else { 1 };

fn audio_ssrc(p: u32) -> u32 {
    0x1000 * p + 1
}

fn video_ssrc(p: u32) -> u32 {
    0x1000 * p + 2
}

/// A frame sent, as the sender knows it.
struct SentFrame {
    data: Vec<u8>,
    /// (SSRC, seq) of its packets.
    packets: Vec<(u32, u16)>,
}

struct Participant {
    sender: Tx,
    receiver: Rx,
    rng: Rng,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    complete: u64,
    partial: u64,
    invisible: u64,
    lost_packets: u64,
}

fn run(mode: Mode, profile: SrtpProfile) {
    let mut sfu = Sfu::new();
    let mut parts: HashMap<u32, Participant> = HashMap::new();
    let mut uplinks: HashMap<u32, Link> = HashMap::new();
    let mut downlinks: HashMap<u32, Link> = HashMap::new();
    for &p in &PARTICIPANTS {
        let up = srtp_keys(profile, u64::from(p) * 2);
        let down = srtp_keys(profile, u64::from(p) * 2 + 1);
        let mut sender = media_sender(mode, KeyMode::Shared, u64::from(p), &up);
        // Video of participant 1 starts just before the sequence number wraps.
        let video_first_seq = if p == 1 { 65_000 } else { 1000 * p as u16 };
        sender
            .add_stream(audio_ssrc(p), 100 * p as u16, Some(Codec::Opus))
            .unwrap();
        sender
            .add_stream(video_ssrc(p), video_first_seq, Some(Codec::Vp8))
            .unwrap();
        let mut receiver = media_receiver(KeyMode::Shared, &down);
        for &q in PARTICIPANTS.iter().filter(|q| **q != p) {
            receiver.add_stream(audio_ssrc(q));
            receiver.add_stream(video_ssrc(q));
            receiver.add_key(u64::from(q), &sframe_base_key(q)).unwrap();
        }
        sfu.add_participant(
            p,
            Box::new(SrtpContext::receiver(&up, 1024).unwrap()),
            Box::new(SrtpContext::sender(&down).unwrap()),
            &[audio_ssrc(p), video_ssrc(p)],
        )
        .unwrap();
        parts.insert(
            p,
            Participant {
                sender,
                receiver,
                rng: Rng::new(1000 + u64::from(p)),
            },
        );
        uplinks.insert(p, Link::new(LOSSY, 10 + u64::from(p)));
        downlinks.insert(p, Link::new(LOSSY, 20 + u64::from(p)));
    }

    let mut sent: HashMap<(u32, u32), SentFrame> = HashMap::new(); // (SSRC, timestamp)
    let mut order: HashMap<u32, Vec<u16>> = HashMap::new(); // sequence numbers as sent
    let mut delivered: HashMap<u32, HashSet<(u32, u32)>> = HashMap::new();
    let mut first_uplink_packet: Option<(u32, Vec<u8>)> = None;
    let mut first_downlink_packet: Option<(u32, Vec<u8>)> = None;
    let mut sfu_refused = 0u64;
    let end_us = SECONDS * 1_000_000;
    let mut now = 0u64;
    let mut out = Vec::new();
    loop {
        if now < end_us {
            for &p in &PARTICIPANTS {
                let part = parts.get_mut(&p).unwrap();
                let mut frames = vec![];
                if now.is_multiple_of(20_000) {
                    let k = now / 20_000;
                    frames.push((audio_ssrc(p), AUDIO_PT, (k * 960) as u32, 160, false));
                }
                // Frame k of video is due at floor(k * 100 / 3) ms.
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
                    let mut data = vec![0; size];
                    part.rng.fill(&mut data);
                    let meta = FrameMetadata {
                        payload_type: pt,
                        timestamp: ts,
                        marker,
                        ..FrameMetadata::default()
                    };
                    out.clear();
                    part.sender
                        .send_frame(ssrc, &data, &meta, &mut out)
                        .unwrap();
                    let packets: Vec<(u32, u16)> = out
                        .iter()
                        .map(|w| (ssrc, u16::from_be_bytes([w[2], w[3]])))
                        .collect();
                    order
                        .entry(ssrc)
                        .or_default()
                        .extend(packets.iter().map(|(_, q)| *q));
                    sent.insert((ssrc, ts), SentFrame { data, packets });
                    for w in out.drain(..) {
                        if first_uplink_packet.is_none() {
                            first_uplink_packet = Some((p, w.clone()));
                        }
                        uplinks.get_mut(&p).unwrap().send(now, w);
                    }
                }
            }
        }
        for &p in &PARTICIPANTS {
            for w in uplinks.get_mut(&p).unwrap().poll(now) {
                match sfu.receive(p, &w) {
                    Ok(fwd) => {
                        for (to, packet) in fwd.out {
                            if first_downlink_packet.is_none() {
                                first_downlink_packet = Some((to, packet.clone()));
                            }
                            downlinks.get_mut(&to).unwrap().send(now, packet);
                        }
                    }
                    Err(Error::Srtp(SrtpError::Replay { .. })) => sfu_refused += 1,
                    Err(e) => panic!("SFU: {e}"),
                }
            }
        }
        for &p in &PARTICIPANTS {
            let link = downlinks.get_mut(&p).unwrap();
            let receiver = &mut parts.get_mut(&p).unwrap().receiver;
            for w in link.poll(now) {
                match receiver.receive(&w) {
                    Ok(Some(Received::Frame(f) | Received::Assembled(f))) => {
                        let key = (f.ssrc, f.timestamp);
                        let original = &sent[&key];
                        assert_eq!(&f.data[..], &original.data[..], "frame {key:?} intact");
                        assert!(
                            delivered.entry(p).or_default().insert(key),
                            "frame {key:?} delivered twice to {p}"
                        );
                    }
                    Ok(Some(Received::Payload(_))) => panic!("VP8 and Opus are assembled"),
                    Ok(None) => {}
                    Err(Error::Srtp(SrtpError::Replay { .. })) => {}
                    Err(e) => panic!("receiver {p}: {e}"),
                }
            }
        }
        if now >= end_us
            && uplinks.values().all(Link::is_empty)
            && downlinks.values().all(Link::is_empty)
        {
            break;
        }
        now += 1000;
    }

    // The ledgers' view, for each receiver.
    let uplink_extra: u64 = uplinks.values().map(|l| l.ledger.extra_copies()).sum();
    assert_eq!(sfu.stats().srtp_replays, uplink_extra);
    assert_eq!(sfu_refused, uplink_extra);
    assert!(uplink_extra > 0, "the links did duplicate packets");
    let reordered: u64 = uplinks
        .values()
        .chain(downlinks.values())
        .map(|l| l.ledger.reordered)
        .sum();
    assert!(reordered > 0, "the links did reorder packets");
    let mut frames_sent = 0;
    for &r in &PARTICIPANTS {
        let receiver = &mut parts.get_mut(&r).unwrap().receiver;
        receiver.flush();
        let down = &downlinks[&r].ledger;
        let mut exp = Expected::default();
        let mut expected_set = HashSet::new();
        for (&(ssrc, ts), frame) in &sent {
            let from = ssrc / 0x1000;
            if from == r {
                continue;
            }
            frames_sent += 1;
            let up = &uplinks[&from].ledger;
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
        for (&ssrc, seqs) in &order {
            if ssrc / 0x1000 == r {
                continue;
            }
            let up = &uplinks[&(ssrc / 0x1000)].ledger;
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
        let stats = receiver.stats();
        let got = delivered.remove(&r).unwrap_or_default();
        assert_eq!(
            got, expected_set,
            "receiver {r}: exactly the complete frames"
        );
        assert_eq!(stats.frames, exp.complete, "receiver {r}");
        assert_eq!(
            stats.srtp_replays,
            down.extra_copies(),
            "receiver {r}: replays"
        );
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
    }
    assert_eq!(frames_sent, 2 * sent.len() as u64);

    // A replayed SRTP packet is refused, at the SFU and at a receiver.
    let (p, packet) = first_uplink_packet.unwrap();
    assert!(matches!(
        sfu.receive(p, &packet),
        Err(Error::Srtp(SrtpError::Replay { .. }))
    ));
    let (r, packet) = first_downlink_packet.unwrap();
    let receiver = &mut parts.get_mut(&r).unwrap().receiver;
    let before = receiver.stats();
    assert!(matches!(
        receiver.receive(&packet),
        Err(Error::Srtp(SrtpError::Replay { .. }))
    ));
    assert_eq!(receiver.stats().srtp_replays, before.srtp_replays + 1);
    assert_eq!(receiver.stats().frames, before.frames);
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
