//! A browser in the same meeting as native participants, through the native SFU
//! (`sframe-webrtc`), everything on loopback:
//!
//! - the SFU serves the meeting page (`wasm/web/meeting.html`) and the wasm module;
//! - a native member ("keys") lends its keys to the page (`KeyDelegate`) and sends nothing;
//! - native Alice sends a real VP8 and Opus stream (made now with ffmpeg and libvpx), SFrame
//!   encrypted and packetized as a browser does (codec-packetized);
//! - headless Chromium opens the page with the fake camera and microphone and joins;
//! - a few seconds later native Bob joins, which changes the epoch for everyone.
//!
//! Alice's RTP sequence numbers wrap before the browser and Bob join, so both receive her
//! streams from the SFU after a rollover.
//!
//! Then: the natives decrypted the browser's audio and video with 0 authentication failures,
//! and its decrypted VP8 key frames carry the start code; the browser decrypted both natives'
//! media with 0 drops of any cause, in both epochs, and Chromium decoded their video
//! (`framesDecoded`) and audio; the SFU never saw plaintext and the page sent in both epochs.
//!
//! Needs node, chromium, ffmpeg and `npm ci` in wasm/node; outside CI a missing one skips the
//! test with the reason, under CI (`CI=true`, as `.ci/run` runs) it fails.

// Test helpers outside #[test] functions: a failed expect is a failed test.
#![allow(clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sframe_webrtc::clip::MediaClip;
use sframe_webrtc::{
    KeyDelegate, MediaFormat, ParticipantConfig, ParticipantHandle, ParticipantReport, SfuConfig,
    SfuServer,
};

/// How long the browser stays once joined.
const BROWSER_MS: u64 = 16_000;
/// When Bob joins (and the epoch changes), after the browser's media reached Alice.
const BOB_AFTER: Duration = Duration::from_secs(3);
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// node, chromium, ffmpeg and the wasm module, or `None` (skipped with the reason outside CI).
fn tools() -> Option<(PathBuf, PathBuf, PathBuf, PathBuf)> {
    // ffmpeg takes `-version`, not `--version`.
    let ffmpeg_runs = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    let Some(ffmpeg) = ffmpeg_runs.then(|| PathBuf::from("ffmpeg")) else {
        return support::available("ffmpeg", false, "apt-get install ffmpeg")
            .map(|()| unreachable!());
    };
    let (node, chromium, module) = support::browser_tools()?;
    Some((node, chromium, ffmpeg, module))
}

/// A 3 s VP8 clip (a key frame every second) and a 3 s Opus clip (20 ms frames), made now.
fn clip(ffmpeg: &Path, dir: &Path) -> MediaClip {
    let (ivf, ogg) = (dir.join("clip.ivf"), dir.join("clip.ogg"));
    let runs = [
        vec![
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30",
            "-t",
            "3",
            "-c:v",
            "libvpx",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-b:v",
            "300k",
        ],
        vec![
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "3",
            "-c:a",
            "libopus",
            "-frame_duration",
            "20",
            "-b:a",
            "32k",
        ],
    ];
    for (args, out) in runs.iter().zip([&ivf, &ogg]) {
        let status = Command::new(ffmpeg)
            .args(["-y", "-loglevel", "error"])
            .args(args)
            .arg(out)
            .stdin(Stdio::null())
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg failed for {}", out.display());
    }
    let read = |p: &Path| std::fs::read(p).expect("clip written");
    MediaClip::from_files(&read(&ivf), &read(&ogg)).expect("clips parse")
}

fn participant(sfu: &SfuServer, name: &str, clip: Option<Arc<MediaClip>>) -> ParticipantConfig {
    let mut config = ParticipantConfig::new(&sfu.url(), name, Duration::from_secs(120));
    config.format = MediaFormat::CodecPacketized;
    config.clip = clip;
    config
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn a_browser_and_native_participants_meet_through_the_native_sfu() {
    let Some((node, chromium, ffmpeg, module)) = tools() else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("sframe-browser-meeting-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let clip = Arc::new(clip(&ffmpeg, &tmp));

    let mut sfu_config = SfuConfig::new("127.0.0.1:0".parse().expect("address"));
    sfu_config.wasm = Some(module);
    let sfu = SfuServer::start(sfu_config).expect("SFU starts");
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let lender = Arc::new(KeyDelegate::start(loopback, Some(sfu.url())).expect("key server"));
    let mut keys = participant(&sfu, "keys", None);
    keys.delegate = Some(lender.clone());
    let keys = ParticipantHandle::spawn(keys).expect("keys starts");
    wait_for("the lending member", Duration::from_secs(20), || {
        keys.progress().joined.load(Ordering::SeqCst)
    });
    // Alice's sequence numbers wrap within a second, before the browser and Bob join: the
    // SFU must start her streams to them at rollover counter 0 (Chromium's SRTP, as any
    // receiver, assumes 0 for a stream it never heard of).
    let mut alice = participant(&sfu, "alice", Some(clip.clone()));
    alice.first_seq = Some(u16::MAX - 39);
    let alice = ParticipantHandle::spawn(alice).expect("alice starts");
    wait_for("alice", Duration::from_secs(20), || {
        alice.progress().joined.load(Ordering::SeqCst)
            && keys.progress().epoch.load(Ordering::SeqCst) == 1
    });

    // The browser, on its own thread; Bob joins once the browser's media reaches Alice.
    let url = format!("{}/?keys={}&name=browser", sfu.url(), lender.url());
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("meeting.png");
    let input = json!({
        "url": url,
        "chromium": chromium,
        "userDataDir": tmp.join("profile"),
        "durationMs": BROWSER_MS,
        "screenshot": shot,
        "timeoutMs": (BROWSER_TIMEOUT - Duration::from_secs(20)).as_millis() as u64,
    });
    let browser = support::NodeRun::start(&node, "meeting.mjs", &input, &tmp, BROWSER_TIMEOUT);
    wait_for(
        "the browser's media at Alice",
        Duration::from_secs(60),
        || alice.progress().decrypted.load(Ordering::SeqCst) > 50,
    );
    std::thread::sleep(BOB_AFTER);
    let bob =
        ParticipantHandle::spawn(participant(&sfu, "bob", Some(clip.clone()))).expect("bob starts");

    let out = browser.finish();
    for p in [&alice, &bob, &keys] {
        p.leave();
    }
    let bob = bob.join().expect("bob's report");
    let alice = alice.join().expect("alice's report");
    let keys = keys.join().expect("the lender's report");
    let fetches = lender.fetches();
    drop(lender);
    let sfu = sfu.stop();
    let _ = std::fs::remove_dir_all(&tmp);

    eprintln!("{}", out["version"]);
    eprintln!("browser: {:#}", out["stats"]);
    eprintln!(
        "epochs installed in the page, per second: {}",
        out["timeline"]
    );
    for r in [&alice, &bob, &keys] {
        eprintln!("{}: {}", r.name, serde_json::to_string(r).expect("report"));
    }
    eprintln!("SFU: {}", serde_json::to_string(&sfu).expect("stats"));
    eprintln!(
        "key document fetched {fetches} times; screenshot {}",
        shot.display()
    );

    check_natives(&alice, &bob, &keys);
    check_browser(&out, &alice, &bob);
    assert_eq!(sfu.plaintext_seen, 0, "the SFU saw plaintext");
    assert_eq!(
        sfu.rtp_no_line, 0,
        "the browser had a line for every sender"
    );
}

/// Frames each native decrypted from SSRCs no native sent: the browser's.
fn from_browser(r: &ParticipantReport, natives: &[&ParticipantReport]) -> u64 {
    r.decrypted_by_ssrc
        .iter()
        .filter(|(ssrc, _)| natives.iter().all(|n| !n.ssrcs.contains(ssrc)))
        .map(|(_, n)| *n)
        .sum()
}

fn check_natives(alice: &ParticipantReport, bob: &ParticipantReport, keys: &ParticipantReport) {
    let natives = [alice, bob];
    for r in natives {
        let browser = from_browser(r, &natives);
        let browser_streams = r
            .decrypted_by_ssrc
            .keys()
            .filter(|s| natives.iter().all(|n| !n.ssrcs.contains(s)))
            .count();
        // At least 6 s of the browser's 50 audio and up to 30 video frames per second.
        assert!(
            browser > 300,
            "{} decrypted {browser} frames of the browser",
            r.name
        );
        assert_eq!(
            browser_streams, 2,
            "{}: the browser's audio and video",
            r.name
        );
        assert_eq!(r.dropped.get("authentication"), None, "{}", r.name);
        assert_eq!(r.corrupt, 0, "{}", r.name);
        assert_eq!(
            r.rollover_drops, 0,
            "{}: no frame lost to the epoch change",
            r.name
        );
        assert!(r.vp8_key_frames > 0, "{} saw no VP8 key frame", r.name);
        assert_eq!(r.vp8_key_frames_without_start_code, 0, "{}", r.name);
    }
    // Each native decrypted the other's audio and video (Bob's receiving of Alice's starts
    // after her sequence numbers wrapped).
    for (r, other) in [(alice, bob), (bob, alice)] {
        for ssrc in &other.ssrcs {
            let n = r.decrypted_by_ssrc.get(ssrc).copied().unwrap_or(0);
            assert!(
                n > 100,
                "{} decrypted {n} frames of {}'s {ssrc}",
                r.name,
                other.name
            );
        }
    }
    // The lending member sent nothing of its own (the page sends as its leaf).
    assert_eq!(keys.audio_sent + keys.video_sent, 0);
    let both = |r: &ParticipantReport| r.epochs.contains(&1) && r.epochs.contains(&2);
    assert!(
        both(alice) && both(keys),
        "Bob's join changed the epoch from 1 to 2"
    );
    assert_eq!(alice.security_codes.get(&2), bob.security_codes.get(&2));
}

fn check_browser(out: &Value, alice: &ParticipantReport, bob: &ParticipantReport) {
    let stats = &out["stats"];
    let me = &stats["worker"]["participants"]["me"];
    assert!(
        count(&me["send"]["encrypted"]) > 300,
        "the page encrypted {}",
        me["send"]
    );
    support::assert_no_drops(&stats["worker"], "me", "me");
    // Both natives decrypted, and the page sent and received in both epochs.
    let by_sender = &me["recv"]["by_sender"];
    for r in [alice, bob] {
        let leaf = r.leaf.expect("a leaf").to_string();
        assert!(
            count(&by_sender[&leaf]) > 100,
            "from {}: {by_sender}",
            r.name
        );
    }
    for side in ["send", "recv"] {
        let epochs = me[side]["by_epoch"].as_object().expect("by epoch");
        assert!(
            epochs.contains_key("1") && epochs.contains_key("2"),
            "{side}: {epochs:?}"
        );
    }
    // Chromium decoded what the page decrypted: both natives' video and audio.
    let streams = stats["inbound"]["streams"]
        .as_array()
        .expect("inbound streams");
    let decoded = |kind: &str, field: &str| {
        streams
            .iter()
            .filter(|s| s["kind"] == kind && count(&s[field]) > 0)
            .count()
    };
    assert_eq!(
        decoded("video", "framesDecoded"),
        2,
        "video decoded: {streams:?}"
    );
    assert_eq!(
        decoded("audio", "totalSamplesReceived"),
        2,
        "audio: {streams:?}"
    );
}
