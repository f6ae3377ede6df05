//! A selective forwarding unit that terminates SRTP on every leg and forwards what it cannot
//! read.
//!
//! The SFU holds one SRTP context per direction per participant and **no SFrame key**: it reads
//! the RTP header and extensions, the SFrame payload descriptor and, on a frame's first packet,
//! the SFrame header (KID and CTR, which are in clear), and forwards each packet to every other
//! participant, re-protected with that participant's SRTP key. Sans IO: packets in, packets out.
//!
//! A participant may also take some sources through a *slot*: one outgoing SSRC whose source the
//! SFU switches (an "active speaker" view). The switch happens on a frame boundary (the new
//! source's next packet with S, once the old source's last forwarded packet had E), and the SFU
//! rewrites SSRC, sequence number and timestamp so the participant sees one continuous stream.
//! The timestamp continues at the last one sent plus one (the SFU has no clock). Rewriting the
//! SSRC is compatible with shared SFrame keys (the receiver picks the key by KID) but not with
//! per-SSRC keys, whose receiver would need the source SSRC from signalling.
//!
//! A forwarding policy ([`ForwardingConfig`], given to [`Sfu::with_forwarding`]) limits what goes out: the audio of the top K speakers by their
//! RFC 6464 level, the video of the last N speakers, switching only between frames. Sources
//! the caller gave a [`MediaKind`] are subject to it; the rest are forwarded to everyone. The
//! policy applies to sources a participant receives directly, not through a slot.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;

use crate::audio_level::AudioLevel;
use crate::descriptor::Descriptor;
use crate::error::{Error, RtpError, SrtpError};
use crate::forwarding::{ForwardingConfig, ForwardingStats, MediaKind, Policy};
use crate::rtp_view::{RtpView, rewrite_header};
use crate::srtp::SrtpTransform;

/// A participant's identifier, chosen by the caller.
pub type ParticipantId = u32;

/// What the SFU read from one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// Who sent it.
    pub from: ParticipantId,
    /// Its SSRC.
    pub ssrc: u32,
    /// Its sequence number.
    pub seq: u16,
    /// Its timestamp.
    pub timestamp: u32,
    /// Its payload type.
    pub payload_type: u8,
    /// Its marker bit.
    pub marker: bool,
    /// Its CSRCs.
    pub csrcs: Vec<u32>,
    /// Number of header extension elements.
    pub extensions: usize,
    /// The SFrame payload descriptor.
    pub descriptor: Descriptor,
    /// The SFrame header (KID, CTR) of a frame's first packet; `None` on other packets or if it
    /// does not parse (then the packet is forwarded all the same: the SFU cannot judge).
    pub sframe: Option<sframe_core::Header>,
}

/// The result of [`Sfu::receive`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarded {
    /// What the SFU read.
    pub info: PacketInfo,
    /// The packet as the SFU saw it after SRTP: RTP header and SFrame payload, the most the
    /// SFU ever holds of the media.
    pub seen: Bytes,
    /// The SRTP packets to send, per participant.
    pub out: Vec<(ParticipantId, Vec<u8>)>,
}

/// Counters of the SFU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SfuStats {
    /// Packets received from participants.
    pub received: u64,
    /// Packets refused by SRTP as replays.
    pub srtp_replays: u64,
    /// Packets refused by SRTP for failing authentication.
    pub srtp_auth_failures: u64,
    /// Packets refused by SRTP for another reason (unknown SSRC, too short).
    pub srtp_other: u64,
    /// Packets that were not valid RTP with an SFrame descriptor.
    pub malformed: u64,
    /// Packets sent out (one per destination).
    pub forwarded: u64,
    /// Copies not sent because re-protecting them for their destination failed (the
    /// destination's SRTP context refused, e.g. an exhausted index); the other destinations
    /// still get the packet.
    pub protect_failures: u64,
    /// Packets of a slot's old or next source that were not forwarded to that slot.
    pub held_back: u64,
}

#[derive(Debug)]
struct Slot {
    out_ssrc: u32,
    candidates: HashSet<u32>,
    current: Option<u32>,
    next: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    last_out: Option<(u16, u32, bool)>,
}

#[derive(Debug)]
struct Participant {
    inbound: Box<dyn SrtpTransform>,
    outbound: Box<dyn SrtpTransform>,
    sources: Vec<u32>,
    slots: Vec<Slot>,
    forwarding: ForwardingStats,
}

/// The forwarder.
///
/// # Peer input
/// A packet that fails SRTP or is not RTP with an SFrame descriptor is counted and dropped
/// after one SRTP unprotect attempt, and changes nothing but the counters (and the leg's SRTP
/// replay state only once it authenticated). The SFU holds no per-packet memory: every output
/// goes back to the caller; per participant it keeps its SRTP contexts and slots, which only the
/// caller adds.
#[derive(Debug)]
pub struct Sfu {
    participants: HashMap<ParticipantId, Participant>,
    stats: SfuStats,
    policy: Policy,
}

impl Default for Sfu {
    fn default() -> Self {
        Self::with_forwarding(ForwardingConfig::forward_all())
    }
}

impl Sfu {
    /// An SFU with nobody in it, forwarding everything to everyone.
    pub fn new() -> Self {
        Self::default()
    }

    /// An SFU with nobody in it, forwarding by `config`.
    pub fn with_forwarding(config: ForwardingConfig) -> Self {
        Self {
            participants: HashMap::new(),
            stats: SfuStats::default(),
            policy: Policy::new(config),
        }
    }

    /// The forwarding policy.
    pub fn forwarding_config(&self) -> &ForwardingConfig {
        self.policy.config()
    }

    /// Tells the policy that source `ssrc` carries `kind`: from now on its packets are
    /// forwarded by the policy and counted per receiver.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if no participant sends on `ssrc`.
    pub fn set_source_kind(&mut self, ssrc: u32, kind: MediaKind) -> Result<(), Error> {
        let owner = self
            .participants
            .iter()
            .find(|(_, p)| p.sources.contains(&ssrc))
            .map(|(id, _)| *id)
            .ok_or(Error::InvalidConfig("no participant sends on that SSRC"))?;
        self.policy.set_source(ssrc, owner, kind);
        Ok(())
    }

    /// When [`Sfu::handle_timeout`] wants to be called next (`None` while there is no
    /// audio source to rank).
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.policy.poll_timeout()
    }

    /// Re-ranks the speakers from the audio levels received since the last ranking, if
    /// `now` is at or past [`Sfu::poll_timeout`]. The new selection applies from each
    /// source's next frame.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.policy.handle_timeout(now);
    }

    /// The participants whose audio is forwarded, loudest first (empty when audio is not
    /// limited or nobody spoke yet).
    pub fn audio_selection(&self) -> &[ParticipantId] {
        self.policy.audio()
    }

    /// The participants whose video is forwarded, most recent speaker first.
    pub fn video_selection(&self) -> &[ParticipantId] {
        self.policy.video()
    }

    /// What the policy forwarded to participant `id` and what it held back, and why.
    pub fn forwarding_stats(&self, id: ParticipantId) -> Option<ForwardingStats> {
        self.participants.get(&id).map(|p| p.forwarding)
    }

    /// Adds participant `id`, who sends on `sources` (SSRCs), protecting with `inbound` (the
    /// leg's participant-to-SFU context, with replay protection) and `outbound` (SFU to
    /// participant).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `id` is taken or an SSRC is already another's source.
    pub fn add_participant(
        &mut self,
        id: ParticipantId,
        mut inbound: Box<dyn SrtpTransform>,
        outbound: Box<dyn SrtpTransform>,
        sources: &[u32],
    ) -> Result<(), Error> {
        if self.participants.contains_key(&id) {
            return Err(Error::InvalidConfig("participant id taken"));
        }
        if self
            .participants
            .values()
            .any(|p| p.sources.iter().any(|s| sources.contains(s)))
        {
            return Err(Error::InvalidConfig(
                "SSRC already sent by another participant",
            ));
        }
        for &s in sources {
            inbound.allow_ssrc(s);
        }
        self.participants.insert(
            id,
            Participant {
                inbound,
                outbound,
                sources: sources.to_vec(),
                slots: Vec::new(),
                forwarding: ForwardingStats::default(),
            },
        );
        Ok(())
    }

    /// Removes a participant.
    pub fn remove_participant(&mut self, id: ParticipantId) -> bool {
        self.policy.remove_participant(id);
        self.participants.remove(&id).is_some()
    }

    /// The SSRCs participant `id` receives directly (everyone else's sources not taken by one
    /// of its slots), then its slots' SSRCs.
    pub fn ssrcs_for(&self, id: ParticipantId) -> Vec<u32> {
        let Some(me) = self.participants.get(&id) else {
            return Vec::new();
        };
        let mut v: Vec<u32> = self
            .participants
            .iter()
            .filter(|(other, _)| **other != id)
            .flat_map(|(_, p)| p.sources.iter().copied())
            .filter(|s| !me.slots.iter().any(|slot| slot.candidates.contains(s)))
            .collect();
        v.sort_unstable();
        v.extend(me.slots.iter().map(|s| s.out_ssrc));
        v
    }

    /// Gives participant `id` a slot: sources in `candidates` stop being forwarded to it
    /// directly and reach it as SSRC `out_ssrc`, starting with `first`.
    ///
    /// # Errors
    /// [`Error::UnknownParticipant`].
    pub fn add_slot(
        &mut self,
        id: ParticipantId,
        out_ssrc: u32,
        candidates: &[u32],
        first: u32,
    ) -> Result<(), Error> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(Error::UnknownParticipant(id))?;
        p.slots.push(Slot {
            out_ssrc,
            candidates: candidates.iter().copied().collect(),
            current: None,
            next: Some(first),
            seq_offset: 0,
            ts_offset: 0,
            last_out: None,
        });
        Ok(())
    }

    /// Asks slot `out_ssrc` of participant `id` to switch to `source` at the next frame
    /// boundary.
    ///
    /// # Errors
    /// [`Error::UnknownParticipant`], [`Error::InvalidConfig`] for an unknown slot or source.
    pub fn switch_slot(
        &mut self,
        id: ParticipantId,
        out_ssrc: u32,
        source: u32,
    ) -> Result<(), Error> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(Error::UnknownParticipant(id))?;
        let slot = p
            .slots
            .iter_mut()
            .find(|s| s.out_ssrc == out_ssrc)
            .ok_or(Error::InvalidConfig("no such slot"))?;
        if !slot.candidates.contains(&source) {
            return Err(Error::InvalidConfig(
                "source is not a candidate of the slot",
            ));
        }
        slot.next = Some(source);
        Ok(())
    }

    /// The counters.
    pub fn stats(&self) -> SfuStats {
        self.stats
    }

    /// Handles one SRTP packet from participant `from`.
    ///
    /// A copy that cannot be re-protected for one destination is skipped and counted
    /// ([`SfuStats::protect_failures`]); it never costs the other destinations their copy, so
    /// a failure halfway through the destinations leaves no half-done state behind.
    ///
    /// # Errors
    /// [`Error::UnknownParticipant`]; bad input, counted: [`Error::Srtp`], [`Error::Rtp`].
    pub fn receive(&mut self, from: ParticipantId, packet: &[u8]) -> Result<Forwarded, Error> {
        self.stats.received += 1;
        let sender = self
            .participants
            .get_mut(&from)
            .ok_or(Error::UnknownParticipant(from))?;
        let mut buf = packet.to_vec();
        let plain = match sender.inbound.unprotect(&mut buf) {
            Ok(p) => bytes::Bytes::copy_from_slice(p),
            Err(e) => {
                match e {
                    Error::Srtp(SrtpError::Replay { .. }) => self.stats.srtp_replays += 1,
                    Error::Srtp(SrtpError::AuthenticationFailed) => {
                        self.stats.srtp_auth_failures += 1;
                    }
                    Error::Rtp(_) => self.stats.malformed += 1,
                    _ => self.stats.srtp_other += 1,
                }
                return Err(e);
            }
        };
        let info = match read(from, &plain) {
            Ok(i) => i,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        let level = if self.policy.reads_level(info.ssrc) {
            RtpView::parse(&plain)
                .ok()
                .and_then(|v| v.extension(self.policy.level_id()))
                .and_then(AudioLevel::from_payload)
                .map(AudioLevel::minus_dbov)
        } else {
            None
        };
        let verdict = self.policy.on_packet(info.ssrc, info.timestamp, level);
        let mut out = Vec::new();
        for (&to, p) in &mut self.participants {
            if to == from {
                continue;
            }
            let mut via_slot = false;
            let mut rewritten = None;
            for slot in &mut p.slots {
                if !slot.candidates.contains(&info.ssrc) {
                    continue;
                }
                via_slot = true;
                if let Some(ids) = slot.route(&info) {
                    rewritten = Some(ids);
                }
            }
            if let (false, Some(v)) = (via_slot, verdict) {
                p.forwarding.count(&v);
                if v.hold.is_some() {
                    continue;
                }
            }
            let mut packet = plain.to_vec();
            if let (false, Some(v)) = (via_slot, verdict)
                && v.seq_offset != 0
                && rewrite_header(
                    &mut packet,
                    info.ssrc,
                    info.seq.wrapping_sub(v.seq_offset),
                    info.timestamp,
                )
                .is_err()
            {
                // Cannot happen: `read` parsed this header. Skipped, never half-sent to the
                // other destinations.
                continue;
            }
            if via_slot {
                let Some((ssrc, seq, ts)) = rewritten else {
                    self.stats.held_back += 1;
                    continue;
                };
                if rewrite_header(&mut packet, ssrc, seq, ts).is_err() {
                    // Cannot happen: `read` parsed this header. Counted, never half-sent.
                    self.stats.protect_failures += 1;
                    continue;
                }
            }
            let len = packet.len();
            packet.resize(len + p.outbound.profile().overhead(), 0);
            match p.outbound.protect(&mut packet, len) {
                Ok(n) => packet.truncate(n),
                Err(_) => {
                    self.stats.protect_failures += 1;
                    continue;
                }
            }
            self.stats.forwarded += 1;
            out.push((to, packet));
        }
        out.sort_by_key(|(to, _)| *to);
        Ok(Forwarded {
            info,
            seen: plain,
            out,
        })
    }
}

impl Slot {
    /// Where a packet of a candidate source goes in this slot, if anywhere: the rewritten
    /// SSRC, sequence number and timestamp.
    fn route(&mut self, info: &PacketInfo) -> Option<(u32, u16, u32)> {
        let frame_done = self.last_out.is_none_or(|(_, _, end)| end);
        let switching = self.next.is_some_and(|n| Some(n) != self.current);
        if switching && self.current == Some(info.ssrc) && info.descriptor.start && frame_done {
            // The old source would start a new frame: stop it here, the slot waits for the
            // new source's first frame.
            self.current = None;
        }
        if self.next == Some(info.ssrc) && info.descriptor.start && frame_done {
            // Switch: continue the outgoing numbering right after the last packet sent.
            let (seq, ts) = match self.last_out {
                Some((seq, ts, _)) => (seq.wrapping_add(1), ts.wrapping_add(1)),
                None => (info.seq, info.timestamp),
            };
            self.seq_offset = seq.wrapping_sub(info.seq);
            self.ts_offset = ts.wrapping_sub(info.timestamp);
            self.current = self.next.take();
        }
        if self.current != Some(info.ssrc) {
            return None;
        }
        let seq = info.seq.wrapping_add(self.seq_offset);
        let ts = info.timestamp.wrapping_add(self.ts_offset);
        // Keep the newest (in sequence order) for the next switch.
        let newer = self
            .last_out
            .is_none_or(|(last, _, _)| (seq.wrapping_sub(last) as i16) > 0);
        if newer {
            self.last_out = Some((seq, ts, info.descriptor.end));
        }
        Some((self.out_ssrc, seq, ts))
    }
}

fn read(from: ParticipantId, plain: &[u8]) -> Result<PacketInfo, RtpError> {
    let view = RtpView::parse(plain)?;
    let payload = view.payload();
    let (&first, rest) = payload.split_first().ok_or(RtpError::NoDescriptor)?;
    let descriptor = Descriptor::from_byte(first);
    let sframe = if descriptor.start {
        sframe_core::Header::parse(rest).ok().map(|(h, _)| h)
    } else {
        None
    };
    let extensions = view.to_header().map(|h| h.extensions.len())?;
    Ok(PacketInfo {
        from,
        ssrc: view.ssrc(),
        seq: view.sequence_number(),
        timestamp: view.timestamp(),
        payload_type: view.payload_type(),
        marker: view.marker(),
        csrcs: view.csrcs().collect(),
        extensions,
        descriptor,
        sframe,
    })
}
