//! Shared by the process tests: run the `sframe` binary and check what it gave.

#![allow(
    dead_code,
    clippy::expect_used,
    reason = "each test file uses part of it; a test that cannot run its setup should panic"
)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `sframe args...` with `stdin` as its input.
pub fn sframe(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sframe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sframe");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    // A writer thread, so a large input cannot deadlock against a full stdout pipe. The
    // binary may exit without reading (bad arguments): a broken pipe here is expected then.
    let writer = thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for sframe");
    writer.join().expect("stdin writer");
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

impl Run {
    /// Asserts success with nothing on stderr; returns stdout.
    #[track_caller]
    pub fn ok(self) -> Vec<u8> {
        assert_eq!(
            self.code,
            Some(0),
            "expected success, stderr: {}",
            self.stderr
        );
        assert_eq!(self.stderr, "", "stderr on success");
        self.stdout
    }

    /// Asserts success and hex output ending in one newline; returns the decoded bytes.
    #[track_caller]
    pub fn ok_hex(self) -> Vec<u8> {
        let out = String::from_utf8(self.ok()).expect("hex output is UTF-8");
        let line = out
            .strip_suffix('\n')
            .expect("hex output ends with a newline");
        assert!(!line.contains(['\n', ' ']), "one line of hex: {out:?}");
        hex::decode(line).expect("output is hex")
    }

    /// Asserts failure with exit status `code`, nothing on stdout and exactly one line on
    /// stderr, `error: ...`, containing every one of `needles`.
    #[track_caller]
    pub fn fails(self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code,
            Some(code),
            "exit status; stderr: {}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "stdout on failure: {:?}",
            self.stdout
        );
        let line = self
            .stderr
            .strip_suffix('\n')
            .expect("stderr ends with a newline");
        assert!(
            !line.contains('\n'),
            "more than one line on stderr: {:?}",
            self.stderr
        );
        assert!(line.starts_with("error: "), "stderr: {line}");
        for needle in needles {
            assert!(
                line.contains(needle),
                "stderr {line:?} does not mention {needle:?}"
            );
        }
    }
}

/// Arguments written as one string, split at whitespace.
pub fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}
