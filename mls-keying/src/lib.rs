//! MLS keying for SFrame (RFC 9605 section 5.2).
//!
//! Every MLS epoch gives one SFrame base key,
//! `base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)`, and every member sends
//! under its own KIDs, `KID = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)`,
//! each with the key and salt of the RFC 9605 section 4.4.2 key schedule of that base key.
//! There is no per-sender key step in between (older drafts had one; RFC 9605 does not).
//!
//! The [`Keyring`] is a sans-IO state machine: epochs, acknowledgements, frames and the time
//! go in; frames and [`Event`]s come out. It holds up to `2^E` epochs, decrypts with a new
//! epoch as soon as it is known, keeps encrypting with the previous one until every member
//! acknowledged the new one (or a grace period passed), buffers frames of epochs not known
//! yet, and retires old epochs. It does not depend on any MLS library.
//!
//! ```
//! use std::time::Duration;
//! use sframe_core::CipherSuite;
//! use sframe_mls::{EpochKeys, Event, Keyring, KeyringConfig, Received};
//!
//! let suite = CipherSuite::Aes128GcmSha256_128;
//! let config = KeyringConfig::new(suite);
//! let (mut alice, mut bob) = (Keyring::new(config)?, Keyring::new(config)?);
//! let t0 = Duration::ZERO;
//! // Epoch 1 of a group with leaves 0 (Alice) and 1 (Bob); the base key comes from the MLS
//! // exporter of epoch 1 (here a stand-in), S = 8.
//! let base_key = [7u8; 16];
//! alice.add_epoch(t0, EpochKeys::new(1, &base_key, 8, Some(0), [0, 1])?)?;
//! bob.add_epoch(t0, EpochKeys::new(1, &base_key, 8, Some(1), [0, 1])?)?;
//!
//! let mut frame = b"audio frame".to_vec();
//! alice.encrypt(0, b"", &mut frame)?; // context 0: Alice's audio stream
//! let Received::Plaintext { info, data } = bob.decrypt(t0, b"", &mut frame)? else {
//!     unreachable!("epoch 1 is known")
//! };
//! assert_eq!((info.epoch, info.sender_index, &data[..]), (1, 0, &b"audio frame"[..]));
//!
//! // Epoch 2: both decrypt with it at once; Alice keeps sending under epoch 1 until Bob
//! // acknowledges epoch 2.
//! let base_key2 = [9u8; 16];
//! let t1 = Duration::from_millis(20);
//! alice.add_epoch(t1, EpochKeys::new(2, &base_key2, 8, Some(0), [0, 1])?)?;
//! assert_eq!(alice.sending_epoch(), Some(1));
//! bob.add_epoch(t1, EpochKeys::new(2, &base_key2, 8, Some(1), [0, 1])?)?;
//! alice.acknowledge(t1, 1, 2); // Bob's "I have epoch 2", carried by the application
//! assert_eq!(alice.sending_epoch(), Some(2));
//! let mut switches = Vec::new();
//! while let Some(event) = alice.poll_event() {
//!     if let Event::Switched { to, .. } = event {
//!         switches.push(to);
//!     }
//! }
//! assert_eq!(switches, [1, 2]);
//! # Ok::<(), sframe_mls::Error>(())
//! ```
//!
//! With the `openmls` feature (on by default), [`MlsMember`] drives a keyring from an
//! openmls 0.9 group: it creates groups, joins from Welcomes, commits and processes commits,
//! and feeds each new epoch to the keyring from the staged commit, before it is merged.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod keyring;
mod kid;
#[cfg(feature = "openmls")]
mod member;
mod pending;
mod security_code;

pub use error::Error;
pub use keyring::{
    DecryptedFrame, DropCause, DroppedFrame, EpochKeys, Event, FrameInfo, Keyring, KeyringConfig,
    Received, RetireReason, SwitchReason, UNPROVEN_KEYS_PER_EPOCH,
};
pub use kid::{
    EXPORTER_CONTEXT, EXPORTER_LABEL, KidLayout, KidParts, MAX_EPOCH_BITS, MAX_SENDER_BITS,
    base_key_len, sender_bits_for,
};
#[cfg(feature = "openmls")]
pub use member::{CommitOutcome, MemberConfig, MlsError, MlsMember, OutgoingCommit};
pub use pending::PendingLimits;
pub use security_code::{SECURITY_CODE_GROUPS, SecurityCode};
