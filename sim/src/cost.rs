//! What the receiving crypto alone costs, measured in the meeting's own process: the core's
//! SFrame decrypt and an SRTP unprotect, each on its own, at the sizes the meeting decrypted
//! and unprotected. The report divides the meeting's media time per delivered frame by it.
//!
//! AES-GCM, AES-CTR and HMAC cost a fixed amount per call plus an amount per byte, so
//! `calls` calls at the meeting's mean size cost what the meeting's calls at their own sizes
//! would: the reference replays the meeting's call counts at its mean sizes.

use std::time::Instant;

use sframe_core::{CipherSuite, Receiver, Sender};
use sframe_rtp::{SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};

use crate::meeting::SfuSeen;
use crate::meter::CryptoMeters;

/// Frames (or packets) per timed round.
const BATCH: usize = 256;
/// Rounds; the fastest counts (the others lost time to the machine).
const ROUNDS: usize = 9;

/// Nanoseconds per call of the two receiving stages, alone, at given sizes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference {
    /// The core's `Receiver::decrypt_in_place` of one SFrame frame.
    pub sframe_decrypt_ns: f64,
    /// `SrtpContext::unprotect` of one SRTP packet.
    pub srtp_unprotect_ns: f64,
}

impl Reference {
    /// Measures both stages: decrypt at `frame_len` bytes of SFrame frame (header, ciphertext
    /// and tag), unprotect at `packet_len` bytes of SRTP packet.
    pub fn measure(
        suite: CipherSuite,
        frame_len: usize,
        profile: SrtpProfile,
        packet_len: usize,
    ) -> Self {
        Self {
            sframe_decrypt_ns: sframe_decrypt_ns(suite, frame_len),
            srtp_unprotect_ns: srtp_ns(profile, packet_len, Way::Unprotect),
        }
    }

    /// The reference for a meeting's meters: its decrypt and unprotect calls, at their mean
    /// sizes.
    pub fn for_meters(suite: CipherSuite, profile: SrtpProfile, m: &CryptoMeters) -> Self {
        Self::measure(
            suite,
            mean(m.sframe_decrypt.bytes, m.sframe_decrypt.calls),
            profile,
            mean(m.srtp_unprotect.bytes, m.srtp_unprotect.calls),
        )
    }
}

/// The rest of the crypto a delivered frame needs on its way, alone, per call, at the
/// meeting's mean sizes: the sender's SFrame encrypt and SRTP protect, the SFU's unprotect of
/// what a sender sent and its protect of each receiver's copy. With [`Reference`] it prices
/// every crypto call of the meeting at the core's speed: the least any simulation of the same
/// meeting could cost, since an SFU re-protects every packet for every receiver.
#[derive(Clone, Copy, Debug, Default)]
pub struct Floor {
    /// The core's `Sender::encrypt` of one frame.
    pub sframe_encrypt_ns: f64,
    /// `SrtpContext::protect` of one packet a sender sends.
    pub sender_protect_ns: f64,
    /// `SrtpContext::unprotect` of one packet reaching the SFU.
    pub sfu_unprotect_ns: f64,
    /// `SrtpContext::protect` of one packet the SFU forwards.
    pub sfu_protect_ns: f64,
}

impl Floor {
    /// Measures the four stages at the mean sizes of the meeting's senders (`m`) and SFU.
    pub fn for_meeting(
        suite: CipherSuite,
        profile: SrtpProfile,
        m: &CryptoMeters,
        sfu: &SfuSeen,
    ) -> Self {
        let uplink = mean(m.srtp_protect.bytes, m.srtp_protect.calls);
        Self {
            sframe_encrypt_ns: sframe_encrypt_ns(
                suite,
                mean(m.sframe_encrypt.bytes, m.sframe_encrypt.calls),
            ),
            sender_protect_ns: srtp_ns(profile, uplink, Way::Protect),
            sfu_unprotect_ns: srtp_ns(profile, mean(sfu.bytes_in, sfu.packets_in), Way::Unprotect),
            sfu_protect_ns: srtp_ns(profile, mean(sfu.bytes_out, sfu.packets_out), Way::Protect),
        }
    }

    /// Nanoseconds of the meeting's sending and forwarding crypto calls at these speeds.
    pub fn nanos(&self, m: &CryptoMeters, sfu: &SfuSeen) -> f64 {
        self.sframe_encrypt_ns * m.sframe_encrypt.calls as f64
            + self.sender_protect_ns * m.srtp_protect.calls as f64
            + self.sfu_unprotect_ns * sfu.packets_in as f64
            + self.sfu_protect_ns * sfu.packets_out as f64
    }
}

fn mean(bytes: u64, calls: u64) -> usize {
    (bytes / calls.max(1)) as usize
}

/// The fastest of [`ROUNDS`] rounds of `round`, which returns the nanoseconds of [`BATCH`]
/// calls (0 if a call failed), per call.
fn fastest(mut round: impl FnMut() -> u64) -> f64 {
    let best = (0..ROUNDS).map(|_| round()).min().unwrap_or(0);
    best as f64 / BATCH as f64
}

fn sframe_decrypt_ns(suite: CipherSuite, frame_len: usize) -> f64 {
    let kid = 3;
    let base_key = [0x42; 32];
    let mut sender = Sender::new(suite);
    let mut receiver = Receiver::new(suite);
    // Fresh keys cannot fail; any failure here leaves the reference at 0, which the report
    // shows as such.
    if sender.add_key(kid, &base_key).is_err() || receiver.add_key(kid, &base_key).is_err() {
        return 0.0;
    }
    let header = sender.header_len(kid).unwrap_or(0);
    let plaintext = frame_len.saturating_sub(header + suite.tag_len()).max(1);
    let mut frames: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| Vec::with_capacity(frame_len + 32))
        .collect();
    fastest(|| {
        for f in &mut frames {
            f.clear();
            f.resize(plaintext, 0x5a);
            if sender.encrypt(kid, &[], f).is_err() {
                return 0;
            }
        }
        let started = Instant::now();
        let mut opened = 0;
        for f in &mut frames {
            opened += usize::from(std::hint::black_box(receiver.decrypt_in_place(&[], f)).is_ok());
        }
        let nanos = started.elapsed().as_nanos() as u64;
        // A refusal would time the wrong work: the round then counts as 0, and so the result.
        if opened == BATCH { nanos } else { 0 }
    })
}

fn sframe_encrypt_ns(suite: CipherSuite, plaintext_len: usize) -> f64 {
    let kid = 3;
    let mut sender = Sender::new(suite);
    if sender.add_key(kid, &[0x42; 32]).is_err() {
        return 0.0;
    }
    let header = sender.header_len(kid).unwrap_or(0);
    let mut frames: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| Vec::with_capacity(plaintext_len.max(1) + header + suite.tag_len()))
        .collect();
    fastest(|| {
        for f in &mut frames {
            f.clear();
            f.resize(plaintext_len.max(1), 0x5a);
        }
        let started = Instant::now();
        let mut sealed = 0;
        for f in &mut frames {
            sealed += usize::from(std::hint::black_box(sender.encrypt(kid, &[], f)).is_ok());
        }
        let nanos = started.elapsed().as_nanos() as u64;
        if sealed == BATCH { nanos } else { 0 }
    })
}

/// Which SRTP call to time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Protect,
    Unprotect,
}

/// `SrtpContext::protect` or `unprotect` of packets of `packet_len` bytes (SRTP, tag
/// included).
fn srtp_ns(profile: SrtpProfile, packet_len: usize, way: Way) -> f64 {
    const SSRC: u32 = 0x1234_5678;
    let keys = SrtpKeys {
        profile,
        master_key: vec![0x11; profile.key_len()],
        master_salt: vec![0x22; profile.salt_len()],
    };
    let (Ok(mut sender), Ok(mut receiver)) = (
        SrtpContext::sender(&keys),
        SrtpContext::receiver(&keys, 1024),
    ) else {
        return 0.0;
    };
    receiver.allow_ssrc(SSRC);
    let rtp_len = packet_len.saturating_sub(profile.overhead()).max(13);
    let mut packets: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| Vec::with_capacity(rtp_len + profile.overhead()))
        .collect();
    let mut seq: u16 = 0;
    fastest(|| {
        for p in &mut packets {
            p.clear();
            p.extend_from_slice(&[0x80, 96]);
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&u32::from(seq).to_be_bytes());
            p.extend_from_slice(&SSRC.to_be_bytes());
            p.resize(rtp_len + profile.overhead(), 0x5a);
            seq = seq.wrapping_add(1);
        }
        // Unprotect times packets protected beforehand.
        if way == Way::Unprotect {
            for p in &mut packets {
                match sender.protect(p, rtp_len) {
                    Ok(len) => p.truncate(len),
                    Err(_) => return 0,
                }
            }
        }
        let started = Instant::now();
        let mut done = 0;
        for p in &mut packets {
            let ok = match way {
                Way::Protect => std::hint::black_box(sender.protect(p, rtp_len)).is_ok(),
                Way::Unprotect => std::hint::black_box(receiver.unprotect(p)).is_ok(),
            };
            done += usize::from(ok);
        }
        let nanos = started.elapsed().as_nanos() as u64;
        if done == BATCH { nanos } else { 0 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference times real work: a larger frame or packet costs more than a small one,
    /// and nothing is free.
    #[test]
    fn reference_grows_with_size() {
        let suite = CipherSuite::Aes128GcmSha256_128;
        let profile = SrtpProfile::Aes128CmHmacSha1_80;
        let small = Reference::measure(suite, 100, profile, 100);
        let large = Reference::measure(suite, 16_000, profile, 1_200);
        assert!(small.sframe_decrypt_ns > 0.0 && small.srtp_unprotect_ns > 0.0);
        assert!(
            large.sframe_decrypt_ns > small.sframe_decrypt_ns,
            "{small:?} {large:?}"
        );
        assert!(
            large.srtp_unprotect_ns > small.srtp_unprotect_ns,
            "{small:?} {large:?}"
        );
    }

    /// The sending and forwarding stages time real work too, and forwarding a packet to more
    /// receivers costs more.
    #[test]
    fn floor_prices_the_senders_and_the_sfu() {
        let suite = CipherSuite::Aes128GcmSha256_128;
        let profile = SrtpProfile::Aes128CmHmacSha1_80;
        let mut m = CryptoMeters::default();
        for (meter, calls, bytes) in [
            (&mut m.sframe_encrypt, 10, 10_000),
            (&mut m.srtp_protect, 10, 10_400),
        ] {
            meter.calls = calls;
            meter.bytes = bytes;
        }
        let mut sfu = SfuSeen {
            packets_in: 10,
            bytes_in: 10_400,
            packets_out: 20,
            bytes_out: 20_800,
            ..SfuSeen::default()
        };
        let floor = Floor::for_meeting(suite, profile, &m, &sfu);
        assert!(
            floor.sframe_encrypt_ns > 0.0
                && floor.sender_protect_ns > 0.0
                && floor.sfu_unprotect_ns > 0.0
                && floor.sfu_protect_ns > 0.0,
            "{floor:?}"
        );
        let two = floor.nanos(&m, &sfu);
        sfu.packets_out = 40;
        assert!(floor.nanos(&m, &sfu) > two);
    }
}
