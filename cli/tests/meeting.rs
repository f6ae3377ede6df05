//! `sframe meeting`, run as a process: small meetings checked through their JSON report, bad
//! flags, and the help. Also the sframe-mls behaviour the meeting's leader relies on (and the
//! one it works around).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test that cannot run its setup should panic"
)]

use std::process::Command;
use std::time::Duration;

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

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

/// The relations every report must satisfy, whatever the configuration.
fn check_report(r: &Value) {
    assert_eq!(r["ok"], true, "violations: {}", r["violations"]);
    assert_eq!(u(&r["violation_count"]), 0);
    let participants = r["participants"].as_array().expect("participants");
    let mut totals = [0u64; 5];
    for p in participants {
        let name = p["name"].as_str().expect("name");
        let d = &p["dropped"];
        // Exactly one outcome per frame the ledger says was sent to this participant.
        assert_eq!(
            u(&p["expected"]),
            u(&p["decrypted"]) + u(&p["lost"]) + u(&d["total"]) + u(&p["unaccounted"]),
            "{name}: {p}"
        );
        assert_eq!(u(&p["unaccounted"]), 0, "{name}");
        assert_eq!(u(&d["rollover"]), 0, "{name}: no key-rollover drop");
        assert_eq!(
            u(&d["total"]),
            u(&d["before_join"]) + u(&d["after_removal"]) + u(&d["while_leaving"]),
            "{name}: every drop has a reason"
        );
        let causes: u64 = p["drop_causes"]
            .as_object()
            .expect("drop_causes")
            .values()
            .map(u)
            .sum();
        assert_eq!(causes, u(&d["total"]), "{name}: every drop has a cause");
        assert_eq!(u(&p["srtp"]["srtp_other"]), 0, "{name}");
        if p["removed_epoch"].is_null() {
            assert!(u(&p["decrypted"]) > 0, "{name} decrypted something");
            assert!(u(&p["frames_sent"]) > 0, "{name} sent something");
        }
        for (i, key) in ["frames_sent", "expected", "decrypted", "lost"]
            .iter()
            .enumerate()
        {
            totals[i] += u(&p[*key]);
        }
        totals[4] += u(&d["total"]);
    }
    let t = &r["totals"];
    assert_eq!(
        [
            u(&t["frames_sent"]),
            u(&t["expected"]),
            u(&t["decrypted"]),
            u(&t["lost"]),
            u(&t["dropped"]["total"])
        ],
        totals
    );
    assert_eq!(u(&t["dropped"]["rollover"]), 0);

    // One security code for the final epoch, shown by every member present.
    let m = &r["meeting"];
    assert_eq!(m["codes_agree"], true);
    let code = m["security_code"].as_str().expect("a security code");
    assert_eq!(code.split(' ').count(), 6, "six groups: {code}");
    let present: Vec<&Value> = participants
        .iter()
        .filter(|p| p["removed_epoch"].is_null())
        .collect();
    assert_eq!(present.len() as u64, u(&m["present_at_end"]));
    for p in present {
        assert_eq!(p["security_code"], code, "{}", p["name"]);
    }
    assert_eq!(
        u(&m["participants_total"]),
        participants.len() as u64,
        "everyone who took part is listed"
    );

    // The SFU forwarded plenty and held no plaintext.
    let s = &r["sfu"];
    assert_eq!(u(&s["plaintext_seen"]), 0);
    assert_eq!(u(&s["other_refused"]), 0);
    assert!(u(&s["bytes_forwarded"]) > 100_000);
    assert!(u(&s["sframe_headers_read"]) > 0);
    assert_eq!(
        u(&s["packets_forwarded"]),
        u(&r["network"]["downlinks"]["packets"]),
        "every forwarded packet took a downlink"
    );
    let up = &r["network"]["uplinks"];
    assert_eq!(
        u(&s["packets_received"]),
        u(&up["packets"]) - u(&up["lost"]) + u(&up["duplicated"]),
        "the SFU got every copy the uplinks delivered"
    );
    for stage in [
        "sframe_encrypt",
        "sframe_decrypt",
        "srtp_protect",
        "srtp_unprotect",
    ] {
        assert!(u(&r["crypto"][stage]["bytes"]) > 0, "{stage}");
    }
}

/// The report without what changes from run to run for the same seed: MLS key material (the
/// security codes) and timings.
fn deterministic_part(r: &Value) -> Value {
    let mut r = r.clone();
    r["crypto"] = Value::Null;
    r["meeting"]["security_code"] = Value::Null;
    for p in r["participants"].as_array_mut().expect("participants") {
        p["security_code"] = Value::Null;
    }
    r
}

#[test]
fn a_small_meeting_with_joins_leaves_and_loss_checks_out() {
    let args = [
        "--participants",
        "4",
        "--duration",
        "6",
        "--churn",
        "60",
        "--loss",
        "3",
        "--reorder",
        "2",
        "--seed",
        "3",
    ];
    let r = meeting_json(&args);
    check_report(&r);
    let m = &r["meeting"];
    assert!(u(&m["joins"]) > 3, "someone joined during the meeting: {m}");
    assert!(u(&m["leaves"]) > 0, "someone left: {m}");
    assert!(u(&m["commits"]) >= 3, "{m}");
    assert!(u(&r["totals"]["lost"]) > 0, "the network lost frames");
    assert!(u(&r["network"]["uplinks"]["reordered"]) > 0);
    let d = &r["totals"]["dropped"];
    assert!(u(&d["before_join"]) > 0, "joiners were sent older frames");
    assert!(
        u(&d["after_removal"]) > 0,
        "removed members were sent newer frames"
    );
    let c = &r["config"];
    assert_eq!(
        (u(&c["participants"]), u(&c["seed"]), c["mode"].as_str()),
        (4, 3, Some("per-frame"))
    );
    assert_eq!(c["loss_percent"], 3.0);

    // The same seed gives the same meeting.
    let again = meeting_json(&args);
    assert_eq!(deterministic_part(&again), deterministic_part(&r));
}

#[test]
fn a_clean_meeting_delivers_everything_but_what_was_sent_before_a_join() {
    let r = meeting_json(&[
        "--participants",
        "3",
        "--duration",
        "3",
        "--churn",
        "0",
        "--loss",
        "0",
        "--reorder",
        "0",
        "--jitter",
        "0",
        "--mode",
        "per-packet",
        "--suite",
        "AES_128_CTR_HMAC_SHA256_80",
    ]);
    check_report(&r);
    let participants = r["participants"].as_array().expect("participants");
    assert_eq!(participants.len(), 3);
    let sent: u64 = participants.iter().map(|p| u(&p["frames_sent"])).sum();
    for p in participants {
        // Everyone is admitted at time 0 and stays: each expects what the others sent.
        assert_eq!(u(&p["expected"]), sent - u(&p["frames_sent"]), "{p}");
        assert_eq!(u(&p["lost"]), 0);
        assert_eq!(
            u(&p["decrypted"]) + u(&p["dropped"]["before_join"]),
            u(&p["expected"])
        );
    }
    assert_eq!(u(&r["network"]["downlinks"]["lost"]), 0);
    assert_eq!(r["config"]["suite"], "AES_128_CTR_HMAC_SHA256_80");
    assert_eq!(r["config"]["mode"], "per-packet");
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

// ---- the sframe-mls behaviour behind the leader's commits ----

mod keyring_on_removal {
    use super::*;
    use sframe_core::CipherSuite;
    use sframe_mls::{KeyringConfig, MemberConfig, MlsMember};

    fn member(name: &str) -> MlsMember {
        let mut keyring = KeyringConfig::new(CipherSuite::Aes128GcmSha256_128);
        keyring.switch_at_once_on_removal = true;
        MlsMember::new(name.as_bytes(), MemberConfig::new(keyring)).unwrap()
    }

    /// A leader at leaf 0 with members at leaves 1 and 2, sending under epoch 1.
    fn group() -> MlsMember {
        let t = Duration::ZERO;
        let mut leader = member("leader");
        leader.create_group(t).unwrap();
        let (mut a, mut b) = (member("a"), member("b"));
        let kps = [a.key_package().unwrap(), b.key_package().unwrap()];
        let out = leader.commit(t, &kps, &[]).unwrap();
        leader.merge_pending_commit().unwrap();
        assert_eq!(out.added, [1, 2]);
        let welcome = out.welcome.unwrap();
        a.join(t, &welcome).unwrap();
        b.join(t, &welcome).unwrap();
        for leaf in [1, 2] {
            leader.keyring_mut().acknowledge(t, leaf, 1);
        }
        assert_eq!(leader.keyring().sending_epoch(), Some(1));
        leader
    }

    /// What `sframe meeting` does: a commit of leaves only. The leader switches at once, so
    /// the removed member gets no frame of the new epoch's time under the old one.
    #[test]
    fn a_commit_that_only_removes_switches_at_once() {
        let mut leader = group();
        leader.commit(Duration::ZERO, &[], &[1]).unwrap();
        assert_eq!(leader.keyring().sending_epoch(), Some(2));
    }

    /// Regression: the keyring used to detect removals by comparing the epochs' leaf indices,
    /// and a joiner in the same commit takes the removed member's leaf, so senders did not
    /// switch at once and the removed member could decrypt until the grace period ended.
    #[test]
    fn a_commit_that_reuses_a_removed_leaf_switches_at_once() {
        let mut leader = group();
        let mut c = member("c");
        let out = leader
            .commit(Duration::ZERO, &[c.key_package().unwrap()], &[1])
            .unwrap();
        assert_eq!(out.added, [1], "the joiner takes the removed member's leaf");
        assert_eq!(
            leader.keyring().sending_epoch(),
            Some(2),
            "the removal is a removal even though the leaf is taken again"
        );
    }
}
