//! The SFU forwarding one stream of 1,200-byte AEAD_AES_128_GCM packets (one SFrame frame
//! per packet) to ten receivers, for `sframe bench --srtp` and `benches/benches/sfu.rs`.
//!
//! Three contenders, the same [`Sfu`] each time:
//! - `ours`: on [`SrtpContext`], through the hot path [`Sfu::receive_in_place`] with one
//!   receive buffer and one [`SfuOutput`] kept across packets (no allocation per packet);
//! - `webrtc_srtp`: the same hot path on [`WebrtcSrtp`] (webrtc-srtp 0.17) on every leg;
//! - `ours_copying`: on [`SrtpContext`] through the convenience [`Sfu::receive`] (copies the
//!   packet, allocates a buffer per destination).
//!
//! Each forwarded packet is first copied into the receive buffer (what a socket read does),
//! inside the timing; the sender's packets are made outside it.

// Setup failing (a key refused) is a broken bench, not an input to handle.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use sframe_core::{CipherSuite, StaticKeys};
use sframe_rtp::{
    FrameMetadata, MediaSender, MediaSenderConfig, Mode, Sfu, SfuOutput, SrtpContext, SrtpKeys,
    SrtpProfile, SrtpTransform, WebrtcSrtp,
};

use crate::quick::Budget;
use crate::srtp::{BATCH, median};

/// Receivers of the one stream.
pub const RECEIVERS: u32 = 10;
const SSRC: u32 = 0x5151_0002;
/// 1,150 bytes of frame: one packet of 1,200 bytes on the wire.
const FRAME: usize = 1_150;

/// Forwarded packets per second (one per destination) of each contender.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SfuResult {
    pub pps_ours: f64,
    pub pps_webrtc_srtp: f64,
    pub pps_ours_copying: f64,
}

/// Which SRTP and which entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SfuPath {
    /// [`SrtpContext`], [`Sfu::receive_in_place`].
    Ours,
    /// [`WebrtcSrtp`], [`Sfu::receive_in_place`].
    WebrtcSrtp,
    /// [`SrtpContext`], [`Sfu::receive`].
    OursCopying,
}

/// An SFU with one sender and ten receivers, and the sender that feeds it.
pub struct SfuRig {
    path: SfuPath,
    sfu: Sfu,
    sender: MediaSender,
    keys: StaticKeys,
    frame: Vec<u8>,
    timestamp: u32,
    buf: Vec<u8>,
    out: SfuOutput,
}

impl SfuRig {
    pub fn new(path: SfuPath) -> Self {
        let profile = SrtpProfile::AeadAes128Gcm;
        let leg = |p: u32, dir: u8| SrtpKeys {
            profile,
            master_key: vec![p as u8 ^ dir; 16],
            master_salt: vec![dir; 12],
        };
        let webrtc = path == SfuPath::WebrtcSrtp;
        let boxed = |keys: &SrtpKeys, rx: bool| -> Box<dyn SrtpTransform> {
            match (webrtc, rx) {
                (false, true) => Box::new(SrtpContext::receiver(keys, 1024).expect("keys")),
                (false, false) => Box::new(SrtpContext::sender(keys).expect("keys")),
                (true, true) => Box::new(WebrtcSrtp::receiver(keys, 1024).expect("keys")),
                (true, false) => Box::new(WebrtcSrtp::sender(keys).expect("keys")),
            }
        };
        let mut sfu = Sfu::new();
        for p in 1..=RECEIVERS + 1 {
            let sources: &[u32] = if p == 1 { &[SSRC] } else { &[] };
            sfu.add_participant(
                p,
                boxed(&leg(p, 1), true),
                boxed(&leg(p, 2), false),
                sources,
            )
            .expect("participant");
        }
        let cfg = MediaSenderConfig {
            mode: Mode::PerFrame,
            mtu: 1200,
        };
        let tx = SrtpContext::sender(&leg(1, 1)).expect("keys");
        let mut sender = MediaSender::new(cfg, Box::new(tx));
        sender.add_stream(SSRC, 0, 1, None).expect("stream");
        let mut keys = StaticKeys::new(CipherSuite::Aes128GcmSha256_128);
        keys.sender
            .add_key(1, b"the SFU bench's SFrame key")
            .expect("key");
        Self {
            path,
            sfu,
            sender,
            keys,
            frame: vec![0x5a; FRAME],
            timestamp: 0,
            buf: Vec::with_capacity(1500),
            out: SfuOutput::new(),
        }
    }

    /// The sender's next `n` SRTP packets, in order (one frame each).
    pub fn packets(&mut self, n: usize) -> Vec<Vec<u8>> {
        let mut packets = Vec::with_capacity(n);
        let mut buf = [0u8; 1500];
        while packets.len() < n {
            self.timestamp = self.timestamp.wrapping_add(3000);
            let meta = FrameMetadata {
                payload_type: 96,
                timestamp: self.timestamp,
                marker: true,
                ..FrameMetadata::default()
            };
            self.sender
                .send_frame(&mut self.keys, SSRC, &self.frame, &meta)
                .expect("send");
            while let Ok(Some(t)) = self.sender.poll_transmit(&mut buf) {
                packets.push(buf[..t.len].to_vec());
            }
        }
        packets
    }

    /// Forwards one packet from the sender; returns the packets sent out.
    pub fn forward(&mut self, packet: &[u8]) -> usize {
        match self.path {
            SfuPath::Ours | SfuPath::WebrtcSrtp => {
                self.buf.clear();
                self.buf.extend_from_slice(packet);
                match self.sfu.receive_in_place(1, &mut self.buf, &mut self.out) {
                    Ok(_) => self.out.len(),
                    Err(_) => 0,
                }
            }
            SfuPath::OursCopying => self.sfu.receive(1, packet).map_or(0, |f| f.out.len()),
        }
    }
}

/// Forwarding rates of the three contenders, interleaved rounds, medians.
pub fn sfu_forwarding(budget: Budget) -> SfuResult {
    let paths = [SfuPath::Ours, SfuPath::WebrtcSrtp, SfuPath::OursCopying];
    let mut rigs = paths.map(SfuRig::new);
    let mut rates: [Vec<f64>; 3] = Default::default();
    for round in 0..=budget.rounds {
        for (rig, rates) in rigs.iter_mut().zip(&mut rates) {
            let (mut forwarded, mut spent) = (0usize, Duration::ZERO);
            while spent < budget.round {
                let packets = rig.packets(BATCH);
                let start = Instant::now();
                for p in &packets {
                    forwarded += rig.forward(p);
                }
                spent += start.elapsed();
            }
            if round > 0 {
                rates.push(forwarded as f64 / spent.as_secs_f64());
            }
        }
    }
    let [ours, webrtc, copying] = rates;
    SfuResult {
        pps_ours: median(ours),
        pps_webrtc_srtp: median(webrtc),
        pps_ours_copying: median(copying),
    }
}
