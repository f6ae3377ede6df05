//! Found by the `sfu` fuzz target (issue 14): a slot forwards a late packet of its new source,
//! one from before the switch, with a rewritten sequence number the slot already used for the
//! old source. The SFU then protects two different packets under one SRTP index towards that
//! participant: with AES-GCM that is a reused nonce (keystream and authentication key exposed),
//! and the participant refuses the second as a replay.
//!
//! Fixed in `rtp-glue/src/sfu.rs`: a slot holds back a packet of its source whose sequence
//! number precedes the one it switched on. This test failed before the fix.

#![allow(clippy::unwrap_used)]

use sframe_rtp::{Sfu, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};

const PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;
const A: u32 = 0xA;
const B: u32 = 0xB;
const SLOT: u32 = 0x5107;

fn keys(seed: u8) -> SrtpKeys {
    SrtpKeys {
        profile: PROFILE,
        master_key: vec![seed; PROFILE.key_len()],
        master_salt: vec![seed; PROFILE.salt_len()],
    }
}

fn packet(tx: &mut SrtpContext, ssrc: u32, seq: u16, descriptor: u8, body: u8) -> Vec<u8> {
    let mut p = vec![0x80, 0xe0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 90).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[descriptor, body, body, body]);
    let n = p.len();
    p.resize(n + PROFILE.overhead(), 0);
    let n = tx.protect(&mut p, n).unwrap();
    p.truncate(n);
    p
}

#[test]
fn a_late_packet_of_the_new_source_never_reuses_an_outgoing_index() {
    let mut sfu = Sfu::new();
    for (p, sources) in [(1u32, &[A][..]), (2, &[B][..]), (3, &[][..])] {
        let seed = u8::try_from(p).unwrap();
        sfu.add_participant(
            p,
            Box::new(SrtpContext::receiver(&keys(seed), 1024).unwrap()),
            Box::new(SrtpContext::sender(&keys(seed + 10)).unwrap()),
            sources,
        )
        .unwrap();
    }
    sfu.add_slot(3, SLOT, &[A, B], A).unwrap();
    let mut a = SrtpContext::sender(&keys(1)).unwrap();
    let mut b = SrtpContext::sender(&keys(2)).unwrap();
    let mut at_3 = SrtpContext::receiver(&keys(13), 1024).unwrap();
    at_3.allow_ssrc(SLOT);
    let mut to_3 = |f: sframe_rtp::Forwarded| -> Option<u16> {
        let (_, mut copy) = f.out.into_iter().find(|(to, _)| *to == 3)?;
        let seq = u16::from_be_bytes([copy[2], copy[3]]);
        assert!(
            at_3.unprotect(&mut copy).is_ok(),
            "participant 3 refused the copy with sequence number {seq}: an index used twice"
        );
        Some(seq)
    };
    // A's frames go out on the slot; B starts a frame whose last packet is late.
    assert!(to_3(sfu.receive(1, &packet(&mut a, A, 100, 0xc0, 1)).unwrap()).is_some());
    let _ = to_3(sfu.receive(2, &packet(&mut b, B, 500, 0x80, 2)).unwrap());
    let late = packet(&mut b, B, 501, 0x40, 3);
    sfu.switch_slot(3, SLOT, B).unwrap();
    assert!(to_3(sfu.receive(2, &packet(&mut b, B, 502, 0xc0, 4)).unwrap()).is_some());
    let _ = to_3(sfu.receive(1, &packet(&mut a, A, 101, 0xc0, 5)).unwrap());
    // The late packet of B: held back, or forwarded under an index not used before.
    let _ = to_3(sfu.receive(2, &late).unwrap());
}
