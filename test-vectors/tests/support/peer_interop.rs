//! The interop check against the crates.io `sframe` crate (`sframe_peer`), shared by the
//! workspace's `tests/interop.rs` (the peer's ring backend) and the separate project
//! `peer-rustcrypto/` (its rust-crypto backend): the peer's backends are mutually exclusive
//! features, so each build of the peer covers the suites its backend has. Included with
//! `#[path]`; not a test target of its own.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sframe_core::{Backend, CipherSuite, Header, Receiver, ReceiverConfig, Sender};
use sframe_peer::CipherSuite as PeerSuite;
use sframe_peer::frame::{EncryptedFrameView, MediaFrameView, SingleUseCounter};
use sframe_peer::key::{DecryptionKey, EncryptionKey};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const FRAMES_PER_DIRECTION: usize = 1_000;

/// One frame's inputs.
#[derive(Debug)]
struct Case {
    base_key: Vec<u8>,
    kid: u64,
    ctr: u64,
    metadata: Vec<u8>,
    payload: Vec<u8>,
}

/// A value whose header field takes `extra` bytes (0 = compact, 0-7 in the config byte).
fn value_with_extra_bytes(rng: &mut StdRng, extra: u32) -> u64 {
    match extra {
        0 => rng.random_range(0..8),
        8 => rng.random_range(1 << 56..=u64::MAX),
        n => rng.random_range((1u64 << (8 * (n - 1))).max(8)..1 << (8 * n)),
    }
}

/// Mostly small payloads, some MTU-sized, some video-frame-sized, up to 64 KiB - 1.
fn payload_len(rng: &mut StdRng) -> usize {
    match rng.random_range(0..10) {
        0..=3 => rng.random_range(0..=64),
        4..=6 => rng.random_range(65..=1_500),
        7..=8 => rng.random_range(1_501..=16_384),
        _ => rng.random_range(16_385..65_536),
    }
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill(bytes.as_mut_slice());
    bytes
}

fn random_case(rng: &mut StdRng) -> Case {
    let key_len = rng.random_range(1..=64);
    let kid_extra = rng.random_range(0..=8);
    let ctr_extra = rng.random_range(0..=8);
    let metadata_len = rng.random_range(0..=64);
    let payload_len = payload_len(rng);
    Case {
        base_key: random_bytes(rng, key_len),
        kid: value_with_extra_bytes(rng, kid_extra),
        ctr: value_with_extra_bytes(rng, ctr_extra),
        metadata: random_bytes(rng, metadata_len),
        payload: random_bytes(rng, payload_len),
    }
}

fn ours_encrypt(suite: CipherSuite, backend: Backend, case: &Case) -> TestResult<Vec<u8>> {
    let mut sender = Sender::with_backend(suite, backend);
    sender.add_key_with_counter(case.kid, &case.base_key, case.ctr)?;
    let mut frame = case.payload.clone();
    sender.encrypt(case.kid, &case.metadata, &mut frame)?;
    Ok(frame)
}

fn ours_decrypt(
    suite: CipherSuite,
    backend: Backend,
    case: &Case,
    frame: &mut [u8],
) -> TestResult<Vec<u8>> {
    let mut receiver = Receiver::with_config(suite, backend, ReceiverConfig::default());
    receiver.add_key(case.kid, &case.base_key)?;
    Ok(receiver.decrypt_in_place(&case.metadata, frame)?.to_vec())
}

fn peer_encrypt(suite: PeerSuite, case: &Case) -> TestResult<Vec<u8>> {
    let key = EncryptionKey::derive_from(suite, case.kid, &case.base_key)?;
    let mut counter = SingleUseCounter::new(case.ctr);
    let media =
        MediaFrameView::try_with_meta_data(&mut counter, &case.payload[..], &case.metadata[..])?;
    let mut buffer = Vec::new();
    let encrypted = media.encrypt_into(&key, &mut buffer)?;
    assert_eq!(encrypted.meta_data(), case.metadata);
    Ok(encrypted.sframe_cipher_text().to_vec())
}

fn peer_decrypt(suite: PeerSuite, case: &Case, frame: &[u8]) -> TestResult<Vec<u8>> {
    let key = DecryptionKey::derive_from(suite, case.kid, &case.base_key)?;
    let encrypted = EncryptedFrameView::try_with_meta_data(frame, &case.metadata[..])?;
    assert_eq!(
        (encrypted.header().key_id(), encrypted.header().counter()),
        (case.kid, case.ctr)
    );
    let mut buffer = Vec::new();
    let media = encrypted.decrypt_into(&key, &mut buffer)?;
    assert_eq!(
        (media.counter(), media.meta_data()),
        (case.ctr, case.metadata.as_slice())
    );
    Ok(media.payload().to_vec())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    OursToPeer,
    PeerToOurs,
}

/// What one run saw, for the closing `eprintln!` and the coverage asserts.
#[derive(Debug, Default)]
struct Tally {
    decrypted: usize,
    identical: usize,
    per_backend: Vec<(&'static str, usize)>,
    kid_field_lens: [usize; 9],
    ctr_field_lens: [usize; 9],
    empty_payloads: usize,
    largest_payload: usize,
    with_metadata: usize,
}

fn run(suite: CipherSuite, peer: PeerSuite, direction: Direction, seed: u64) -> TestResult<Tally> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally {
        per_backend: Backend::ALL.iter().map(|b| (b.name(), 0)).collect(),
        ..Tally::default()
    };
    for i in 0..FRAMES_PER_DIRECTION {
        let case = random_case(&mut rng);
        let backend_index = i % Backend::ALL.len();
        let backend = Backend::ALL[backend_index];
        let context = || format!("{suite} {direction:?} frame {i} on {}", backend.name());

        let (sent, other_side) = match direction {
            Direction::OursToPeer => {
                let frame = ours_encrypt(suite, backend, &case)?;
                let payload = peer_decrypt(peer, &case, &frame)
                    .map_err(|e| format!("peer cannot decrypt {}: {e}", context()))?;
                assert_eq!(payload, case.payload, "{}", context());
                (frame, peer_encrypt(peer, &case)?)
            }
            Direction::PeerToOurs => {
                let frame = peer_encrypt(peer, &case)?;
                let mut received = frame.clone();
                let payload = ours_decrypt(suite, backend, &case, &mut received)
                    .map_err(|e| format!("we cannot decrypt {}: {e}", context()))?;
                assert_eq!(payload, case.payload, "{}", context());
                (frame, ours_encrypt(suite, backend, &case)?)
            }
        };
        tally.decrypted += 1;
        assert_eq!(
            sent,
            other_side,
            "frames differ for the same inputs: {}",
            context()
        );
        tally.identical += 1;

        tally.per_backend[backend_index].1 += 1;
        let header = Header::new(case.kid, case.ctr);
        let (_, header_len) = Header::parse(&sent)?;
        assert_eq!(
            (Header::parse(&sent)?.0, header_len),
            (header, header.len())
        );
        tally.kid_field_lens[field_len(case.kid)] += 1;
        tally.ctr_field_lens[field_len(case.ctr)] += 1;
        tally.empty_payloads += usize::from(case.payload.is_empty());
        tally.largest_payload = tally.largest_payload.max(case.payload.len());
        tally.with_metadata += usize::from(!case.metadata.is_empty());
    }
    Ok(tally)
}

/// Extra header bytes a KID or CTR field takes (0 for compact values).
fn field_len(v: u64) -> usize {
    if v < 8 {
        0
    } else {
        8 - v.leading_zeros() as usize / 8
    }
}

/// Runs 1,000 frames per suite in `direction` for every suite `peer_suite` maps, checks each
/// suite's tally, and checks that the suites run are exactly `expected`. `skipped` says why a
/// suite the peer lacks is skipped.
pub fn check_direction(
    direction: Direction,
    seed: u64,
    peer_suite: fn(CipherSuite) -> Option<PeerSuite>,
    skipped: fn(CipherSuite) -> &'static str,
    expected: &[u16],
) -> TestResult {
    let mut suites_run = Vec::new();
    for suite in CipherSuite::ALL {
        let Some(peer) = peer_suite(suite) else {
            eprintln!("interop {direction:?} {suite}: skipped, {}", skipped(suite));
            continue;
        };
        // The suite id goes into the high half: the two directions' seeds differ in the low
        // bits, and `seed ^ id` would give some suites of one direction the other's cases.
        let tally = run(suite, peer, direction, seed ^ (u64::from(suite.id()) << 32))?;
        eprintln!(
            "interop {direction:?} {suite}: {} frames decrypted, {} byte-identical; \
             per backend {:?}; KID field lengths 0..=8: {:?}; CTR field lengths: {:?}; \
             {} empty payloads, largest {} bytes, {} with metadata",
            tally.decrypted,
            tally.identical,
            tally.per_backend,
            tally.kid_field_lens,
            tally.ctr_field_lens,
            tally.empty_payloads,
            tally.largest_payload,
            tally.with_metadata,
        );
        assert_eq!((tally.decrypted, tally.identical), (1_000, 1_000));
        assert!(
            tally.kid_field_lens.iter().all(|&n| n > 0),
            "every KID length: {tally:?}"
        );
        assert!(
            tally.ctr_field_lens.iter().all(|&n| n > 0),
            "every CTR length: {tally:?}"
        );
        assert!(
            tally.per_backend.iter().all(|&(_, n)| n > 0),
            "every backend: {tally:?}"
        );
        assert!(
            tally.empty_payloads > 0 && tally.largest_payload > 60_000,
            "{tally:?}"
        );
        suites_run.push(suite.id());
    }
    assert_eq!(
        suites_run, expected,
        "the suites both implementations support"
    );
    Ok(())
}
