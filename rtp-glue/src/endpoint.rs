//! A whole media endpoint: one key source, a [`MediaSender`] and a [`MediaReceiver`], and one
//! drain for everything they have to say.

use std::time::Duration;

use sframe_core::{FrameOpener, FrameSealer};

use crate::codec::Codec;
use crate::error::Error;
use crate::media_receiver::{MediaFrame, MediaReceiver, MediaReceiverConfig, ReceiveOutput};
use crate::media_sender::{MediaSender, MediaSenderConfig, Transmit};
use crate::packetizer::FrameMetadata;
use crate::pipeline_error::PipelineError;
use crate::srtp::SrtpTransform;

/// What [`MediaEndpoint::poll_output`] hands out, in this order: packets to send, then
/// received frames, drops and key-source events as they happened.
#[derive(Debug)]
pub enum Output<'a, E, Ev> {
    /// An SRTP packet to send: `buf[..len]` of the buffer given to `poll_output`.
    Transmit(Transmit),
    /// A decrypted media frame (or codec payload).
    Frame(MediaFrame<'a>),
    /// A received frame given up.
    Dropped(crate::media_receiver::DroppedMedia<E>),
    /// The key source's own event (the MLS keyring: epoch ready, switched, retired).
    KeySource(Ev),
}

/// A media endpoint that sends and receives through one key source `K`: a core
/// `StaticKeys`, per-SSRC [`SsrcKeys`](crate::SsrcKeys), or the MLS epoch keyring.
pub struct MediaEndpoint<K: FrameSealer + FrameOpener> {
    keys: K,
    sender: MediaSender,
    receiver: MediaReceiver<K>,
}

impl<K: FrameSealer + FrameOpener> core::fmt::Debug for MediaEndpoint<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaEndpoint")
            .field("sender", &self.sender)
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

impl<K: FrameSealer + FrameOpener> MediaEndpoint<K> {
    /// An endpoint over `keys`, protecting what it sends with `srtp_out` and unprotecting
    /// what it receives with `srtp_in`.
    pub fn new(
        keys: K,
        send: MediaSenderConfig,
        receive: MediaReceiverConfig,
        srtp_out: Box<dyn SrtpTransform>,
        srtp_in: Box<dyn SrtpTransform>,
    ) -> Self {
        Self {
            keys,
            sender: MediaSender::new(send, srtp_out),
            receiver: MediaReceiver::new(receive, srtp_in),
        }
    }

    /// The key source (to give the MLS keyring a new epoch, say).
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The key source, mutably.
    pub fn keys_mut(&mut self) -> &mut K {
        &mut self.keys
    }

    /// The sending half.
    pub fn sender(&self) -> &MediaSender {
        &self.sender
    }

    /// The sending half, mutably (streams).
    pub fn sender_mut(&mut self) -> &mut MediaSender {
        &mut self.sender
    }

    /// The receiving half.
    pub fn receiver(&self) -> &MediaReceiver<K> {
        &self.receiver
    }

    /// The receiving half, mutably (streams, flush).
    pub fn receiver_mut(&mut self) -> &mut MediaReceiver<K> {
        &mut self.receiver
    }

    /// Adds a sending stream (see [`MediaSender::add_stream`]).
    ///
    /// # Errors
    /// As [`MediaSender::add_stream`].
    pub fn add_send_stream(
        &mut self,
        ssrc: u32,
        first_seq: u16,
        key_stream: u64,
        codec: Option<Codec>,
    ) -> Result<(), Error> {
        self.sender.add_stream(ssrc, first_seq, key_stream, codec)
    }

    /// Accepts packets of `ssrc`.
    pub fn add_receive_stream(&mut self, ssrc: u32) {
        self.receiver.add_stream(ssrc);
    }

    /// Seals and queues one media frame (see [`MediaSender::send_frame`]).
    ///
    /// # Errors
    /// As [`MediaSender::send_frame`].
    pub fn send_frame(
        &mut self,
        ssrc: u32,
        frame: &[u8],
        meta: &FrameMetadata,
    ) -> Result<usize, PipelineError<<K as FrameSealer>::Error>> {
        self.sender.send_frame(&mut self.keys, ssrc, frame, meta)
    }

    /// Handles one SRTP packet from the network (see [`MediaReceiver::handle_packet`]).
    ///
    /// # Errors
    /// As [`MediaReceiver::handle_packet`].
    pub fn handle_packet(&mut self, now: Duration, packet: &mut [u8]) -> Result<(), Error> {
        self.receiver.handle_packet(&mut self.keys, now, packet)
    }

    /// When [`MediaEndpoint::handle_timeout`] should run next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.keys.poll_timeout()
    }

    /// Lets time pass.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.receiver.handle_timeout(&mut self.keys, now);
    }

    /// The one drain: run it until `None` after every call that feeds the endpoint. `buf`
    /// (at least the MTU) receives the packets to send.
    ///
    /// # Errors
    /// As [`MediaSender::poll_transmit`].
    #[allow(clippy::type_complexity)]
    pub fn poll_output(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<Output<'_, <K as FrameOpener>::Error, K::Event>>, Error> {
        if let Some(t) = self.sender.poll_transmit(buf)? {
            return Ok(Some(Output::Transmit(t)));
        }
        Ok(self
            .receiver
            .poll_output(&mut self.keys)
            .map(|out| match out {
                ReceiveOutput::Frame(f) => Output::Frame(f),
                ReceiveOutput::Dropped(d) => Output::Dropped(d),
                ReceiveOutput::KeySource(e) => Output::KeySource(e),
            }))
    }
}
