//! Small meetings run through the engine and checked through their report: the relations
//! every report must satisfy, joins and leaves on a lossy network, a clean network, and the
//! same seed giving the same meeting.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test that cannot run its setup should panic"
)]

use sframe_core::CipherSuite;
use sframe_rtp::Mode;
use sframe_sim::{Config, LinkConfig, Meeting, Report};

fn run(config: Config) -> Report {
    let mut meeting = Meeting::new(config).expect("a valid configuration");
    let mut last = 0;
    meeting
        .run(&mut |p| {
            assert!(p.now_us >= last, "progress moves forward");
            last = p.now_us;
        })
        .expect("the meeting runs");
    Report::new(&meeting, 0.0)
}

/// The relations every report must satisfy, whatever the configuration.
fn check_report(r: &Report) {
    assert!(r.ok, "violations: {:?}", r.violations);
    assert_eq!(r.violation_count, 0);
    let mut totals = [0u64; 5];
    for p in &r.participants {
        let (name, d) = (&p.name, &p.received.dropped);
        let t = &p.received;
        // Exactly one outcome per frame the ledger says was sent to this participant.
        assert_eq!(
            t.expected,
            t.decrypted + t.lost + d.total + t.unaccounted,
            "{name}: {p:?}"
        );
        assert_eq!(t.unaccounted, 0, "{name}");
        assert_eq!(d.rollover, 0, "{name}: no key-rollover drop");
        assert_eq!(
            d.total,
            d.before_join + d.after_removal + d.while_leaving,
            "{name}: every drop has a reason"
        );
        let causes: u64 = t.drop_causes.values().sum();
        assert_eq!(causes, d.total, "{name}: every drop has a cause");
        assert_eq!(p.srtp.srtp_other, 0, "{name}");
        if p.removed_epoch.is_none() {
            assert!(t.decrypted > 0, "{name} decrypted something");
            assert!(p.frames_sent > 0, "{name} sent something");
        }
        for (i, n) in [p.frames_sent, t.expected, t.decrypted, t.lost, d.total]
            .into_iter()
            .enumerate()
        {
            totals[i] += n;
        }
    }
    let t = &r.totals;
    assert_eq!(
        [
            t.frames_sent,
            t.expected,
            t.decrypted,
            t.lost,
            t.dropped.total
        ],
        totals
    );
    assert_eq!(t.dropped.rollover, 0);

    // One security code for the final epoch, shown by every member present.
    let m = &r.meeting;
    assert!(m.codes_agree);
    let code = m.security_code.as_deref().expect("a security code");
    assert_eq!(code.split(' ').count(), 6, "six groups: {code}");
    let present: Vec<_> = r
        .participants
        .iter()
        .filter(|p| p.removed_epoch.is_none())
        .collect();
    assert_eq!(present.len(), m.present_at_end);
    for p in present {
        assert_eq!(p.security_code.as_deref(), Some(code), "{}", p.name);
    }
    assert_eq!(
        m.participants_total,
        r.participants.len(),
        "everyone who took part is listed"
    );

    // The SFU forwarded plenty and held no plaintext.
    let s = &r.sfu;
    assert_eq!(s.plaintext_seen, 0);
    assert_eq!(s.other_refused, 0);
    assert!(s.bytes_forwarded > 100_000);
    assert!(s.sframe_headers_read > 0);
    assert_eq!(
        s.packets_forwarded, r.network.downlinks.packets,
        "every forwarded packet took a downlink"
    );
    let up = &r.network.uplinks;
    assert_eq!(
        s.packets_received,
        up.packets - up.lost + up.duplicated,
        "the SFU got every copy the uplinks delivered"
    );
    let c = &r.crypto;
    for (stage, v) in [
        ("sframe_encrypt", &c.sframe_encrypt),
        ("sframe_decrypt", &c.sframe_decrypt),
        ("srtp_protect", &c.srtp_protect),
        ("srtp_unprotect", &c.srtp_unprotect),
    ] {
        assert!(v.bytes > 0, "{stage}");
    }
}

/// The report as JSON without what changes from run to run for the same seed: MLS key
/// material (the security codes) and timings.
fn deterministic_part(r: &Report) -> serde_json::Value {
    let mut r = serde_json::to_value(r).expect("serialises");
    r["crypto"] = serde_json::Value::Null;
    r["meeting"]["security_code"] = serde_json::Value::Null;
    for p in r["participants"].as_array_mut().expect("participants") {
        p["security_code"] = serde_json::Value::Null;
    }
    r
}

#[test]
fn a_small_meeting_with_joins_leaves_and_loss_checks_out() {
    let config = Config {
        participants: 4,
        duration_us: 6_000_000,
        churn_per_minute: 60.0,
        link: LinkConfig {
            loss: 0.03,
            reorder: 0.02,
            ..Config::default().link
        },
        seed: 3,
        ..Config::default()
    };
    let r = run(config.clone());
    check_report(&r);
    let m = &r.meeting;
    assert!(m.joins > 3, "someone joined during the meeting: {m:?}");
    assert!(m.leaves > 0, "someone left: {m:?}");
    assert!(m.commits >= 3, "{m:?}");
    assert!(r.totals.lost > 0, "the network lost frames");
    assert!(r.network.uplinks.reordered > 0);
    let d = &r.totals.dropped;
    assert!(d.before_join > 0, "joiners were sent older frames");
    assert!(
        d.after_removal > 0,
        "removed members were sent newer frames"
    );
    let c = &r.config;
    assert_eq!((c.participants, c.seed, c.mode), (4, 3, "per-frame"));
    assert_eq!(c.loss_percent, 3.0);

    // The same seed gives the same meeting.
    let again = run(config);
    assert_eq!(deterministic_part(&again), deterministic_part(&r));
}

#[test]
fn a_clean_meeting_delivers_everything_but_what_was_sent_before_a_join() {
    let r = run(Config {
        participants: 3,
        duration_us: 3_000_000,
        churn_per_minute: 0.0,
        link: LinkConfig {
            loss: 0.0,
            reorder: 0.0,
            jitter_us: 0,
            ..Config::default().link
        },
        mode: Mode::PerPacket,
        suite: CipherSuite::Aes128CtrHmacSha256_80,
        ..Config::default()
    });
    check_report(&r);
    assert_eq!(r.participants.len(), 3);
    let sent: u64 = r.participants.iter().map(|p| p.frames_sent).sum();
    for p in &r.participants {
        let t = &p.received;
        // Everyone is admitted at time 0 and stays: each expects what the others sent.
        assert_eq!(t.expected, sent - p.frames_sent, "{p:?}");
        assert_eq!(t.lost, 0);
        assert_eq!(t.decrypted + t.dropped.before_join, t.expected);
    }
    assert_eq!(r.network.downlinks.lost, 0);
    assert_eq!(r.config.suite, "AES_128_CTR_HMAC_SHA256_80");
    assert_eq!(r.config.mode, "per-packet");

    // The text names the same numbers: a row per participant, then the totals.
    let text = r.render();
    let t = &r.totals;
    let d = &t.dropped;
    let totals: Vec<String> = [
        t.frames_sent,
        t.expected,
        t.decrypted,
        t.lost,
        d.before_join,
        d.after_removal,
        d.while_leaving,
        d.rollover,
    ]
    .iter()
    .map(u64::to_string)
    .collect();
    let all = text
        .lines()
        .find(|l| l.starts_with("all "))
        .expect("a totals row");
    let cells: Vec<&str> = all.split_whitespace().filter(|c| *c != "|").collect();
    assert_eq!(cells[0], "all");
    assert_eq!(cells[1..], totals, "{all}");
    for p in &r.participants {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("{} ", p.name)));
        assert!(row.is_some_and(|l| l.contains(p.role)), "{text}");
    }
    assert!(text.contains("invariants: all held"), "{text}");
}

#[test]
fn a_configuration_it_cannot_run_and_a_second_run_are_refused() {
    use sframe_sim::SimError;
    let bad = [
        Config {
            participants: 1,
            ..Config::default()
        },
        Config {
            duration_us: 0,
            ..Config::default()
        },
        Config {
            churn_per_minute: f64::NAN,
            ..Config::default()
        },
        Config {
            link: LinkConfig {
                loss: 1.5,
                ..LinkConfig::CLEAN
            },
            ..Config::default()
        },
    ];
    for (config, field) in
        bad.into_iter()
            .zip(["participants", "duration_us", "churn_per_minute", "link"])
    {
        let e = Meeting::new(config).expect_err(field);
        assert!(matches!(e, SimError::InvalidConfig(f) if f == field), "{e}");
    }
    let mut meeting = Meeting::new(Config {
        participants: 2,
        duration_us: 200_000,
        churn_per_minute: 0.0,
        ..Config::default()
    })
    .expect("a valid configuration");
    meeting.run(&mut |_| {}).expect("the meeting runs");
    assert!(matches!(
        meeting.run(&mut |_| {}),
        Err(SimError::AlreadyRun)
    ));
    assert!(Report::new(&meeting, 0.0).ok);
}
