//! Time and bytes spent in each stage of the crypto path, over a whole meeting.

use std::time::Instant;

use serde::Serialize;

/// Time and bytes spent in one stage of the crypto path.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Meter {
    /// Calls.
    pub calls: u64,
    /// Bytes in.
    pub bytes: u64,
    /// CPU (wall) time in nanoseconds.
    pub nanos: u64,
}

impl Meter {
    /// Counts one call that started at `started` and took `bytes`.
    pub fn add(&mut self, started: Instant, bytes: usize) {
        self.calls += 1;
        self.bytes += bytes as u64;
        self.nanos += started.elapsed().as_nanos() as u64;
    }

    /// MB (10^6 bytes) per second of CPU time in this stage.
    pub fn mb_per_s(&self) -> f64 {
        if self.nanos == 0 {
            0.0
        } else {
            self.bytes as f64 / self.nanos as f64 * 1e3
        }
    }
}

/// The meters of the crypto path, over all participants and the SFU.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CryptoMeters {
    /// The senders' keyrings encrypting.
    pub sframe_encrypt: Meter,
    /// The receivers' keyrings decrypting.
    pub sframe_decrypt: Meter,
    /// The senders' SRTP.
    pub srtp_protect: Meter,
    /// The receivers' SRTP.
    pub srtp_unprotect: Meter,
    /// The SFU: SRTP unprotect of each packet and re-protect per leg.
    pub sfu_srtp: Meter,
}
