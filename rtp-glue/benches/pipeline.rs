//! The SFrame-in-RTP pipeline, stage by stage, per frame (160 B audio; 1.2 KB, 10 KB, 50 KB
//! video) and per 1,200-byte packet, AES_128_GCM_SHA256_128 for SFrame:
//!
//! send:    `sframe`            SFrame encrypt only (in place)
//!          `sframe+packetize`  ... and split into RTP packets (MTU 1,200)
//!          `send/<profile>`    ... and SRTP protect: `MediaSender::send_frame` and
//!                              `poll_transmit` into one reused buffer, all of it
//! receive: `unprotect/<p>`     SRTP unprotect of the frame's packets only
//!          `depacketize+sframe` reassembly and SFrame decrypt (plaintext RTP in)
//!          `receive/<p>`       all of it: `MediaReceiver::handle_packet` and `poll_output`
//!                              for each packet
//!
//! Before criterion runs, allocations per packet and per frame of each stage are counted with
//! a counting global allocator and printed.
//!
//! `cargo bench -p sframe-rtp --bench pipeline` (`-- --quick` for a short run).

// The counting allocator is an `unsafe impl GlobalAlloc` (forwarding to `System`); nothing
// else in this file is unsafe.
#![allow(unsafe_code, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use sframe_core::{CipherSuite, Receiver, Sender, StaticKeys};
use sframe_rtp::{
    Depacketizer, DepacketizerConfig, FrameMetadata, MediaReceiver, MediaReceiverConfig,
    MediaSender, MediaSenderConfig, Mode, Origin, Packetizer, PacketizerConfig, Pushed,
    ReceiveOutput, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform,
};

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const KID: u64 = 7;
const BASE_KEY: &[u8] = b"the pipeline bench's SFrame base key";
const MTU: usize = 1200;
const SSRC: u32 = 0x5151;
/// Frame sizes; 1,150 B is "one 1,200-byte packet" (RTP header, descriptor, SFrame header
/// and tag, SRTP tag make up the rest).
const SIZES: [(&str, usize); 5] = [
    ("audio-160B", 160),
    ("packet-1200B", 1150),
    ("video-1.2KB", 1200),
    ("video-10KB", 10_000),
    ("video-50KB", 50_000),
];

fn keys(profile: SrtpProfile) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: vec![0x11; profile.key_len()],
        master_salt: vec![0x22; profile.salt_len()],
    }
}

fn meta() -> FrameMetadata {
    FrameMetadata {
        payload_type: 96,
        timestamp: 0,
        marker: true,
        ..FrameMetadata::default()
    }
}

/// The library's sender with static keys.
struct Tx {
    keys: StaticKeys,
    sender: MediaSender,
    buf: Vec<u8>,
}

impl Tx {
    /// Sends one frame, every packet written into the same reused buffer; returns the packets.
    fn send(&mut self, frame: &[u8]) -> usize {
        self.sender
            .send_frame(&mut self.keys, SSRC, frame, &meta())
            .unwrap();
        let mut n = 0;
        while let Some(t) = self.sender.poll_transmit(&mut self.buf).unwrap() {
            black_box(&self.buf[..t.len]);
            n += 1;
        }
        n
    }

    /// Sends one frame and keeps a copy of each packet (to feed a receiver).
    fn packets(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        self.sender
            .send_frame(&mut self.keys, SSRC, frame, &meta())
            .unwrap();
        let mut out = Vec::with_capacity(64);
        while let Some(t) = self.sender.poll_transmit(&mut self.buf).unwrap() {
            out.push(self.buf[..t.len].to_vec());
        }
        out
    }
}

fn sender(profile: SrtpProfile) -> Tx {
    let mut sframe_keys = StaticKeys::new(SUITE);
    sframe_keys.sender.add_key(KID, BASE_KEY).unwrap();
    let cfg = MediaSenderConfig {
        mode: Mode::PerFrame,
        mtu: MTU,
    };
    let mut sender = MediaSender::new(cfg, Box::new(SrtpContext::sender(&keys(profile)).unwrap()));
    sender.add_stream(SSRC, 0, KID, None).unwrap();
    Tx {
        keys: sframe_keys,
        sender,
        buf: vec![0; MTU],
    }
}

/// The library's receiver with static keys.
struct Rx {
    keys: StaticKeys,
    receiver: MediaReceiver<StaticKeys>,
}

impl Rx {
    /// Handles one packet and drains what it completed; returns the plaintext bytes handed out.
    fn receive(&mut self, packet: &mut [u8]) -> usize {
        self.receiver
            .handle_packet(&mut self.keys, Duration::ZERO, packet)
            .unwrap();
        let mut n = 0;
        while let Some(out) = self.receiver.poll_output(&mut self.keys) {
            if let ReceiveOutput::Frame(f) = out {
                n += black_box(f.data).len();
            }
        }
        n
    }
}

fn receiver(profile: SrtpProfile) -> Rx {
    let srtp = SrtpContext::receiver(&keys(profile), 1024).unwrap();
    let mut receiver = MediaReceiver::new(MediaReceiverConfig::default(), Box::new(srtp));
    receiver.add_stream(SSRC);
    let mut sframe_keys = StaticKeys::new(SUITE);
    sframe_keys.receiver.add_key(KID, BASE_KEY).unwrap();
    Rx {
        keys: sframe_keys,
        receiver,
    }
}

fn packetizer(srtp_overhead: usize) -> Packetizer {
    Packetizer::new(
        SSRC,
        0,
        PacketizerConfig {
            mtu: MTU,
            srtp_overhead,
        },
    )
}

fn sframe_pair() -> (Sender, Receiver) {
    let mut s = Sender::new(SUITE);
    s.add_key(KID, BASE_KEY).unwrap();
    let mut r = Receiver::new(SUITE);
    r.add_key(KID, BASE_KEY).unwrap();
    (s, r)
}

/// SFrame-encrypts `frame` into `buf` (room in front and behind) and returns the frame length.
fn seal(s: &mut Sender, frame: &[u8], buf: &mut Vec<u8>) -> usize {
    let hl = s.header_len(KID).unwrap();
    buf.clear();
    buf.resize(hl, 0);
    buf.extend_from_slice(frame);
    buf.resize(hl + frame.len() + SUITE.tag_len(), 0);
    s.encrypt_in_place(KID, &[], buf, hl..hl + frame.len())
        .unwrap()
        .len()
}

/// Allocations per frame and per packet of each stage, averaged over `n` frames after a
/// warm-up.
fn allocation_report() {
    println!("allocations per frame (per packet), averaged over 200 frames after a warm-up:");
    for (name, size) in SIZES {
        let frame = vec![0xAB; size];
        let n = 200u64;
        // SFrame only.
        let (mut s, _) = sframe_pair();
        let mut buf = Vec::with_capacity(size + 64);
        seal(&mut s, &frame, &mut buf);
        let before = allocations();
        for _ in 0..n {
            black_box(seal(&mut s, &frame, &mut buf));
        }
        let sframe = allocations() - before;
        // SFrame + packetize.
        let mut p = packetizer(16);
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(64);
        let before = allocations();
        let mut packets = 0;
        for _ in 0..n {
            out.clear();
            let len = seal(&mut s, &frame, &mut buf);
            packets = p
                .packetize_frame(&meta(), Origin::Raw, &buf[..len], &mut out)
                .unwrap();
        }
        let packetize = allocations() - before;
        let per = |a: u64| {
            format!(
                "{:.1} ({:.2})",
                a as f64 / n as f64,
                a as f64 / (n * packets as u64) as f64
            )
        };
        let mut line = format!(
            "  {name:>13} [{packets} pkt]: sframe {}, +packetize {}",
            per(sframe),
            per(packetize)
        );
        for profile in SrtpProfile::ALL {
            let mut tx = sender(profile);
            // The receiver gets the stream from its start: a warm-up frame, then the counted.
            let mut rx = receiver(profile);
            for mut w in tx.packets(&frame) {
                rx.receive(&mut w);
            }
            let mut frames: Vec<Vec<Vec<u8>>> = (0..n).map(|_| tx.packets(&frame)).collect();
            let before = allocations();
            for pkts in &mut frames {
                for w in pkts {
                    black_box(rx.receive(w));
                }
            }
            let recv = allocations() - before;
            // The sender, warmed up, writing every packet into one reused buffer.
            tx.send(&frame);
            let before = allocations();
            for _ in 0..n {
                black_box(tx.send(&frame));
            }
            let send = allocations() - before;
            line += &format!(
                ", send/{profile:?} {}, receive/{profile:?} {}",
                per(send),
                per(recv)
            );
        }
        println!("{line}");
    }
}

fn send_stages(c: &mut Criterion) {
    let mut group = c.benchmark_group("send");
    for (name, size) in SIZES {
        let frame = vec![0xAB; size];
        group.throughput(Throughput::Bytes(size as u64));
        let (mut s, _) = sframe_pair();
        let mut buf = Vec::with_capacity(size + 64);
        group.bench_function(format!("{name}/sframe"), |b| {
            b.iter(|| black_box(seal(&mut s, &frame, &mut buf)))
        });
        let mut p = packetizer(16);
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(64);
        group.bench_function(format!("{name}/sframe+packetize"), |b| {
            b.iter(|| {
                out.clear();
                let len = seal(&mut s, &frame, &mut buf);
                black_box(p.packetize_frame(&meta(), Origin::Raw, &buf[..len], &mut out))
            })
        });
        for profile in SrtpProfile::ALL {
            let mut tx = sender(profile);
            group.bench_function(format!("{name}/sframe+packetize+srtp/{profile:?}"), |b| {
                b.iter(|| black_box(tx.send(&frame)))
            });
        }
    }
    group.finish();
}

fn receive_stages(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    for (name, size) in SIZES {
        let frame = vec![0xAB; size];
        group.throughput(Throughput::Bytes(size as u64));
        for profile in SrtpProfile::ALL {
            // Fresh packets every iteration (SRTP and SFrame refuse replays), made untimed.
            let mut tx = sender(profile);
            let fresh = |tx: &mut Tx| tx.packets(&frame);
            let mut srtp = SrtpContext::receiver(&keys(profile), 1024).unwrap();
            srtp.allow_ssrc(SSRC);
            group.bench_function(format!("{name}/srtp_unprotect/{profile:?}"), |b| {
                b.iter_batched(
                    || fresh(&mut tx),
                    |mut pkts| {
                        for w in &mut pkts {
                            black_box(srtp.unprotect(w).unwrap().len());
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
            let mut rx = receiver(profile);
            // Keep the receiver in step with the sender's sequence numbers and counters.
            let mut tx = sender(profile);
            group.bench_function(format!("{name}/srtp+depacketize+sframe/{profile:?}"), |b| {
                b.iter_batched(
                    || fresh(&mut tx),
                    |mut pkts| {
                        for w in &mut pkts {
                            black_box(rx.receive(w));
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        // Without SRTP: plaintext RTP packets into the depacketizer, then SFrame decrypt.
        let (mut s, mut r) = sframe_pair();
        let mut p = packetizer(0);
        let mut d = Depacketizer::new(DepacketizerConfig::default());
        let mut buf = Vec::with_capacity(size + 64);
        group.bench_function(format!("{name}/depacketize+sframe"), |b| {
            b.iter_batched(
                || {
                    let mut out = Vec::with_capacity(64);
                    let len = seal(&mut s, &frame, &mut buf);
                    p.packetize_frame(&meta(), Origin::Raw, &buf[..len], &mut out)
                        .unwrap();
                    out
                },
                |pkts| {
                    for pkt in pkts {
                        if let (_, Pushed::Frame(mut f)) = d.push(&pkt).unwrap() {
                            r.decrypt(&[], &mut f.data).unwrap();
                            black_box(&f.data);
                        }
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn main() {
    allocation_report();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    send_stages(&mut c);
    receive_stages(&mut c);
    c.final_summary();
}
