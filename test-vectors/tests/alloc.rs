//! No heap allocation per frame: a counting global allocator around `std::alloc::System`.
//!
//! The counter is per thread, so the harness may run these tests in parallel: each test counts
//! only what its own thread allocates. Nothing is printed or formatted inside a counted region.
//! Only allocations through Rust's global allocator are seen; memory that aws-lc's C code might
//! take with its own `malloc` is not (the frame path of aws-lc-rs is not expected to).

// The one file of this crate with unsafe code: `GlobalAlloc` is an unsafe trait. Every method
// forwards to `System` unchanged; the only addition is a thread-local counter increment.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use sframe_core::{
    Backend, CipherSuite, Header, Receiver, ReceiverConfig, Sender, SframeError as Error,
};

struct CountingAllocator;

thread_local! {
    // `const` and without `Drop`: no lazy initialisation and no destructor registration, so
    // touching it from inside the allocator cannot allocate or recurse.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with` fails only while the thread is being torn down; those are not ours to count.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations_so_far() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local `Cell<u64>`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the number of allocations (and reallocations) this
/// thread made meanwhile.
fn counting<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = allocations_so_far();
    let result = f();
    (result, allocations_so_far() - before)
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KID: u64 = 0x1234;
/// Start of the measured frames: a 2-byte CTR that stays 2 bytes for all of them (a header
/// that lengthens mid-stream is the last test's subject).
const FIRST_CTR: u64 = 0x1000;
const BASE_KEY: &[u8] = b"a base key for the allocation counting tests";
const METADATA: [u8; 64] = [0x4d; 64];
const SIZES: [usize; 5] = [0, 1, 100, 1_200, 16_384];
const FRAMES: usize = 300;
const BUF_LEN: usize = 17 + 16_384 + 16;

fn pair(
    suite: CipherSuite,
    backend: Backend,
    kid: u64,
    first_ctr: u64,
) -> Result<(Sender, Receiver), Error> {
    let mut sender = Sender::with_backend(suite, backend);
    sender.add_key_with_counter(kid, BASE_KEY, first_ctr)?;
    let config = ReceiverConfig {
        replay_window: Some(1024),
        ..ReceiverConfig::default()
    };
    let mut receiver = Receiver::with_config(suite, backend, config);
    receiver.add_key(kid, BASE_KEY)?;
    Ok((sender, receiver))
}

/// Metadata for frame `i`: none for even frames, 1 to 64 bytes for odd ones.
fn metadata_for(i: usize) -> &'static [u8] {
    if i.is_multiple_of(2) {
        &[]
    } else {
        &METADATA[..1 + (i * 7) % 64]
    }
}

#[test]
fn the_counting_allocator_sees_allocations_on_this_thread() {
    let (v, n) = counting(|| Vec::<u8>::with_capacity(100));
    assert_eq!((v.capacity() >= 100, n), (true, 1));
    let (v, n) = counting(|| {
        let mut v = v;
        v.reserve(1_000);
        v
    });
    assert_eq!((v.capacity() >= 1_000, n), (true, 1));
    let (_, n) = counting(|| std::thread::spawn(|| vec![0u8; 10].len()).join().ok());
    assert!(
        n > 0,
        "spawning a thread allocates on this thread, {n} seen"
    );
}

#[test]
fn header_parse_and_encode_allocate_nothing() -> TestResult {
    let values = [0, 7, 8, 0xff, 0x100, 0xffff_ffff, 1 << 40, u64::MAX];
    let headers: Vec<Header> = values
        .iter()
        .flat_map(|&kid| values.iter().map(move |&ctr| Header::new(kid, ctr)))
        .collect();
    let mut buf = [0u8; 32];
    for header in &headers {
        let n = header.encode(&mut buf)?;
        Header::parse(&buf[..n])?;
    }
    let (result, allocations) = counting(|| -> Result<(usize, usize), Error> {
        let (mut encoded, mut parsed) = (0, 0);
        for _ in 0..10 {
            for header in &headers {
                let n = header.encode(&mut buf)?;
                encoded += 1;
                let (back, len) = Header::parse(&buf[..n])?;
                parsed += usize::from(back == *header && len == n);
                // A truncated header is an error, and errors do not allocate either.
                parsed += usize::from(Header::parse(&buf[..n - 1]).is_err());
            }
        }
        Ok((encoded, parsed))
    });
    let (encoded, parsed) = result?;
    eprintln!("alloc Header: {allocations} allocations over {encoded} encodes and {parsed} parses");
    assert_eq!((encoded, parsed), (640, 1_280));
    assert_eq!(allocations, 0);
    Ok(())
}

/// Per frame counts, with and without metadata.
#[derive(Debug, Default)]
struct Counts {
    frames: [usize; 2],
    encrypt: [u64; 2],
    decrypt: [u64; 2],
}

#[test]
fn encrypt_in_place_and_decrypt_in_place_allocate_nothing_per_frame_after_warm_up() -> TestResult {
    let mut runs = 0;
    for suite in CipherSuite::ALL {
        for &backend in Backend::ALL {
            let (mut sender, mut receiver) = pair(suite, backend, KID, FIRST_CTR - 1)?;
            let mut buf = vec![0u8; BUF_LEN];
            let mut counts = Counts::default();

            // Warm-up: one frame with the largest metadata through both, so the AAD scratch
            // buffers have grown to what the measured frames need.
            let header_len = sender.header_len(KID)?;
            let frame_len = sender
                .encrypt_in_place(KID, &METADATA, &mut buf, header_len..header_len + 10)?
                .len();
            receiver.decrypt_in_place(&METADATA, &mut buf[..frame_len])?;

            for i in 0..FRAMES {
                let metadata = metadata_for(i);
                let with = usize::from(!metadata.is_empty());
                let size = SIZES[i % SIZES.len()];
                let header_len = sender.header_len(KID)?;
                let plaintext = header_len..header_len + size;
                buf[plaintext.clone()].fill(i as u8);

                let (frame_len, n) = counting(|| {
                    sender
                        .encrypt_in_place(KID, metadata, &mut buf, plaintext)
                        .map(|f| f.len())
                });
                counts.encrypt[with] += n;
                let frame_len = frame_len?;
                assert_eq!(frame_len, header_len + size + suite.tag_len());

                let (decrypted, n) = counting(|| {
                    receiver
                        .decrypt_in_place(metadata, &mut buf[..frame_len])
                        .map(|p| p.len() == size && p.iter().all(|&b| b == i as u8))
                });
                counts.decrypt[with] += n;
                assert!(decrypted?, "frame {i} decrypts to what was sent, {suite}");
                counts.frames[with] += 1;
            }
            assert_eq!(sender.next_counter(KID)?, FIRST_CTR + FRAMES as u64);
            eprintln!(
                "alloc {suite} {}: encrypt_in_place {} + {} allocations, decrypt_in_place {} + {} \
                 allocations, over {} frames without + {} with metadata (replay window 1024)",
                backend.name(),
                counts.encrypt[0],
                counts.encrypt[1],
                counts.decrypt[0],
                counts.decrypt[1],
                counts.frames[0],
                counts.frames[1],
            );
            assert_eq!(counts.frames, [FRAMES / 2, FRAMES / 2]);
            assert_eq!(
                (counts.encrypt, counts.decrypt),
                ([0, 0], [0, 0]),
                "{suite} {backend:?}"
            );
            runs += 1;
        }
    }
    assert_eq!(runs, CipherSuite::ALL.len() * Backend::ALL.len());
    Ok(())
}

#[test]
fn encrypt_into_a_vec_or_bytesmut_with_capacity_and_decrypt_them_allocate_nothing() -> TestResult {
    let mut runs = 0;
    for suite in CipherSuite::ALL {
        for &backend in Backend::ALL {
            let (mut sender, mut receiver) = pair(suite, backend, KID, FIRST_CTR - 1)?;
            let mut vec = Vec::with_capacity(BUF_LEN);
            let mut bytes = BytesMut::with_capacity(BUF_LEN);
            vec.extend_from_slice(&[1; 10]);
            sender.encrypt(KID, &METADATA, &mut vec)?;
            receiver.decrypt(&METADATA, &mut vec)?;

            let [
                mut vec_encrypt,
                mut vec_decrypt,
                mut bytes_encrypt,
                mut bytes_decrypt,
            ] = [0u64; 4];
            for i in 0..FRAMES {
                let metadata = metadata_for(i);
                let size = SIZES[i % SIZES.len()];

                vec.clear();
                vec.resize(size, i as u8);
                let (result, n) = counting(|| sender.encrypt(KID, metadata, &mut vec));
                vec_encrypt += n;
                result?;
                let (result, n) = counting(|| receiver.decrypt(metadata, &mut vec));
                vec_decrypt += n;
                result?;
                assert!(
                    vec.len() == size && vec.iter().all(|&b| b == i as u8),
                    "Vec frame {i}"
                );

                // BytesMut: `decrypt` advances past the header; `reserve` takes the space
                // back (outside the counted region) without allocating, as the buffer is unique.
                bytes.clear();
                bytes.reserve(BUF_LEN);
                bytes.resize(size, i as u8);
                let (result, n) = counting(|| sender.encrypt(KID, metadata, &mut bytes));
                bytes_encrypt += n;
                result?;
                let (result, n) = counting(|| receiver.decrypt(metadata, &mut bytes));
                bytes_decrypt += n;
                result?;
                assert!(
                    bytes.len() == size && bytes.iter().all(|&b| b == i as u8),
                    "BytesMut {i}"
                );
            }
            eprintln!(
                "alloc {suite} {}: over {FRAMES} frames (half with metadata), encrypt into Vec {} \
                 allocations, decrypt Vec {}, encrypt into BytesMut {}, decrypt BytesMut {}",
                backend.name(),
                vec_encrypt,
                vec_decrypt,
                bytes_encrypt,
                bytes_decrypt,
            );
            assert_eq!(
                [vec_encrypt, vec_decrypt, bytes_encrypt, bytes_decrypt],
                [0; 4],
                "{suite} {backend:?}"
            );
            runs += 1;
        }
    }
    assert_eq!(runs, CipherSuite::ALL.len() * Backend::ALL.len());
    Ok(())
}

/// Regression (found here, fixed in sframe-core): the AAD scratch buffer (`header ||
/// metadata`) used to grow when the counter lengthened the header (CTR 7 -> 8 adds a byte), so
/// that frame allocated once in `encrypt_in_place` and once in `decrypt_in_place`. It now
/// reserves room for the longest header up front.
#[test]
fn a_frame_whose_counter_lengthens_the_header_allocates_nothing_after_warm_up() -> TestResult {
    let mut seen = Vec::new();
    for suite in CipherSuite::ALL {
        for &backend in Backend::ALL {
            let kid = 3; // compact KID: the header is 1 byte for CTR 0-7, 2 bytes from CTR 8
            let (mut sender, mut receiver) = pair(suite, backend, kid, 0)?;
            let mut buf = vec![0u8; BUF_LEN];
            let mut per_ctr = Vec::new();
            for ctr in 0..12u64 {
                let header_len = sender.header_len(kid)?;
                let plaintext = header_len..header_len + 10;
                let (frame_len, enc) = counting(|| {
                    sender
                        .encrypt_in_place(kid, &METADATA, &mut buf, plaintext)
                        .map(|f| f.len())
                });
                let frame_len = frame_len?;
                let (result, dec) = counting(|| {
                    receiver
                        .decrypt_in_place(&METADATA, &mut buf[..frame_len])
                        .map(|_| ())
                });
                result?;
                // CTR 0 is the warm-up frame, with the same (largest) metadata as the rest.
                if ctr > 0 {
                    per_ctr.push((ctr, header_len, enc, dec));
                }
            }
            let allocating: Vec<_> = per_ctr
                .into_iter()
                .filter(|&(_, _, e, d)| e + d > 0)
                .collect();
            eprintln!(
                "alloc {suite} {}: frames after warm-up that allocated, as (ctr, header len, \
                 encrypt allocations, decrypt allocations): {allocating:?}",
                backend.name()
            );
            seen.extend(allocating);
        }
    }
    assert!(seen.is_empty(), "frames after warm-up allocated: {seen:?}");
    Ok(())
}

/// The rule for peer input at the core (issue 14): forged, replayed, truncated and unknown-KID
/// frames allocate nothing, change no state, and the next genuine frame decrypts. (A forged
/// ratchet KID ahead is the documented exception: its steps are derived once and kept, at most
/// `max_forward`; see the `Receiver` docs.)
#[test]
fn forged_and_malformed_frames_allocate_nothing_and_change_nothing() -> TestResult {
    for &backend in Backend::ALL {
        for suite in CipherSuite::ALL {
            let (mut sender, mut receiver) = pair(suite, backend, KID, 0)?;
            let mut forger = Sender::with_backend(suite, backend);
            forger.add_key(KID, b"not the key")?;
            forger.add_key(KID + 1, b"not the key")?;
            let mut genuine = b"genuine frame".to_vec();
            sender.encrypt(KID, &[], &mut genuine)?;
            let replay = genuine.clone();
            receiver.decrypt_in_place(&[], &mut genuine)?;
            let mut bad: Vec<Vec<u8>> = Vec::new();
            for _ in 0..50 {
                let mut f = b"forged frame".to_vec();
                forger.encrypt(KID, &[], &mut f)?;
                bad.push(f);
                let mut g = b"unknown kid".to_vec();
                forger.encrypt(KID + 1, &[], &mut g)?;
                bad.push(g);
            }
            bad.push(replay);
            bad.push(vec![0xff; 3]);
            bad.push(Vec::new());
            let keys = receiver.key_count();
            for f in &mut bad {
                let (result, allocations) = counting(|| receiver.decrypt_in_place(&[], f).is_err());
                assert!(result, "{backend:?} {suite:?}: bad input decrypted");
                assert_eq!(allocations, 0, "{backend:?} {suite:?}: bad input allocated");
            }
            assert_eq!(receiver.key_count(), keys);
            let mut next = b"next".to_vec();
            sender.encrypt(KID, &[], &mut next)?;
            assert_eq!(receiver.decrypt_in_place(&[], &mut next)?, b"next");
        }
    }
    Ok(())
}
