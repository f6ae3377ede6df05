//! Differential tests of our SRTP/SRTCP engine ([`SrtpContext`]) against two other
//! implementations, byte for byte: `webrtc-srtp` 0.17 (through [`WebrtcSrtp`]) and Debian's
//! libsrtp2 (through the test-only `libsrtp2-peer` crate).
//!
//! Per profile and peer: 10,000 seeded random RTP packets (payloads of 0-1400 bytes, CSRCs,
//! RFC 8285 header extensions, padding, sequence numbers crossing 65535 so the rollover
//! counter increments) and 10,000 random RTCP packets. Each packet is protected by both sides;
//! the two SRTP packets must be identical, and each side's receiver must turn the other's
//! packet back into the original.

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use libsrtp2_peer::Libsrtp2;
mod common;
use common::Rng;
use sframe_rtp::{SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform, WebrtcSrtp};

const PACKETS: usize = 10_000;
const SSRCS: [u32; 2] = [0x0bad_cafe, 0x1234_5678];

fn keys(profile: SrtpProfile, rng: &mut Rng) -> SrtpKeys {
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

fn profile_number(profile: SrtpProfile) -> i32 {
    match profile {
        SrtpProfile::Aes128CmHmacSha1_80 => 1,
        SrtpProfile::Aes128CmHmacSha1_32 => 2,
        SrtpProfile::AeadAes128Gcm => 7,
        SrtpProfile::AeadAes256Gcm => 8,
        _ => unreachable!("a profile this test does not know"),
    }
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    rng.fill(&mut v);
    v
}

/// A random RTP packet: CSRCs, a one-byte or two-byte header extension, padding.
fn random_rtp(rng: &mut Rng, ssrc: u32, seq: u16) -> Vec<u8> {
    let cc = if rng.chance(0.3) {
        rng.below(16) as u8
    } else {
        0
    };
    let ext = rng.chance(0.4);
    let pad = rng.chance(0.2);
    let mut p = vec![
        0x80 | cc | if ext { 0x10 } else { 0 } | if pad { 0x20 } else { 0 },
        rng.below(256) as u8 & 0xef,
    ];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(rng.next_u64() as u32).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for _ in 0..cc {
        p.extend_from_slice(&(rng.next_u64() as u32).to_be_bytes());
    }
    if ext {
        let two_byte = rng.chance(0.3);
        let mut body = Vec::new();
        for _ in 0..rng.below(5) {
            if two_byte {
                let len = rng.between(1, 20) as u8;
                body.push(rng.between(1, 255) as u8);
                body.push(len);
                body.extend(random_bytes(rng, len.into()));
            } else {
                let len = rng.between(1, 16) as u8;
                body.push((rng.between(1, 14) as u8) << 4 | (len - 1));
                body.extend(random_bytes(rng, len.into()));
            }
        }
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let profile: u16 = if two_byte { 0x1000 } else { 0xbede };
        p.extend_from_slice(&profile.to_be_bytes());
        p.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
        p.extend(body);
    }
    let payload_len = rng.below(1401) as usize;
    p.extend(random_bytes(rng, payload_len));
    if pad {
        let n = rng.between(1, 255) as u8;
        p.extend(std::iter::repeat_n(0, usize::from(n) - 1));
        p.push(n);
    }
    p
}

/// A random RTCP packet (a sender report's header, a random body of whole words).
fn random_rtcp(rng: &mut Rng, ssrc: u32) -> Vec<u8> {
    let words = rng.below(351) as usize;
    let mut p = vec![0x80 | rng.below(32) as u8, 200 + rng.below(5) as u8];
    p.extend_from_slice(&((words + 1) as u16).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(random_bytes(rng, words * 4));
    p
}

/// One implementation under test, sending and receiving.
trait Side {
    fn protect(&mut self, plain: &[u8], rtcp: bool) -> Vec<u8>;
    fn unprotect(&mut self, wire: &[u8], rtcp: bool) -> Vec<u8>;
}

struct Seam {
    tx: Box<dyn SrtpTransform>,
    rx: Box<dyn SrtpTransform>,
}

impl Seam {
    fn new(tx: Box<dyn SrtpTransform>, mut rx: Box<dyn SrtpTransform>) -> Self {
        for s in SSRCS {
            rx.allow_ssrc(s);
        }
        Self { tx, rx }
    }
}

impl Side for Seam {
    fn protect(&mut self, plain: &[u8], rtcp: bool) -> Vec<u8> {
        let profile = self.tx.profile();
        let mut buf = plain.to_vec();
        // Garbage in the room for the trailer: it must be overwritten.
        buf.extend_from_slice(&[0xa5; 32]);
        let n = if rtcp {
            self.tx.protect_rtcp(&mut buf, plain.len()).unwrap()
        } else {
            self.tx.protect(&mut buf, plain.len()).unwrap()
        };
        let overhead = if rtcp {
            profile.rtcp_overhead()
        } else {
            profile.overhead()
        };
        assert_eq!(n, plain.len() + overhead);
        buf.truncate(n);
        buf
    }

    fn unprotect(&mut self, wire: &[u8], rtcp: bool) -> Vec<u8> {
        let mut buf = wire.to_vec();
        let out = if rtcp {
            self.rx.unprotect_rtcp(&mut buf)
        } else {
            self.rx.unprotect(&mut buf)
        };
        out.unwrap().to_vec()
    }
}

struct LibSide {
    tx: Libsrtp2,
    rx: Libsrtp2,
}

impl LibSide {
    fn new(keys: &SrtpKeys) -> Self {
        let key_salt = [&keys.master_key[..], &keys.master_salt[..]].concat();
        let profile = profile_number(keys.profile);
        Self {
            tx: Libsrtp2::new(profile, &key_salt, false, 1024).unwrap(),
            rx: Libsrtp2::new(profile, &key_salt, true, 1024).unwrap(),
        }
    }
}

impl Side for LibSide {
    fn protect(&mut self, plain: &[u8], rtcp: bool) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.resize(plain.len() + Libsrtp2::ROOM, 0);
        let n = if rtcp {
            self.tx.protect_rtcp(&mut buf, plain.len())
        } else {
            self.tx.protect(&mut buf, plain.len())
        };
        buf.truncate(n.unwrap());
        buf
    }

    fn unprotect(&mut self, wire: &[u8], rtcp: bool) -> Vec<u8> {
        let mut buf = wire.to_vec();
        let n = if rtcp {
            self.rx.unprotect_rtcp(&mut buf)
        } else {
            self.rx.unprotect(&mut buf)
        };
        buf.truncate(n.unwrap());
        buf
    }
}

/// Runs the RTP and the RTCP differential of `ours` against `peer`.
fn differential(profile: SrtpProfile, seed: u64, peer: impl Fn(&SrtpKeys) -> Box<dyn Side>) {
    let mut rng = Rng::new(seed);
    let keys = keys(profile, &mut rng);
    let mut ours = Seam::new(
        Box::new(SrtpContext::sender(&keys).unwrap()),
        Box::new(SrtpContext::receiver(&keys, 1024).unwrap()),
    );
    let mut peer = peer(&keys);
    // Start each SSRC a few thousand packets before the wrap.
    let mut seqs: [u16; 2] = [65535 - 2000, 65535 - 4000];
    for i in 0..PACKETS {
        let k = rng.below(2) as usize;
        let seq = seqs[k];
        seqs[k] = seq.wrapping_add(1);
        let plain = random_rtp(&mut rng, SSRCS[k], seq);
        let a = ours.protect(&plain, false);
        let b = peer.protect(&plain, false);
        assert_eq!(
            a, b,
            "{profile:?} RTP packet {i} (seq {seq}): SRTP bytes differ"
        );
        assert_eq!(
            peer.unprotect(&a, false),
            plain,
            "{profile:?} packet {i}: ours -> peer"
        );
        assert_eq!(
            ours.unprotect(&b, false),
            plain,
            "{profile:?} packet {i}: peer -> ours"
        );
    }
    assert!(seqs.iter().all(|&s| s < 10_000), "both SSRCs crossed 65535");
    for i in 0..PACKETS {
        let plain = random_rtcp(&mut rng, SSRCS[i % 2]);
        let a = ours.protect(&plain, true);
        let b = peer.protect(&plain, true);
        assert_eq!(a, b, "{profile:?} RTCP packet {i}: SRTCP bytes differ");
        assert_eq!(
            peer.unprotect(&a, true),
            plain,
            "{profile:?} RTCP {i}: ours -> peer"
        );
        assert_eq!(
            ours.unprotect(&b, true),
            plain,
            "{profile:?} RTCP {i}: peer -> ours"
        );
    }
}

#[test]
fn against_webrtc_srtp_every_profile() {
    for (n, profile) in SrtpProfile::ALL.into_iter().enumerate() {
        differential(profile, 0x5eed_0000 + n as u64, |keys| {
            Box::new(Seam::new(
                Box::new(WebrtcSrtp::sender(keys).unwrap()),
                Box::new(WebrtcSrtp::receiver(keys, 1024).unwrap()),
            ))
        });
    }
}

#[test]
fn against_libsrtp2_every_profile() {
    if !libsrtp2_peer::installed() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs libsrtp2-dev (.ci/run): the comparison must run there"
        );
        eprintln!("skipped: libsrtp2-dev is not installed (apt-get install libsrtp2-dev)");
        return;
    }
    for (n, profile) in SrtpProfile::ALL.into_iter().enumerate() {
        differential(profile, 0x11b5_0000 + n as u64, |keys| {
            Box::new(LibSide::new(keys))
        });
    }
}
