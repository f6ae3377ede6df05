//! Attacks on our SRTP/SRTCP engine: tampered, replayed, truncated, wrong-SSRC and forged
//! packets get typed errors and change no state; the next genuine packet still goes through;
//! a storm of forged packets with random sequence numbers cannot move the rollover counter.

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::Rng;
use sframe_rtp::{
    SframeRtpError as Error, SrtpContext, SrtpError, SrtpKeys, SrtpProfile, SrtpTransform,
};

const SSRC: u32 = 0x00c0_ffee;

fn keys(profile: SrtpProfile, seed: u8) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: vec![seed; profile.key_len()],
        master_salt: vec![seed.wrapping_mul(3); profile.salt_len()],
    }
}

fn rtp(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&u32::from(seq).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload_len).map(|i| i as u8));
    p
}

fn rtcp(ssrc: u32, words: usize) -> Vec<u8> {
    let mut p = vec![0x80, 200];
    p.extend_from_slice(&(words as u16 + 1).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..words * 4).map(|i| i as u8));
    p
}

fn protect(tx: &mut SrtpContext, plain: &[u8], is_rtcp: bool) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + 32, 0);
    let n = if is_rtcp {
        tx.protect_rtcp(&mut buf, plain.len()).unwrap()
    } else {
        tx.protect(&mut buf, plain.len()).unwrap()
    };
    buf.truncate(n);
    buf
}

fn pair(profile: SrtpProfile) -> (SrtpContext, SrtpContext) {
    let tx = SrtpContext::sender(&keys(profile, 7)).unwrap();
    let mut rx = SrtpContext::receiver(&keys(profile, 7), 128).unwrap();
    rx.allow_ssrc(SSRC);
    (tx, rx)
}

#[test]
fn tampering_anywhere_is_refused_and_changes_nothing() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        for seq in [10u16, 11, 12] {
            let plain = rtp(seq, SSRC, 40);
            let wire = protect(&mut tx, &plain, false);
            // Flip each bit of the packet in turn, header, payload and tag.
            for byte in 0..wire.len() {
                for bit in 0..8 {
                    let mut bad = wire.clone();
                    bad[byte] ^= 1 << bit;
                    let got = rx.unprotect(&mut bad);
                    assert!(got.is_err(), "{profile:?} byte {byte} bit {bit} accepted");
                    assert!(got.unwrap_err().is_peer_input());
                }
            }
            assert_eq!(rx.unprotect(&mut wire.clone()).unwrap(), &plain[..]);
        }
        // SRTCP, including the E bit and the index.
        let plain = rtcp(SSRC, 6);
        let wire = protect(&mut tx, &plain, true);
        for byte in 0..wire.len() {
            let mut bad = wire.clone();
            bad[byte] ^= 0x80;
            assert!(
                rx.unprotect_rtcp(&mut bad).is_err(),
                "{profile:?} SRTCP byte {byte}"
            );
        }
        assert_eq!(rx.unprotect_rtcp(&mut wire.clone()).unwrap(), &plain[..]);
    }
}

#[test]
fn replays_truncations_and_strangers() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        let plain = rtp(500, SSRC, 100);
        let wire = protect(&mut tx, &plain, false);
        assert_eq!(rx.unprotect(&mut wire.clone()).unwrap(), &plain[..]);
        assert_eq!(
            rx.unprotect(&mut wire.clone()),
            Err(Error::Srtp(SrtpError::Replay {
                ssrc: SSRC,
                seq: 500
            }))
        );
        // Every truncation: a typed error, never a panic.
        for len in 0..wire.len() {
            let mut cut = wire[..len].to_vec();
            let got = rx.unprotect(&mut cut);
            assert!(
                matches!(got, Err(Error::Rtp(_) | Error::Srtp(_))),
                "{profile:?} truncated to {len}: {got:?}"
            );
        }
        // An SSRC nobody allowed, under the right key: refused before any state is kept.
        let stranger = protect(&mut tx, &rtp(1, 0xdead_0001, 10), false);
        assert_eq!(
            rx.unprotect(&mut stranger.clone()),
            Err(Error::Srtp(SrtpError::UnknownSsrc(0xdead_0001)))
        );
        // The wrong key.
        let mut other = SrtpContext::sender(&keys(profile, 8)).unwrap();
        let forged = protect(&mut other, &rtp(501, SSRC, 100), false);
        assert_eq!(
            rx.unprotect(&mut forged.clone()),
            Err(Error::Srtp(SrtpError::AuthenticationFailed))
        );
        // Much older than the window.
        let mut late = Vec::new();
        for seq in 501..=700u16 {
            let w = protect(&mut tx, &rtp(seq, SSRC, 8), false);
            if seq == 510 {
                late = w.clone();
            } else {
                rx.unprotect(&mut w.clone()).unwrap();
            }
        }
        assert_eq!(
            rx.unprotect(&mut late),
            Err(Error::Srtp(SrtpError::Replay {
                ssrc: SSRC,
                seq: 510
            }))
        );
        // SRTCP truncations and replay.
        let wire = protect(&mut tx, &rtcp(SSRC, 3), true);
        for len in 0..wire.len() {
            assert!(rx.unprotect_rtcp(&mut wire.clone()[..len]).is_err());
        }
        rx.unprotect_rtcp(&mut wire.clone()).unwrap();
        assert!(matches!(
            rx.unprotect_rtcp(&mut wire.clone()),
            Err(Error::Srtp(SrtpError::Replay { ssrc: SSRC, .. }))
        ));
        // And the next genuine packets still go through.
        let plain = rtp(701, SSRC, 33);
        assert_eq!(
            rx.unprotect(&mut protect(&mut tx, &plain, false)).unwrap(),
            &plain[..]
        );
    }
}

#[test]
fn a_storm_of_forged_sequence_numbers_cannot_trap_the_rollover_counter() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        let mut rng = Rng::new(77);
        let mut seq = 60_000u16;
        for round in 0..40 {
            // 500 forged packets (random sequence numbers, garbage tags) between genuine ones.
            for _ in 0..500 {
                let mut forged = rtp(rng.next_u64() as u16, SSRC, 20);
                forged.resize(forged.len() + profile.overhead(), 0);
                rng.fill(&mut forged[12..]);
                // Refused as forged, or as too old when the estimate falls behind the window.
                assert!(matches!(
                    rx.unprotect(&mut forged),
                    Err(Error::Srtp(
                        SrtpError::AuthenticationFailed | SrtpError::Replay { .. }
                    ))
                ));
            }
            let roc_before = rx.rx_roc(SSRC);
            // 300 genuine packets, crossing 65535 once along the way.
            for _ in 0..300 {
                let plain = rtp(seq, SSRC, 20);
                let got = rx
                    .unprotect(&mut protect(&mut tx, &plain, false))
                    .unwrap()
                    .to_vec();
                assert_eq!(got, plain, "{profile:?} round {round} seq {seq}");
                seq = seq.wrapping_add(1);
            }
            if round == 0 {
                assert_eq!(roc_before, None);
            }
        }
        // 12,000 genuine packets from 60,000: the rollover counter is exactly 1.
        assert_eq!(rx.rx_roc(SSRC), Some(1), "{profile:?}");
    }
}
