//! The bounded buffer of frames whose epoch is not known yet.

use std::collections::VecDeque;
use std::time::Duration;

/// Bounds on the frames a receiver holds while it waits for their epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingLimits {
    /// At most this many frames (0 disables buffering: such frames are
    /// [`Error::UnknownEpoch`](crate::Error::UnknownEpoch)).
    pub max_frames: usize,
    /// At most this many bytes of frames and metadata.
    pub max_bytes: usize,
    /// A frame is dropped (and reported) this long after it arrived.
    pub max_age: Duration,
}

impl Default for PendingLimits {
    /// 512 frames, 4 MiB, 2 seconds.
    fn default() -> Self {
        Self {
            max_frames: 512,
            max_bytes: 4 << 20,
            max_age: Duration::from_secs(2),
        }
    }
}

#[derive(Debug)]
pub(crate) struct PendingFrame {
    pub(crate) token: u64,
    pub(crate) kid: u64,
    pub(crate) epoch_low: u64,
    pub(crate) frame: Vec<u8>,
    pub(crate) metadata: Vec<u8>,
    pub(crate) received_at: Duration,
}

impl PendingFrame {
    fn size(&self) -> usize {
        self.frame.len() + self.metadata.len()
    }
}

#[derive(Debug)]
pub(crate) struct Pending {
    limits: PendingLimits,
    /// In arrival order (`received_at` never decreases), so the oldest is in front.
    frames: VecDeque<PendingFrame>,
    bytes: usize,
}

impl Pending {
    pub(crate) fn new(limits: PendingLimits) -> Self {
        Self {
            limits,
            frames: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Whether a frame of `size` bytes (frame and metadata) can be held at all.
    pub(crate) fn accepts(&self, size: usize) -> bool {
        self.limits.max_frames > 0 && size <= self.limits.max_bytes
    }

    /// Holds `frame`, evicting the oldest frames as needed; returns the evicted ones. The
    /// caller checked [`Pending::accepts`].
    pub(crate) fn push(&mut self, frame: PendingFrame) -> Vec<PendingFrame> {
        let mut evicted = Vec::new();
        while !self.frames.is_empty()
            && (self.frames.len() >= self.limits.max_frames
                || self.bytes + frame.size() > self.limits.max_bytes)
        {
            if let Some(old) = self.pop_front() {
                evicted.push(old);
            }
        }
        self.bytes += frame.size();
        self.frames.push_back(frame);
        evicted
    }

    fn pop_front(&mut self) -> Option<PendingFrame> {
        let f = self.frames.pop_front()?;
        self.bytes -= f.size();
        Some(f)
    }

    /// Takes out every frame whose KID carries `epoch_low`, oldest first.
    pub(crate) fn take_epoch(&mut self, epoch_low: u64) -> Vec<PendingFrame> {
        if !self.frames.iter().any(|f| f.epoch_low == epoch_low) {
            return Vec::new();
        }
        let (taken, kept): (VecDeque<_>, VecDeque<_>) = self
            .frames
            .drain(..)
            .partition(|f| f.epoch_low == epoch_low);
        self.frames = kept;
        self.bytes = self.frames.iter().map(PendingFrame::size).sum();
        taken.into()
    }

    /// Takes out every frame that has waited `max_age` by `now`.
    pub(crate) fn expire(&mut self, now: Duration) -> Vec<PendingFrame> {
        let mut expired = Vec::new();
        while self
            .frames
            .front()
            .is_some_and(|f| f.received_at.saturating_add(self.limits.max_age) <= now)
        {
            if let Some(f) = self.pop_front() {
                expired.push(f);
            }
        }
        expired
    }

    /// Takes out everything.
    pub(crate) fn take_all(&mut self) -> Vec<PendingFrame> {
        self.bytes = 0;
        self.frames.drain(..).collect()
    }

    /// When the oldest frame expires.
    pub(crate) fn next_expiry(&self) -> Option<Duration> {
        self.frames
            .front()
            .map(|f| f.received_at.saturating_add(self.limits.max_age))
    }

    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}
