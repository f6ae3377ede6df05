//! Keys are zeroized on drop (issue 14: "not attempted by the adversarial suite, so show it").
//!
//! A global allocator looks into every heap block as it is freed, before handing it back, for
//! the key material of a test: the base key, the KID's derived `sframe_key` and
//! `sframe_salt`, and a ratchet's next base key. Dropping a `Sender`, a `Receiver` (with a
//! ratchet, steps derived ahead, replay windows remembered) or a `KidKeyDeriver` must free no
//! block that still holds any of them. A positive control shows the detector finds a key left
//! in a plain `Vec`.
//!
//! What this cannot see: memory a C library (aws-lc) takes with its own `malloc` (checked here
//! for the RustCrypto backend, whose key schedules live in Rust allocations), and copies left
//! by a `Vec` growing (`realloc` moves the block without wiping it; the tests keep the key
//! vectors below their first capacity, and the report notes it).

// `GlobalAlloc` is an unsafe trait; the scan reads only the block being freed, which the
// caller still owns until `dealloc` returns.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};

use sframe_core::{
    Backend, CipherSuite, KeySchedule, KidKeyDeriver, RatchetKid, Receiver, Sender,
    ratchet_base_key,
};

struct Scanning;

const MAX_PATTERNS: usize = 8;

thread_local! {
    /// Patterns to look for (fixed size: the allocator must not allocate).
    static PATTERNS: RefCell<[([u8; 64], usize); MAX_PATTERNS]> =
        const { RefCell::new([([0; 64], 0); MAX_PATTERNS]) };
    static ON: Cell<bool> = const { Cell::new(false) };
    static FOUND: Cell<u64> = const { Cell::new(0) };
}

fn scan(block: &[u8]) {
    let _ = PATTERNS.try_with(|p| {
        let Ok(p) = p.try_borrow() else { return };
        for (bytes, len) in p.iter() {
            let needle = &bytes[..*len];
            if *len >= 8 && block.windows(*len).any(|w| w == needle) {
                let _ = FOUND.try_with(|f| f.set(f.get() + 1));
            }
        }
    });
}

// SAFETY: every method forwards unchanged to `System`. Before `dealloc` forwards, the block
// (`layout.size()` bytes at `ptr`, allocated by us and still owned by the caller) is read.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON.try_with(Cell::get).unwrap_or(false) {
            // SAFETY: `ptr` points to `layout.size()` initialised-or-not bytes we allocated;
            // reading them as u8 before freeing is sound for a byte scan of freed key memory.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            scan(block);
        }
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

fn watch(secrets: &[&[u8]]) {
    PATTERNS.with(|p| {
        let mut p = p.borrow_mut();
        for (slot, s) in p.iter_mut().zip(secrets) {
            slot.0[..s.len()].copy_from_slice(s);
            slot.1 = s.len();
        }
    });
    FOUND.with(|f| f.set(0));
}

/// Runs `drop_it` with the scan on; returns how many freed blocks held a watched secret.
fn found_while(drop_it: impl FnOnce()) -> u64 {
    ON.with(|o| o.set(true));
    drop_it();
    ON.with(|o| o.set(false));
    FOUND.with(Cell::get)
}

const BASE: &[u8; 32] = b"\x9d\x11\x5a\xe0base key for zeroize tests!!";

#[test]
fn the_detector_finds_a_key_left_in_freed_memory() {
    watch(&[BASE]);
    let leaky: Vec<u8> = BASE.to_vec();
    assert_eq!(found_while(|| drop(leaky)), 1);
}

#[test]
fn dropping_senders_receivers_and_derivers_leaves_no_key_bytes() {
    // Both backends: with aws-lc the AEAD key schedules live in C allocations this cannot
    // see, but base keys, salts and ratchet secrets are Rust memory either way.
    for (backend, suite) in Backend::ALL.iter().flat_map(|&b| {
        [
            (b, CipherSuite::Aes128GcmSha256_128),
            (b, CipherSuite::Aes128CtrHmacSha256_80),
        ]
    }) {
        let kid = 0x50; // generation 5, R = 4, step 0
        let schedule = KeySchedule::derive(backend, suite, kid, BASE).unwrap();
        let next = ratchet_base_key(backend, suite, BASE).unwrap();
        watch(&[
            BASE,
            schedule.key.expose(),
            schedule.salt.expose(),
            next.expose(),
        ]);
        let mut s = Sender::with_backend(suite, backend);
        s.add_ratcheting_key(5, 4, BASE).unwrap();
        s.add_key(7, BASE).unwrap();
        let mut r = Receiver::with_config(suite, backend, Default::default());
        r.add_ratcheting_key(RatchetKid::new(5, 4, 0).unwrap(), BASE)
            .unwrap();
        r.add_key(7, BASE).unwrap();
        let mut f = b"frame".to_vec();
        s.encrypt(kid, b"", &mut f).unwrap();
        r.decrypt_in_place(b"", &mut f).unwrap();
        let mut g = b"frame".to_vec();
        s.encrypt(7, b"", &mut g).unwrap();
        r.decrypt_in_place(b"", &mut g).unwrap();
        // A forged frame three steps ahead: the receiver derives those steps and keeps them.
        let mut m = Sender::with_backend(suite, backend);
        m.add_key(0x53, b"forger").unwrap();
        let mut h = b"forged".to_vec();
        m.encrypt(0x53, b"", &mut h).unwrap();
        assert!(r.decrypt_in_place(b"", &mut h).is_err());
        // A removed KID's replay window is remembered (no key in it, but dropped with r).
        r.remove_key(7);
        let deriver = KidKeyDeriver::new(backend, suite, BASE).unwrap();
        let derived = deriver.derive(kid).unwrap();
        assert_eq!(
            found_while(|| {
                drop(derived);
                drop(deriver);
                drop(s);
                drop(r);
            }),
            0,
            "{backend:?} {suite:?}: a freed block still held key material"
        );
    }
}
