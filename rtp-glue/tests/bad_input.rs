//! Bad input: arbitrary bytes as SRTP packets, arbitrary RTP from a participant that holds
//! valid SRTP keys (so it gets past SRTP), descriptors with inconsistent S/E/T, fragments of
//! mixed payload types, floods of SSRCs and of frames that never complete. Typed errors or
//! counted drops, never a panic, and the state stays bounded.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use sframe_rtp::{
    Depacketizer, DepacketizerConfig, Error, Pushed, ReassemblyConfig,
    RtpError, Sfu, SrtpContext, SrtpError, SrtpKeys, SrtpProfile,
};

const SSRC: u32 = 0x0BAD;

fn keyed_pair(profile: SrtpProfile) -> (SrtpContext, Rx, SrtpKeys) {
    let keys = srtp_keys(profile, 42);
    let tx = SrtpContext::sender(&keys).unwrap();
    let mut rx = media_receiver(KeyMode::Shared, &keys);
    rx.add_stream(SSRC);
    rx.add_key(1, &sframe_base_key(1)).unwrap();
    (tx, rx, keys)
}

/// An RTP packet of SSRC with the given sequence number, PT and payload; the timestamp is
/// the sequence number (a frame per packet, as far as timestamps go).
fn rtp(seq: u16, pt: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt & 0x7f];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&u32::from(seq).to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn is_peer_error(e: &Error) -> bool {
    e.is_peer_input()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_srtp(packets in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..40)) {
        for profile in SrtpProfile::ALL {
            let (_, mut rx, keys) = keyed_pair(profile);
            let mut sfu = Sfu::new();
            sfu.add_participant(
                1,
                Box::new(SrtpContext::receiver(&keys, 64).unwrap()),
                Box::new(SrtpContext::sender(&keys).unwrap()),
                &[SSRC],
            ).unwrap();
            for p in &packets {
                if let Err(e) = rx.receive(p) {
                    prop_assert!(is_peer_error(&e), "{e:?}");
                }
                if let Err(e) = sfu.receive(1, p) {
                    prop_assert!(is_peer_error(&e), "{e:?}");
                }
            }
            // Random bytes never authenticate.
            prop_assert_eq!(rx.stats().frames + rx.stats().payloads, 0);
            prop_assert_eq!(sfu.stats().forwarded, 0);
        }
    }

    /// A participant with valid SRTP keys sends arbitrary RTP: it gets past SRTP, and then
    /// the depacketizer, SFrame and the SFU must cope.
    #[test]
    fn arbitrary_rtp_from_a_keyed_peer(items in prop::collection::vec(
        (any::<u16>(), 95u8..98, prop::collection::vec(any::<u8>(), 0..120)), 1..60)) {
        let (mut tx, mut rx, keys) = keyed_pair(SrtpProfile::AeadAes128Gcm);
        let mut sfu = Sfu::new();
        sfu.add_participant(1, Box::new(SrtpContext::receiver(&keys, 64).unwrap()),
            Box::new(SrtpContext::sender(&keys).unwrap()), &[SSRC]).unwrap();
        sfu.add_participant(2, Box::new(SrtpContext::receiver(&keys, 64).unwrap()),
            Box::new(SrtpContext::sender(&keys).unwrap()), &[]).unwrap();
        for (seq, pt, payload) in items {
            let mut w = rtp(seq % 64, pt, &payload);
            protect_vec(&mut tx, &mut w);
            match sfu.receive(1, &w) {
                Ok(fwd) => prop_assert_eq!(fwd.out.len(), 1),
                Err(e) => prop_assert!(is_peer_error(&e), "{e:?}"),
            }
            if let Err(e) = rx.receive(&w) {
                prop_assert!(is_peer_error(&e), "{e:?}");
            }
            prop_assert!(rx.depacketizer().pending_fragments() <= 1024);
        }
        // Nothing made up decrypts under SFrame.
        prop_assert_eq!(rx.stats().frames + rx.stats().payloads, 0);
    }

    /// Arbitrary descriptors and payload types straight into the depacketizer: bounded.
    #[test]
    fn arbitrary_descriptors_stay_bounded(items in prop::collection::vec(
        (any::<u16>(), any::<u8>(), 96u8..99, 0usize..400), 1..300)) {
        let cfg = DepacketizerConfig {
            reassembly: ReassemblyConfig { window: 128, max_pending_bytes: 20_000 },
            max_streams: 2,
        };
        let mut d = Depacketizer::new(cfg);
        for (seq, descriptor, pt, len) in items {
            let mut payload = vec![descriptor];
            payload.resize(len + 1, 7);
            let _ = d.push(&rtp(seq % 512, pt, &payload)).unwrap();
            prop_assert!(d.pending_bytes() <= 20_000);
            prop_assert!(d.pending_fragments() <= 128);
        }
        d.flush();
        prop_assert_eq!(d.pending_fragments(), 0);
    }
}

#[test]
fn inconsistent_s_e_t_descriptors() {
    let mut d = Depacketizer::new(DepacketizerConfig::default());
    let push = |d: &mut Depacketizer, seq: u16, desc: u8, pt: u8| {
        d.push(&rtp(seq, pt, &[desc, seq as u8]))
            .unwrap()
            .1
    };
    // S, then a middle with T = 1, then E with T = 0: one run, mixed T: dropped.
    assert_eq!(push(&mut d, 1, 0x80, 96), Pushed::Pending);
    assert_eq!(push(&mut d, 2, 0x20, 96), Pushed::Pending);
    assert_eq!(push(&mut d, 3, 0x40, 96), Pushed::Inconsistent);
    // E before any S, then S+E: the lone E stays pending (no S before it), S+E is a frame.
    assert_eq!(push(&mut d, 10, 0x40, 96), Pushed::Pending);
    assert!(matches!(push(&mut d, 11, 0xC0, 96), Pushed::Frame(_)));
    // S, S, E: the smallest run is the second S with the E; the first S stays pending.
    assert_eq!(push(&mut d, 20, 0x80, 96), Pushed::Pending);
    assert_eq!(push(&mut d, 21, 0x80, 96), Pushed::Pending);
    let Pushed::Frame(f) = push(&mut d, 22, 0x40, 96) else {
        panic!("21..=22 is a frame")
    };
    assert_eq!(
        (f.first_seq, f.packets, &f.data[..]),
        (21, 2, &[21u8, 22][..])
    );
    // S, E, E: the second E has no S before it that is not closed.
    assert_eq!(push(&mut d, 30, 0x80, 96), Pushed::Pending);
    assert!(matches!(push(&mut d, 31, 0x40, 96), Pushed::Frame(_)));
    assert_eq!(push(&mut d, 32, 0x40, 96), Pushed::Pending);
    // Mixed payload types within a run.
    assert_eq!(push(&mut d, 40, 0x80, 96), Pushed::Pending);
    assert_eq!(push(&mut d, 41, 0x40, 97), Pushed::Inconsistent);
    let s = d.stats();
    assert_eq!((s.frames, s.inconsistent_frames), (3, 2));
    d.flush();
    // Left over: seq 10 (lone E), 20 (orphan S), 32 (lone E).
    assert_eq!(d.stats().incomplete_frames, 3);
    assert_eq!(d.pending_fragments(), 0);
}

#[test]
fn floods_of_ssrcs_and_of_frames_that_never_end() {
    let keys = srtp_keys(SrtpProfile::Aes128CmHmacSha1_80, 5);
    let mut rx = media_receiver(KeyMode::Shared, &keys);
    rx.add_stream(SSRC);
    let mut tx = SrtpContext::sender(&keys).unwrap();
    // 10,000 SSRCs nobody announced: refused by SRTP before any state is kept.
    for ssrc in 0..10_000u32 {
        let mut w = rtp(1, 96, &[0x80, 1, 2, 3]);
        w[8..12].copy_from_slice(&(ssrc + 0x10_0000).to_be_bytes());
        protect_vec(&mut tx, &mut w);
        assert_eq!(
            rx.receive(&w),
            Err(Error::Srtp(SrtpError::UnknownSsrc(ssrc + 0x10_0000)))
        );
    }
    assert_eq!(rx.stats().srtp_unknown_ssrc, 10_000);
    // 20,000 first fragments that never end, 1 KB each: memory stays within the bound.
    for seq in 0..20_000u32 {
        let mut payload = vec![0x80];
        payload.resize(1000, 9);
        let mut w = rtp(seq as u16, 96, &payload);
        protect_vec(&mut tx, &mut w);
        assert_eq!(rx.receive(&w), Ok(None));
        let d = rx.depacketizer();
        assert!(d.pending_fragments() <= 1024);
        assert!(d.pending_bytes() <= 4 << 20);
    }
    let s = rx.reassembly_stats();
    assert_eq!(s.packets, 20_000);
    assert_eq!(
        s.incomplete_frames + rx.depacketizer().pending_fragments() as u64,
        20_000
    );
}

#[test]
fn empty_and_truncated_packets_after_srtp() {
    let (mut tx, mut rx, _) = keyed_pair(SrtpProfile::AeadAes128Gcm);
    // A valid RTP header with nothing after it: no descriptor.
    let mut w = rtp(1, 96, &[]);
    protect_vec(&mut tx, &mut w);
    assert_eq!(rx.receive(&w), Err(Error::Rtp(RtpError::NoDescriptor)));
    // Padding bit with a bad count (inside SRTP's encryption, checked after).
    let mut w = rtp(2, 96, &[0x80, 0, 0, 9]);
    w[0] |= 0x20;
    protect_vec(&mut tx, &mut w);
    assert_eq!(rx.receive(&w), Err(Error::Rtp(RtpError::BadPadding)));
    // A whole frame with a made-up SFrame header: SFrame refuses, typed.
    let mut w = rtp(3, 96, &[0xC0, 0x01, 0x00, 1, 2, 3]);
    protect_vec(&mut tx, &mut w);
    assert!(matches!(rx.receive(&w), Err(Error::SFrame(_))));
    assert_eq!(rx.stats().malformed_rtp, 2);
    assert_eq!(rx.stats().sframe_failures, 1);
}
