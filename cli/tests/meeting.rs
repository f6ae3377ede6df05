//! `sframe meeting`, run as a process: the wiring of the command (flags reach the simulator,
//! the JSON report parses, the exit status), bad flags, and the help. The meeting itself is
//! tested in `sim/tests/`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test that cannot run its setup should panic"
)]

use std::process::Command;

use serde_json::Value;

/// What one run of the binary gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn sframe(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sframe"))
        .args(args)
        .output()
        .expect("run sframe");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs a meeting with `--json`; asserts success, silence on stderr and one JSON line.
fn meeting_json(args: &[&str]) -> Value {
    let mut all = vec!["meeting", "--json"];
    all.extend_from_slice(args);
    let run = sframe(&all);
    assert_eq!(run.code, Some(0), "{args:?}: stderr {}", run.stderr);
    assert_eq!(run.stderr, "", "no progress bar or message with --json");
    let line = run.stdout.strip_suffix('\n').expect("ends with a newline");
    assert!(!line.contains('\n'), "one JSON object on one line");
    serde_json::from_str(line).expect("valid JSON")
}

/// The flags reach the simulator, whose report comes back as one JSON line, and a meeting that
/// holds its invariants exits 0; the text report names what the JSON holds.
#[test]
fn a_small_meeting_runs_from_its_flags() {
    let args = [
        "--participants",
        "3",
        "--duration",
        "2",
        "--churn",
        "30",
        "--loss",
        "3",
        "--reorder",
        "2",
        "--jitter",
        "4",
        "--mode",
        "per-packet",
        "--suite",
        "AES_256_GCM_SHA512_128",
        "--commit-delay",
        "200",
        "--grace",
        "400",
        "--seed",
        "3",
    ];
    let r = meeting_json(&args);
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
    assert_eq!(c["mode"], "per-packet");
    assert_eq!(c["suite"], "AES_256_GCM_SHA512_128");
    assert!(r["totals"]["decrypted"].as_u64().is_some_and(|n| n > 0));

    let mut text_args = vec!["meeting"];
    text_args.extend_from_slice(&args);
    let text = sframe(&text_args);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    let decrypted = r["totals"]["decrypted"].to_string();
    let all = text
        .stdout
        .lines()
        .find(|l| l.starts_with("all "))
        .expect("a totals row");
    assert!(
        all.split_whitespace().any(|w| w == decrypted),
        "{all} lacks {decrypted}"
    );
    assert!(
        text.stdout.contains("invariants: all held"),
        "{}",
        text.stdout
    );
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
        let mut all = vec!["meeting"];
        all.extend_from_slice(args);
        let run = sframe(&all);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        let line = run.stderr.strip_suffix('\n').expect("a newline");
        assert!(!line.contains('\n'), "one line: {:?}", run.stderr);
        assert!(line.starts_with("error: "), "{line}");
        for needle in needles {
            assert!(line.contains(needle), "{line:?} lacks {needle:?}");
        }
    }
}

#[test]
fn meeting_help_reads_well() {
    for flag in ["-h", "--help"] {
        let run = sframe(&["meeting", flag]);
        assert_eq!(run.code, Some(0));
        let help = run.stdout;
        for needle in [
            "Usage: sframe meeting [OPTIONS]",
            "--participants <N>",
            "--duration <SECONDS>",
            "--churn <PER_MINUTE>",
            "--loss <PERCENT>",
            "--reorder <PERCENT>",
            "--jitter <MS>",
            "--suite <SUITE>",
            "--mode <MODE>",
            "--commit-delay <MS>",
            "--grace <MS>",
            "--seed <N>",
            "--json",
            "[default: 10]",
            "per-packet",
            "Examples:",
            "Exit status",
        ] {
            assert!(
                help.contains(needle),
                "meeting {flag} lacks {needle:?}:\n{help}"
            );
        }
    }
    let long = sframe(&["meeting", "--help"]).stdout;
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
    let top = sframe(&["--help"]).stdout;
    assert!(
        top.contains("meeting"),
        "sframe --help lists meeting:\n{top}"
    );
}
