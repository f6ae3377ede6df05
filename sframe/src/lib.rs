//! SFrame (RFC 9605): end-to-end encryption of real-time media frames, in place.
//!
//! A [`Sender`] turns a media frame into `header || ciphertext || tag` in the caller's buffer;
//! a [`Receiver`] turns it back and hands out the plaintext as a sub-slice of the same buffer.
//! Keys are expanded once per KID, never per frame, and no frame allocates.
//!
//! ```
//! use sframe_core::{CipherSuite, Receiver, Sender};
//!
//! let suite = CipherSuite::Aes128GcmSha256_128;
//! let base_key = b"a base key from MLS or elsewhere";
//! let kid = 7;
//!
//! let mut sender = Sender::new(suite);
//! sender.add_key(kid, base_key)?;
//! let mut receiver = Receiver::new(suite);
//! receiver.add_key(kid, base_key)?;
//!
//! // Growable buffers: the frame replaces the plaintext.
//! let mut frame = b"one encoded video frame".to_vec();
//! sender.encrypt(kid, b"metadata", &mut frame)?;
//! let plaintext = receiver.decrypt_in_place(b"metadata", &mut frame)?;
//! assert_eq!(plaintext, b"one encoded video frame");
//!
//! // Fixed buffers, no copy at all: room for the header in front and the tag behind.
//! let mut buf = [0u8; 64];
//! let header_len = sender.header_len(kid)?;
//! buf[header_len..header_len + 5].copy_from_slice(b"audio");
//! let frame = sender.encrypt_in_place(kid, &[], &mut buf, header_len..header_len + 5)?;
//! let frame_len = frame.len();
//! assert_eq!(receiver.decrypt_in_place(&[], &mut buf[..frame_len])?, b"audio");
//! # Ok::<(), sframe_core::SframeError>(())
//! ```
//!
//! A ratcheting sender (RFC 9605 section 5.1) moves its key forward; the receiver follows as
//! soon as a frame under the new step authenticates:
//!
//! ```
//! use sframe_core::{CipherSuite, RatchetKid, Receiver, Sender};
//!
//! let suite = CipherSuite::Aes256GcmSha512_128;
//! let (generation, r_bits) = (3, 4);
//! let mut sender = Sender::new(suite);
//! let kid = sender.add_ratcheting_key(generation, r_bits, b"base key")?;
//! let mut receiver = Receiver::new(suite);
//! receiver.add_ratcheting_key(RatchetKid::new(generation, r_bits, 0)?, b"base key")?;
//!
//! let kid = sender.ratchet(kid)?; // forward secrecy: step 0's key is gone
//! let mut frame = b"after the ratchet".to_vec();
//! sender.encrypt(kid, &[], &mut frame)?;
//! assert_eq!(receiver.decrypt_in_place(&[], &mut frame)?, b"after the ratchet");
//! # Ok::<(), sframe_core::SframeError>(())
//! ```
//!
//! # Peer input and secrets
//! Frames are peer input: a [`Receiver`] never panics on them, a bad frame changes no state
//! and leaves no memory behind, and it costs at most one AEAD attempt (the bounds are in the
//! [`Receiver`] docs). Keys zeroize on drop ([`Secret`], the per-KID salts, and the backends'
//! key schedules: RustCrypto's with its `zeroize` features, aws-lc's contexts cleansed when
//! freed); `Debug` never shows key bytes. Tags are compared in constant time: the AES-CTR +
//! HMAC suites compare the whole tag with `subtle::ConstantTimeEq` before decrypting
//! anything; the AES-GCM suites leave it to the backend, which compares with `subtle`
//! (`aes-gcm`) or `CRYPTO_memcmp` (aws-lc).
//!
//! Modules are private; everything is re-exported here. Low-level pieces (one KID's AEAD and
//! key schedule, nonces, replay windows, SRTP primitives) are behind the `hazmat` feature.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Without `hazmat`, the low-level pieces only sibling crates and tests use are compiled but not
// exported; builds with the feature (CI's) still see real dead code.
#![cfg_attr(not(feature = "hazmat"), allow(dead_code))]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod buffer;
mod crypto;
mod error;
mod header;
mod key;
mod key_source;
mod ratchet;
mod receiver;
mod replay;
mod sender;
mod suite;

pub use buffer::FrameBuffer;
pub use crypto::Backend;
pub(crate) use error::Error;
pub use error::SframeError;
pub use header::{Header, HeaderError, MAX_HEADER_LEN, config_low_bit, counter_with_config_bit};
pub use key::{MAX_FRAME_PLAINTEXT, MAX_SECRET_LEN, Secret, hkdf_secret};
// Low-level pieces behind the `hazmat` feature: known-answer tests, benchmarks, and the sibling
// crates' own constructions (the MLS keyring's KID deriver, SRTP's primitives). Encrypting and
// decrypting media needs none of them.
#[cfg(feature = "hazmat")]
pub use crypto::primitives;
#[cfg(feature = "hazmat")]
pub use header::EncodedHeader;
#[cfg(feature = "hazmat")]
pub use key::{Aead, KeySchedule, KidKey, KidKeyDeriver, derive_subkeys, nonce, ratchet_base_key};
pub use key_source::{FrameOpener, FrameSealer, Opened, OpenerEvent, ReleasedFrame, StaticKeys};
pub use ratchet::{RatchetKid, RatchetPolicy};
pub use receiver::{REMEMBERED_KIDS, Receiver, ReceiverConfig};
#[cfg(feature = "hazmat")]
pub use replay::{ReplayCheck, ReplayWindow};
pub use sender::Sender;
pub use suite::{CipherSuite, MAX_KEY_LEN, MAX_TAG_LEN, NONCE_LEN};
