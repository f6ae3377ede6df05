//! Per-SSRC SFrame keys as a key source (draft-ietf-avtcore-rtp-sframe, "SFrame SDP RTP Key
//! Management"): every RTP stream gets its own SFrame context, keyed with the stream's base key
//! derived from the session's (see [`ssrc_base_key`](crate::ssrc_base_key)), all under the same KID. A stream's key
//! may ratchet (RFC 9605 section 5.1): the sender moves it forward with
//! [`SsrcKeys::ratchet`], and the receiver follows on the first frame under the new step.
//!
//! As a [`FrameSealer`] and [`FrameOpener`], the key source's stream is the SSRC.

use std::collections::HashMap;
use std::convert::Infallible;
use std::ops::Range;
use std::time::Duration;

use sframe_core::{
    Backend, CipherSuite, FrameOpener, FrameSealer, Header, Opened, OpenerEvent, RatchetKid,
    Receiver, ReceiverConfig, Sender,
};

use crate::error::Error;
use crate::keys::ssrc_base_key_with;

/// One sending stream: its own SFrame context and the KID it sends under now.
#[derive(Debug)]
struct SendStream {
    sender: Sender,
    kid: u64,
}

/// Per-SSRC keys for sending and receiving; the stream of the key-source traits is the SSRC.
#[derive(Debug)]
pub struct SsrcKeys {
    suite: CipherSuite,
    backend: Backend,
    receiver_config: ReceiverConfig,
    senders: HashMap<u32, SendStream>,
    receivers: HashMap<u32, Receiver>,
}

impl SsrcKeys {
    /// No streams yet, `suite` on the default backend, default receiver configuration.
    pub fn new(suite: CipherSuite) -> Self {
        Self::with_config(suite, Backend::default(), ReceiverConfig::default())
    }

    /// No streams yet, with an explicit backend and receiver configuration.
    pub fn with_config(suite: CipherSuite, backend: Backend, receiver_config: ReceiverConfig) -> Self {
        Self {
            suite,
            backend,
            receiver_config,
            senders: HashMap::new(),
            receivers: HashMap::new(),
        }
    }

    fn check_new_send(&self, ssrc: u32) -> Result<(), Error> {
        if self.senders.contains_key(&ssrc) {
            return Err(Error::InvalidConfig("SSRC already has a send key"));
        }
        Ok(())
    }

    /// Sends stream `ssrc` under `kid` with the stream key derived from `base_key`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the SSRC has a send key; [`Error::KeyDerivation`];
    /// [`Error::SFrame`].
    pub fn add_send_stream(&mut self, ssrc: u32, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        self.check_new_send(ssrc)?;
        let key = ssrc_base_key_with(self.backend, self.suite, base_key, ssrc)?;
        let mut sender = Sender::with_backend(self.suite, self.backend);
        sender.add_key(kid, key.expose())?;
        self.senders.insert(ssrc, SendStream { sender, kid });
        Ok(())
    }

    /// Sends stream `ssrc` with a ratcheting key (RFC 9605 section 5.1) at `generation` with
    /// `r_bits` ratchet bits, starting from the stream key derived from `base_key`; returns the
    /// first KID.
    ///
    /// # Errors
    /// As [`SsrcKeys::add_send_stream`].
    pub fn add_ratcheting_send_stream(
        &mut self,
        ssrc: u32,
        generation: u64,
        r_bits: u8,
        base_key: &[u8],
    ) -> Result<u64, Error> {
        self.check_new_send(ssrc)?;
        let key = ssrc_base_key_with(self.backend, self.suite, base_key, ssrc)?;
        let mut sender = Sender::with_backend(self.suite, self.backend);
        let kid = sender.add_ratcheting_key(generation, r_bits, key.expose())?;
        self.senders.insert(ssrc, SendStream { sender, kid });
        Ok(kid)
    }

    /// Ratchets the send key of stream `ssrc` one step (forward secrecy: the old key is
    /// zeroized); returns the new KID. Frames sealed from now on carry it.
    ///
    /// # Errors
    /// [`Error::UnknownStream`]; [`Error::SFrame`] if the stream's key does not ratchet (then
    /// nothing changes).
    pub fn ratchet(&mut self, ssrc: u32) -> Result<u64, Error> {
        let s = self.senders.get_mut(&ssrc).ok_or(Error::UnknownStream(ssrc))?;
        s.kid = s.sender.ratchet(s.kid)?;
        Ok(s.kid)
    }

    /// The KID stream `ssrc` sends under now.
    pub fn send_kid(&self, ssrc: u32) -> Option<u64> {
        self.senders.get(&ssrc).map(|s| s.kid)
    }

    fn receiver(&mut self, ssrc: u32) -> &mut Receiver {
        let (suite, backend, config) = (self.suite, self.backend, self.receiver_config);
        self.receivers
            .entry(ssrc)
            .or_insert_with(|| Receiver::with_config(suite, backend, config))
    }

    /// Receives stream `ssrc` under `kid`, with the stream key derived from the sender's
    /// `base_key`.
    ///
    /// # Errors
    /// [`Error::KeyDerivation`]; [`Error::SFrame`] if the KID is in use for this SSRC.
    pub fn add_receive_stream(&mut self, ssrc: u32, kid: u64, base_key: &[u8]) -> Result<(), Error> {
        let key = ssrc_base_key_with(self.backend, self.suite, base_key, ssrc)?;
        self.receiver(ssrc).add_key(kid, key.expose())?;
        Ok(())
    }

    /// Receives stream `ssrc` from a sender whose key ratchets, now at `at`, starting from the
    /// stream key derived from `base_key`. Frames under later steps are followed.
    ///
    /// # Errors
    /// As [`SsrcKeys::add_receive_stream`].
    pub fn add_ratcheting_receive_stream(
        &mut self,
        ssrc: u32,
        at: RatchetKid,
        base_key: &[u8],
    ) -> Result<(), Error> {
        let key = ssrc_base_key_with(self.backend, self.suite, base_key, ssrc)?;
        self.receiver(ssrc).add_ratcheting_key(at, key.expose())?;
        Ok(())
    }

    /// Forgets stream `ssrc` both ways, zeroizing its keys.
    pub fn remove_stream(&mut self, ssrc: u32) {
        self.senders.remove(&ssrc);
        self.receivers.remove(&ssrc);
    }

    fn send_stream(&mut self, stream: u64) -> Result<&mut SendStream, Error> {
        let ssrc = u32::try_from(stream).map_err(|_| Error::InvalidConfig("an SSRC is 32 bits"))?;
        self.senders.get_mut(&ssrc).ok_or(Error::UnknownStream(ssrc))
    }
}

impl FrameSealer for SsrcKeys {
    type Error = Error;

    fn suite(&self) -> CipherSuite {
        self.suite
    }

    fn next_header(&mut self, stream: u64) -> Result<Header, Error> {
        let s = self.send_stream(stream)?;
        Ok(Header::new(s.kid, s.sender.next_counter(s.kid)?))
    }

    fn seal<'a>(
        &mut self,
        stream: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Error> {
        let s = self.send_stream(stream)?;
        Ok(s.sender.encrypt_in_place(s.kid, metadata, buf, plaintext)?)
    }
}

impl FrameOpener for SsrcKeys {
    type Error = Error;
    type Event = Infallible;

    fn open<'a>(
        &mut self,
        _now: Duration,
        stream: u64,
        _token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Error> {
        let ssrc = u32::try_from(stream).map_err(|_| Error::InvalidConfig("an SSRC is 32 bits"))?;
        let receiver = self
            .receivers
            .get_mut(&ssrc)
            .ok_or(Error::UnknownStream(ssrc))?;
        let (header, data) = receiver.decrypt_with_header(metadata, frame)?;
        Ok(Opened::Plaintext { header, data })
    }

    fn poll_event(&mut self) -> Option<OpenerEvent<Error, Infallible>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ssrc_has_its_own_key_under_the_same_kid() {
        let suite = CipherSuite::Aes128GcmSha256_128;
        let mut keys = SsrcKeys::new(suite);
        keys.add_send_stream(1, 7, b"base").unwrap();
        keys.add_send_stream(2, 7, b"base").unwrap();
        let mut rx = SsrcKeys::new(suite);
        rx.add_receive_stream(1, 7, b"base").unwrap();
        let mut frame = vec![0u8; 40];
        let h = keys.next_header(2).unwrap();
        let len = keys
            .seal(2, &[], &mut frame, h.len()..h.len() + 8)
            .unwrap()
            .len();
        // Stream 2's frame does not open as stream 1's, nor on an unknown stream.
        let mut copy = frame[..len].to_vec();
        assert!(matches!(
            rx.open(Duration::ZERO, 1, 0, &[], &mut copy),
            Err(Error::SFrame(sframe_core::Error::AuthenticationFailed))
        ));
        let mut copy = frame[..len].to_vec();
        assert_eq!(
            rx.open(Duration::ZERO, 2, 0, &[], &mut copy),
            Err(Error::UnknownStream(2))
        );
        rx.add_receive_stream(2, 7, b"base").unwrap();
        assert!(matches!(
            rx.open(Duration::ZERO, 2, 0, &[], &mut frame[..len]),
            Ok(Opened::Plaintext { .. })
        ));
        assert_eq!(keys.ratchet(1).map_err(|_| ()), Err(()), "a plain key does not ratchet");
        assert_eq!(keys.send_kid(1), Some(7), "and stays as it was");
    }
}
