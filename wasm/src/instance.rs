//! The state behind the exported functions: one shared input/output buffer and the
//! participants, addressed by handle. Safe Rust; [`crate::abi`] only forwards to it.
//!
//! The page writes a call's input at [`INPUT_OFFSET`] of the buffer (after
//! [`Instance::reserve`]), calls, and reads the output at [`Instance::output`]'s range. The
//! offset leaves room for an SFrame header in front of a plaintext, so a frame is encrypted
//! where it lies.

use core::ops::Range;

use sframe_core::{CipherSuite, Receiver, Sender};

use crate::error::SframeWasmError;
use sframe_core::MAX_TAG_LEN;

use crate::participant::{PLAINTEXT_OFFSET, Participant, millis};
use crate::stats::TransformDrop;

/// Where a call's input goes in the buffer.
pub const INPUT_OFFSET: usize = PLAINTEXT_OFFSET;

/// The shared buffer and the participants.
#[derive(Debug, Default)]
pub struct Instance {
    io: Vec<u8>,
    participants: Vec<Option<Participant>>,
    output: Range<usize>,
}

/// The RFC 9605 suite of an identifier.
fn suite_of(id: u32) -> Result<CipherSuite, SframeWasmError> {
    u16::try_from(id)
        .ok()
        .and_then(CipherSuite::from_id)
        .ok_or(SframeWasmError::UnknownSuite(id))
}

impl Instance {
    /// Grows the buffer so an input of `len` bytes fits at [`INPUT_OFFSET`] with room for a
    /// tag behind it; returns the whole buffer (its address is what the page writes to).
    pub fn reserve(&mut self, len: usize) -> &mut [u8] {
        let needed = INPUT_OFFSET.saturating_add(len).saturating_add(MAX_TAG_LEN);
        if self.io.len() < needed {
            self.io.resize(needed, 0);
        }
        &mut self.io
    }

    /// The buffer.
    pub fn io(&self) -> &[u8] {
        &self.io
    }

    /// Where the last call's output lies in the buffer.
    pub fn output(&self) -> Range<usize> {
        self.output.clone()
    }

    /// The input of `len` bytes, checked against the buffer.
    fn input(&mut self, len: usize) -> Result<&mut [u8], SframeWasmError> {
        let end = INPUT_OFFSET.saturating_add(len);
        self.io
            .get_mut(INPUT_OFFSET..end)
            .ok_or(SframeWasmError::BadInput(
                "input longer than the reserved buffer",
            ))
    }

    /// A new participant; returns its handle.
    ///
    /// # Errors
    /// [`SframeWasmError::UnknownSuite`]; [`SframeWasmError::Keyring`] for a bad `epoch_bits`.
    pub fn create(
        &mut self,
        suite: u32,
        own_leaf: Option<u32>,
        epoch_bits: u32,
    ) -> Result<u32, SframeWasmError> {
        let bits = u8::try_from(epoch_bits).map_err(|_| SframeWasmError::BadInput("epoch_bits"))?;
        let participant = Participant::new(suite_of(suite)?, own_leaf, bits)?;
        let slot = self.participants.iter().position(Option::is_none);
        let index = match slot {
            Some(i) => i,
            None => {
                self.participants.push(None);
                self.participants.len() - 1
            }
        };
        let handle =
            u32::try_from(index).map_err(|_| SframeWasmError::BadInput("too many participants"))?;
        if let Some(s) = self.participants.get_mut(index) {
            *s = Some(participant);
        }
        Ok(handle)
    }

    /// Frees a participant (its keys are zeroized). False if there was none.
    pub fn free(&mut self, handle: u32) -> bool {
        self.slot(handle).ok().and_then(Option::take).is_some()
    }

    fn slot(&mut self, handle: u32) -> Result<&mut Option<Participant>, SframeWasmError> {
        usize::try_from(handle)
            .ok()
            .and_then(|i| self.participants.get_mut(i))
            .ok_or(SframeWasmError::NoSuchParticipant(handle))
    }

    /// The participant with `handle`.
    ///
    /// # Errors
    /// [`SframeWasmError::NoSuchParticipant`].
    pub fn participant(&mut self, handle: u32) -> Result<&mut Participant, SframeWasmError> {
        self.slot(handle)?
            .as_mut()
            .ok_or(SframeWasmError::NoSuchParticipant(handle))
    }

    /// Installs an epoch; the input is the base key (`key_len` bytes) then `members` leaf
    /// indices, 4 bytes little-endian each.
    ///
    /// # Errors
    /// [`SframeWasmError::BadInput`] if the input is shorter; as [`Participant::add_epoch`].
    pub fn add_epoch(
        &mut self,
        handle: u32,
        now_ms: f64,
        epoch: u64,
        key_len: usize,
        members: usize,
    ) -> Result<(), SframeWasmError> {
        let len = members
            .checked_mul(4)
            .and_then(|m| m.checked_add(key_len))
            .ok_or(SframeWasmError::BadInput("lengths overflow"))?;
        let input = self.input(len)?.to_vec();
        let (key, leaves) = input.split_at(key_len);
        let leaves: Vec<u32> = leaves
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        self.participant(handle)?
            .add_epoch(millis(now_ms), epoch, key, &leaves)
    }

    /// Encrypts the `len`-byte plaintext at [`INPUT_OFFSET`] for stream `context`; the frame
    /// is the output. Returns its length.
    ///
    /// # Errors
    /// The counted [`TransformDrop`] (as `Ok(Err(..))`), or a [`SframeWasmError`] for a bad
    /// handle or length.
    pub fn encrypt(
        &mut self,
        handle: u32,
        now_ms: f64,
        context: u64,
        config_bit: Option<bool>,
        len: usize,
    ) -> Result<Result<usize, TransformDrop>, SframeWasmError> {
        self.input(len.saturating_add(MAX_TAG_LEN))?;
        let Self {
            io, participants, ..
        } = self;
        let p = usize::try_from(handle)
            .ok()
            .and_then(|i| participants.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(SframeWasmError::NoSuchParticipant(handle))?;
        let result = p.encrypt(millis(now_ms), context, config_bit, io, len);
        if let Ok(frame) = &result {
            self.output = frame.clone();
        }
        Ok(result.map(|frame| frame.len()))
    }

    /// Decrypts the `len`-byte frame at [`INPUT_OFFSET`] in place; the plaintext is the
    /// output. Returns its length.
    ///
    /// # Errors
    /// As [`Instance::encrypt`].
    pub fn decrypt(
        &mut self,
        handle: u32,
        now_ms: f64,
        len: usize,
    ) -> Result<Result<usize, TransformDrop>, SframeWasmError> {
        self.input(len)?;
        let Self {
            io, participants, ..
        } = self;
        let p = usize::try_from(handle)
            .ok()
            .and_then(|i| participants.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(SframeWasmError::NoSuchParticipant(handle))?;
        let frame =
            io.get_mut(INPUT_OFFSET..INPUT_OFFSET + len)
                .ok_or(SframeWasmError::BadInput(
                    "input longer than the reserved buffer",
                ))?;
        let result = p.decrypt(millis(now_ms), frame);
        if let Ok(opened) = &result {
            let Range { start, end } = opened.plaintext;
            self.output = INPUT_OFFSET + start..INPUT_OFFSET + end;
        }
        Ok(result.map(|opened| opened.plaintext.len()))
    }

    /// Writes the participant's counts as JSON ([`crate::ParticipantStats::to_json`]) as the
    /// output; returns its length.
    ///
    /// # Errors
    /// [`SframeWasmError::NoSuchParticipant`].
    pub fn stats_json(&mut self, handle: u32) -> Result<usize, SframeWasmError> {
        let json = self.participant(handle)?.stats().to_json();
        self.put_output(json.as_bytes());
        Ok(json.len())
    }

    fn put_output(&mut self, bytes: &[u8]) {
        let buf = self.reserve(bytes.len());
        if let Some(dst) = buf.get_mut(INPUT_OFFSET..INPUT_OFFSET + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.output = INPUT_OFFSET..INPUT_OFFSET + bytes.len();
    }

    /// Known-answer encryption with the SFrame core alone: the input is `base_key` (`key_len`
    /// bytes), metadata (`meta_len`), plaintext (`pt_len`); the output is the frame of
    /// `kid` and `ctr`. Returns its length.
    ///
    /// # Errors
    /// [`SframeWasmError::UnknownSuite`], [`SframeWasmError::BadInput`],
    /// [`SframeWasmError::Sframe`].
    pub fn vector_encrypt(
        &mut self,
        suite: u32,
        kid: u64,
        ctr: u64,
        lens: [usize; 3],
    ) -> Result<usize, SframeWasmError> {
        let suite = suite_of(suite)?;
        let [key, meta, mut frame] = self.split_input(lens)?;
        let mut sender = Sender::with_backend(suite, sframe_core::Backend::RustCrypto);
        sender
            .add_key_with_counter(kid, &key, ctr)
            .map_err(SframeWasmError::Sframe)?;
        sender
            .encrypt(kid, &meta, &mut frame)
            .map_err(SframeWasmError::Sframe)?;
        self.put_output(&frame);
        Ok(frame.len())
    }

    /// Known-answer decryption: the input is `base_key`, metadata, frame; the output is the
    /// plaintext. Returns its length.
    ///
    /// # Errors
    /// As [`Instance::vector_encrypt`].
    pub fn vector_decrypt(
        &mut self,
        suite: u32,
        kid: u64,
        lens: [usize; 3],
    ) -> Result<usize, SframeWasmError> {
        let suite = suite_of(suite)?;
        let [key, meta, mut frame] = self.split_input(lens)?;
        let config = sframe_core::ReceiverConfig::default();
        let mut receiver = Receiver::with_config(suite, sframe_core::Backend::RustCrypto, config);
        receiver
            .add_key(kid, &key)
            .map_err(SframeWasmError::Sframe)?;
        let plaintext = receiver
            .decrypt_in_place(&meta, &mut frame)
            .map_err(SframeWasmError::Sframe)?
            .to_vec();
        self.put_output(&plaintext);
        Ok(plaintext.len())
    }

    /// The input as three consecutive parts of the given lengths.
    fn split_input(&mut self, [a, b, c]: [usize; 3]) -> Result<[Vec<u8>; 3], SframeWasmError> {
        let total = a
            .checked_add(b)
            .and_then(|ab| ab.checked_add(c))
            .ok_or(SframeWasmError::BadInput("lengths overflow"))?;
        let input = self.input(total)?;
        let (first, rest) = input.split_at(a);
        let (second, third) = rest.split_at(b);
        Ok([first.to_vec(), second.to_vec(), third.to_vec()])
    }
}
