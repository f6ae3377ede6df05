//! The report's cost section: media time per delivered frame, split into the stages the
//! meters time and the rest, against the receiving crypto alone measured in the same process.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use sframe_sim::{Config, Meeting, Report};

#[test]
fn cost_splits_media_time_per_delivered_frame_and_prices_it_against_the_reference() {
    let config = Config {
        participants: 4,
        duration_us: 1_000_000,
        churn_per_minute: 0.0,
        ..Config::default()
    };
    let mut meeting = Meeting::new(config).unwrap();
    let started = Instant::now();
    meeting.run(&mut |_| {}).unwrap();
    let wall = started.elapsed().as_secs_f64();

    // Without a wall time there is nothing to divide.
    assert!(Report::new(&meeting, 0.0).cost.is_none());

    let r = Report::new(&meeting, wall);
    assert!(r.ok, "{:?}", r.violations);
    let c = r.cost.as_ref().unwrap();
    assert_eq!(c.delivered_frames, r.totals.decrypted);
    assert!(c.delivered_frames > 0);
    // The parts add up to the whole (the rest is what the meters did not time).
    let parts = c.sframe_decrypt_us + c.srtp_unprotect_us + c.sfu_us + c.senders_us + c.rest_us;
    assert!(
        (parts - c.media_us_per_frame).abs() < 1e-6 * c.media_us_per_frame.max(1.0),
        "{c:?}"
    );
    // The reference timed real decrypts and unprotects, and the ratio is what it says.
    assert!(
        c.reference_decrypt_ns > 0.0 && c.reference_unprotect_ns > 0.0,
        "{c:?}"
    );
    assert!(c.reference_us_per_frame > 0.0);
    assert!((c.ratio - c.media_us_per_frame / c.reference_us_per_frame).abs() < 1e-9);
    let receive = (c.sframe_decrypt_us + c.srtp_unprotect_us) / c.reference_us_per_frame;
    assert!((c.receive_path_ratio - receive).abs() < 1e-9);
    // The floor prices more calls than the reference (the senders' and the SFU's) at the same
    // speeds, so it is above it; the ratio is the floor's times the overhead's.
    assert!(c.floor_us_per_frame > c.reference_us_per_frame, "{c:?}");
    assert!((c.floor_ratio - c.floor_us_per_frame / c.reference_us_per_frame).abs() < 1e-9);
    assert!(
        (c.ratio - c.floor_ratio * c.overhead_ratio).abs() < 1e-6 * c.ratio,
        "{c:?}"
    );
    let text = r.render();
    assert!(text.contains("cost per delivered frame"));
    assert!(text.contains("the least this ratio can be"));
}
