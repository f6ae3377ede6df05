//! The invariant "every leg has SRTP keys of its own", checked on the wire.
//!
//! str0m does not expose its DTLS-SRTP keys. But the SFU forwards a packet under its sender's
//! SSRC and sequence number with the same payload, so each copy (the uplink to the SFU, every
//! downlink from it) has the same SRTP index: under one key and salt on two legs, AES-GCM would
//! give the same ciphertext on both, reusing its keystream. [`LegWatch`] taps what every
//! participant sends and receives, keeps a hash of each SRTP payload by SSRC and sequence
//! number, and counts the packets seen on two legs with the same ciphertext (must be 0).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

/// An SRTP packet's SSRC, sequence number and encrypted payload (after the header, its CSRCs
/// and extension; the tag included), or `None` for RTCP (RFC 5761: a second byte of 192-223),
/// STUN, DTLS and anything shorter than an RTP header.
pub fn srtp_payload(datagram: &[u8]) -> Option<(u32, u16, &[u8])> {
    let (&first, &second) = (datagram.first()?, datagram.get(1)?);
    if first >> 6 != 2 || (192..=223).contains(&second) {
        return None;
    }
    let seq = u16::from_be_bytes([*datagram.get(2)?, *datagram.get(3)?]);
    let ssrc = datagram.get(8..12)?;
    let ssrc = u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]);
    let mut at = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = datagram.get(at + 2..at + 4)?;
        at += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    Some((ssrc, seq, datagram.get(at..)?))
}

type Seen = HashMap<(u32, u16), u64>;

/// Taps on every leg of a meeting (see the module docs).
#[derive(Debug, Default)]
pub struct LegWatch {
    legs: Vec<JoinHandle<Seen>>,
}

/// What [`LegWatch::finish`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LegReport {
    /// Packets seen on at least two legs (each pair of legs counted).
    pub compared: u64,
    /// Of those, pairs of legs that carried the same ciphertext: must be 0.
    pub same_ciphertext: u64,
}

impl LegWatch {
    /// No leg yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tap for one leg (a participant's sent or received datagrams); it is read until every
    /// copy of the sender is dropped.
    ///
    /// # Errors
    /// If the reading thread cannot start.
    pub fn tap(&mut self) -> std::io::Result<Sender<Vec<u8>>> {
        let (tx, rx) = channel::<Vec<u8>>();
        let leg = std::thread::Builder::new()
            .name("leg-watch".into())
            .spawn(move || {
                let mut seen = Seen::new();
                for d in rx {
                    if let Some((ssrc, seq, payload)) = srtp_payload(&d) {
                        let mut h = DefaultHasher::new();
                        payload.hash(&mut h);
                        seen.insert((ssrc, seq), h.finish());
                    }
                }
                seen
            })?;
        self.legs.push(leg);
        Ok(tx)
    }

    /// Waits for every tap to close and compares the legs.
    pub fn finish(self) -> LegReport {
        let legs: Vec<Seen> = self
            .legs
            .into_iter()
            .filter_map(|l| l.join().ok())
            .collect();
        let mut report = LegReport::default();
        let mut all: HashMap<(u32, u16), Vec<u64>> = HashMap::new();
        for leg in legs {
            for (key, hash) in leg {
                all.entry(key).or_default().push(hash);
            }
        }
        for hashes in all.values() {
            for (i, a) in hashes.iter().enumerate() {
                for b in hashes.iter().skip(i + 1) {
                    report.compared += 1;
                    report.same_ciphertext += u64::from(a == b);
                }
            }
        }
        report
    }
}
