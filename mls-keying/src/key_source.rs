//! The keyring as a key source of the core ([`FrameSealer`], [`FrameOpener`]), so a media
//! pipeline generic over those traits carries MLS-keyed media.
//!
//! Sealing: the stream is the RFC 9605 section 5.2 context (one KID space per media stream of
//! this member). Opening: everything comes from the KID; frames of epochs not known yet are
//! held and come back through [`FrameOpener::poll_event`] with the caller's token.

use core::ops::Range;
use std::time::Duration;

use sframe_core::{
    CipherSuite, FrameOpener, FrameSealer, Header, Opened, OpenerEvent, ReleasedFrame,
};

use crate::Error;
use crate::keyring::{DropCause, Event, Keyring, Received};

impl FrameSealer for Keyring {
    type Error = Error;

    fn suite(&self) -> CipherSuite {
        self.config().suite
    }

    fn next_header(&mut self, stream: u64) -> Result<Header, Error> {
        self.next_send_header(stream)
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

impl FrameOpener for Keyring {
    type Error = Error;
    type Event = Event;

    fn open<'a>(
        &mut self,
        now: Duration,
        stream: u64,
        token: u64,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<Opened<'a>, Error> {
        Ok(
            match self.decrypt_from(now, stream, token, metadata, frame)? {
                Received::Plaintext { info, data } => Opened::Plaintext {
                    header: Header::new(info.kid, info.ctr),
                    data,
                },
                Received::Buffered => Opened::Held,
            },
        )
    }

    fn poll_event(&mut self) -> Option<OpenerEvent<Error, Event>> {
        Some(match Keyring::poll_event(self)? {
            Event::Decrypted(d) => OpenerEvent::Opened(ReleasedFrame {
                token: d.token,
                header: Header::new(d.info.kid, d.info.ctr),
                buf: d.buf,
                plaintext: d.range,
            }),
            Event::Dropped(d) => OpenerEvent::Dropped {
                token: d.token,
                kid: d.kid,
                error: match d.cause {
                    DropCause::Expired => Error::HeldExpired { kid: d.kid },
                    DropCause::Overflow => Error::HeldEvicted { kid: d.kid },
                    DropCause::Cleared => Error::Cleared { kid: d.kid },
                    DropCause::Undecryptable(e) => e,
                },
            },
            other => OpenerEvent::Other(other),
        })
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Keyring::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Duration) {
        Keyring::handle_timeout(self, now);
    }
}
