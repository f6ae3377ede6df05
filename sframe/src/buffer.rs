//! Growable buffers that frames are encrypted and decrypted in: [`Vec<u8>`] and
//! [`bytes::BytesMut`]. Fixed buffers use the `&mut [u8]` methods with explicit room.

use bytes::{Buf, BytesMut};

/// A growable byte buffer that a frame can be sealed or opened in.
///
/// Sealing a plaintext that fills the buffer from offset 0 means moving it up by the header
/// length (one `memmove`); callers who want no move at all write the plaintext after
/// [`crate::Sender::header_len`] bytes of room and use
/// [`crate::Sender::encrypt_in_place`].
pub trait FrameBuffer {
    /// The bytes.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Inserts `front` bytes before the contents and appends `back` bytes after them (their
    /// values unspecified).
    fn grow(&mut self, front: usize, back: usize);
    /// Keeps only `start..end` of the contents.
    fn keep(&mut self, start: usize, end: usize);
}

impl FrameBuffer for Vec<u8> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    fn grow(&mut self, front: usize, back: usize) {
        let len = self.len();
        self.resize(len + front + back, 0);
        self.copy_within(..len, front);
    }

    fn keep(&mut self, start: usize, end: usize) {
        self.truncate(end);
        self.drain(..start.min(end));
    }
}

impl FrameBuffer for BytesMut {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    fn grow(&mut self, front: usize, back: usize) {
        let len = self.len();
        self.resize(len + front + back, 0);
        self.copy_within(..len, front);
    }

    /// O(1): advances the start and truncates the end, no copy.
    fn keep(&mut self, start: usize, end: usize) {
        self.truncate(end);
        self.advance(start.min(self.len()));
    }
}
