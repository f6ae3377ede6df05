//! SFrame in Chromium's encoded transform, checked against native code: headless Chromium
//! (Debian's `chromium`, driven by `wasm/node/browser.mjs` with npm `puppeteer-core`) opens
//! `wasm/web/loopback.html` from a server on 127.0.0.1. Two RTCPeerConnections in the page
//! carry the fake camera (VP8) and microphone (Opus); the sender's transforms encrypt whole
//! frames with the wasm module, the receiver's decrypt them, and the epoch changes once
//! mid-call. Then:
//! - the receiver decrypted every frame (0 drops of any cause), in both epochs, and Chromium
//!   decoded the decrypted video (`framesDecoded`) and audio;
//! - frames captured in the worker as they left the encryptor decrypt natively (sframe-mls on
//!   aws-lc-rs) to exactly the plaintext the worker saw;
//! - the same frames, packetized as Chromium sends them (VP8 with its payload descriptor,
//!   Opus one frame per packet), are reassembled and decrypted by `sframe-rtp`'s
//!   `CodecSframeReceiver`;
//! - frames encrypted natively (as leaf 2) decrypt in the page's wasm to exactly their
//!   plaintext.
//!
//! Needs node, chromium and `npm ci` in wasm/node; outside CI a missing one skips the test
//! with the reason, under CI (`CI=true`, as `.ci/run` runs) it fails.

// Test helpers outside #[test] functions: a failed expect is a failed test.
#![allow(clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sframe_core::{Backend, CipherSuite};
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, Received};
use sframe_rtp::{Codec, CodecSframeReceiver, ReassemblyConfig};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const MEMBERS: [u32; 3] = [0, 1, 2];
const KEYS: [[u8; 16]; 2] = [[0x11; 16], [0x22; 16]];
const CALL_MS: u64 = 8_000;
const EPOCH_CHANGE_MS: u64 = 4_000;
const CAPTURE: u64 = 20;
/// node and Chromium together, generously: the call itself is 8 s.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

fn keyring(own: Option<u32>) -> Keyring {
    let mut config = KeyringConfig::new(SUITE);
    config.backend = Backend::AwsLc;
    let mut ring = Keyring::new(config).expect("config");
    for (epoch, key) in (1..).zip(KEYS) {
        let keys = EpochKeys::new(epoch, &key, own, MEMBERS).expect("epoch");
        ring.add_epoch(Duration::ZERO, keys).expect("epoch");
    }
    ring
}

/// Frames leaf 2 encrypts natively under epoch 2 (its sending epoch once acknowledged).
fn native_frames() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut ring = keyring(Some(2));
    ring.acknowledge(Duration::ZERO, 0, 2);
    ring.acknowledge(Duration::ZERO, 1, 2);
    assert_eq!(ring.sending_epoch(), Some(2));
    (0..30u32)
        .map(|i| {
            let plaintext: Vec<u8> = (0..(i * 97 + 1)).map(|b| (b ^ i) as u8).collect();
            let mut frame = plaintext.clone();
            ring.encrypt(u64::from(i % 2), b"", &mut frame)
                .expect("sent");
            (plaintext, frame)
        })
        .collect()
}

fn run_browser(node: &Path, module: PathBuf, input: &Value) -> Value {
    let root = support::workspace();
    let mut extra = HashMap::new();
    extra.insert("/sframe_wasm.wasm".to_owned(), module);
    let addr = support::serve::serve(&root.join("wasm/web"), extra);
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let tmp =
        std::env::temp_dir().join(format!("sframe-wasm-browser-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let mut input = input.clone();
    input["url"] = json!(format!("http://{addr}"));
    input["userDataDir"] = json!(tmp.join("profile"));
    // Kept for a look: the local and the decrypted remote video side by side.
    let shot = format!("loopback-{run}.png");
    input["screenshot"] = json!(Path::new(env!("CARGO_TARGET_TMPDIR")).join(shot));
    let out = support::NodeRun::start(node, "browser.mjs", &input, &tmp, BROWSER_TIMEOUT).finish();
    let _ = std::fs::remove_dir_all(&tmp);
    out
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

/// node, chromium and the wasm module, or `None` (skipped with the reason outside CI).
fn tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    support::browser_tools()
}

#[test]
fn chromium_encrypts_and_decrypts_with_the_wasm_module_and_native_code_agrees() {
    let Some((node, chromium, module)) = tools() else {
        return;
    };
    let native = native_frames();
    let input = json!({
        "chromium": chromium,
        "config": {
            "suite": 4,
            "keys": KEYS.map(hex::encode),
            "members": MEMBERS,
            "durationMs": CALL_MS,
            "epochChangeAtMs": EPOCH_CHANGE_MS,
            "capture": CAPTURE,
        },
        // browser.mjs gives up (closing Chromium) before the test kills it.
        "timeoutMs": (BROWSER_TIMEOUT - Duration::from_secs(20)).as_millis() as u64,
        "nativeFrames": native.iter().map(|(_, f)| hex::encode(f)).collect::<Vec<_>>(),
        // The wasm's cost per frame in Chromium's worker, printed for the record (timed
        // numbers are not asserted here; see BENCHMARKING.md for native ones).
        "bench": { "suite": 4, "sizes": [160, 1200, 10_000], "iterations": 2000 },
    });
    let out = run_browser(&node, module, &input);
    let loopback = &out["loopback"];
    let worker = &loopback["worker"];
    eprintln!("{}: worker {worker:#}", out["version"]);
    eprintln!("receiver getStats {:#}", loopback["receiver"]);
    eprintln!("wasm in Chromium's worker, ns per frame: {}", out["bench"]);
    check_call(worker, &loopback["receiver"]);
    check_captured_frames_decrypt_natively(&loopback["captured"]);
    check_captured_frames_through_codec_packetization(&loopback["captured"]);
    check_native_frames_decrypt_in_wasm(&out["native"], &native);
}

fn check_call(worker: &Value, receiver: &Value) {
    let alice = &worker["participants"]["alice"];
    let bob = &worker["participants"]["bob"];
    let sent = count(&alice["send"]["encrypted"]);
    let decrypted = count(&bob["recv"]["decrypted"]);
    // 8 s of 30 frames/s video and 50 frames/s audio: about 640 frames; Chromium may start
    // slowly under load, so ask for a third of that.
    assert!(sent > 200, "alice encrypted {sent} frames");
    assert!(decrypted > 200, "bob decrypted {decrypted} frames");
    support::assert_no_drops(worker, "alice", "bob");
    // The epoch changed once and frames of both epochs were decrypted.
    assert_eq!(count(&alice["switches"]), 2, "to epoch 1, then to epoch 2");
    for epoch in ["1", "2"] {
        let n = count(&bob["recv"]["by_epoch"][epoch]);
        assert!(n > 50, "bob decrypted {n} frames of epoch {epoch}");
    }
    assert_eq!(count(&bob["recv"]["by_sender"]["0"]), decrypted);
    // Chromium decoded the decrypted VP8 and Opus.
    let video = &receiver["video"];
    let decoded = count(&video["framesDecoded"]);
    assert!(decoded > 50, "Chromium decoded {decoded} video frames");
    assert!(count(&video["keyFramesDecoded"]) >= 1);
    let samples = count(&receiver["audio"]["totalSamplesReceived"]);
    let concealed = count(&receiver["audio"]["concealedSamples"]);
    assert!(samples > 48_000, "{samples} audio samples received");
    assert!(
        concealed < samples / 2,
        "{concealed} of {samples} audio samples concealed"
    );
}

fn check_captured_frames_decrypt_natively(captured: &Value) {
    let captured = captured.as_array().expect("captured frames");
    assert_eq!(
        captured.len() as u64,
        2 * CAPTURE,
        "{CAPTURE} audio and {CAPTURE} video"
    );
    let mut native = keyring(None);
    let mut keyframes = 0;
    for c in captured {
        let plaintext = hex(&c["plaintext"]);
        let mut frame = hex(&c["frame"]);
        let Ok(Received::Plaintext { info, data }) =
            native.decrypt(Duration::ZERO, 0, b"", &mut frame)
        else {
            panic!("a captured {} frame did not decrypt natively", c["kind"]);
        };
        assert_eq!(data, &plaintext[..], "byte for byte");
        assert_eq!((info.sender_index, info.epoch), (0, 1));
        let video = c["kind"] == "video";
        let key = c["type"] == "key";
        // Audio under context 0; VP8 key frames under 1 and delta frames under 2, with the
        // config byte's bit 0 saying which (what Chromium's VP8 depacketizer reads).
        let context = match (video, key) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        };
        assert_eq!(info.context, context, "{} frame", c["type"]);
        if video {
            assert_eq!(
                hex(&c["frame"])[0] & 1 == 0,
                key,
                "config byte of a {} frame",
                c["type"]
            );
        }
        if c["type"] == "key" {
            // RFC 6386 section 9.1: a key frame's start code 9d 01 2a after 3 bytes.
            assert_eq!(
                plaintext.get(3..6),
                Some(&[0x9d, 0x01, 0x2a][..]),
                "VP8 key frame"
            );
            keyframes += 1;
        }
    }
    assert!(keyframes >= 1, "the first video frames include a key frame");
}

/// RTP packets of one frame as Chromium sends them: VP8 with an RFC 7741 descriptor (X and I
/// set, a 15-bit picture ID; S on the first packet), at most 1,100 payload bytes each; Opus
/// whole.
fn chromium_packets(frame: &[u8], video: bool, seq: &mut u16, picture_id: u16) -> Vec<Vec<u8>> {
    let (pt, ssrc, chunk) = if video {
        (96u8, 1111u32, 1100)
    } else {
        (111, 2222, usize::MAX)
    };
    let chunks: Vec<&[u8]> = frame.chunks(chunk.min(frame.len().max(1))).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let marker = u8::from(i == last) << 7;
            let mut p = vec![0x80, marker | pt];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(picture_id) * 3000).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            if video {
                let s = if i == 0 { 0x10 } else { 0 };
                p.extend_from_slice(&[0x80 | s, 0x80]);
                p.extend_from_slice(&(0x8000 | picture_id).to_be_bytes());
            }
            p.extend_from_slice(c);
            *seq = seq.wrapping_add(1);
            p
        })
        .collect()
}

fn check_captured_frames_through_codec_packetization(captured: &Value) {
    let mut native = keyring(None);
    let mut rx = CodecSframeReceiver::new(
        &[(96, Codec::Vp8), (111, Codec::Opus)],
        ReassemblyConfig::default(),
        4,
    );
    let (mut seq, mut frames) = (0u16, 0);
    for (n, c) in captured
        .as_array()
        .expect("captured frames")
        .iter()
        .enumerate()
    {
        let video = c["kind"] == "video";
        let packets = chromium_packets(&hex(&c["frame"]), video, &mut seq, n as u16);
        let mut out = Vec::new();
        for p in &packets {
            out.extend(rx.push(&mut native, Duration::ZERO, p).expect("accepted"));
        }
        assert_eq!(out.len(), 1, "one frame from {} packets", packets.len());
        assert_eq!(out[0].plaintext(), &hex(&c["plaintext"])[..]);
        frames += 1;
    }
    assert_eq!(frames, 2 * CAPTURE);
}

fn check_native_frames_decrypt_in_wasm(results: &Value, native: &[(Vec<u8>, Vec<u8>)]) {
    let results = results.as_array().expect("results");
    assert_eq!(results.len(), native.len());
    for (r, (plaintext, _)) in results.iter().zip(native) {
        assert_eq!(r["drop"], Value::Null, "a native frame was dropped: {r}");
        assert_eq!(hex(&r["plaintext"]), *plaintext);
    }
}

/// After a video loss the receiver asks for a key frame (PLI) and waits for a frame Chromium's
/// VP8 depacketizer takes for one. It reads the type from bit 0 of the frame's first byte,
/// which whole-frame SFrame makes the config byte; the worker gives key frames and delta frames
/// counters whose config byte says their type (`sframe_core::counter_with_config_bit`), so
/// decoding resumes at the key frame that answers the PLI. (Here the frames are lost in the
/// receiving transform, after the packets arrived, so Chromium notices only after about 3 s
/// without a decodable frame.) Before that, a loss once the counter
/// took two bytes (from frame 256: 10 s into a call) stalled decoding until the next epoch.
#[test]
fn chromium_resumes_decoding_after_a_video_loss() {
    let Some((node, chromium, module)) = tools() else {
        return;
    };
    let input = json!({
        "chromium": chromium,
        "config": {
            "suite": 4, "keys": KEYS.map(hex::encode), "members": MEMBERS,
            // 3 video frames lost at 10 s; the epoch changes only at the end.
            "durationMs": 18_000, "epochChangeAtMs": 18_000, "loseAtMs": 10_000, "capture": 0,
        },
        "timeoutMs": 100_000,
        "nativeFrames": [],
    });
    let out = run_browser(&node, module, &input);
    let (before, after) = (
        &out["loopback"]["beforeLoss"]["video"],
        &out["loopback"]["receiver"]["video"],
    );
    eprintln!("before the loss {before:#}\nat the end {after:#}");
    let decoded_before = count(&before["framesDecoded"]);
    assert!(
        decoded_before > 150,
        "{decoded_before} frames decoded before the loss"
    );
    let decoded_after = count(&after["framesDecoded"]) - decoded_before;
    let dropped_after = count(&after["framesDropped"]) - count(&before["framesDropped"]);
    assert!(
        count(&after["pliCount"]) >= 1,
        "the receiver asked for a key frame"
    );
    // Frames the transform drops leave no packet missing, so Chromium asks for a key frame
    // only when no frame has been decodable for about 3 s; then the key frame that answers
    // decodes, and so do the frames after it (8 s after the loss, at 20-30 frames/s).
    let key_frames = count(&after["keyFramesDecoded"]) - count(&before["keyFramesDecoded"]);
    assert!(key_frames >= 1, "no key frame was decoded after the loss");
    assert!(
        decoded_after > 60,
        "decoding did not resume: {decoded_after} frames decoded, {dropped_after} dropped after the loss"
    );
}
