//! Mutated SDP offers at the SFU's signaling: 400 offers made from a genuine one by dropping,
//! repeating and swapping lines and by flipping, inserting and cutting bytes. Each gets `201` (an
//! offer str0m still accepts) or `400`, never a server error; no peer connection fails, and
//! afterwards a participant joins and decrypts as usual.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::Rtc;
use str0m::media::{Direction, MediaKind};

/// A participant's offer: audio, video and a data channel, as `sframe join` makes it.
fn genuine_offer() -> String {
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .build(Instant::now());
    let candidate = str0m::Candidate::host("127.0.0.1:5000".parse().unwrap(), "udp").unwrap();
    rtc.add_local_candidate(candidate);
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
    api.add_channel("mls".into());
    api.apply().unwrap().0.to_sdp_string()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(offer: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = offer.lines().map(str::to_owned).collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(lines.len());
        match rng.below(3) {
            0 => {
                lines.remove(at);
            }
            1 => {
                let line = lines[at].clone();
                lines.insert(rng.below(lines.len()), line);
            }
            _ => {
                let other = rng.below(lines.len());
                lines.swap(at, other);
            }
        }
    }
    let mut bytes = (lines.join("\r\n") + "\r\n").into_bytes();
    for _ in 0..rng.below(4) {
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => bytes[at] ^= 1 << rng.below(7), // stays ASCII
            1 => bytes.insert(at, b"0:a= \r\n"[rng.below(7)]),
            _ => bytes.truncate(at.max(1)),
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn mutated_offers_get_201_or_400_and_the_sfu_carries_on() {
    let sfu = common::sfu();
    let whip = format!("{}/whip", sfu.url());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let offer = genuine_offer();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let (mut created, mut refused) = (0, 0);
    for i in 0..400 {
        let body = mutate(&offer, &mut rng);
        let status = agent
            .post(&whip)
            .header("Content-Type", "application/sdp")
            .send(&body)
            .unwrap()
            .status()
            .as_u16();
        match status {
            201 => created += 1,
            400 => refused += 1,
            other => panic!("offer {i} got {other}:\n{body}"),
        }
    }
    eprintln!("{created} mutated offers accepted, {refused} refused");
    assert!(refused > 50, "the mutations reached the parser's refusals");

    // The SFU still works: two participants meet.
    let alice = common::join(&sfu, "alice", 3.0);
    let bob = common::join(&sfu, "bob", 2.0);
    let (bob, alice) = (bob.join().unwrap(), alice.join().unwrap());
    assert!(alice.decrypted > 0 && bob.decrypted > 0);
    let stats = sfu.stop();
    assert_eq!(stats.peers_failed, 0, "no peer connection panicked");
}
