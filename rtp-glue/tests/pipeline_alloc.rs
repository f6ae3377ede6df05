//! Allocations per packet of the whole MLS-keyed pipeline, counted with a counting global
//! allocator: frame -> keyring -> packetizer -> SRTP on the way out, SRTP -> depacketizer ->
//! keyring -> frame on the way in. SRTP's own allocations are counted apart, through a
//! wrapper around the SRTP transform, since a new SRTP engine replaces that part.
//!
//! The counter is per thread, so tests may run in parallel. Nothing is printed inside a
//! counted region.

// `GlobalAlloc` is an unsafe trait: every method forwards to `System` unchanged; the only
// addition is a thread-local counter increment.
#![allow(unsafe_code, clippy::unwrap_used)]

use std::cell::Cell;
use std::time::Duration;

use sframe_core::CipherSuite;
use sframe_mls::{EpochKeys, Keyring, KeyringConfig};
use sframe_rtp::{
    FrameMetadata, MediaReceiver, MediaReceiverConfig, MediaSender, MediaSenderConfig, Mode,
    ReceiveOutput, SframeRtpError as Error, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform,
};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

thread_local! {
    static SRTP_ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn srtp_allocations() -> u64 {
    SRTP_ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

/// An SRTP transform whose allocations are counted apart from the pipeline's.
#[derive(Debug)]
struct Counted(Box<dyn SrtpTransform>);

fn counted<T>(f: impl FnOnce() -> T) -> T {
    let before = allocations();
    let out = f();
    let n = allocations() - before;
    let _ = SRTP_ALLOCATIONS.try_with(|c| c.set(c.get() + n));
    out
}

impl SrtpTransform for Counted {
    fn profile(&self) -> SrtpProfile {
        self.0.profile()
    }
    fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        counted(|| self.0.protect(buf, len))
    }
    fn unprotect<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        counted(|| self.0.unprotect(packet))
    }
    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        counted(|| self.0.protect_rtcp(buf, len))
    }
    fn unprotect_rtcp<'a>(&mut self, packet: &'a mut [u8]) -> Result<&'a mut [u8], Error> {
        counted(|| self.0.unprotect_rtcp(packet))
    }
    fn allow_ssrc(&mut self, ssrc: u32) {
        self.0.allow_ssrc(ssrc);
    }
}

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const SSRC: u32 = 0xC0FFEE;
const CONTEXT: u64 = 1;

fn srtp_keys(profile: SrtpProfile) -> SrtpKeys {
    SrtpKeys {
        profile,
        master_key: vec![3; profile.key_len()],
        master_salt: vec![4; profile.salt_len()],
    }
}

fn keyring(own: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(SUITE)).unwrap();
    let keys = EpochKeys::new(1, &[5u8; 16], Some(own), [0, 1]).unwrap();
    ring.add_epoch(Duration::ZERO, keys).unwrap();
    while ring.poll_event().is_some() {}
    ring
}

/// Allocations over all counted frames: send total, of which SRTP; receive total, of which
/// SRTP; and the packets and frames counted.
fn counts(profile: SrtpProfile, frame_len: usize) -> [u64; 6] {
    let (mut alice, mut bob) = (keyring(0), keyring(1));
    let mut tx = MediaSender::new(
        MediaSenderConfig {
            mode: Mode::PerFrame,
            mtu: 1200,
        },
        Box::new(Counted(Box::new(
            SrtpContext::sender(&srtp_keys(profile)).unwrap(),
        ))),
    );
    tx.add_stream(SSRC, 0, CONTEXT, None).unwrap();
    let mut rx: MediaReceiver<Keyring> = MediaReceiver::new(
        MediaReceiverConfig::default(),
        Box::new(Counted(Box::new(
            SrtpContext::receiver(&srtp_keys(profile), 1024).unwrap(),
        ))),
    );
    rx.add_stream(SSRC);
    let frame = vec![0x5A; frame_len];
    let mut buf = vec![0u8; 1200];
    let mut wire: Vec<Vec<u8>> = Vec::with_capacity(4096);
    let meta = |i: u32| FrameMetadata {
        payload_type: 96,
        timestamp: i * 3000,
        marker: true,
        ..FrameMetadata::default()
    };
    let mut send = |tx: &mut MediaSender, alice: &mut Keyring, i: u32, keep: &mut Vec<Vec<u8>>| {
        tx.send_frame(alice, SSRC, &frame, &meta(i)).unwrap();
        let mut n = 0u64;
        while let Some(t) = tx.poll_transmit(&mut buf).unwrap() {
            n += 1;
            if keep.len() < keep.capacity() {
                keep.push(buf[..t.len].to_vec());
            }
        }
        n
    };
    // Warm up: buffers reach their working size, the KID's key is derived on first use.
    let mut warm = Vec::with_capacity(64);
    for i in 0..4 {
        send(&mut tx, &mut alice, i, &mut warm);
    }
    for p in &warm {
        rx.handle_packet(&mut bob, Duration::ZERO, &mut p.clone())
            .unwrap();
        while rx.poll_output(&mut bob).is_some() {}
    }
    // Send, counted: the packets are not kept (keeping them would allocate).
    let frames = 50u32;
    let (a0, s0) = (allocations(), srtp_allocations());
    let mut packets = 0;
    let mut nothing = Vec::new();
    for i in 4..4 + frames {
        packets += send(&mut tx, &mut alice, i, &mut nothing);
    }
    let (send_total, send_srtp) = (allocations() - a0, srtp_allocations() - s0);
    // The same frames again, kept, for the receiver (not counted).
    let (mut alice2, mut tx2) = (keyring(0), {
        let mut t = MediaSender::new(
            MediaSenderConfig {
                mode: Mode::PerFrame,
                mtu: 1200,
            },
            Box::new(SrtpContext::sender(&srtp_keys(profile)).unwrap()),
        );
        t.add_stream(SSRC, 0, CONTEXT, None).unwrap();
        t
    });
    let mut all = Vec::new();
    for i in 0..4 + frames {
        let mut kept = Vec::with_capacity(64);
        send(&mut tx2, &mut alice2, i, &mut kept);
        if i >= 4 {
            all.extend(kept);
        }
    }
    wire.extend(all);
    let (a0, s0) = (allocations(), srtp_allocations());
    let mut delivered = 0u64;
    for p in &mut wire {
        rx.handle_packet(&mut bob, Duration::ZERO, p).unwrap();
        while let Some(out) = rx.poll_output(&mut bob) {
            if let ReceiveOutput::Frame(f) = out {
                delivered += u64::from(f.data.len() == frame_len);
            }
        }
    }
    let (recv_total, recv_srtp) = (allocations() - a0, srtp_allocations() - s0);
    assert_eq!(delivered, u64::from(frames), "every frame decrypted");
    [
        send_total,
        send_srtp,
        recv_total,
        recv_srtp,
        packets,
        u64::from(frames),
    ]
}

#[test]
fn mls_keyed_pipeline_allocations_per_packet() {
    for profile in SrtpProfile::ALL {
        for len in [160, 1100, 5000, 20_000] {
            let [
                send_total,
                send_srtp_n,
                recv_total,
                recv_srtp_n,
                packets,
                frames,
            ] = counts(profile, len);
            let per = |n: u64| n as f64 / packets as f64;
            let (send, send_srtp, recv, recv_srtp) = (
                per(send_total),
                per(send_srtp_n),
                per(recv_total),
                per(recv_srtp_n),
            );
            println!(
                "{profile:?} {len} B: send {send:.2}/packet (SRTP {send_srtp:.2}), \
                 receive {recv:.2}/packet (SRTP {recv_srtp:.2})"
            );
            assert_eq!(
                send_total, send_srtp_n,
                "{profile:?} {len} B: the pipeline's own send path"
            );
            // Receive: the reorder window keeps one copy of each packet's payload until its
            // frame is whole (a single-packet frame's copy is handed on as it is), and a frame
            // of several packets is gathered into one buffer: at most one allocation per
            // packet plus one per frame.
            assert!(
                recv_total - recv_srtp_n <= packets + frames,
                "{profile:?} {len} B: receive allocates {:.2}/packet of its own",
                recv - recv_srtp
            );
        }
    }
}
