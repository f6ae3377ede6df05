//! `sframe meeting`, run as a process: the wiring of the command (flags reach the simulator,
//! the JSON report parses, the exit status), bad flags, and the help. The meeting itself is
//! tested in `sim/tests/`.

#![allow(
    clippy::expect_used,
    reason = "a test that cannot run its setup should panic"
)]

mod common;

use common::sframe;
use serde_json::Value;

/// The flags reach the simulator, whose report comes back as one JSON line with nothing on
/// stderr, and a meeting that holds its invariants exits 0; the text report, from the same
/// seed, names the same numbers.
#[test]
fn a_small_meeting_runs_from_its_flags() {
    let args = "--participants 3 --duration 2 --churn 30 --loss 3 --reorder 2 --jitter 4 \
        --mode per-packet --suite AES_256_GCM_SHA512_128 --commit-delay 200 --grace 400 --seed 3";
    let args: Vec<&str> = args.split_whitespace().collect();
    let json = sframe(&[&["meeting", "--json"], &args[..]].concat(), b"").ok();
    let json = String::from_utf8(json).expect("UTF-8");
    let line = json.strip_suffix('\n').expect("ends with a newline");
    assert!(!line.contains('\n'), "one JSON object on one line");
    let r: Value = serde_json::from_str(line).expect("valid JSON");
    assert_eq!(r["ok"], true, "violations: {}", r["violations"]);
    let c = &r["config"];
    for (key, want) in [
        ("participants", 3.0),
        ("duration_s", 2.0),
        ("churn_per_minute", 30.0),
        ("loss_percent", 3.0),
        ("reorder_percent", 2.0),
        ("jitter_ms", 4.0),
        ("commit_delay_ms", 200.0),
        ("grace_ms", 400.0),
        ("seed", 3.0),
    ] {
        assert_eq!(c[key].as_f64(), Some(want), "{key}: {c}");
    }
    assert_eq!(
        (&c["mode"], &c["suite"]),
        (&"per-packet".into(), &"AES_256_GCM_SHA512_128".into())
    );
    let decrypted = r["totals"]["decrypted"].as_u64().expect("a count");
    assert!(decrypted > 0);

    let text = sframe(&[&["meeting"], &args[..]].concat(), b"").ok();
    let text = String::from_utf8(text).expect("UTF-8");
    let all = text
        .lines()
        .find(|l| l.starts_with("all "))
        .expect("a totals row");
    let cells: Vec<&str> = all.split_whitespace().collect();
    assert_eq!(cells.get(3), Some(&decrypted.to_string().as_str()), "{all}");
    assert!(text.contains("invariants: all held"), "{text}");
}

#[test]
fn bad_flags_are_one_line_and_exit_2() {
    let cases: [(&[&str], &[&str]); 9] = [
        (&["--loss", "200"], &["--loss", "out of range"]),
        (&["--loss", "lots"], &["--loss", "not a number"]),
        (&["--participants", "1"], &["--participants"]),
        (&["--duration", "0"], &["--duration", "out of range"]),
        (
            &["--mode", "sideways"],
            &["--mode", "per-frame", "per-packet"],
        ),
        (&["--suite", "42"], &["--suite", "unknown cipher suite"]),
        (&["--seed", "-1"], &["--seed"]),
        (&["--jitter", "NaN"], &["--jitter"]),
        (&["--bogus"], &["--bogus"]),
    ];
    for (args, needles) in cases {
        sframe(&[&["meeting"], args].concat(), b"").fails(2, needles);
    }
}

#[test]
fn meeting_help_reads_well() {
    for flag in ["-h", "--help"] {
        let help = String::from_utf8(sframe(&["meeting", flag], b"").ok()).expect("UTF-8");
        let needles = "Usage: sframe meeting [OPTIONS], --participants <N>, --duration <SECONDS>, \
            --churn <PER_MINUTE>, --loss <PERCENT>, --reorder <PERCENT>, --jitter <MS>, \
            --suite <SUITE>, --mode <MODE>, --commit-delay <MS>, --grace <MS>, --seed <N>, \
            --json, [default: 10], per-packet, Examples:, Exit status";
        for needle in needles.split(", ") {
            assert!(
                help.contains(needle),
                "meeting {flag} lacks {needle:?}:\n{help}"
            );
        }
    }
    let long = String::from_utf8(sframe(&["meeting", "--help"], b"").ok()).expect("UTF-8");
    for needle in [
        "MLS",
        "SFU",
        "no media key",
        "security code",
        "ledger",
        "--seed",
    ] {
        assert!(long.contains(needle), "meeting --help lacks {needle:?}");
    }
    let top = String::from_utf8(sframe(&["--help"], b"").ok()).expect("UTF-8");
    assert!(
        top.contains("meeting"),
        "sframe --help lists meeting:\n{top}"
    );
}
