//! The SFrame depacketizer of draft-ietf-avtcore-rtp-sframe ("RTP depacketization of
//! SFrame"): plaintext RTP packets in (after SRTP), SFrame frames out, one bounded
//! [`Reassembler`] per SSRC and a bounded number of SSRCs.

use std::collections::HashMap;

use bytes::Bytes;

use crate::descriptor::Descriptor;
use crate::error::{Error, RtpError};
use crate::reassembly::{Fragment, Pushed, Reassembler, ReassemblyConfig, ReassemblyStats};
use crate::rtp_view::RtpView;

/// Limits of a depacketizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepacketizerConfig {
    /// Per-SSRC limits.
    pub reassembly: ReassemblyConfig,
    /// The most SSRCs tracked at once; packets of further SSRCs are refused and counted.
    pub max_streams: usize,
}

impl Default for DepacketizerConfig {
    /// The default [`ReassemblyConfig`] and 16 streams.
    fn default() -> Self {
        Self {
            reassembly: ReassemblyConfig::default(),
            max_streams: 16,
        }
    }
}

/// SFrame frames put back together from RTP packets.
#[derive(Debug)]
pub struct Depacketizer {
    config: DepacketizerConfig,
    streams: HashMap<u32, Reassembler>,
    refused_streams: u64,
    malformed: u64,
}

impl Depacketizer {
    /// An empty depacketizer.
    pub fn new(config: DepacketizerConfig) -> Self {
        Self {
            config,
            streams: HashMap::new(),
            refused_streams: 0,
            malformed: 0,
        }
    }

    /// Pushes one plaintext RTP packet; returns its SSRC and what became of it.
    ///
    /// # Errors
    /// Bad input, counted and dropped: [`Error::Rtp`] for a malformed packet (an empty payload
    /// included: no descriptor), [`Error::UnknownStream`] past `max_streams` SSRCs.
    pub fn push(&mut self, packet: &[u8]) -> Result<(u32, Pushed), Error> {
        let view = match RtpView::parse(packet) {
            Ok(v) => v,
            Err(e) => {
                self.malformed += 1;
                return Err(e.into());
            }
        };
        let range = view.payload_range();
        let Some(&first) = view.payload().first() else {
            self.malformed += 1;
            return Err(RtpError::NoDescriptor.into());
        };
        let d = Descriptor::from_byte(first);
        let ssrc = view.ssrc();
        let fragment = Fragment {
            start: d.start,
            end: d.end,
            origin: d.origin,
            payload_type: view.payload_type(),
            timestamp: view.timestamp(),
            marker: view.marker(),
            // The packet's one copy: the reorder window keeps the payload until its frame is
            // whole (a single-packet frame's buffer is handed on as it is).
            data: Bytes::copy_from_slice(packet.get(range.start + 1..range.end).unwrap_or_default()),
            memory: packet.len(),
        };
        let seq = view.sequence_number();
        if !self.streams.contains_key(&ssrc) && self.streams.len() >= self.config.max_streams {
            self.refused_streams += 1;
            return Err(Error::UnknownStream(ssrc));
        }
        let reassembly = self.config.reassembly;
        let stream = self
            .streams
            .entry(ssrc)
            .or_insert_with(|| Reassembler::new(reassembly));
        Ok((ssrc, stream.push(seq, fragment)))
    }

    /// Forgets the state of `ssrc` (a stream that ended) and returns its last counters
    /// (pending fragments are dropped uncounted: [`Depacketizer::flush`] first to count them).
    pub fn remove_stream(&mut self, ssrc: u32) -> Option<ReassemblyStats> {
        self.streams.remove(&ssrc).map(|r| r.stats())
    }

    /// Counters of one SSRC.
    pub fn stream_stats(&self, ssrc: u32) -> Option<ReassemblyStats> {
        self.streams.get(&ssrc).map(Reassembler::stats)
    }

    /// Counters summed over the SSRCs.
    pub fn stats(&self) -> ReassemblyStats {
        let mut s = ReassemblyStats::default();
        for r in self.streams.values() {
            s.add(&r.stats());
        }
        s
    }

    /// Packets refused because `max_streams` SSRCs were already tracked.
    pub fn refused_streams(&self) -> u64 {
        self.refused_streams
    }

    /// Packets refused as malformed RTP.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Fragments pending over all SSRCs.
    pub fn pending_fragments(&self) -> usize {
        self.streams
            .values()
            .map(Reassembler::pending_fragments)
            .sum()
    }

    /// Packet memory held by pending fragments over all SSRCs.
    pub fn pending_bytes(&self) -> usize {
        self.streams.values().map(Reassembler::pending_bytes).sum()
    }

    /// End of all streams: evicts every pending fragment and counts what never arrived.
    pub fn flush(&mut self) {
        for r in self.streams.values_mut() {
            r.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::Origin;
    use crate::packetizer::{FrameMetadata, Packetizer, PacketizerConfig};

    fn packets(ssrc: u32, first_seq: u16, frames: &[&[u8]], pt: u8) -> Vec<Vec<u8>> {
        let cfg = PacketizerConfig {
            mtu: 60,
            srtp_overhead: 0,
        };
        let mut p = Packetizer::new(ssrc, first_seq, cfg);
        let mut out = vec![];
        for (i, f) in frames.iter().enumerate() {
            let meta = FrameMetadata {
                payload_type: pt,
                timestamp: 3000 * i as u32,
                marker: true,
                ..FrameMetadata::default()
            };
            p.packetize_frame(&meta, Origin::Raw, f, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn two_streams_interleaved_and_reversed() {
        let a: Vec<&[u8]> = vec![&[1; 100], &[2; 10], &[3; 300]];
        let b: Vec<&[u8]> = vec![&[9; 200]];
        let mut all: Vec<Vec<u8>> = packets(1, 65500, &a, 96);
        all.extend(packets(2, 7, &b, 97));
        all.reverse();
        let mut d = Depacketizer::new(DepacketizerConfig::default());
        let mut got = vec![];
        for p in all {
            if let (ssrc, Pushed::Frame(f)) = d.push(&p).unwrap() {
                got.push((ssrc, f.data.to_vec()));
            }
        }
        got.sort();
        assert_eq!(
            got,
            vec![
                (1, vec![1; 100]),
                (1, vec![2; 10]),
                (1, vec![3; 300]),
                (2, vec![9; 200])
            ]
        );
        assert_eq!(d.pending_fragments(), 0);
    }

    #[test]
    fn bad_packets_are_typed_errors_and_counted() {
        let mut d = Depacketizer::new(DepacketizerConfig::default());
        assert!(matches!(
            d.push(&[0x80; 5]),
            Err(Error::Rtp(_))
        ));
        // A valid header with an empty payload: no descriptor.
        let empty = Bytes::from_static(&[0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(d.push(&empty), Err(Error::Rtp(RtpError::NoDescriptor)));
        assert_eq!(d.malformed(), 2);
    }

    #[test]
    fn stream_count_is_bounded() {
        let cfg = DepacketizerConfig {
            max_streams: 2,
            ..DepacketizerConfig::default()
        };
        let mut d = Depacketizer::new(cfg);
        for ssrc in 0..10u32 {
            let p = packets(ssrc, 0, &[&[1; 100]], 96).remove(0);
            let r = d.push(&p);
            assert_eq!(r.is_ok(), ssrc < 2);
        }
        assert_eq!(d.refused_streams(), 8);
    }

    #[test]
    fn mixed_payload_types_are_dropped() {
        let mut pkts = packets(5, 0, &[&[1; 100]], 96);
        // Rewrite the PT of the second fragment.
        pkts[1][1] = (pkts[1][1] & 0x80) | 97;
        let mut d = Depacketizer::new(DepacketizerConfig::default());
        let mut outcomes = vec![];
        for p in pkts {
            outcomes.push(d.push(&p).unwrap().1);
        }
        assert!(outcomes.contains(&Pushed::Inconsistent));
        assert_eq!(d.stats().inconsistent_frames, 1);
        assert_eq!(d.stats().frames, 0);
    }
}
