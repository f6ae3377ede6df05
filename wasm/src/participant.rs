//! One meeting participant as a browser runs it: an MLS epoch keyring (RFC 9605 section 5.2
//! KIDs) that encrypts and decrypts whole frames, and counts every outcome.

use core::ops::Range;
use std::time::Duration;

use sframe_core::{Backend, CipherSuite, MAX_HEADER_LEN, SframeError, counter_with_config_bit};
use sframe_mls::{
    EpochKeys, Event, Keyring, KeyringConfig, PendingLimits, Received, SframeMlsError,
};

use crate::error::SframeWasmError;
use crate::stats::{ParticipantStats, TransformDrop};

/// Where the plaintext goes in a buffer handed to [`Participant::encrypt`]: room for the
/// longest SFrame header in front of it.
pub const PLAINTEXT_OFFSET: usize = MAX_HEADER_LEN;

/// A decrypted frame's origin and where its plaintext lies in the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedFrame {
    /// The sender's leaf index.
    pub sender_index: u32,
    /// The epoch it was sent under.
    pub epoch: u64,
    /// The sender's context (stream).
    pub context: u64,
    /// The plaintext, as a range of the buffer.
    pub plaintext: Range<usize>,
}

/// A member of an MLS group (or a receive-only listener) keyed per epoch from outside: the
/// page installs each epoch's exported base key and roster; this sends under the KIDs of RFC
/// 9605 section 5.2 and decrypts any member's frames.
///
/// Always the RustCrypto backend, the one that builds for `wasm32-unknown-unknown`, so native
/// tests of this type run the code the browser runs. Frames of an epoch not installed yet
/// are dropped and counted ([`TransformDrop::UnknownEpoch`]), not held: a transform hands each
/// frame on at once. The keyring's sender keeps the old epoch until every member
/// acknowledged the new one (or the grace passed), so a page that installs each epoch on
/// every member before acknowledging it drops no frame for a change of epoch.
///
/// ```
/// use std::time::Duration;
/// use sframe_core::CipherSuite;
/// use sframe_wasm::{Participant, PLAINTEXT_OFFSET};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut alice = Participant::new(suite, Some(0), 4)?;
/// let mut bob = Participant::new(suite, Some(1), 4)?;
/// let t = Duration::ZERO;
/// alice.add_epoch(t, 1, &[7; 16], &[0, 1])?;
/// bob.add_epoch(t, 1, &[7; 16], &[0, 1])?;
///
/// let mut buf = vec![0; 64];
/// buf[PLAINTEXT_OFFSET..][..5].copy_from_slice(b"frame");
/// let frame = alice.encrypt(t, 1, None, &mut buf, 5).expect("epoch 1 installed");
/// let mut wire = buf[frame].to_vec();
/// let opened = bob.decrypt(t, &mut wire).expect("authentic");
/// assert_eq!((opened.sender_index, opened.epoch, &wire[opened.plaintext]), (0, 1, &b"frame"[..]));
/// assert_eq!((alice.stats().encrypted, bob.stats().decrypted), (1, 1));
/// # Ok::<(), sframe_wasm::SframeWasmError>(())
/// ```
#[derive(Debug)]
pub struct Participant {
    keyring: Keyring,
    own_leaf: Option<u32>,
    stats: ParticipantStats,
}

/// `now` from a JavaScript clock in milliseconds (`performance.now()`); negative or NaN is 0.
pub fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::ZERO)
}

impl Participant {
    /// A participant at leaf `own_leaf` (`None`: receive only), with `epoch_bits` (E) in its
    /// KIDs. Defaults otherwise as [`KeyringConfig::new`], with no frame held for an unknown
    /// epoch.
    ///
    /// # Errors
    /// [`SframeWasmError::Keyring`] for an `epoch_bits` above 64.
    pub fn new(
        suite: CipherSuite,
        own_leaf: Option<u32>,
        epoch_bits: u8,
    ) -> Result<Self, SframeWasmError> {
        let mut config = KeyringConfig::new(suite);
        config.backend = Backend::RustCrypto;
        config.epoch_bits = epoch_bits;
        config.pending = PendingLimits {
            max_frames: 0,
            ..PendingLimits::default()
        };
        let keyring = Keyring::new(config).map_err(SframeWasmError::Keyring)?;
        Ok(Self {
            keyring,
            own_leaf,
            stats: ParticipantStats::default(),
        })
    }

    /// Installs `epoch`: `base_key` is `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)`, `members`
    /// the leaf indices of its members (their highest gives `S`). Decrypts under it at once.
    ///
    /// # Errors
    /// [`SframeWasmError::Keyring`]: a stale or known epoch, a key of the wrong length, an own
    /// leaf that does not fit `S`. Nothing changes on error.
    pub fn add_epoch(
        &mut self,
        now: Duration,
        epoch: u64,
        base_key: &[u8],
        members: &[u32],
    ) -> Result<(), SframeWasmError> {
        let keys = EpochKeys::new(epoch, base_key, self.own_leaf, members.iter().copied())
            .map_err(SframeWasmError::Keyring)?;
        self.keyring
            .add_epoch(now, keys)
            .map_err(SframeWasmError::Keyring)?;
        self.drain(now);
        Ok(())
    }

    /// Member `leaf` can decrypt `epoch`: the sender switches once every member did.
    pub fn acknowledge(&mut self, now: Duration, leaf: u32, epoch: u64) {
        self.keyring.acknowledge(now, leaf, epoch);
        self.drain(now);
    }

    /// Encrypts the `plain_len` bytes at `buf[PLAINTEXT_OFFSET..]` for stream `context`
    /// under the sending epoch; returns where the frame (`header || ciphertext || tag`) lies
    /// in `buf`. Counters never repeat under a KID.
    ///
    /// # Errors
    /// The counted cause ([`TransformDrop`]) when the frame cannot be sent: no epoch to send
    /// under, no room in `buf`, a context that does not fit the KID.
    pub fn encrypt(
        &mut self,
        now: Duration,
        context: u64,
        config_bit: Option<bool>,
        buf: &mut [u8],
        plain_len: usize,
    ) -> Result<Range<usize>, TransformDrop> {
        self.tick(now);
        if let Some(bit) = config_bit {
            // A counter whose header's config byte ends in `bit` (counters only skip forward).
            let skipped = self.keyring.next_send_header(context).and_then(|h| {
                let ctr = counter_with_config_bit(h.ctr, bit).ok_or(SframeMlsError::Frame(
                    sframe_core::SframeError::CounterExhausted { kid: h.kid },
                ))?;
                self.keyring.skip_send_counter(context, ctr)
            });
            if let Err(e) = skipped {
                return Err(self.stats.send_dropped(&e));
            }
        }
        let header_len = match self.keyring.header_len(context) {
            Ok(len) => len,
            Err(e) => return Err(self.stats.send_dropped(&e)),
        };
        let plaintext = PLAINTEXT_OFFSET..PLAINTEXT_OFFSET.saturating_add(plain_len);
        match self.keyring.encrypt_in_place(context, b"", buf, plaintext) {
            Ok(frame) => {
                // The header sits just before the plaintext (header_len <= MAX_HEADER_LEN).
                let start = PLAINTEXT_OFFSET - header_len;
                let range = start..start + frame.len();
                self.stats.sent(self.keyring.sending_epoch());
                Ok(range)
            }
            Err(e) => Err(self.stats.send_dropped(&e)),
        }
    }

    /// Decrypts the frame filling `frame` in place; returns where it came from and where its
    /// plaintext lies.
    ///
    /// # Errors
    /// The counted cause ([`TransformDrop`]); the keyring is unchanged.
    pub fn decrypt(
        &mut self,
        now: Duration,
        frame: &mut [u8],
    ) -> Result<OpenedFrame, TransformDrop> {
        self.tick(now);
        let base = frame.as_ptr() as usize;
        match self.keyring.decrypt(now, 0, b"", frame) {
            Ok(Received::Plaintext { info, data }) => {
                let start = (data.as_ptr() as usize).saturating_sub(base);
                let plaintext = start..start + data.len();
                self.stats.received(info.sender_index, info.epoch);
                Ok(OpenedFrame {
                    sender_index: info.sender_index,
                    epoch: info.epoch,
                    context: info.context,
                    plaintext,
                })
            }
            // Buffering is off (max_frames 0): a frame of an unknown epoch is an error.
            Ok(Received::Buffered) => {
                Err(self.stats.recv_dropped_cause(TransformDrop::UnknownEpoch))
            }
            Err(e) => Err(self.stats.recv_dropped(&e)),
        }
    }

    /// What this participant counted.
    pub fn stats(&self) -> &ParticipantStats {
        &self.stats
    }

    /// The epoch frames are sent under.
    pub fn sending_epoch(&self) -> Option<u64> {
        self.keyring.sending_epoch()
    }

    /// Runs the keyring's timers when due (sender switch at the end of the grace, retiring
    /// old epochs).
    fn tick(&mut self, now: Duration) {
        if self.keyring.poll_timeout().is_some_and(|t| t <= now) {
            self.keyring.handle_timeout(now);
        }
        self.drain(now);
    }

    fn drain(&mut self, _now: Duration) {
        while let Some(event) = self.keyring.poll_event() {
            match event {
                Event::Switched { .. } => self.stats.switches += 1,
                Event::Retired { .. } => self.stats.retired += 1,
                _ => {}
            }
        }
    }
}

/// Why a keyring refused a frame, as a counted cause.
pub(crate) fn cause_of(e: &SframeMlsError) -> TransformDrop {
    match e {
        SframeMlsError::Frame(f) | SframeMlsError::Sframe(f) => match f {
            SframeError::MalformedHeader(_) | SframeError::TruncatedFrame { .. } => {
                TransformDrop::Malformed
            }
            SframeError::AuthenticationFailed => TransformDrop::AuthenticationFailed,
            SframeError::Replay { .. } => TransformDrop::Replay,
            SframeError::UnknownKid(_) => TransformDrop::UnknownSender,
            _ => TransformDrop::Other,
        },
        SframeMlsError::UnknownEpoch { .. } => TransformDrop::UnknownEpoch,
        SframeMlsError::UnknownSender { .. } => TransformDrop::UnknownSender,
        SframeMlsError::NoSendEpoch | SframeMlsError::NotASender => TransformDrop::NoSendEpoch,
        _ => TransformDrop::Other,
    }
}
