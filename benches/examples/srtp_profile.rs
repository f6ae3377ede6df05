//! Runs one SRTP contender N times, for profilers that count instructions:
//! `valgrind --tool=callgrind target/release/examples/srtp_profile ours protect 7 1200 10000`
//! (args: `ours|floor|webrtc_srtp|libsrtp2`, `protect|unprotect|fresh`, profile number 1, 2,
//! 7 or 8, RTP payload size, iterations). `unprotect` makes each packet in the loop: subtract a
//! `fresh` run of the same size to get the unprotect alone.

use sframe_benches::srtp::run_srtp;
use sframe_rtp::SrtpProfile;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, name, op, profile, size, n] = args.as_slice() else {
        eprintln!("usage: srtp_profile <contender> <protect|unprotect|fresh> <1|2|7|8> <size> <n>");
        std::process::exit(2);
    };
    let profile = match profile.as_str() {
        "1" => SrtpProfile::Aes128CmHmacSha1_80,
        "2" => SrtpProfile::Aes128CmHmacSha1_32,
        "8" => SrtpProfile::AeadAes256Gcm,
        _ => SrtpProfile::AeadAes128Gcm,
    };
    let size: usize = size.parse().unwrap_or(1200);
    let n: usize = n.parse().unwrap_or(10_000);
    if !run_srtp(profile, size, name, op, n) {
        eprintln!("unknown contender {name} or operation {op}");
        std::process::exit(2);
    }
}
