//! A 300-participant meeting: the SFU forwards as real SFUs do (the audio of the 3 loudest
//! speakers, the video of the last 6) and pauses at its sender the video it forwards to
//! nobody; silent senders use DTX; MLS runs with openmls at 300 members, and every invariant
//! of the ledger holds, with "expected" meaning what the SFU forwarded to each receiver.
//!
//! openmls at 300 members takes minutes in a debug build (its tree validation and the dalek
//! curve arithmetic are unoptimised), so the test is ignored there and `.ci/run` runs it with
//! `--release` (`cargo test --release -p sframe-sim --test large_meeting`), where
//! it takes seconds. The 1,000-participant run is `sframe meeting --participants 1000
//! --duration 20 --churn 120` (see sim/BENCHMARKING.md).

#![allow(clippy::unwrap_used)]

use sframe_sim::{Config, Meeting, Report};

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "minutes in a debug build (openmls at 300 members); .ci/run runs it with --release"
)]
fn three_hundred_participants_hold_every_invariant_with_speaker_forwarding() {
    let config = Config {
        participants: 300,
        duration_us: 1_500_000,
        churn_per_minute: 120.0,
        forwarding: Config::default_forwarding(300),
        dtx: Config::default_dtx(300),
        ..Config::default()
    };
    assert_eq!(config.forwarding.audio_top_k, Some(3));
    assert!(config.dtx);
    let mut meeting = Meeting::new(config).unwrap();
    meeting.run(&mut |_| {}).unwrap();
    let r = Report::new(&meeting, 0.0);
    assert!(r.ok, "{} violations: {:?}", r.violation_count, r.violations);
    assert_eq!(r.totals.dropped.rollover, 0);
    assert_eq!(r.totals.unaccounted, 0);
    assert_eq!(r.sfu.plaintext_seen, 0);
    assert!(
        r.meeting.present_at_end >= 295,
        "{}",
        r.meeting.present_at_end
    );
    assert!(r.meeting.codes_agree);

    // Frames were decrypted. Video nobody was forwarded was paused at its sender (the SFU's
    // demands), so almost none was sent: what was held back is what was in flight before a
    // pause arrived. Silent senders left out most of their audio (DTX), and the policy still
    // held back more audio than it forwarded (the quiet frames DTX sends).
    let f = &r.sfu.forwarding;
    assert!(r.totals.decrypted > 1_000, "{}", r.totals.decrypted);
    let s = &f.senders;
    assert!(s.demands >= 290, "{f:?}");
    assert!(s.video_paused > 10 * s.video_sent, "{f:?}");
    assert!(s.key_frames_on_resume > 0, "{f:?}");
    assert!(s.audio_dtx > 5 * s.audio_sent, "{f:?}");
    assert!(f.audio_held_not_loudest > f.audio_forwarded, "{f:?}");
    assert!(f.video_forwarded > 0 && f.audio_forwarded > 0, "{f:?}");
    // What each receiver decrypted came from the few senders forwarded to it: every
    // receiver's expected frames are bounded by K + N streams for the meeting's length.
    let max_frames_per_receiver = (3 * 50 + 6 * 30) * 5; // streams x frames/s x simulated s
    for p in &r.participants {
        assert!(
            p.received.expected <= max_frames_per_receiver,
            "{} expected {}",
            p.name,
            p.received.expected
        );
    }
    // S follows the group: 300 members need 9 sender bits.
    assert!(
        r.meeting.sender_bits.iter().any(|&(_, s)| s == 9),
        "{:?}",
        r.meeting.sender_bits
    );
}
