//! Runs one contender's encrypt or decrypt N times, for profilers that count instructions:
//! `valgrind --tool=callgrind target/release/examples/profile ours/aws-lc-rs encrypt 4 160 10000`
//! (args: contender name prefix, encrypt|decrypt, suite id, frame size, iterations).

use sframe_benches::contenders;
use sframe_core::CipherSuite;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, name, op, suite, size, n] = args.as_slice() else {
        eprintln!("usage: profile <contender> <encrypt|decrypt> <suite id> <size> <iterations>");
        std::process::exit(2);
    };
    let suite = suite
        .parse::<CipherSuite>()
        .unwrap_or(CipherSuite::Aes128GcmSha256_128);
    let size: usize = size.parse().unwrap_or(160);
    let n: usize = n.parse().unwrap_or(10_000);
    let Some(mut c) = contenders(suite, size)
        .into_iter()
        .find(|c| c.name().starts_with(name.as_str()))
    else {
        eprintln!("no contender named {name}");
        std::process::exit(2);
    };
    if op == "encrypt" {
        for _ in 0..n {
            c.encrypt();
        }
    } else {
        let frame = c.prepare_decrypt();
        let mut work = frame.clone();
        for _ in 0..n {
            work.copy_from_slice(&frame);
            c.decrypt(&mut work);
        }
    }
}
