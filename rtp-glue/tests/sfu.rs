//! The SFU: it reads headers and the SFrame KID/CTR, never the media; it forwards to everyone
//! else under each leg's own SRTP key; it switches a slot's source on a frame boundary with
//! continuous numbering.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sframe_rtp::{
    Codec, Error, FrameMetadata, Mode, Sfu,
    SrtpContext, SrtpError, SrtpProfile,
};

const MAGIC: &[u8] = b"\xa5PLAINTEXT-MEDIA\x5a";

/// A media frame whose plaintext carries `MAGIC` every 256 bytes, so that any fragment of it
/// the SFU might hold would show.
fn marked_frame(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut f = vec![0; len];
    rng.fill(&mut f);
    let mut at = 0;
    while at + MAGIC.len() <= len {
        f[at..at + MAGIC.len()].copy_from_slice(MAGIC);
        at += 256;
    }
    f
}

struct Meeting {
    sfu: Sfu,
    senders: Vec<(u32, Tx)>,
    receivers: Vec<(u32, Rx)>,
}

fn meeting(mode: Mode, profile: SrtpProfile, ids: &[u32]) -> Meeting {
    let mut sfu = Sfu::new();
    let mut senders = vec![];
    let mut receivers = vec![];
    for &p in ids {
        let up = srtp_keys(profile, 100 + u64::from(p));
        let down = srtp_keys(profile, 200 + u64::from(p));
        let mut s = media_sender(mode, KeyMode::Shared, u64::from(p), &up);
        s.add_stream(p * 10 + 1, 0, Some(Codec::Opus)).unwrap();
        s.add_stream(p * 10 + 2, 40_000, Some(Codec::Vp8)).unwrap();
        let mut r = media_receiver(KeyMode::Shared, &down);
        for &q in ids.iter().filter(|q| **q != p) {
            r.add_stream(q * 10 + 1);
            r.add_stream(q * 10 + 2);
            r.add_key(u64::from(q), &sframe_base_key(q)).unwrap();
        }
        sfu.add_participant(
            p,
            Box::new(SrtpContext::receiver(&up, 512).unwrap()),
            Box::new(SrtpContext::sender(&down).unwrap()),
            &[p * 10 + 1, p * 10 + 2],
        )
        .unwrap();
        senders.push((p, s));
        receivers.push((p, r));
    }
    Meeting {
        sfu,
        senders,
        receivers,
    }
}

#[test]
fn sfu_never_holds_plaintext_and_reads_kid_and_ctr() {
    for mode in [Mode::PerFrame, Mode::PerPacket] {
        for profile in SrtpProfile::ALL {
            let mut m = meeting(mode, profile, &[1, 2, 3]);
            let mut rng = Rng::new(3);
            // Everything the SFU is handed, holds after SRTP, and sends.
            let mut sfu_saw: Vec<Vec<u8>> = vec![];
            let mut delivered = 0;
            let mut magic_at_receivers = 0;
            let mut kids_read = std::collections::HashSet::new();
            for k in 0..60u32 {
                for (p, sender) in &mut m.senders {
                    let p = *p;
                    let (ssrc, pt, len) = if k % 2 == 0 {
                        (p * 10 + 2, VIDEO_PT, 600 + 97 * k as usize)
                    } else {
                        (p * 10 + 1, AUDIO_PT, 160)
                    };
                    let frame = marked_frame(&mut rng, len);
                    let meta = FrameMetadata {
                        payload_type: pt,
                        timestamp: k * 3000,
                        marker: pt == VIDEO_PT,
                        ..FrameMetadata::default()
                    };
                    let mut wire = vec![];
                    sender.send_frame(ssrc, &frame, &meta, &mut wire).unwrap();
                    for w in wire {
                        sfu_saw.push(w.clone());
                        let fwd = m.sfu.receive(p, &w).unwrap();
                        assert_eq!(fwd.info.ssrc, ssrc);
                        assert_eq!(fwd.info.payload_type, pt);
                        if let Some(h) = fwd.info.sframe {
                            assert_eq!(h.kid, u64::from(p), "the SFU reads the KID");
                            kids_read.insert(h.kid);
                        }
                        assert_eq!(fwd.out.len(), 2, "to everyone else");
                        sfu_saw.push(fwd.seen.to_vec());
                        for (to, packet) in fwd.out {
                            assert_ne!(to, p);
                            sfu_saw.push(packet.clone());
                            let (_, r) = m.receivers.iter_mut().find(|(q, _)| *q == to).unwrap();
                            match r.receive(&packet).unwrap() {
                                Some(Received::Frame(f) | Received::Assembled(f)) => {
                                    assert_eq!(&f.data[..], &frame[..]);
                                    assert!(contains(&f.data, MAGIC), "positive control");
                                    magic_at_receivers += 1;
                                    delivered += 1;
                                }
                                Some(Received::Payload(_)) => panic!("VP8/Opus assemble"),
                                None => {}
                            }
                        }
                    }
                }
            }
            assert_eq!(delivered, 60 * 3 * 2, "{mode:?} {profile:?}");
            assert_eq!(magic_at_receivers, delivered);
            assert_eq!(kids_read.len(), 3);
            for bytes in &sfu_saw {
                assert!(
                    !contains(bytes, MAGIC),
                    "{mode:?} {profile:?}: plaintext at the SFU"
                );
                // Not even an 8-byte piece of it.
                assert!(!contains(bytes, &MAGIC[..8]));
            }
        }
    }
}

#[test]
fn each_leg_has_its_own_srtp_key() {
    let mut m = meeting(Mode::PerFrame, SrtpProfile::AeadAes128Gcm, &[1, 2, 3]);
    let (_, sender) = &mut m.senders[0];
    let mut wire = vec![];
    let meta = FrameMetadata {
        payload_type: AUDIO_PT,
        ..FrameMetadata::default()
    };
    sender.send_frame(11, b"hello", &meta, &mut wire).unwrap();
    // Participant 1's uplink packet is not valid SRTP on participant 2's leg.
    assert_eq!(
        m.sfu.receive(2, &wire[0]),
        Err(Error::Srtp(SrtpError::UnknownSsrc(11)))
    );
    let fwd = m.sfu.receive(1, &wire[0]).unwrap();
    let to_2 = &fwd.out[0].1;
    let to_3 = &fwd.out[1].1;
    assert_ne!(to_2, to_3, "re-protected per leg");
    // Receiver 3 cannot authenticate what was protected for 2.
    let (_, r3) = m.receivers.iter_mut().find(|(q, _)| *q == 3).unwrap();
    assert_eq!(
        r3.receive(to_2),
        Err(Error::Srtp(SrtpError::AuthenticationFailed))
    );
    assert!(r3.receive(to_3).unwrap().is_some());
    // A packet from a participant the SFU does not know.
    assert_eq!(
        m.sfu.receive(9, &wire[0]),
        Err(Error::UnknownParticipant(9))
    );
}

#[test]
fn slot_switches_source_on_a_frame_boundary_with_continuous_numbering() {
    let profile = SrtpProfile::Aes128CmHmacSha1_80;
    let mut m = meeting(Mode::PerFrame, profile, &[1, 2, 3]);
    // Participant 3 watches one "speaker" video: 1's first, then 2's.
    const SPEAKER: u32 = 0x5EA4;
    m.sfu.add_slot(3, SPEAKER, &[12, 22], 12).unwrap();
    assert_eq!(m.sfu.ssrcs_for(3), vec![11, 21, SPEAKER]);
    // Receiver 3 gets a fresh SRTP leg that knows the slot's SSRC.
    let down3 = srtp_keys(profile, 203);
    let mut r3 = media_receiver(KeyMode::Shared, &down3);
    for s in m.sfu.ssrcs_for(3) {
        r3.add_stream(s);
    }
    r3.add_key(1, &sframe_base_key(1)).unwrap();
    r3.add_key(2, &sframe_base_key(2)).unwrap();

    let mut rng = Rng::new(8);
    let mut got = vec![];
    let mut seqs = vec![];
    for k in 0..20u32 {
        // Interleave the two sources packet by packet, so the switch request lands mid-frame.
        let mut per_sender = vec![];
        for (p, sender) in &mut m.senders {
            if *p == 3 {
                continue;
            }
            let frame = marked_frame(&mut rng, 3000);
            let meta = FrameMetadata {
                payload_type: VIDEO_PT,
                timestamp: 90_000 + k * 3000 + *p,
                marker: true,
                ..FrameMetadata::default()
            };
            let mut wire = vec![];
            sender
                .send_frame(*p * 10 + 2, &frame, &meta, &mut wire)
                .unwrap();
            per_sender.push((*p, wire, frame));
        }
        let frames: Vec<(u32, Vec<u8>)> =
            per_sender.iter().map(|(p, _, f)| (*p, f.clone())).collect();
        let longest = per_sender.iter().map(|(_, w, _)| w.len()).max().unwrap();
        for i in 0..longest {
            if k == 10 && i == 1 {
                // Mid-frame: 1's frame 10 has started on the slot.
                m.sfu.switch_slot(3, SPEAKER, 22).unwrap();
            }
            for (p, wire, _) in &per_sender {
                let Some(w) = wire.get(i) else { continue };
                let fwd = m.sfu.receive(*p, w).unwrap();
                for (to, packet) in fwd.out {
                    if to != 3 {
                        continue;
                    }
                    let plain_seq = u16::from_be_bytes([packet[2], packet[3]]);
                    let ssrc = u32::from_be_bytes(packet[8..12].try_into().unwrap());
                    assert_eq!(ssrc, SPEAKER, "3 gets video only through the slot");
                    seqs.push(plain_seq);
                    if let Some(Received::Frame(f)) = r3.receive(&packet).unwrap() {
                        let from = frames.iter().find(|(_, d)| d[..] == f.data[..]).unwrap().0;
                        got.push((k, from, f.kid));
                    }
                }
            }
        }
    }
    // The switch is asked in the middle of 1's frame 10: that frame is finished, 1's frame 11
    // is not started, 2's frame 11 is the first from 2. No frame is cut.
    let from_1 = got.iter().filter(|(_, from, _)| *from == 1).count();
    let from_2 = got.iter().filter(|(_, from, _)| *from == 2).count();
    assert!(got.iter().all(|(_, from, kid)| u64::from(*from) == *kid));
    assert_eq!(from_1 + from_2, got.len());
    assert_eq!(from_1, 11, "{got:?}");
    assert_eq!(from_2, 9, "{got:?}");
    assert!(
        got.iter().all(|(k, from, _)| (*k <= 10) == (*from == 1)),
        "{got:?}"
    );
    // One continuous run of sequence numbers on the slot's SSRC.
    for pair in seqs.windows(2) {
        assert_eq!(
            pair[1],
            pair[0].wrapping_add(1),
            "continuous across the switch"
        );
    }
    let stats = r3.reassembly_stats();
    assert_eq!((stats.lost_packets, stats.incomplete_frames), (0, 0));
    assert!(m.sfu.stats().held_back > 0);
}

#[test]
fn replayed_and_forged_packets_do_not_reach_anyone() {
    let profile = SrtpProfile::AeadAes128Gcm;
    let mut m = meeting(Mode::PerFrame, profile, &[1, 2]);
    let (_, sender) = &mut m.senders[0];
    let mut wire = vec![];
    let meta = FrameMetadata {
        payload_type: AUDIO_PT,
        ..FrameMetadata::default()
    };
    sender.send_frame(11, b"once", &meta, &mut wire).unwrap();
    assert_eq!(m.sfu.receive(1, &wire[0]).unwrap().out.len(), 1);
    assert!(matches!(
        m.sfu.receive(1, &wire[0]),
        Err(Error::Srtp(SrtpError::Replay { ssrc: 11, .. }))
    ));
    // An SRTP packet protected with a key the SFU does not have for that leg.
    let mut forged = b"\x80\x6f\x00\x07\x00\x00\x00\x00\x00\x00\x00\x0b\xe0forged".to_vec();
    let mut stranger = SrtpContext::sender(&srtp_keys(profile, 999)).unwrap();
    protect_vec(&mut stranger, &mut forged);
    assert_eq!(
        m.sfu.receive(1, &forged),
        Err(Error::Srtp(SrtpError::AuthenticationFailed))
    );
    let s = m.sfu.stats();
    assert_eq!(
        (
            s.received,
            s.srtp_replays,
            s.srtp_auth_failures,
            s.forwarded
        ),
        (3, 1, 1, 1)
    );
}
