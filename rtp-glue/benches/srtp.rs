//! SRTP protect and unprotect per profile, at 160 and 1,200 payload bytes (plus a 12-byte
//! RTP header), four ways in one run:
//!
//! - `ours`: [`SrtpContext`] on the default backend (aws-lc-rs), in place (`ours/rustcrypto`:
//!   on the RustCrypto backend);
//! - `floor`: the raw primitives of the same backend doing the same crypto with nothing
//!   else (AES-GCM seal/open with the header as AAD; AES-CTR plus HMAC-SHA1 over header,
//!   payload and ROC), keys expanded once (`floor/rustcrypto`: the same on RustCrypto);
//! - `webrtc_srtp`: `webrtc-srtp` 0.17's `Context` (allocates per packet);
//! - `libsrtp2`: Debian's libsrtp2, in place.
//!
//! Every protect first restores the plaintext payload and bumps the sequence number (libsrtp2
//! refuses to protect a sequence number twice), the same work for all four. Every unprotect
//! gets a fresh packet made outside the timing (all four have replay protection on).
//!
//! `cargo bench -p sframe-rtp --bench srtp` (`-- --quick` for a short run; a filter such as
//! `-- 'srtp/AeadAes128Gcm/1200'` for one group).

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use libsrtp2_peer::Libsrtp2;
use sframe_core::Backend;
use sframe_core::primitives::{AesCtr, AesGcm, HmacSha1};
use sframe_rtp::{SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};
use webrtc_srtp::context::Context;
use webrtc_srtp::option::{
    srtcp_no_replay_protection, srtp_no_replay_protection, srtp_replay_protection,
};
use webrtc_srtp::protection_profile::ProtectionProfile;

const SSRC: u32 = 0x5151_0001;
const SIZES: [usize; 2] = [160, 1200];
const HEADER: usize = 12;

fn keys(profile: SrtpProfile) -> SrtpKeys {
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

fn webrtc_context(p: SrtpProfile, replay: bool) -> Context {
    let k = keys(p);
    let srtp = if replay {
        srtp_replay_protection(1024)
    } else {
        srtp_no_replay_protection()
    };
    Context::new(
        &k.master_key,
        &k.master_salt,
        webrtc_profile(p),
        Some(srtp),
        Some(srtcp_no_replay_protection()),
    )
    .unwrap()
}

fn libsrtp2(p: SrtpProfile, inbound: bool) -> Libsrtp2 {
    let k = keys(p);
    let key_salt = [&k.master_key[..], &k.master_salt[..]].concat();
    Libsrtp2::new(libsrtp2_profile(p), &key_salt, inbound, 1024).unwrap()
}

fn plain(size: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96, 0, 0, 0, 0, 0x10, 0, 0x51, 0x51, 0, 1];
    p.extend((0..size).map(|i| i as u8));
    p
}

/// The crypto of one packet with nothing around it: the floor under any SRTP.
// Unboxed like the engine's own cipher, so the floor pays no indirection the engine does not.
#[allow(clippy::large_enum_variant)]
enum Floor {
    Gcm(AesGcm),
    CmHmac(AesCtr, HmacSha1, usize),
}

impl Floor {
    fn new(p: SrtpProfile, b: Backend) -> Self {
        if p.is_aead() {
            Self::Gcm(AesGcm::new(b, &vec![7; p.key_len()]).unwrap())
        } else {
            Self::CmHmac(
                AesCtr::new(b, &[7; 16]).unwrap(),
                HmacSha1::new(b, &[8; 20]).unwrap(),
                p.overhead(),
            )
        }
    }

    fn seal(&self, buf: &mut [u8], len: usize) -> usize {
        match self {
            Self::Gcm(g) => {
                let (h, rest) = buf.split_at_mut(HEADER);
                g.seal(&[3; 12], h, &mut rest[..len - HEADER + 16]).unwrap();
                len + 16
            }
            Self::CmHmac(ctr, mac, tag_len) => {
                let (pkt, rest) = buf.split_at_mut(len);
                ctr.apply_keystream(&[5; 16], &mut pkt[HEADER..]).unwrap();
                let tag = mac.sign(&[pkt, &[0, 0, 0, 0]]);
                rest[..*tag_len].copy_from_slice(&tag[..*tag_len]);
                len + tag_len
            }
        }
    }

    fn open(&self, buf: &mut [u8]) -> usize {
        match self {
            Self::Gcm(g) => {
                let (h, rest) = buf.split_at_mut(HEADER);
                HEADER + g.open(&[3; 12], h, rest).unwrap().len()
            }
            Self::CmHmac(ctr, mac, tag_len) => {
                let len = buf.len() - tag_len;
                let (pkt, tag) = buf.split_at_mut(len);
                assert!(mac.verify_truncated(&[pkt, &[0, 0, 0, 0]], tag));
                ctr.apply_keystream(&[5; 16], &mut pkt[HEADER..]).unwrap();
                len
            }
        }
    }
}

fn set_seq(buf: &mut [u8], seq: &mut u16) {
    *seq = seq.wrapping_add(1);
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
}

fn protect(c: &mut Criterion) {
    for profile in SrtpProfile::ALL {
        let mut group = c.benchmark_group(format!("srtp/{profile:?}"));
        for size in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            let plain = plain(size);
            let len = plain.len();
            let mut buf = vec![0u8; len + 256];
            let mut seq = 0u16;

            for &backend in Backend::ALL {
                // `ours` and `floor` on the default backend (aws-lc-rs); `/rustcrypto` on
                // RustCrypto.
                let suffix = if backend == Backend::default() {
                    ""
                } else {
                    "/rustcrypto"
                };
                let mut ours = SrtpContext::with_backend(backend, &keys(profile), 64).unwrap();
                group.bench_function(format!("{size}/protect/ours{suffix}"), |b| {
                    b.iter(|| {
                        buf[..len].copy_from_slice(&plain);
                        set_seq(&mut buf, &mut seq);
                        black_box(ours.protect(&mut buf, len).unwrap())
                    })
                });
                let floor = Floor::new(profile, backend);
                group.bench_function(format!("{size}/protect/floor{suffix}"), |b| {
                    b.iter(|| {
                        buf[..len].copy_from_slice(&plain);
                        set_seq(&mut buf, &mut seq);
                        black_box(floor.seal(&mut buf, len))
                    })
                });
            }
            let mut webrtc = webrtc_context(profile, false);
            let mut p = plain.clone();
            group.bench_function(format!("{size}/protect/webrtc_srtp"), |b| {
                b.iter(|| {
                    set_seq(&mut p, &mut seq);
                    black_box(webrtc.encrypt_rtp(&p).unwrap())
                })
            });
            if !libsrtp2_peer::installed() {
                eprintln!("skipped: libsrtp2 is not installed (apt-get install libsrtp2-dev)");
                continue;
            }
            let mut lib = libsrtp2(profile, false);
            group.bench_function(format!("{size}/protect/libsrtp2"), |b| {
                b.iter(|| {
                    buf[..len].copy_from_slice(&plain);
                    set_seq(&mut buf, &mut seq);
                    black_box(lib.protect(&mut buf, len).unwrap())
                })
            });
        }
        group.finish();
    }
}

fn unprotect(c: &mut Criterion) {
    for profile in SrtpProfile::ALL {
        let mut group = c.benchmark_group(format!("srtp/{profile:?}"));
        for size in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            let plain = plain(size);
            let len = plain.len();
            // Fresh packets, in order, from a new sender per receiver (so each receiver starts
            // at rollover counter 0 as its sender does); the four are byte for byte the same
            // on the wire, so ours protects for all.
            let sender = || {
                let plain = plain.clone();
                let mut tx = SrtpContext::sender(&keys(profile)).unwrap();
                let mut seq = 0u16;
                move || {
                    let mut buf = plain.clone();
                    buf.resize(len + profile.overhead(), 0);
                    set_seq(&mut buf, &mut seq);
                    let n = tx.protect(&mut buf, len).unwrap();
                    buf.truncate(n);
                    buf
                }
            };

            for &backend in Backend::ALL {
                let suffix = if backend == Backend::default() {
                    ""
                } else {
                    "/rustcrypto"
                };
                let mut ours = SrtpContext::with_backend(backend, &keys(profile), 1024).unwrap();
                ours.allow_ssrc(SSRC);
                let mut fresh = sender();
                group.bench_function(format!("{size}/unprotect/ours{suffix}"), |b| {
                    b.iter_batched(
                        &mut fresh,
                        |mut w| {
                            black_box(ours.unprotect(&mut w).unwrap().len());
                            w
                        },
                        BatchSize::SmallInput,
                    )
                });
                let floor = Floor::new(profile, backend);
                let sealed = plain_for_floor(&floor, size);
                group.bench_function(format!("{size}/unprotect/floor{suffix}"), |b| {
                    b.iter_batched(
                        || sealed.clone(),
                        |mut w| {
                            black_box(floor.open(&mut w));
                            w
                        },
                        BatchSize::SmallInput,
                    )
                });
            }
            let mut webrtc = webrtc_context(profile, true);
            let mut fresh = sender();
            group.bench_function(format!("{size}/unprotect/webrtc_srtp"), |b| {
                b.iter_batched(
                    &mut fresh,
                    |w| black_box(webrtc.decrypt_rtp(&w).unwrap()),
                    BatchSize::SmallInput,
                )
            });
            if !libsrtp2_peer::installed() {
                eprintln!("skipped: libsrtp2 is not installed (apt-get install libsrtp2-dev)");
                continue;
            }
            let mut lib = libsrtp2(profile, true);
            let mut fresh = sender();
            group.bench_function(format!("{size}/unprotect/libsrtp2"), |b| {
                b.iter_batched(
                    &mut fresh,
                    |mut w| {
                        black_box(lib.unprotect(&mut w).unwrap());
                        w
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

fn plain_for_floor(floor: &Floor, size: usize) -> Vec<u8> {
    let p = plain(size);
    let mut buf = p.clone();
    buf.resize(p.len() + 16, 0);
    let n = floor.seal(&mut buf, p.len());
    buf.truncate(n);
    buf
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    protect(&mut c);
    unprotect(&mut c);
    c.final_summary();
}
