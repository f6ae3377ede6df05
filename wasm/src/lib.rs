//! The SFrame core (RFC 9605) and the MLS epoch keyring of `sframe-mls`, built for browsers:
//! a `wasm32-unknown-unknown` cdylib that an `RTCRtpScriptTransform` worker loads to encrypt
//! and decrypt each encoded audio and video frame, whole (no clear prefix).
//!
//! A [`Participant`] is one member of a meeting as the page keys it: each MLS epoch's exported
//! base key and roster go in ([`Participant::add_epoch`]), frames are sent under the KIDs of
//! RFC 9605 section 5.2 (`sframe-mls`'s own `Keyring`, not a copy of it, so the layout and key
//! derivation are the native ones), counters never repeat, and every frame that cannot be
//! encrypted or decrypted is counted by cause ([`ParticipantStats`], [`TransformDrop`]) and
//! dropped, never thrown into the media pipeline. Always the RustCrypto backend: the one that
//! builds for wasm, so the native tests of this crate run the code the browser runs.
//!
//! ```
//! use sframe_wasm::{Instance, INPUT_OFFSET};
//!
//! // What the page does through the exported functions (see `web/sframe.js`).
//! let mut wasm = Instance::default();
//! let alice = wasm.create(0x0004, Some(0), 4)?; // AES_128_GCM_SHA256_128, leaf 0, E = 4
//! let bob = wasm.create(0x0004, Some(1), 4)?;
//! for (who, key) in [(alice, [7u8; 16]), (bob, [7u8; 16])] {
//!     // input: the epoch's base key, then the members' leaf indices (u32 LE)
//!     let input = [&key[..], &0u32.to_le_bytes(), &1u32.to_le_bytes()].concat();
//!     wasm.reserve(input.len())[INPUT_OFFSET..][..input.len()].copy_from_slice(&input);
//!     wasm.add_epoch(who, 0.0, 1, 16, 2)?;
//! }
//!
//! let frame = b"an encoded video frame";
//! wasm.reserve(frame.len())[INPUT_OFFSET..][..frame.len()].copy_from_slice(frame);
//! let n = wasm.encrypt(alice, 20.0, 1, None, frame.len())?.expect("epoch 1 installed");
//! let sent = wasm.io()[wasm.output()].to_vec();
//! assert_eq!(n, sent.len());
//!
//! wasm.reserve(sent.len())[INPUT_OFFSET..][..sent.len()].copy_from_slice(&sent);
//! wasm.decrypt(bob, 40.0, sent.len())?.expect("authentic");
//! assert_eq!(&wasm.io()[wasm.output()], frame);
//! assert_eq!(wasm.participant(bob)?.stats().decrypted_by_sender[&0], 1);
//! # Ok::<(), sframe_wasm::SframeWasmError>(())
//! ```
//!
//! # The boundary with JavaScript
//! Plain `extern "C"` exports ([`abi`]) over one buffer that Rust owns and the page writes
//! into: no wasm-bindgen, so building needs only `rustup target add wasm32-unknown-unknown`
//! and the page needs only `web/sframe.js` (a few dozen lines). Exporting a symbol takes
//! `#[unsafe(no_mangle)]`, the one exception to the workspace's `forbid(unsafe_code)`: this
//! crate denies unsafe code and allows it in [`abi`] alone, which holds no `unsafe` block and
//! reads no raw pointer.
//!
//! ```sh
//! cargo build --release -p sframe-wasm --target wasm32-unknown-unknown
//! # target/wasm32-unknown-unknown/release/sframe_wasm.wasm
//! ```

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod abi;
mod error;
mod instance;
mod participant;
mod stats;

pub use error::SframeWasmError;
pub use instance::{INPUT_OFFSET, Instance};
pub use participant::{OpenedFrame, PLAINTEXT_OFFSET, Participant, millis};
pub use stats::{ParticipantStats, TransformDrop};
