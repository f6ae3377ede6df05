//! Allocations of the SFU per incoming packet, counted with a counting global allocator: the
//! forwarding policy adds none. With every source given a kind and selected, `Sfu::receive`
//! allocates exactly as much as without a policy; with sources held back, less. The hot path,
//! `Sfu::receive_in_place` with an `SfuOutput` the caller keeps, allocates nothing at all per
//! packet (policy, slots switching, CSRCs and header extensions included) and produces the
//! same packets as `Sfu::receive`.
//!
//! The counter is per thread, so tests may run in parallel.

// `GlobalAlloc` is an unsafe trait: every method forwards to `System` unchanged; the only
// addition is a thread-local counter increment.
#![allow(unsafe_code, clippy::unwrap_used)]

use std::time::Duration;

use sframe_rtp::{
    AudioLevel, ForwardingConfig, FrameMetadata, MediaKind, Origin, PacketInfo, Packetizer,
    PacketizerConfig, Sfu, SfuOutput, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform,
};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

const PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;
const IDS: [u32; 4] = [1, 2, 3, 4];

fn keys(seed: u8) -> SrtpKeys {
    SrtpKeys {
        profile: PROFILE,
        master_key: vec![seed; PROFILE.key_len()],
        master_salt: vec![seed; PROFILE.salt_len()],
    }
}

/// Four participants, each sending audio (SSRC p*10+1) and video (p*10+2); `kinds` gives
/// the policy the sources' kinds.
fn sfu(config: ForwardingConfig, kinds: bool) -> Sfu {
    let mut sfu = Sfu::with_forwarding(config);
    for p in IDS {
        let seed = u8::try_from(p).unwrap();
        sfu.add_participant(
            p,
            Box::new(SrtpContext::receiver(&keys(seed), 512).unwrap()),
            Box::new(SrtpContext::sender(&keys(seed + 100)).unwrap()),
            &[p * 10 + 1, p * 10 + 2],
        )
        .unwrap();
        if kinds {
            sfu.set_source_kind(p * 10 + 1, MediaKind::Audio).unwrap();
            sfu.set_source_kind(p * 10 + 2, MediaKind::Video).unwrap();
        }
    }
    sfu
}

/// The same SFU again, for comparing two paths.
fn sfu_twin(config: ForwardingConfig, kinds: bool) -> Sfu {
    sfu(config, kinds)
}

/// The SRTP packets of `frames` frames of every source, everyone speaking, 1 loudest, 4
/// quietest. Video frames are three packets.
fn wire(frames: u32) -> Vec<(u32, Vec<u8>)> {
    let mut out = vec![];
    for p in IDS {
        let seed = u8::try_from(p).unwrap();
        let mut srtp = SrtpContext::sender(&keys(seed)).unwrap();
        for (ssrc, len, tick) in [(p * 10 + 1, 60, 960), (p * 10 + 2, 2500, 3000)] {
            let mut pk = Packetizer::new(
                ssrc,
                0,
                PacketizerConfig {
                    mtu: 1200,
                    srtp_overhead: PROFILE.overhead(),
                },
            );
            for k in 0..frames {
                let mut meta = FrameMetadata {
                    payload_type: 96,
                    timestamp: k * tick,
                    marker: true,
                    // Mixed audio names its contributors.
                    csrcs: if len < 100 { vec![p, p + 100] } else { vec![] },
                    ..FrameMetadata::default()
                };
                AudioLevel::new([10, 15, 20, 25][p as usize - 1], true).set_on(&mut meta, 1);
                let frame = vec![0u8; len];
                let mut packets = vec![];
                pk.packetize_frame(&meta, Origin::Raw, &frame, &mut packets)
                    .unwrap();
                for mut packet in packets {
                    let n = packet.len();
                    packet.resize(n + PROFILE.overhead(), 0);
                    let n = srtp.protect(&mut packet, n).unwrap();
                    packet.truncate(n);
                    out.push((k, p, packet));
                }
            }
        }
    }
    // Frame by frame, everyone's in turn.
    out.sort_by_key(|(k, ..)| *k);
    out.into_iter().map(|(_, p, packet)| (p, packet)).collect()
}

/// Allocations and packets sent out while `sfu` receives `wire`.
fn count(sfu: &mut Sfu, wire: &[(u32, Vec<u8>)]) -> (u64, u64) {
    let before = allocations();
    let mut out = 0;
    for (from, packet) in wire {
        let f = sfu.receive(*from, packet).unwrap();
        out += f.out.len() as u64;
        drop(f);
    }
    (allocations() - before, out)
}

#[test]
fn the_policy_adds_no_allocation_per_packet() {
    let packets = wire(50);
    // Warm each SFU with the first frames (the policy's level readings), rank, warm it
    // again (SRTP state for every source on every leg, now forwarded), then count.
    let (warm, rest) = packets.split_at(packets.len() / 2);
    let (warm1, warm2) = warm.split_at(warm.len() / 2);
    let mut plain = sfu(ForwardingConfig::forward_all(), false);
    // Every source under the policy and every one selected: the top 4 of 4 speakers' audio,
    // all video.
    let everyone = ForwardingConfig {
        video_last_n: None,
        ..ForwardingConfig::speakers(4, 4, 1)
    };
    let mut all = sfu(everyone, true);
    let mut few = sfu(ForwardingConfig::speakers(2, 1, 1), true);
    for s in [&mut plain, &mut all, &mut few] {
        count(s, warm1);
        s.handle_timeout(Duration::ZERO);
        count(s, warm2);
    }
    assert_eq!(all.audio_selection(), [1, 2, 3, 4]);
    assert_eq!(few.audio_selection(), [1, 2]);
    assert_eq!(few.video_selection(), [1]);
    let (a_plain, out_plain) = count(&mut plain, rest);
    let (a_all, out_all) = count(&mut all, rest);
    let (a_few, out_few) = count(&mut few, rest);
    // The same packets out, the same allocations: reading levels, deciding frames and
    // counting per receiver allocate nothing.
    assert_eq!(out_all, out_plain);
    assert_eq!(a_all, a_plain, "{} packets in", rest.len());
    // Held packets are never copied or protected.
    assert!(
        out_few < out_all && a_few < a_all,
        "{out_few} {a_few} vs {out_all} {a_all}"
    );
}

/// Allocations and packets sent out while `sfu` receives `wire` on the hot path, every
/// packet in one receive buffer and every output in `out`, both kept across packets. Each
/// call's output is compared with what `twin` (the same SFU, fed the same packets) returns
/// from `Sfu::receive`, outside the counted regions.
fn count_in_place(
    sfu: &mut Sfu,
    twin: &mut Sfu,
    wire: &[(u32, Vec<u8>)],
    out: &mut SfuOutput,
    buf: &mut Vec<u8>,
) -> (u64, u64) {
    let (mut allocated, mut sent) = (0, 0);
    for (from, packet) in wire {
        let before = allocations();
        buf.clear();
        buf.extend_from_slice(packet);
        let got = sfu.receive_in_place(*from, buf, out).unwrap();
        let info = got.info;
        let seen_len = got.seen.len();
        sent += out.len() as u64;
        allocated += allocations() - before;
        let expected = twin.receive(*from, packet).unwrap();
        assert_eq!(PacketInfo::from(info), expected.info);
        assert_eq!(&buf[..seen_len], &expected.seen[..]);
        let got: Vec<(u32, Vec<u8>)> = out.iter().map(|(to, p)| (to, p.to_vec())).collect();
        assert_eq!(got, expected.out);
    }
    (allocated, sent)
}

#[test]
fn the_in_place_path_allocates_nothing_per_packet() {
    let packets = wire(50);
    let (warm, rest) = packets.split_at(packets.len() / 2);
    let (warm1, warm2) = warm.split_at(warm.len() / 2);
    let configs = [
        (ForwardingConfig::forward_all(), false),
        (ForwardingConfig::speakers(2, 1, 1), true),
    ];
    for (config, kinds) in configs {
        let everything = config == ForwardingConfig::forward_all();
        let mut sfu = sfu(config, kinds);
        let mut twin = sfu_twin(config, kinds);
        let (mut out, mut buf) = (SfuOutput::new(), Vec::with_capacity(1500));
        count_in_place(&mut sfu, &mut twin, warm1, &mut out, &mut buf);
        sfu.handle_timeout(Duration::ZERO);
        twin.handle_timeout(Duration::ZERO);
        count_in_place(&mut sfu, &mut twin, warm2, &mut out, &mut buf);
        let (allocated, sent) = count_in_place(&mut sfu, &mut twin, rest, &mut out, &mut buf);
        if everything {
            // Everyone else gets every packet.
            assert_eq!(sent, 3 * rest.len() as u64);
        } else {
            assert!(
                sent > 0 && sent < 3 * rest.len() as u64,
                "{sent} packets out"
            );
        }
        assert_eq!(allocated, 0, "{} packets in, {sent} out", rest.len());
        assert_eq!(sfu.stats(), twin.stats());
    }
}

#[test]
fn slots_switching_on_the_in_place_path_allocate_nothing() {
    let packets = wire(60);
    let with_slot = || {
        let mut s = sfu(ForwardingConfig::forward_all(), false);
        // Participant 4 sees the others' video through one slot.
        s.add_slot(4, 0x5107, &[12, 22, 32], 12).unwrap();
        s
    };
    let (mut sfu, mut twin) = (with_slot(), with_slot());
    let (mut out, mut buf) = (SfuOutput::new(), Vec::with_capacity(1500));
    let thirds: Vec<&[(u32, Vec<u8>)]> = packets.chunks(packets.len() / 3 + 1).collect();
    count_in_place(&mut sfu, &mut twin, thirds[0], &mut out, &mut buf);
    let mut total = 0;
    for (third, source) in thirds[1..].iter().zip([22, 32]) {
        sfu.switch_slot(4, 0x5107, source).unwrap();
        twin.switch_slot(4, 0x5107, source).unwrap();
        let (allocated, _) = count_in_place(&mut sfu, &mut twin, third, &mut out, &mut buf);
        total += allocated;
    }
    assert_eq!(total, 0);
    assert!(sfu.stats().held_back > 0, "{:?}", sfu.stats());
    assert_eq!(sfu.stats(), twin.stats());
    // The slot's SSRC went out: the switches happened.
    assert!(sfu.ssrcs_for(4).contains(&0x5107));
}

#[test]
fn the_output_drains_each_packet_once_and_refusals_empty_it() {
    let packets = wire(2);
    let mut sfu = sfu(ForwardingConfig::forward_all(), false);
    let mut out = SfuOutput::new();
    let (from, packet) = &packets[0];
    let mut buf = packet.clone();
    sfu.receive_in_place(*from, &mut buf, &mut out).unwrap();
    assert_eq!(out.len(), 3);
    let listed: Vec<(u32, Vec<u8>)> = out.iter().map(|(to, p)| (to, p.to_vec())).collect();
    let mut drained = vec![];
    while let Some((to, p)) = out.poll_transmit() {
        drained.push((to, p.to_vec()));
    }
    assert_eq!(drained, listed);
    assert_eq!(out.poll_transmit(), None);
    // The same packet again is a replay: refused, counted, and nothing left to send.
    let mut buf = packet.clone();
    assert!(sfu.receive_in_place(*from, &mut buf, &mut out).is_err());
    assert!(out.is_empty() && out.iter().next().is_none());
    assert_eq!(sfu.stats().srtp_replays, 1);
}
