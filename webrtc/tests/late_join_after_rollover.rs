//! A participant joins after a sender's RTP sequence numbers wrapped: it still decrypts
//! that sender's audio and video.
//!
//! The SFU starts every stream it forwards to a participant at SRTP rollover counter 0, as
//! the receiver assumes for a stream it never heard of (RFC 3711 section 3.3.1). Forwarded
//! under the sender's counter, every packet failed authentication at the late joiner, for
//! as long as the meeting lasted: in a real meeting, anyone joining after a sender's first
//! wrap (at most 22 minutes of audio at 50 packets a second, sooner for video), and in the
//! browser test whenever a random first sequence number lay close below 65,535.
//! Alice starts 40 below the wrap here, so her streams wrap within a second of her joining;
//! Bob too, so Alice receives his streams across their wrap.

// The scenario's helper is outside #[test] functions: a failed expect is a failed test.
#![allow(clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use sframe_webrtc::{MediaFormat, ParticipantConfig, ParticipantHandle};

fn late_joiner_decrypts_a_wrapped_sender(format: MediaFormat) {
    let sfu = common::sfu();
    let mut config = ParticipantConfig::new(&sfu.url(), "alice", Duration::from_secs(30));
    config.format = format;
    config.first_seq = Some(u16::MAX - 39);
    let alice = ParticipantHandle::spawn(config).expect("alice starts");
    assert!(common::wait_until(Duration::from_secs(15), || {
        alice.progress().joined.load(Ordering::SeqCst)
    }));
    // 2.5 s: about 125 audio and 75 video frames, each at least one packet: both wrapped.
    std::thread::sleep(Duration::from_millis(2500));
    let mut config = ParticipantConfig::new(&sfu.url(), "bob", Duration::from_secs(3));
    config.format = format;
    // Bob's wrap comes while Alice receives him: the receiving side across a rollover.
    config.first_seq = Some(u16::MAX - 39);
    let bob = ParticipantHandle::spawn(config).expect("bob starts");
    let bob = bob.join().expect("bob's report");
    alice.leave();
    let alice = alice.join().expect("alice's report");
    let stats = sfu.stop();
    eprintln!("{alice:?}\n{bob:?}\n{stats:?}");

    // Bob is in the group for 3 s: 150 audio and 90 video frames each way.
    for (r, from) in [(&bob, &alice), (&alice, &bob)] {
        for (ssrc, least) in from.ssrcs.iter().zip([100, 60]) {
            let n = r.decrypted_by_ssrc.get(ssrc).copied().unwrap_or(0);
            assert!(n > least, "{} decrypted {n} frames of {ssrc}", r.name);
        }
        assert_eq!(r.dropped.get("authentication"), None, "{}", r.name);
    }
    assert_eq!(alice.corrupt + bob.corrupt, 0);
    assert_eq!(stats.plaintext_seen, 0);
}

#[test]
fn sframe_payload_format() {
    late_joiner_decrypts_a_wrapped_sender(MediaFormat::SframePayload);
}

#[test]
fn codec_packetized() {
    late_joiner_decrypts_a_wrapped_sender(MediaFormat::CodecPacketized);
}
