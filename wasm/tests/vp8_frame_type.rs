//! VP8 frames encrypted for Chromium: the SFrame config byte's bit 0 (which Chromium's VP8
//! depacketizer takes for the frame type) matches the frame's type for every frame of a long
//! run of key and delta frames, the counters never repeat, and every frame decrypts.

// Test set-up: a failed expect is a failed test.
#![allow(clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use sframe_core::{CipherSuite, Header};
use sframe_wasm::{PLAINTEXT_OFFSET, Participant};

#[test]
fn the_config_byte_tells_key_frames_from_delta_frames() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let t = Duration::ZERO;
    let mut alice = Participant::new(suite, Some(0), 4).expect("alice");
    let mut bob = Participant::new(suite, Some(1), 4).expect("bob");
    for p in [&mut alice, &mut bob] {
        p.add_epoch(t, 1, &[7; 16], &[0, 1]).expect("epoch");
    }
    let mut seen = HashSet::new();
    // A key frame every 30 frames, for 70,000 frames: the delta frames' counters pass 65,535.
    for i in 0..70_000u32 {
        let key = i % 30 == 0;
        let context = if key { 1 } else { 2 };
        let mut buf = vec![0u8; PLAINTEXT_OFFSET + 8 + 16];
        buf[PLAINTEXT_OFFSET..][..8].copy_from_slice(&u64::from(i).to_be_bytes());
        let frame = alice
            .encrypt(t, context, Some(!key), &mut buf, 8)
            .expect("sent");
        let mut wire = buf[frame].to_vec();
        assert_eq!(
            wire[0] & 1 == 0,
            key,
            "frame {i}: config byte {:#04x}",
            wire[0]
        );
        let (header, _) = Header::parse(&wire).expect("header");
        assert!(seen.insert((header.kid, header.ctr)), "a counter repeated");
        let opened = bob.decrypt(t, &mut wire).expect("authentic");
        assert_eq!(&wire[opened.plaintext], &u64::from(i).to_be_bytes());
    }
}
