//! The functions a WebAssembly module exports: thin wrappers over one [`Instance`] per
//! thread (a module instance is single-threaded; a worker has its own).
//!
//! Exporting a function from WebAssembly needs an unmangled symbol, which Rust 2024 spells
//! `#[unsafe(no_mangle)]`: the only `unsafe` in this crate, allowed for this module alone
//! (the workspace forbids unsafe code; this crate denies it everywhere else). There is no
//! `unsafe` block and no raw pointer is ever read here: the page writes into the buffer the
//! [`Instance`] owns (its address is [`sframe_io_ptr`]) between calls, and Rust reads it as a
//! `Vec<u8>`. The symbols carry the `sframe_` prefix so they cannot clash with another
//! library's when the crate is linked natively.
//!
//! Return values: a length (`>= 0`), a [`TransformDrop::code`](crate::TransformDrop::code) (`-1` to
//! `-7`) or a [`SframeWasmError::code`](crate::SframeWasmError::code) (`-100` to `-104`).
//! Times are milliseconds on the caller's clock (`performance.now()`).
#![allow(unsafe_code)]

use std::cell::RefCell;

use crate::SframeWasmError;
use crate::instance::Instance;
use crate::stats::TransformDrop;

thread_local! {
    static INSTANCE: RefCell<Instance> = RefCell::new(Instance::default());
}

fn with<T>(f: impl FnOnce(&mut Instance) -> T) -> T {
    INSTANCE.with(|i| f(&mut i.borrow_mut()))
}

/// `usize` (wasm32: `u32`) into the return value, or an error's code.
fn ret(result: Result<usize, SframeWasmError>) -> i32 {
    match result {
        Ok(n) => i32::try_from(n).unwrap_or(SframeWasmError::BadInput("").code()),
        Err(e) => e.code(),
    }
}

fn ret_frame(result: Result<Result<usize, TransformDrop>, SframeWasmError>) -> i32 {
    match result {
        Ok(Err(drop)) => drop.code(),
        Ok(Ok(n)) => ret(Ok(n)),
        Err(e) => e.code(),
    }
}

/// Grows the buffer for an input of `len` bytes at [`sframe_input_offset`]; returns its
/// address (valid until the next call to this function).
#[unsafe(no_mangle)]
pub extern "C" fn sframe_reserve(len: usize) -> usize {
    with(|i| i.reserve(len).as_ptr() as usize)
}

/// The buffer's address now.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_io_ptr() -> usize {
    with(|i| i.io().as_ptr() as usize)
}

/// Where a call's input goes in the buffer.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_input_offset() -> usize {
    crate::INPUT_OFFSET
}

/// Where the last call's output starts in the buffer.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_output_offset() -> usize {
    with(|i| i.output().start)
}

/// A participant at leaf `own_leaf` (negative: receive only) for the suite with RFC 9605
/// identifier `suite`, `epoch_bits` (E) in its KIDs. Returns its handle.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_participant_new(suite: u32, own_leaf: i64, epoch_bits: u32) -> i32 {
    let leaf = u32::try_from(own_leaf).ok();
    ret(with(|i| i.create(suite, leaf, epoch_bits)).map(|h| h as usize))
}

/// Frees a participant; 1 if it existed.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_participant_free(handle: u32) -> i32 {
    i32::from(with(|i| i.free(handle)))
}

/// Installs `epoch`; the input is the base key then `members` u32 LE leaf indices.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_add_epoch(
    handle: u32,
    now_ms: f64,
    epoch: u64,
    key_len: usize,
    members: usize,
) -> i32 {
    ret(with(|i| i.add_epoch(handle, now_ms, epoch, key_len, members)).map(|()| 0))
}

/// Member `leaf` acknowledged `epoch`.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_acknowledge(handle: u32, now_ms: f64, leaf: u32, epoch: u64) -> i32 {
    ret(with(|i| {
        i.participant(handle)
            .map(|p| p.acknowledge(crate::participant::millis(now_ms), leaf, epoch))
    })
    .map(|()| 0))
}

/// Encrypts the `len`-byte input for stream `context`; returns the frame's length.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_encrypt(handle: u32, now_ms: f64, context: u64, len: usize) -> i32 {
    ret_frame(with(|i| i.encrypt(handle, now_ms, context, None, len)))
}

/// As [`sframe_encrypt`], for a VP8 frame: `key_frame` 1 for a key frame, 0 for a delta
/// frame. Its counter is chosen so that the SFrame config byte's bit 0 says the same (see
/// `sframe_core::counter_with_config_bit`: Chromium reads the frame type there).
#[unsafe(no_mangle)]
pub extern "C" fn sframe_encrypt_vp8(
    handle: u32,
    now_ms: f64,
    context: u64,
    key_frame: u32,
    len: usize,
) -> i32 {
    let bit = Some(key_frame == 0);
    ret_frame(with(|i| i.encrypt(handle, now_ms, context, bit, len)))
}

/// Decrypts the `len`-byte input; returns the plaintext's length.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_decrypt(handle: u32, now_ms: f64, len: usize) -> i32 {
    ret_frame(with(|i| i.decrypt(handle, now_ms, len)))
}

/// The participant's counts as JSON; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_stats(handle: u32) -> i32 {
    ret(with(|i| i.stats_json(handle)))
}

/// Known-answer encryption (input: key, metadata, plaintext); returns the frame's length.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_vector_encrypt(
    suite: u32,
    kid: u64,
    ctr: u64,
    key_len: usize,
    meta_len: usize,
    pt_len: usize,
) -> i32 {
    ret(with(|i| {
        i.vector_encrypt(suite, kid, ctr, [key_len, meta_len, pt_len])
    }))
}

/// Known-answer decryption (input: key, metadata, frame); returns the plaintext's length.
#[unsafe(no_mangle)]
pub extern "C" fn sframe_vector_decrypt(
    suite: u32,
    kid: u64,
    key_len: usize,
    meta_len: usize,
    ct_len: usize,
) -> i32 {
    ret(with(|i| {
        i.vector_decrypt(suite, kid, [key_len, meta_len, ct_len])
    }))
}
