//! SRTP, for `sframe bench --srtp`: protect and unprotect per profile and packet size, four
//! contenders timed in turn round after round (as [`crate::quick`] does for SFrame), and an
//! SFU forwarding one stream to ten receivers on our SRTP and on `webrtc-srtp`.
//!
//! Contenders (the same as in `rtp-glue/benches/srtp.rs`):
//! - `ours`: `sframe_rtp::SrtpContext` on the default backend, in place;
//! - `floor`: the same backend's raw primitives doing the same crypto and nothing else
//!   (`sframe_core::primitives`: AES-GCM with the header as AAD; AES-CTR and HMAC-SHA1);
//! - `webrtc_srtp`: `webrtc-srtp` 0.17's `Context` (allocates per packet);
//! - `libsrtp2`: Debian's libsrtp2 (through the test-only `libsrtp2-peer` crate), in place.
//!
//! Each protect restores the plaintext and bumps the sequence number (libsrtp2 refuses to
//! protect one twice); each unprotect gets a fresh packet made outside the timing, in order,
//! from a sender of its own (all four keep a replay window).

// Setup failing (a key refused, libsrtp2 missing) is a broken bench, not an input to handle.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use libsrtp2_peer::Libsrtp2;
use sframe_core::Backend;
use sframe_core::primitives::{AesCtr, AesGcm, HmacSha1};
use sframe_rtp::{SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};
use webrtc_srtp::context::Context;
use webrtc_srtp::option::{
    srtcp_no_replay_protection, srtp_no_replay_protection, srtp_replay_protection,
};
use webrtc_srtp::protection_profile::ProtectionProfile;

use crate::quick::Budget;
use crate::send_path::SendResult;
use crate::sfu::{RECEIVERS, SfuResult};

/// RTP payload sizes measured by default (a 12-byte header comes on top).
pub const SRTP_SIZES: [usize; 2] = [160, 1_200];
const HEADER: usize = 12;
const SSRC: u32 = 0x5151_0001;

/// One row: the median ns per packet of each contender for one profile, size and operation.
#[derive(Clone, Debug, PartialEq)]
pub struct SrtpRow {
    pub profile: SrtpProfile,
    pub size: usize,
    /// `protect` or `unprotect`.
    pub op: &'static str,
    pub ns_ours: f64,
    pub ns_floor: f64,
    pub ns_webrtc_srtp: f64,
    pub ns_libsrtp2: f64,
}

/// Master key and salt every contender shares.
pub fn srtp_keys(profile: SrtpProfile) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: (0..profile.key_len() as u8).collect(),
        master_salt: (100..100 + profile.salt_len() as u8).collect(),
    }
}

fn webrtc_profile(p: SrtpProfile) -> ProtectionProfile {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        _ => ProtectionProfile::AeadAes256Gcm,
    }
}

fn libsrtp2_profile(p: SrtpProfile) -> i32 {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => 1,
        SrtpProfile::Aes128CmHmacSha1_32 => 2,
        SrtpProfile::AeadAes128Gcm => 7,
        _ => 8,
    }
}

fn rtp_packet(size: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96, 0, 0, 0, 0, 0x10, 0];
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend((0..size).map(|i| i as u8));
    p
}

fn bump(buf: &mut [u8], seq: &mut u16) {
    *seq = seq.wrapping_add(1);
    if let Some(s) = buf.get_mut(2..4) {
        s.copy_from_slice(&seq.to_be_bytes());
    }
}

/// Fresh SRTP packets, in order, from our sender (the four contenders agree byte for byte).
struct Fresh {
    tx: SrtpContext,
    plain: Vec<u8>,
    seq: u16,
    overhead: usize,
}

impl Fresh {
    fn new(profile: SrtpProfile, size: usize) -> Self {
        Self {
            tx: SrtpContext::sender(&srtp_keys(profile)).expect("valid keys"),
            plain: rtp_packet(size),
            seq: 0,
            overhead: profile.overhead(),
        }
    }

    fn next(&mut self) -> Vec<u8> {
        let len = self.plain.len();
        let mut buf = self.plain.clone();
        buf.resize(len + self.overhead, 0);
        bump(&mut buf, &mut self.seq);
        let n = self.tx.protect(&mut buf, len).expect("protect");
        buf.truncate(n);
        buf
    }
}

/// The crypto of one packet with nothing around it.
// Unboxed like the engine's own cipher, so the floor pays no indirection the engine does not.
#[allow(clippy::large_enum_variant)]
enum Floor {
    Gcm(AesGcm),
    CmHmac(AesCtr, HmacSha1, usize),
}

impl Floor {
    fn new(p: SrtpProfile) -> Self {
        let b = Backend::default();
        if p.is_aead() {
            Self::Gcm(AesGcm::new(b, &vec![7; p.key_len()]).expect("key"))
        } else {
            Self::CmHmac(
                AesCtr::new(b, &[7; 16]).expect("key"),
                HmacSha1::new(b, &[8; 20]).expect("key"),
                p.overhead(),
            )
        }
    }

    fn seal(&self, buf: &mut [u8], len: usize) {
        match self {
            Self::Gcm(g) => {
                let (h, rest) = buf.split_at_mut(HEADER);
                let _ = g.seal(&[3; 12], h, &mut rest[..len - HEADER + 16]);
            }
            Self::CmHmac(ctr, mac, tag_len) => {
                let (pkt, rest) = buf.split_at_mut(len);
                let _ = ctr.apply_keystream(&[5; 16], &mut pkt[HEADER..]);
                let tag = mac.sign(&[pkt, &[0, 0, 0, 0]]);
                rest[..*tag_len].copy_from_slice(&tag[..*tag_len]);
            }
        }
    }

    fn open(&self, buf: &mut [u8]) -> bool {
        match self {
            Self::Gcm(g) => {
                let (h, rest) = buf.split_at_mut(HEADER);
                g.open(&[3; 12], h, rest).is_ok()
            }
            Self::CmHmac(ctr, mac, tag_len) => {
                let len = buf.len() - tag_len;
                let (pkt, tag) = buf.split_at_mut(len);
                mac.verify_truncated(&[pkt, &[0, 0, 0, 0]], tag)
                    && ctr.apply_keystream(&[5; 16], &mut pkt[HEADER..]).is_ok()
            }
        }
    }
}

// Four values per measured cell, set up once: sizes do not matter, an indirection would.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Ours { tx: SrtpContext, rx: SrtpContext },
    Floor(Floor),
    Webrtc { tx: Context, rx: Context },
    Lib { tx: Libsrtp2, rx: Libsrtp2 },
}

/// One contender for one profile and size.
struct Contender {
    kind: Kind,
    plain: Vec<u8>,
    buf: Vec<u8>,
    seq: u16,
    fresh: Fresh,
    sealed: Vec<u8>,
}

impl Contender {
    fn new(kind: Kind, profile: SrtpProfile, size: usize) -> Self {
        let plain = rtp_packet(size);
        let mut buf = vec![0u8; plain.len() + Libsrtp2::ROOM];
        let mut sealed = Vec::new();
        if let Kind::Floor(f) = &kind {
            buf[..plain.len()].copy_from_slice(&plain);
            f.seal(&mut buf, plain.len());
            sealed = buf[..plain.len() + profile.overhead()].to_vec();
        }
        Self {
            kind,
            plain,
            buf,
            seq: 0,
            fresh: Fresh::new(profile, size),
            sealed,
        }
    }

    fn protect(&mut self) {
        let len = self.plain.len();
        match &mut self.kind {
            Kind::Webrtc { tx, .. } => {
                bump(&mut self.plain, &mut self.seq);
                let _ = std::hint::black_box(tx.encrypt_rtp(&self.plain));
                return;
            }
            _ => {
                self.buf[..len].copy_from_slice(&self.plain);
                bump(&mut self.buf, &mut self.seq);
            }
        }
        match &mut self.kind {
            Kind::Ours { tx, .. } => {
                let _ = std::hint::black_box(tx.protect(&mut self.buf, len));
            }
            Kind::Floor(f) => f.seal(&mut self.buf, len),
            Kind::Lib { tx, .. } => {
                let _ = std::hint::black_box(tx.protect(&mut self.buf, len));
            }
            Kind::Webrtc { .. } => {}
        }
    }

    fn fresh(&mut self) -> Vec<u8> {
        match &self.kind {
            Kind::Floor(_) => self.sealed.clone(),
            _ => self.fresh.next(),
        }
    }

    fn unprotect(&mut self, packet: &mut [u8]) {
        match &mut self.kind {
            Kind::Ours { rx, .. } => {
                let _ = std::hint::black_box(rx.unprotect(packet).map(|p| p.len()));
            }
            Kind::Floor(f) => {
                std::hint::black_box(f.open(packet));
            }
            Kind::Webrtc { rx, .. } => {
                let _ = std::hint::black_box(rx.decrypt_rtp(packet));
            }
            Kind::Lib { rx, .. } => {
                let _ = std::hint::black_box(rx.unprotect(packet));
            }
        }
    }
}

fn contenders(profile: SrtpProfile, size: usize) -> Vec<Contender> {
    let keys = srtp_keys(profile);
    let webrtc = |replay: bool| {
        Context::new(
            &keys.master_key,
            &keys.master_salt,
            webrtc_profile(profile),
            Some(if replay {
                srtp_replay_protection(1024)
            } else {
                srtp_no_replay_protection()
            }),
            Some(srtcp_no_replay_protection()),
        )
        .expect("webrtc-srtp context")
    };
    let key_salt = [&keys.master_key[..], &keys.master_salt[..]].concat();
    let lib = |inbound: bool| {
        Libsrtp2::new(libsrtp2_profile(profile), &key_salt, inbound, 1024).expect("libsrtp2")
    };
    let mut rx = SrtpContext::receiver(&keys, 1024).expect("keys");
    rx.allow_ssrc(SSRC);
    let mut kinds = vec![
        Kind::Ours {
            tx: SrtpContext::sender(&keys).expect("keys"),
            rx,
        },
        Kind::Floor(Floor::new(profile)),
        Kind::Webrtc {
            tx: webrtc(false),
            rx: webrtc(true),
        },
    ];
    // Without libsrtp2 installed its column stays empty (NaN; null in JSON).
    if libsrtp2_peer::installed() {
        kinds.push(Kind::Lib {
            tx: lib(false),
            rx: lib(true),
        });
    }
    kinds
        .into_iter()
        .map(|k| Contender::new(k, profile, size))
        .collect()
}

/// The contenders' names, in [`run_srtp`]'s numbering.
pub const SRTP_CONTENDERS: [&str; 4] = ["ours", "floor", "webrtc_srtp", "libsrtp2"];

/// For profilers that count instructions: runs contender `name` ([`SRTP_CONTENDERS`]) `n`
/// times: `protect`, `unprotect` (each on a fresh packet, made in the loop), or `fresh` (only
/// making those packets, to subtract). Returns `false` for an unknown name or operation.
pub fn run_srtp(profile: SrtpProfile, size: usize, name: &str, op: &str, n: usize) -> bool {
    let Some(i) = SRTP_CONTENDERS.iter().position(|c| *c == name) else {
        return false;
    };
    let Some(mut c) = contenders(profile, size).into_iter().nth(i) else {
        return false;
    };
    match op {
        "protect" => (0..n).for_each(|_| c.protect()),
        "unprotect" => (0..n).for_each(|_| {
            let mut p = c.fresh();
            c.unprotect(&mut p);
        }),
        "fresh" => (0..n).for_each(|_| {
            std::hint::black_box(c.fresh());
        }),
        _ => return false,
    }
    true
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub(crate) const BATCH: usize = 64;

/// Measures the four contenders for `profile` at `size`, both operations, interleaved.
pub fn compare_srtp(profile: SrtpProfile, size: usize, budget: Budget) -> Vec<SrtpRow> {
    let mut all = contenders(profile, size);
    let mut prot: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    let mut unprot: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    for round in 0..=budget.rounds {
        for (i, c) in all.iter_mut().enumerate() {
            let (mut n, start) = (0usize, Instant::now());
            while start.elapsed() < budget.round {
                for _ in 0..BATCH {
                    c.protect();
                }
                n += BATCH;
            }
            let p_ns = start.elapsed().as_nanos() as f64 / n as f64;
            let (mut n, mut spent) = (0usize, Duration::ZERO);
            while spent < budget.round {
                let mut pool: Vec<Vec<u8>> = (0..BATCH).map(|_| c.fresh()).collect();
                let start = Instant::now();
                for p in &mut pool {
                    c.unprotect(p);
                }
                spent += start.elapsed();
                n += BATCH;
            }
            let u_ns = spent.as_nanos() as f64 / n as f64;
            if round > 0 {
                prot[i].push(p_ns);
                unprot[i].push(u_ns);
            }
        }
    }
    let med = |v: &[Vec<f64>], i: usize| median(v.get(i).cloned().unwrap_or_default());
    ["protect", "unprotect"]
        .into_iter()
        .map(|op| {
            let v = if op == "protect" { &prot } else { &unprot };
            SrtpRow {
                profile,
                size,
                op,
                ns_ours: med(v, 0),
                ns_floor: med(v, 1),
                ns_webrtc_srtp: med(v, 2),
                ns_libsrtp2: med(v, 3),
            }
        })
        .collect()
}

pub(crate) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}x"))
}

/// `sframe bench --srtp --json`: one object with an `srtp` array, an `sfu` object and a
/// `send` object.
pub fn srtp_json(
    rows: &[SrtpRow],
    sfu: &SfuResult,
    send: &SendResult,
    budget: Budget,
) -> serde_json::Value {
    serde_json::json!({
        "unit": "ns_per_packet",
        "rounds": budget.rounds,
        "round_ms": budget.round.as_millis() as u64,
        "srtp": rows.iter().map(|r| serde_json::json!({
            "profile": r.profile.name(),
            "size": r.size,
            "op": r.op,
            "ns_ours": r.ns_ours,
            "ns_floor": r.ns_floor,
            "ns_webrtc_srtp": r.ns_webrtc_srtp,
            "ns_libsrtp2": r.ns_libsrtp2,
            "ours_over_floor": ratio(r.ns_ours, r.ns_floor),
            "webrtc_srtp_over_ours": ratio(r.ns_webrtc_srtp, r.ns_ours),
            "libsrtp2_over_ours": ratio(r.ns_libsrtp2, r.ns_ours),
        })).collect::<Vec<_>>(),
        "sfu": {
            "receivers": RECEIVERS,
            "profile": SrtpProfile::AeadAes128Gcm.name(),
            "packet_bytes": 1200,
            "pps_ours": sfu.pps_ours,
            "pps_webrtc_srtp": sfu.pps_webrtc_srtp,
            "pps_ours_copying": sfu.pps_ours_copying,
            "ours_over_webrtc_srtp": ratio(sfu.pps_ours, sfu.pps_webrtc_srtp),
        },
        "send": {
            "profile": SrtpProfile::AeadAes128Gcm.name(),
            "packet_bytes": send.packet_bytes,
            "ns_send": send.ns_send,
            "ns_sframe_floor": send.ns_sframe_floor,
            "ns_srtp_floor": send.ns_srtp_floor,
            "ns_floor_sum": send.ns_sframe_floor + send.ns_srtp_floor,
            "send_over_floor_sum": ratio(send.ns_send, send.ns_sframe_floor + send.ns_srtp_floor),
        },
    })
}

/// `sframe bench --srtp`: the table.
pub fn srtp_table(rows: &[SrtpRow], sfu: &SfuResult, send: &SendResult) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<28} {:>5} {:>9} | {:>8} {:>8} {:>8} {:>8} | {:>10} {:>10} {:>10}\n",
        "profile",
        "size",
        "op",
        "ours",
        "floor",
        "webrtc",
        "libsrtp2",
        "ours/floor",
        "webrtc/ours",
        "libsrtp/ours"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<28} {:>5} {:>9} | {:>8.0} {:>8.0} {:>8.0} {:>8.0} | {:>10} {:>10} {:>10}",
            r.profile.name(),
            r.size,
            r.op,
            r.ns_ours,
            r.ns_floor,
            r.ns_webrtc_srtp,
            r.ns_libsrtp2,
            cell(ratio(r.ns_ours, r.ns_floor)),
            cell(ratio(r.ns_webrtc_srtp, r.ns_ours)),
            cell(ratio(r.ns_libsrtp2, r.ns_ours)),
        );
    }
    out.push_str(
        "times in ns per packet (median of rounds), payload bytes plus a 12-byte header\n",
    );
    let _ = writeln!(
        out,
        "SFU, one AEAD_AES_128_GCM stream of 1200 B to {RECEIVERS} receivers: {:.0} forwarded packets/s on ours, {:.0} on webrtc-srtp ({}); {:.0} through the copying `Sfu::receive`",
        sfu.pps_ours,
        sfu.pps_webrtc_srtp,
        cell(ratio(sfu.pps_ours, sfu.pps_webrtc_srtp)),
        sfu.pps_ours_copying,
    );
    let floor = send.ns_sframe_floor + send.ns_srtp_floor;
    let _ = writeln!(
        out,
        "send path (frame -> SFrame -> packetize -> SRTP), one {} B AEAD_AES_128_GCM packet: {:.0} ns against {:.0} + {:.0} = {:.0} ns of the two AEAD floors ({})",
        send.packet_bytes,
        send.ns_send,
        send.ns_sframe_floor,
        send.ns_srtp_floor,
        floor,
        cell(ratio(send.ns_send, floor)),
    );
    out
}
