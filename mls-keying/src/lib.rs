//! MLS keying for SFrame (RFC 9605 section 5.2).
//!
//! Every MLS epoch gives one SFrame base key,
//! `base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)`, and every member sends
//! under its own KIDs, `KID = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)`,
//! each with the key and salt of the RFC 9605 section 4.4.2 key schedule of that base key.
//! There is no per-sender key step in between (older drafts had one; RFC 9605 does not).
//!
//! `E` is the application's choice: any value a peer may use, up to `E + S = 64`. `S` is the
//! group's, as RFC 9605 section 5.2 writes it: the smallest value with
//! `group_size <= (1 << S)`, computed anew for every epoch, so it changes when the group grows
//! or shrinks across a power of two ([`sender_bits_for`]). `group_size` is read as the number
//! of leaves of the epoch's ratchet tree up to its rightmost member, i.e. the highest member
//! leaf index plus one ([`sender_bits_for_leaves`]): the tree's own leaf count gives the same
//! `S` (RFC 9420 keeps the tree truncated to the smallest power of two above that index), and
//! with blank leaves a member's index can exceed the member count but is never truncated. A
//! fixed `S` ([`EpochKeys::with_sender_bits`], and the adapter's
//! `MemberConfig::fixed_sender_bits`) is an explicit deviation, off by default.
//!
//! The [`Keyring`] is a sans-IO state machine: epochs, acknowledgements, frames and the time
//! go in; frames and [`Event`]s come out. It holds up to `2^E` epochs (at most
//! [`KeyringConfig::max_epochs`], whatever `E` is), decrypts with a new
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
//! // exporter of epoch 1 (here a stand-in). S follows the group: 1 bit for two leaves.
//! let base_key = [7u8; 16];
//! let keys = EpochKeys::new(1, &base_key, Some(0), [0, 1])?;
//! assert_eq!(keys.sender_bits(), 1);
//! alice.add_epoch(t0, keys)?;
//! bob.add_epoch(t0, EpochKeys::new(1, &base_key, Some(1), [0, 1])?)?;
//!
//! let mut frame = b"audio frame".to_vec();
//! alice.encrypt(0, b"", &mut frame)?; // context 0: Alice's audio stream
//! let Received::Plaintext { info, data } = bob.decrypt(t0, 0, b"", &mut frame)? else {
//!     unreachable!("epoch 1 is known")
//! };
//! assert_eq!((info.epoch, info.sender_index, &data[..]), (1, 0, &b"audio frame"[..]));
//!
//! // Epoch 2: both decrypt with it at once; Alice keeps sending under epoch 1 until Bob
//! // acknowledges epoch 2.
//! let base_key2 = [9u8; 16];
//! let t1 = Duration::from_millis(20);
//! alice.add_epoch(t1, EpochKeys::new(2, &base_key2, Some(0), [0, 1])?)?;
//! assert_eq!(alice.sending_epoch(), Some(1));
//! bob.add_epoch(t1, EpochKeys::new(2, &base_key2, Some(1), [0, 1])?)?;
//! alice.acknowledge(t1, 1, 2); // Bob's "I have epoch 2", carried by the application
//! assert_eq!(alice.sending_epoch(), Some(2));
//! let mut switches = Vec::new();
//! while let Some(event) = alice.poll_event() {
//!     if let Event::Switched { to, .. } = event {
//!         switches.push(to);
//!     }
//! }
//! assert_eq!(switches, [1, 2]);
//! # Ok::<(), sframe_mls::SframeMlsError>(())
//! ```
//!
//! With the `openmls` feature (on by default), [`MlsMember`] drives a keyring from an
//! openmls 0.9 group: it creates groups, joins from Welcomes, commits and processes commits,
//! and feeds each new epoch to the keyring from the staged commit, before it is merged.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod key_source;
mod keyring;
mod kid;
#[cfg(feature = "openmls")]
mod member;
mod pending;
mod roster;
mod security_code;
mod throttle;
mod unproven;

pub(crate) use error::Error;
pub use error::SframeMlsError;
pub use keyring::{
    DecryptedFrame, DropCause, DroppedFrame, EpochKeys, Event, FrameInfo, Keyring, KeyringConfig,
    Received, RetireReason, SwitchReason, UNPROVEN_KEYS_PER_EPOCH,
};
pub use kid::{
    EXPORTER_CONTEXT, EXPORTER_LABEL, KID_BITS, KidLayout, KidParts, MAX_EPOCH_BITS,
    MAX_SENDER_BITS, base_key_len, sender_bits_for, sender_bits_for_leaves,
};
#[cfg(feature = "openmls")]
pub use member::{
    CommitOutcome, DelegatedEpoch, MemberConfig, MlsError, MlsMember, OutgoingCommit, Prepared,
};
pub use pending::PendingLimits;
pub use roster::Roster;
pub use security_code::{SECURITY_CODE_GROUPS, SecurityCode};
pub use throttle::{FreshKidBudget, MAX_STREAMS as MAX_THROTTLED_STREAMS};
