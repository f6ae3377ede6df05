//! What the tests that leave the process share: the wasm build, finding node and chromium,
//! and the rule for a missing tool (skip with the reason outside CI, fail under CI).
// Test helpers outside #[test] functions: a failed expect is a failed test.
#![allow(dead_code, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub mod serve;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// True under CI (`CI` set to anything but empty, `0` or `false`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `Some(())` if `what` is available; otherwise fails under CI, and outside CI prints why the
/// test is skipped and returns `None`.
pub fn available(what: &str, found: bool, install: &str) -> Option<()> {
    if found {
        return Some(());
    }
    assert!(
        !under_ci(),
        "{what} is missing, and CI is set: .ci/run installs it ({install})"
    );
    eprintln!("SKIPPED: {what} is missing (not under CI; {install} to run this test)");
    None
}

/// The first of `candidates` that runs with `--version`.
pub fn find_program(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(PathBuf::from)
}

/// node, if installed.
pub fn node() -> Option<PathBuf> {
    find_program(&["node", "nodejs"])
}

/// The release build of the module for `wasm32-unknown-unknown`, built once per test
/// binary (or `SFRAME_WASM_MODULE`, a module built beforehand); `Err` says why it could not
/// be built (most often: the target is not installed).
pub fn wasm_module() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build_wasm).clone()
}

fn build_wasm() -> Result<PathBuf, String> {
    // A module built beforehand (e.g. while iterating on a shared, busy target folder).
    if let Some(module) = std::env::var_os("SFRAME_WASM_MODULE") {
        return Ok(PathBuf::from(module));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args([
            "build",
            "--release",
            "-p",
            "sframe-wasm",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build --target wasm32-unknown-unknown failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let module = target_dir.join("wasm32-unknown-unknown/release/sframe_wasm.wasm");
    if module.is_file() {
        Ok(module)
    } else {
        Err(format!("{} was not built", module.display()))
    }
}

/// The module, or `None` (skipped with the reason) when the wasm32 target is not installed
/// outside CI; under CI a failed build fails the test.
pub fn wasm_module_or_skip() -> Option<PathBuf> {
    match wasm_module() {
        Ok(m) => Some(m),
        Err(why) => {
            let target_missing = why.contains("target may not be installed");
            assert!(target_missing && !under_ci(), "{why}");
            eprintln!(
                "SKIPPED: the wasm32-unknown-unknown target is missing (not under CI; \
                 rustup target add wasm32-unknown-unknown to run this test)"
            );
            None
        }
    }
}

/// Chromium: `CHROMIUM`, or Debian's.
pub fn chromium() -> Option<PathBuf> {
    let env = std::env::var_os("CHROMIUM").map(PathBuf::from);
    env.into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// A node script driving Chromium (`wasm/node/*.mjs`), started on `input` written to `dir`.
pub struct NodeRun {
    child: std::process::Child,
    script: String,
    out_path: PathBuf,
    timeout: std::time::Duration,
}

impl NodeRun {
    /// Starts `node wasm/node/SCRIPT input.json output.json` with the files in `dir`.
    pub fn start(
        node: &Path,
        script: &str,
        input: &serde_json::Value,
        dir: &Path,
        timeout: std::time::Duration,
    ) -> Self {
        let (in_path, out_path) = (dir.join("input.json"), dir.join("output.json"));
        std::fs::write(&in_path, input.to_string()).expect("write input");
        let child = Command::new(node)
            .arg(workspace().join("wasm/node").join(script))
            .args([&in_path, &out_path])
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("node starts");
        Self {
            child,
            script: script.to_owned(),
            out_path,
            timeout,
        }
    }

    /// Waits for the script (killing it after the timeout), which must succeed; its output.
    pub fn finish(mut self) -> serde_json::Value {
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = self.child.kill();
                panic!("{} took over {:?}", self.script, self.timeout);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert!(status.success(), "{} failed: {status}", self.script);
        let output = std::fs::read_to_string(&self.out_path).expect("output written");
        serde_json::from_str(&output).expect("output is JSON")
    }
}

/// The worker's counts (`stats` op) show no frame dropped: none failed to encrypt at
/// `sender`, none failed to decrypt at `receiver`, and no transform dropped one.
pub fn assert_no_drops(worker: &serde_json::Value, sender: &str, receiver: &str) {
    let none = serde_json::json!({});
    let p = &worker["participants"];
    assert_eq!(
        p[sender]["send"]["dropped"], none,
        "no frame failed to encrypt"
    );
    assert_eq!(
        p[receiver]["recv"]["dropped"], none,
        "no frame failed to decrypt"
    );
    for (name, t) in worker["transforms"].as_object().expect("transforms") {
        assert_eq!(t["dropped"], none, "{name} dropped frames");
    }
}

/// What the Chromium tests need: node, chromium and the wasm module (and puppeteer-core in
/// wasm/node), or `None`: skipped with the reason outside CI, a failure under CI.
pub fn browser_tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let Some(node) = node() else {
        return available("node", false, "apt-get install nodejs").map(|()| unreachable!());
    };
    let Some(chromium) = chromium() else {
        return available("chromium", false, "apt-get install chromium").map(|()| unreachable!());
    };
    let puppeteer = workspace().join("wasm/node/node_modules/puppeteer-core");
    available("puppeteer-core", puppeteer.is_dir(), "npm ci in wasm/node")?;
    let module = wasm_module_or_skip()?;
    Some((node, chromium, module))
}
