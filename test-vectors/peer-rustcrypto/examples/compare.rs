//! Interleaved timing of ours against the crates.io `sframe` crate built with its rust-crypto
//! backend, for the suites that backend has (1-5): the CTR+HMAC suites cannot be timed in the
//! workspace, whose `sframe` peer is built with ring.
//!
//! `cargo run --release --manifest-path test-vectors/peer-rustcrypto/Cargo.toml --example compare`

use std::time::{Duration, Instant};

use sframe_core::{Backend, CipherSuite, MAX_HEADER_LEN, Receiver, ReceiverConfig, Sender};
use sframe_peer::CipherSuite as PeerSuite;
use sframe_peer::frame::{EncryptedFrameView, MediaFrameView, PanickingMonotonicCounter};
use sframe_peer::key::{DecryptionKey, EncryptionKey};

const KID: u64 = 0x123;
const KEY: &[u8] = b"benchmark base k";
const ROUNDS: usize = 21;
const ROUND: Duration = Duration::from_millis(3);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Mean ns per call of `f` over about `ROUND`.
fn time(mut f: impl FnMut()) -> f64 {
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed() < ROUND {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Per backend of ours: a sender, a receiver, a frame of `payload` and a buffer to encrypt in.
type Ours = (Sender, Receiver, Vec<u8>, Vec<u8>);

fn ours(suite: CipherSuite, payload: &[u8]) -> Result<Vec<Ours>, Box<dyn std::error::Error>> {
    let mut ours = Vec::new();
    for &backend in Backend::ALL {
        let mut sender = Sender::with_backend(suite, backend);
        sender.add_key(KID, KEY)?;
        let mut receiver = Receiver::with_config(
            suite,
            backend,
            ReceiverConfig {
                replay_window: None,
                ..ReceiverConfig::default()
            },
        );
        receiver.add_key(KID, KEY)?;
        let mut frame = payload.to_vec();
        sender.encrypt(KID, &[], &mut frame)?;
        let buf = vec![0x42u8; MAX_HEADER_LEN + payload.len() + suite.tag_len()];
        ours.push((sender, receiver, frame, buf));
    }
    Ok(ours)
}

/// One line per operation: the medians of ours on each backend and of the peer, and the ratio.
fn print_rows(suite: CipherSuite, size: usize, enc_t: Vec<Vec<f64>>, dec_t: Vec<Vec<f64>>) {
    for (op, t) in [("encrypt", enc_t), ("decrypt", dec_t)] {
        let [aws, rc, peer] = [0, 1, 2].map(|i| median(t[i].clone()));
        println!(
            "{:<28} {:>6} {:>7} | {:>9.0} {:>9.0} {:>9.0} | {:>8.2}x",
            suite.name(),
            size,
            op,
            aws,
            rc,
            peer,
            peer / aws.min(rc)
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let suites = [
        (
            CipherSuite::Aes128CtrHmacSha256_80,
            PeerSuite::AesCtr128HmacSha256_80,
        ),
        (
            CipherSuite::Aes128CtrHmacSha256_64,
            PeerSuite::AesCtr128HmacSha256_64,
        ),
        (
            CipherSuite::Aes128CtrHmacSha256_32,
            PeerSuite::AesCtr128HmacSha256_32,
        ),
        (CipherSuite::Aes128GcmSha256_128, PeerSuite::AesGcm128Sha256),
        (CipherSuite::Aes256GcmSha512_128, PeerSuite::AesGcm256Sha512),
    ];
    println!(
        "{:<28} {:>6} {:>7} | {:>9} {:>9} {:>9} | {:>9}",
        "suite", "size", "op", "ours/aws", "ours/rc", "peer/rc", "peer/ours"
    );
    for (suite, peer_suite) in suites {
        for size in [32usize, 160, 1_200, 10_000] {
            let enc = EncryptionKey::derive_from(peer_suite, KID, KEY)?;
            let dec = DecryptionKey::derive_from(peer_suite, KID, KEY)?;
            let mut counter = PanickingMonotonicCounter::default();
            let payload = vec![0x42u8; size];
            let mut out = Vec::with_capacity(size + 64);
            let peer_frame = MediaFrameView::new(&mut counter, &payload)
                .encrypt(&enc)?
                .as_ref()
                .to_vec();

            let mut ours = ours(suite, &payload)?;

            let (mut enc_t, mut dec_t) = (vec![Vec::new(); 3], vec![Vec::new(); 3]);
            for _ in 0..ROUNDS {
                for (i, (sender, receiver, frame, buf)) in ours.iter_mut().enumerate() {
                    enc_t[i].push(time(|| {
                        let r = sender.encrypt_in_place(
                            KID,
                            &[],
                            buf,
                            MAX_HEADER_LEN..MAX_HEADER_LEN + size,
                        );
                        std::hint::black_box(r.is_ok());
                    }));
                    // Decrypt in place needs a fresh frame each time: time the copy too, and
                    // subtract a copy's time measured alongside.
                    let mut work = frame.clone();
                    let with_copy = time(|| {
                        work.copy_from_slice(frame);
                        std::hint::black_box(receiver.decrypt_in_place(&[], &mut work).is_ok());
                    });
                    let copy = time(|| {
                        work.copy_from_slice(frame);
                        std::hint::black_box(&work);
                    });
                    dec_t[i].push(with_copy - copy);
                }
                enc_t[2].push(time(|| {
                    let r =
                        MediaFrameView::new(&mut counter, &payload).encrypt_into(&enc, &mut out);
                    std::hint::black_box(r.is_ok());
                }));
                dec_t[2].push(time(|| {
                    let r = EncryptedFrameView::try_new(&peer_frame)
                        .and_then(|v| v.decrypt_into(&dec, &mut out).map(|_| ()));
                    std::hint::black_box(r.is_ok());
                }));
            }
            print_rows(suite, size, enc_t, dec_t);
        }
    }
    Ok(())
}
