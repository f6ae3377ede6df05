//! Key sources: the two seams a media pipeline seals and opens frames through.
//!
//! A [`FrameSealer`] turns plaintext into SFrame frames for a stream; a [`FrameOpener`] turns
//! frames back into plaintext. Both work in the caller's buffer. The core's [`Sender`] and
//! [`Receiver`] implement them (static keys, and ratchets per RFC 9605 section 5.1), so does
//! [`StaticKeys`] (both at once), and so do the key sources of other crates (the MLS epoch
//! keyring, per-SSRC keys). A pipeline generic over these traits carries media from any of
//! them without knowing which.
//!
//! An opener may *hold* a frame it cannot open yet (the MLS keyring does, for an epoch it does
//! not know yet). The caller gives every frame an opaque `token`; a held frame comes back later
//! through [`FrameOpener::poll_event`] as [`OpenerEvent::Opened`] or [`OpenerEvent::Dropped`]
//! with that token, so the caller can tell which frame it was without hiding anything in the
//! authenticated metadata.

use core::convert::Infallible;
use core::ops::Range;
use std::time::Duration;

use crate::header::Header;
use crate::receiver::Receiver;
use crate::sender::Sender;
use crate::{CipherSuite, Error};

/// Seals frames: the sending side of a key source.
pub trait FrameSealer {
    /// What sealing can fail with (always caller misuse or exhaustion, never peer input).
    type Error: std::error::Error + 'static;

    /// The suite frames are sealed with (for the tag length).
    fn suite(&self) -> CipherSuite;

    /// The header the next frame of `stream` will carry, without using it up. `stream` is the
    /// key source's name for a media stream: the KID for a [`Sender`], the MLS context for the
    /// epoch keyring, the SSRC for per-SSRC keys.
    ///
    /// # Errors
    /// No key for `stream`, counter exhausted.
    fn next_header(&mut self, stream: u64) -> Result<Header, Self::Error>;

    /// Seals `buf[plaintext]` for `stream` in place: the header goes just before the
    /// plaintext, the tag just after; returns the frame, a sub-slice of `buf`. Room for the
    /// header is `next_header(stream).len()` bytes (never more than
    /// [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN)).
    ///
    /// # Errors
    /// As [`FrameSealer::next_header`], and a buffer too small. Nothing is used up on error.
    fn seal<'a>(
        &mut self,
        stream: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Self::Error>;
}

/// The outcome of [`FrameOpener::open`].
#[derive(Debug, PartialEq, Eq)]
pub enum Opened<'a> {
    /// The frame authenticated; its plaintext, a sub-slice of the caller's buffer.
    Plaintext {
        /// The frame's header.
        header: Header,
        /// The plaintext.
        data: &'a mut [u8],
    },
    /// The opener keeps a copy of the frame until it can open it; it comes back through
    /// [`FrameOpener::poll_event`] with the caller's token.
    Held,
}

/// A held frame that was opened later.
#[derive(Clone, PartialEq, Eq)]
pub struct ReleasedFrame {
    /// The token the caller gave with the frame.
    pub token: u64,
    /// The frame's header.
    pub header: Header,
    /// The buffer the frame was held in, decrypted in place.
    pub buf: Vec<u8>,
    /// Where the plaintext is in `buf`.
    pub plaintext: Range<usize>,
}

impl ReleasedFrame {
    /// The plaintext.
    pub fn plaintext(&self) -> &[u8] {
        self.buf.get(self.plaintext.clone()).unwrap_or_default()
    }
}

impl core::fmt::Debug for ReleasedFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReleasedFrame")
            .field("token", &self.token)
            .field("header", &self.header)
            .field("len", &self.plaintext.len())
            .finish_non_exhaustive()
    }
}

/// What an opener reports between frames; drain with [`FrameOpener::poll_event`].
#[derive(Debug)]
pub enum OpenerEvent<E, Ev> {
    /// A held frame opened.
    Opened(ReleasedFrame),
    /// A held frame was given up.
    Dropped {
        /// The token the caller gave with the frame.
        token: u64,
        /// The frame's KID.
        kid: u64,
        /// Why.
        error: E,
    },
    /// Anything else the key source has to say (the MLS keyring: epoch ready, sender
    /// switched, epoch retired).
    Other(Ev),
}

/// Opens frames: the receiving side of a key source.
pub trait FrameOpener {
    /// Why a frame did not open (bad peer input, or a key the receiver does not hold).
    type Error: std::error::Error + 'static;
    /// The key source's own events ([`Infallible`] when it has none).
    type Event;

    /// Opens `frame` (`header || ciphertext || tag`) in place. `stream` is the caller's name
    /// for the media stream the frame came on (the SSRC for per-SSRC keys; ignored by key
    /// sources that find everything in the KID); `token` names the frame if it is held.
    ///
    /// # Errors
    /// Bad peer input or a missing key; the opener's state is unchanged.
    fn open<'a>(
        &mut self,
        now: Duration,
        stream: u64,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Self::Error>;

    /// The next event: a held frame opened or dropped, or the source's own event.
    fn poll_event(&mut self) -> Option<OpenerEvent<Self::Error, Self::Event>>;

    /// When [`FrameOpener::handle_timeout`] should be called next, if ever.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }

    /// Lets time pass (held frames expire).
    fn handle_timeout(&mut self, now: Duration) {
        let _ = now;
    }
}

impl FrameSealer for Sender {
    type Error = Error;

    fn suite(&self) -> CipherSuite {
        Sender::suite(self)
    }

    fn next_header(&mut self, stream: u64) -> Result<Header, Error> {
        Ok(Header::new(stream, self.next_counter(stream)?))
    }

    fn seal<'a>(
        &mut self,
        stream: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Error> {
        self.encrypt_in_place(stream, metadata, buf, plaintext)
    }
}

impl FrameOpener for Receiver {
    type Error = Error;
    type Event = Infallible;

    fn open<'a>(
        &mut self,
        _now: Duration,
        _stream: u64,
        _token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Error> {
        let (header, data) = self.decrypt_with_header(metadata, frame)?;
        Ok(Opened::Plaintext { header, data })
    }

    fn poll_event(&mut self) -> Option<OpenerEvent<Error, Infallible>> {
        None
    }
}

/// A [`Sender`] and a [`Receiver`] as one key source, for endpoints keyed statically (or by
/// ratchets) that both send and receive.
#[derive(Debug)]
pub struct StaticKeys {
    /// Seals what this endpoint sends.
    pub sender: Sender,
    /// Opens what it receives.
    pub receiver: Receiver,
}

impl StaticKeys {
    /// An empty sender and receiver for `suite` on the default backend.
    pub fn new(suite: CipherSuite) -> Self {
        Self {
            sender: Sender::new(suite),
            receiver: Receiver::new(suite),
        }
    }
}

impl FrameSealer for StaticKeys {
    type Error = Error;

    fn suite(&self) -> CipherSuite {
        self.sender.suite()
    }

    fn next_header(&mut self, stream: u64) -> Result<Header, Error> {
        self.sender.next_header(stream)
    }

    fn seal<'a>(
        &mut self,
        stream: u64,
        metadata: &[u8],
        buf: &'a mut [u8],
        plaintext: Range<usize>,
    ) -> Result<&'a mut [u8], Error> {
        self.sender.seal(stream, metadata, buf, plaintext)
    }
}

impl FrameOpener for StaticKeys {
    type Error = Error;
    type Event = Infallible;

    fn open<'a>(
        &mut self,
        now: Duration,
        stream: u64,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Error> {
        self.receiver.open(now, stream, token, metadata, frame)
    }

    fn poll_event(&mut self) -> Option<OpenerEvent<Error, Infallible>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RatchetKid;

    #[test]
    fn static_keys_seal_and_open_in_place_through_the_traits() {
        let suite = CipherSuite::Aes128GcmSha256_128;
        let mut keys = StaticKeys::new(suite);
        keys.sender.add_key(9, b"key").unwrap();
        keys.receiver.add_key(9, b"key").unwrap();
        let header = keys.next_header(9).unwrap();
        assert_eq!((header.kid, header.ctr), (9, 0));
        let mut buf = vec![0u8; 64];
        let start = header.len();
        buf[start..start + 5].copy_from_slice(b"hello");
        let len = keys
            .seal(9, b"m", &mut buf, start..start + 5)
            .unwrap()
            .len();
        assert_eq!(keys.next_header(9).unwrap().ctr, 1);
        match keys
            .open(Duration::ZERO, 0, 0, b"m", &mut buf[..len])
            .unwrap()
        {
            Opened::Plaintext { header: h, data } => {
                assert_eq!(h, header);
                assert_eq!(data, b"hello");
            }
            Opened::Held => panic!("a static receiver never holds"),
        }
        assert!(keys.poll_event().is_none());
    }

    #[test]
    fn a_ratcheting_sender_is_followed_through_the_opener() {
        let suite = CipherSuite::Aes128GcmSha256_128;
        let mut sender = Sender::new(suite);
        let mut kid = sender.add_ratcheting_key(1, 2, b"base").unwrap();
        let mut receiver = Receiver::new(suite);
        receiver
            .add_ratcheting_key(RatchetKid::new(1, 2, 0).unwrap(), b"base")
            .unwrap();
        for i in 0..12u64 {
            if i % 3 == 2 {
                kid = sender.ratchet(kid).unwrap();
            }
            let mut frame = i.to_be_bytes().to_vec();
            sender.encrypt(kid, &[], &mut frame).unwrap();
            let Opened::Plaintext { header, data } = receiver
                .open(Duration::ZERO, 0, i, &[], &mut frame)
                .unwrap()
            else {
                panic!("held")
            };
            assert_eq!(header.kid, kid);
            assert_eq!(data, &i.to_be_bytes());
        }
    }
}
