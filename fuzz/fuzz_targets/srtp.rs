//! Fuzz target `srtp`: `sframe-rtp`'s own SRTP/SRTCP engine (`SrtpContext`) fed a fuzzed mix of
//! genuine packets (built from fuzzed fields, protected by a sender of the same keys), genuine
//! packets with fuzzed bytes flipped, and raw arbitrary bytes, on RTP and RTCP, for a fuzzed
//! profile. Nothing panics, and:
//!
//! - every genuine packet, sent in order, unprotects to exactly what was protected, whatever
//!   forged traffic came before it; except (RFC 3711 section 3.3.1, a limit of the protocol)
//!   when the receiver has authenticated nothing yet and the sender's sequence numbers have
//!   already wrapped: the receiver starts at rollover counter 0 and refuses;
//! - every packet that differs from a genuine one (flipped bytes) or is made up is refused with
//!   a peer-input error, and a refused packet moves no state: the receiver's rollover counter
//!   is the same before and after;
//! - the same genuine packet twice is refused the second time as a replay.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sframe_rtp::{
    SframeRtpError as Error, SrtpContext, SrtpError, SrtpKeys, SrtpProfile, SrtpTransform,
};

const SSRC: u32 = 0x5eed_0001;

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, tail) = data.split_at(n);
    *data = tail;
    head
}

fn byte(data: &mut &[u8]) -> u8 {
    take(data, 1).first().copied().unwrap_or(0)
}

fn refused(r: Result<&mut [u8], Error>) {
    match r {
        Ok(_) => panic!("a forged packet was accepted"),
        Err(e) => assert!(e.is_peer_input(), "{e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let profile = SrtpProfile::ALL[usize::from(byte(&mut data)) % SrtpProfile::ALL.len()];
    let seed = byte(&mut data);
    let keys = SrtpKeys {
        profile,
        master_key: vec![seed; profile.key_len()],
        master_salt: vec![seed ^ 0x5a; profile.salt_len()],
    };
    let mut tx = SrtpContext::sender(&keys).unwrap();
    let mut rx = SrtpContext::receiver(&keys, 64).unwrap();
    rx.allow_ssrc(SSRC);
    let mut seq = u16::from_be_bytes([byte(&mut data), byte(&mut data)]);
    // How far the sender's sequence numbers have gone from the first one.
    let first_seq = u32::from(seq);
    let mut advanced = 0u32;
    let mut buf = vec![0u8; 2048];
    while !data.is_empty() {
        let op = byte(&mut data);
        let len = usize::from(byte(&mut data)) * 4;
        let body = take(&mut data, len);
        let roc = rx.rx_roc(SSRC);
        match op % 5 {
            // A genuine RTP packet, possibly with bytes flipped.
            0 | 1 => {
                let cc = usize::from(op >> 4) % 4;
                let mut plain = vec![0x80 | cc as u8, 96];
                plain.extend_from_slice(&seq.to_be_bytes());
                plain.extend_from_slice(&[0, 0, 0, 0]);
                plain.extend_from_slice(&SSRC.to_be_bytes());
                plain.extend(std::iter::repeat_n(7, cc * 4));
                plain.extend_from_slice(body);
                // The sender's rollover counter for this packet is past the receiver's start.
                let unknowable_roc =
                    rx.rx_roc(SSRC).is_none() && first_seq + advanced > u32::from(u16::MAX);
                seq = seq.wrapping_add(1 + u16::from(op >> 6));
                advanced += 1 + u32::from(op >> 6);
                let n = plain.len();
                buf[..n].copy_from_slice(&plain);
                let n = tx.protect(&mut buf, n).unwrap();
                let mut wire = buf[..n].to_vec();
                if op % 5 == 1 {
                    let at = usize::from(byte(&mut data)) % n;
                    let flip = byte(&mut data) | 1;
                    wire[at] ^= flip;
                    refused(rx.unprotect(&mut wire));
                    assert_eq!(rx.rx_roc(SSRC), roc);
                } else if unknowable_roc {
                    assert_eq!(
                        rx.unprotect(&mut wire),
                        Err(Error::Srtp(SrtpError::AuthenticationFailed))
                    );
                    assert_eq!(rx.rx_roc(SSRC), None);
                } else {
                    assert_eq!(rx.unprotect(&mut wire.clone()).unwrap(), &plain[..]);
                    assert!(matches!(
                        rx.unprotect(&mut wire),
                        Err(Error::Srtp(SrtpError::Replay { .. }))
                    ));
                }
            }
            // Raw bytes as SRTP.
            2 => {
                let mut raw = body.to_vec();
                if raw.len() >= 12 {
                    raw[8..12].copy_from_slice(&SSRC.to_be_bytes());
                }
                refused(rx.unprotect(&mut raw));
                assert_eq!(rx.rx_roc(SSRC), roc);
            }
            // Raw bytes as SRTCP.
            3 => {
                let mut raw = body.to_vec();
                if raw.len() >= 8 {
                    raw[4..8].copy_from_slice(&SSRC.to_be_bytes());
                }
                refused(rx.unprotect_rtcp(&mut raw));
            }
            // A genuine RTCP packet.
            _ => {
                let mut plain = vec![0x80, 200];
                plain.extend_from_slice(&((body.len() / 4 + 1) as u16).to_be_bytes());
                plain.extend_from_slice(&SSRC.to_be_bytes());
                plain.extend_from_slice(body);
                let n = plain.len();
                buf[..n].copy_from_slice(&plain);
                let n = tx.protect_rtcp(&mut buf, n).unwrap();
                assert_eq!(rx.unprotect_rtcp(&mut buf[..n]).unwrap(), &plain[..]);
            }
        }
    }
});
