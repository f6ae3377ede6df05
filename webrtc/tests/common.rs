//! Shared by the scenario tests: an SFU on loopback and participants on threads.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sframe_webrtc::{ParticipantConfig, ParticipantHandle, SfuConfig, SfuServer};

/// An SFU on a free loopback port.
pub fn sfu() -> SfuServer {
    sfu_with_timeout(Duration::from_secs(5))
}

/// An SFU that removes participants silent for `timeout`.
pub fn sfu_with_timeout(timeout: Duration) -> SfuServer {
    let mut config = SfuConfig::new("127.0.0.1:0".parse().unwrap());
    config.peer_timeout = timeout;
    SfuServer::start(config).unwrap()
}

/// A participant of `sfu` staying `secs` seconds after joining.
pub fn join(sfu: &SfuServer, name: &str, secs: f64) -> ParticipantHandle {
    let config = ParticipantConfig::new(&sfu.url(), name, Duration::from_secs_f64(secs));
    ParticipantHandle::spawn(config).unwrap()
}

/// Waits (at most `limit`) until `done` holds.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}
