//! Runs the SFU or the send path N times, for profilers that count instructions (the machine's
//! load does not enter):
//!
//! - `pipeline_profile sfu <ours|webrtc_srtp|ours_copying> <forward|fresh> <n>`: the SFU of
//!   `sframe_benches::sfu` forwarding `n` packets to ten receivers (`forward`), or only making
//!   them (`fresh`, to subtract);
//! - `pipeline_profile send <send|sframe_floor|srtp_floor> <n>`: `n` packets of the send path
//!   of `sframe_benches::send_path`, or `n` of one of its two AEAD floors.
//!
//! `valgrind --tool=callgrind target/release/examples/pipeline_profile sfu ours forward 300`
//! minus the same with 100, over 200.

use std::hint::black_box;

use sframe_benches::send_path::{SendFloor, SendRig};
use sframe_benches::sfu::{SfuPath, SfuRig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ok = match args.as_slice() {
        [_, "sfu", path, op, n] => sfu(path, op, n.parse().unwrap_or(100)),
        [_, "send", what, n] => send(what, n.parse().unwrap_or(100)),
        _ => false,
    };
    if !ok {
        eprintln!(
            "usage: pipeline_profile sfu <ours|webrtc_srtp|ours_copying> <forward|fresh> <n>\n       pipeline_profile send <send|sframe_floor|srtp_floor> <n>"
        );
        std::process::exit(2);
    }
}

fn sfu(path: &str, op: &str, n: usize) -> bool {
    let path = match path {
        "ours" => SfuPath::Ours,
        "webrtc_srtp" => SfuPath::WebrtcSrtp,
        "ours_copying" => SfuPath::OursCopying,
        _ => return false,
    };
    let mut rig = SfuRig::new(path);
    let packets = rig.packets(n);
    match op {
        "forward" => packets.iter().for_each(|p| {
            black_box(rig.forward(p));
        }),
        "fresh" => {
            black_box(&packets);
        }
        _ => return false,
    }
    true
}

fn send(what: &str, n: usize) -> bool {
    let mut rig = SendRig::new();
    let mut floor = SendFloor::new(rig.send());
    for _ in 0..n {
        match what {
            "send" => {
                black_box(rig.send());
            }
            "sframe_floor" => floor.sframe(),
            "srtp_floor" => floor.srtp(),
            _ => return false,
        }
    }
    true
}
