//! `sframe sfu` and `sframe join` run as processes on loopback: an SFU and two participants
//! that decrypt each other, and the failures' exit statuses.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test that cannot run its setup should panic"
)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::sframe;
use serde_json::Value;

#[test]
fn sfu_refuses_a_non_loopback_address() {
    let run = sframe(&["sfu", "--listen", "0.0.0.0:8080"], b"");
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stderr, "error: --listen must be a loopback address\n");
}

#[test]
fn join_without_an_sfu_fails_on_one_line() {
    // Port 9 (discard) on loopback: nothing listens there.
    let run = sframe(
        &["join", "--sfu", "http://127.0.0.1:9", "--duration", "1"],
        b"",
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.starts_with("error: HTTP signaling failed"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
}

#[test]
fn an_sfu_and_two_participants_as_processes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://{listen}");
    let sfu = Command::new(env!("CARGO_BIN_EXE_sframe"))
        .args(["sfu", "--listen", &listen, "--duration", "9", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let join = |name: &str, secs: &str| {
        Command::new(env!("CARGO_BIN_EXE_sframe"))
            .args([
                "join",
                "--sfu",
                &url,
                "--name",
                name,
                "--duration",
                secs,
                "--json",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let alice = join("alice", "5");
    std::thread::sleep(Duration::from_secs(1));
    let bob = join("bob", "2");
    let report = |child: std::process::Child| -> Value {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (bob, alice, sfu) = (report(bob), report(alice), report(sfu));
    for r in [&alice, &bob] {
        assert!(r["decrypted"].as_u64().unwrap() > 50, "{r}");
        assert_eq!(r["rollover_drops"], 0);
        assert_eq!(r["corrupt"], 0);
    }
    assert_eq!(alice["security_codes"]["1"], bob["security_codes"]["1"]);
    assert_eq!(bob["removed"], true);
    assert_eq!(sfu["plaintext_seen"], 0);
    assert_eq!(sfu["peers_added"], 2);
    assert!(sfu["rtp_forwarded"].as_u64().unwrap() > 100);
}
