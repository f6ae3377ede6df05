//! The send path per 1,200-byte packet (frame -> SFrame -> packetize -> SRTP, AES_128_GCM
//! for both layers) against its floor: the two raw AEAD seals that it cannot avoid, for
//! `sframe bench --srtp` and `benches/benches/send_path.rs`.
//!
//! - `send`: [`MediaSender::send_frame`] of a 1,150-byte frame with static keys, then
//!   [`MediaSender::poll_transmit`] into one reused buffer: one SRTP packet of 1,200 bytes or
//!   less;
//! - `sframe_floor`: `sframe_core::primitives::AesGcm` (the default backend) sealing the
//!   1,150 bytes in place with the SFrame header as AAD;
//! - `srtp_floor`: the same sealing the packet's RTP payload in place with the 12-byte RTP
//!   header as AAD.

// Setup failing (a key refused) is a broken bench, not an input to handle.
#![allow(clippy::expect_used)]

use std::time::Instant;

use sframe_core::primitives::AesGcm;
use sframe_core::{Backend, CipherSuite, StaticKeys};
use sframe_rtp::{
    FrameMetadata, MediaSender, MediaSenderConfig, Mode, SrtpContext, SrtpKeys, SrtpProfile,
};

use crate::quick::Budget;
use crate::srtp::{BATCH, median};

const SSRC: u32 = 0x5151_0003;
/// Bytes of frame that make one 1,200-byte packet.
pub const FRAME: usize = 1_150;
const GCM_TAG: usize = 16;
/// The SFrame header of KID 1 with a two-byte counter (what most of a run's frames carry).
const SFRAME_HEADER: [u8; 3] = [0x11, 0x01, 0x00];

/// Median ns per packet of each contender.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SendResult {
    pub packet_bytes: usize,
    pub ns_send: f64,
    pub ns_sframe_floor: f64,
    pub ns_srtp_floor: f64,
}

/// A sender of one stream with static SFrame keys and our SRTP.
pub struct SendRig {
    sender: MediaSender,
    keys: StaticKeys,
    frame: Vec<u8>,
    buf: Vec<u8>,
    timestamp: u32,
}

impl Default for SendRig {
    fn default() -> Self {
        Self::new()
    }
}

impl SendRig {
    pub fn new() -> Self {
        let keys = SrtpKeys {
            profile: SrtpProfile::AeadAes128Gcm,
            master_key: vec![0x11; 16],
            master_salt: vec![0x22; 12],
        };
        let cfg = MediaSenderConfig {
            mode: Mode::PerFrame,
            mtu: 1200,
        };
        let tx = SrtpContext::sender(&keys).expect("keys");
        let mut sender = MediaSender::new(cfg, Box::new(tx));
        sender.add_stream(SSRC, 0, 1, None).expect("stream");
        let mut keys = StaticKeys::new(CipherSuite::Aes128GcmSha256_128);
        keys.sender
            .add_key(1, b"the send bench's SFrame key")
            .expect("key");
        Self {
            sender,
            keys,
            frame: vec![0x5a; FRAME],
            buf: vec![0; 1500],
            timestamp: 0,
        }
    }

    /// Sends one frame; returns the bytes put on the wire.
    pub fn send(&mut self) -> usize {
        self.timestamp = self.timestamp.wrapping_add(3000);
        let meta = FrameMetadata {
            payload_type: 96,
            timestamp: self.timestamp,
            marker: true,
            ..FrameMetadata::default()
        };
        let _ = self
            .sender
            .send_frame(&mut self.keys, SSRC, &self.frame, &meta);
        let mut sent = 0;
        while let Ok(Some(t)) = self.sender.poll_transmit(&mut self.buf) {
            sent += t.len;
        }
        sent
    }
}

/// The two AEAD seals of one packet, nothing else (keys expanded once).
pub struct SendFloor {
    sframe: AesGcm,
    srtp: AesGcm,
    frame: Vec<u8>,
    packet: Vec<u8>,
}

impl SendFloor {
    /// For packets of `packet_bytes` (SRTP tag included).
    pub fn new(packet_bytes: usize) -> Self {
        let b = Backend::default();
        Self {
            sframe: AesGcm::new(b, &[3; 16]).expect("key"),
            srtp: AesGcm::new(b, &[4; 16]).expect("key"),
            frame: vec![0x5a; FRAME + GCM_TAG],
            packet: vec![0x5b; packet_bytes],
        }
    }

    /// The SFrame layer's seal.
    pub fn sframe(&mut self) {
        let _ = std::hint::black_box(self.sframe.seal(&[1; 12], &SFRAME_HEADER, &mut self.frame));
    }

    /// The SRTP layer's seal.
    pub fn srtp(&mut self) {
        let (header, text) = self.packet.split_at_mut(12);
        let _ = std::hint::black_box(self.srtp.seal(&[2; 12], header, text));
    }
}

/// The send path and its two floors, interleaved rounds, medians.
pub fn compare_send(budget: Budget) -> SendResult {
    let mut rig = SendRig::new();
    let packet_bytes = rig.send();
    let mut floor = SendFloor::new(packet_bytes);
    let mut ns: [Vec<f64>; 3] = Default::default();
    for round in 0..=budget.rounds {
        for (i, ns) in ns.iter_mut().enumerate() {
            let (mut n, start) = (0usize, Instant::now());
            while start.elapsed() < budget.round {
                for _ in 0..BATCH {
                    match i {
                        0 => {
                            std::hint::black_box(rig.send());
                        }
                        1 => floor.sframe(),
                        _ => floor.srtp(),
                    }
                }
                n += BATCH;
            }
            if round > 0 {
                ns.push(start.elapsed().as_nanos() as f64 / n as f64);
            }
        }
    }
    let [send, sframe, srtp] = ns;
    SendResult {
        packet_bytes,
        ns_send: median(send),
        ns_sframe_floor: median(sframe),
        ns_srtp_floor: median(srtp),
    }
}
