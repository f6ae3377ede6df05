//! Native cost per frame of what the browser runs as wasm: the same `Participant` (RustCrypto)
//! and, for reference, an `sframe-mls` keyring on aws-lc-rs. Compare with the wasm numbers the
//! browser test prints ("wasm in Chromium's worker, ns per frame").
//!
//! ```sh
//! cargo run --release -p sframe-wasm --example frame_cost
//! ```

use std::time::{Duration, Instant};

use sframe_core::{Backend, CipherSuite};
use sframe_mls::{EpochKeys, Keyring, KeyringConfig, Received};
use sframe_wasm::{PLAINTEXT_OFFSET, Participant};

const ITERATIONS: u32 = 2000;
const SIZES: [usize; 3] = [160, 1200, 10_000];
const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn participant_cost(size: usize) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let t = Duration::ZERO;
    let (mut a, mut b) = (
        Participant::new(SUITE, Some(0), 4)?,
        Participant::new(SUITE, Some(1), 4)?,
    );
    a.add_epoch(t, 1, &[3; 16], &[0, 1])?;
    b.add_epoch(t, 1, &[3; 16], &[0, 1])?;
    let mut frames = Vec::with_capacity(ITERATIONS as usize);
    let mut buf = vec![0x5a; PLAINTEXT_OFFSET + size + 16];
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        let range = a
            .encrypt(t, 1, None, &mut buf, size)
            .map_err(|e| format!("{e:?}"))?;
        frames.push(buf[range].to_vec());
    }
    let enc = start.elapsed();
    let start = Instant::now();
    for f in &mut frames {
        b.decrypt(t, f).map_err(|e| format!("{e:?}"))?;
    }
    let dec = start.elapsed();
    Ok(per_frame(enc, dec))
}

fn keyring_cost(size: usize) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let t = Duration::ZERO;
    let ring = |leaf| -> Result<Keyring, Box<dyn std::error::Error>> {
        let mut config = KeyringConfig::new(SUITE);
        config.backend = Backend::AwsLc;
        let mut r = Keyring::new(config)?;
        r.add_epoch(t, EpochKeys::new(1, &[3; 16], Some(leaf), [0, 1])?)?;
        Ok(r)
    };
    let (mut a, mut b) = (ring(0)?, ring(1)?);
    let mut frames = Vec::with_capacity(ITERATIONS as usize);
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        let mut f = vec![0x5a; size];
        a.encrypt(1, b"", &mut f)?;
        frames.push(f);
    }
    let enc = start.elapsed();
    let start = Instant::now();
    for f in &mut frames {
        if !matches!(b.decrypt(t, 0, b"", f)?, Received::Plaintext { .. }) {
            return Err("held".into());
        }
    }
    let dec = start.elapsed();
    Ok(per_frame(enc, dec))
}

fn per_frame(enc: Duration, dec: Duration) -> (f64, f64) {
    let n = f64::from(ITERATIONS);
    (enc.as_nanos() as f64 / n, dec.as_nanos() as f64 / n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("ns per frame (encrypt / decrypt), {ITERATIONS} frames, AES_128_GCM_SHA256_128");
    for size in SIZES {
        let (pe, pd) = participant_cost(size)?;
        let (ke, kd) = keyring_cost(size)?;
        println!(
            "{size:>6} B: Participant (RustCrypto, native) {pe:.0} / {pd:.0}; \
             keyring (aws-lc-rs) {ke:.0} / {kd:.0}"
        );
    }
    Ok(())
}
