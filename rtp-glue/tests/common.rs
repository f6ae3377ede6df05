//! Shared by the integration tests: a deterministic PRNG and helpers to build senders,
//! receivers and an SFU. (The RTP meeting on a lossy simulated network is in
//! `sim/tests/rtp_scenario.rs`.)

// Each test file uses part of it; setup helpers panic on failure, like the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sframe_core::CipherSuite;
use sframe_rtp::{
    Codec, DepacketizerConfig, KeyMode, MediaReceiver, MediaSender, Mode, ReceiverConfig,
    SenderConfig, SrtpKeys, SrtpProfile, WebrtcSrtp,
};

/// SplitMix64, the generator of `sframe-sim` (the workspace's simulator, which depends on this
/// crate and so cannot be a dependency of its tests): the same seeds give the same test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)` (0 when `n` is 0 or 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(x.get(..chunk.len()).unwrap_or(&x));
        }
    }
}

pub const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
pub const MTU: usize = 1200;

pub fn srtp_keys(profile: SrtpProfile, seed: u64) -> SrtpKeys {
    let mut rng = Rng::new(seed);
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

pub fn sframe_base_key(participant: u32) -> Vec<u8> {
    format!("SFrame base key of participant {participant} ----").into_bytes()
}

pub fn media_sender(mode: Mode, key_mode: KeyMode, kid: u64, keys: &SrtpKeys) -> MediaSender {
    let cfg = SenderConfig {
        suite: SUITE,
        kid,
        mode,
        key_mode,
        mtu: MTU,
    };
    let srtp = WebrtcSrtp::sender(keys).unwrap();
    MediaSender::new(cfg, &sframe_base_key(kid as u32), Box::new(srtp)).unwrap()
}

pub const VIDEO_PT: u8 = 96;
pub const AUDIO_PT: u8 = 111;

pub fn media_receiver(key_mode: KeyMode, keys: &SrtpKeys) -> MediaReceiver {
    media_receiver_with(
        key_mode,
        keys,
        vec![(VIDEO_PT, Codec::Vp8), (AUDIO_PT, Codec::Opus)],
    )
}

pub fn media_receiver_with(
    key_mode: KeyMode,
    keys: &SrtpKeys,
    codecs: Vec<(u8, Codec)>,
) -> MediaReceiver {
    let cfg = ReceiverConfig {
        suite: SUITE,
        key_mode,
        depacketizer: DepacketizerConfig::default(),
        codecs,
    };
    MediaReceiver::new(cfg, Box::new(WebrtcSrtp::receiver(keys, 1024).unwrap()))
}

/// Finds `needle` in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut i = 0;
    while let Some(pos) = hay[i..].iter().position(|&b| b == first) {
        let at = i + pos;
        if hay[at + 1..].starts_with(rest) {
            return true;
        }
        i = at + 1;
    }
    false
}
