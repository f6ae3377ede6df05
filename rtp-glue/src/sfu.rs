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

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bytes::Bytes;

use crate::audio_level::AudioLevel;
use crate::descriptor::Descriptor;
use crate::error::{Error, RtpError, SrtpError};
use crate::forwarding::{
    ForwardingConfig, ForwardingStats, MediaKind, Policy, SourceDemand, Verdict,
};
use crate::rtp_view::{FIXED_HEADER_LEN, RtpView, rewrite_header};
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

/// The most CSRCs an RTP header holds (its 4-bit count).
const MAX_CSRCS: usize = 15;

/// What the SFU read from one packet, as [`PacketInfo`] but held in place (the CSRCs in a
/// fixed array): what [`Sfu::receive_in_place`] returns, without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSummary {
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
    csrcs: [u32; MAX_CSRCS],
    csrc_count: u8,
    /// Number of header extension elements.
    pub extensions: usize,
    /// The SFrame payload descriptor.
    pub descriptor: Descriptor,
    /// The SFrame header (KID, CTR) of a frame's first packet, as [`PacketInfo::sframe`].
    pub sframe: Option<sframe_core::Header>,
}

impl PacketSummary {
    /// Its CSRCs.
    pub fn csrcs(&self) -> &[u32] {
        self.csrcs
            .get(..usize::from(self.csrc_count))
            .unwrap_or(&[])
    }
}

impl From<PacketSummary> for PacketInfo {
    fn from(s: PacketSummary) -> Self {
        Self {
            from: s.from,
            ssrc: s.ssrc,
            seq: s.seq,
            timestamp: s.timestamp,
            payload_type: s.payload_type,
            marker: s.marker,
            csrcs: s.csrcs().to_vec(),
            extensions: s.extensions,
            descriptor: s.descriptor,
            sframe: s.sframe,
        }
    }
}

/// The result of [`Sfu::receive_in_place`]; the packets to send are in the [`SfuOutput`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SfuReceived<'a> {
    /// What the SFU read.
    pub info: PacketSummary,
    /// The packet as the SFU saw it after SRTP (as [`Forwarded::seen`]): a sub-slice of the
    /// caller's receive buffer.
    pub seen: &'a [u8],
}

/// One destination's packet in an [`SfuOutput`].
#[derive(Clone, Default)]
struct Transmit {
    to: ParticipantId,
    buf: Vec<u8>,
    len: usize,
}

/// Room a new output buffer starts with: a packet of a 1,500-byte MTU and the largest SRTP
/// tag, so it does not grow later.
const OUTPUT_CAPACITY: usize = 1_500 + 16;

/// The SRTP packets one [`Sfu::receive_in_place`] call produced, one per destination, in
/// buffers the caller keeps across calls: each call reuses them (allocating only when the
/// fan-out or the packet size is larger than ever before). Read them with
/// [`SfuOutput::iter`], or drain them with [`SfuOutput::poll_transmit`].
#[derive(Clone, Default)]
pub struct SfuOutput {
    packets: Vec<Transmit>,
    /// Packets of the last call (the first `count` of `packets`).
    count: usize,
    /// Packets already handed out by [`SfuOutput::poll_transmit`].
    polled: usize,
}

impl core::fmt::Debug for SfuOutput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SfuOutput")
            .field("packets", &self.count)
            .field("polled", &self.polled)
            .field("buffers", &self.packets.len())
            .finish()
    }
}

impl SfuOutput {
    /// No packets and no buffers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Packets of the last call.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the last call produced no packet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The packets of the last call: destination and SRTP packet, by destination id.
    pub fn iter(&self) -> impl Iterator<Item = (ParticipantId, &[u8])> {
        self.packets
            .iter()
            .take(self.count)
            .map(|t| (t.to, t.buf.get(..t.len).unwrap_or(&[])))
    }

    /// The next packet not yet handed out, if any (each packet once, in [`SfuOutput::iter`]'s
    /// order).
    pub fn poll_transmit(&mut self) -> Option<(ParticipantId, &[u8])> {
        if self.polled >= self.count {
            return None;
        }
        let t = self.packets.get(self.polled)?;
        self.polled += 1;
        Some((t.to, t.buf.get(..t.len).unwrap_or(&[])))
    }

    /// Forgets the packets (the buffers stay).
    pub fn clear(&mut self) {
        self.count = 0;
        self.polled = 0;
    }

    /// The next free buffer, holding `plain` and `room` bytes after it for the SRTP tag.
    fn stage(&mut self, to: ParticipantId, plain: &[u8], room: usize) -> Option<&mut [u8]> {
        if self.packets.len() <= self.count {
            self.packets.push(Transmit {
                to,
                buf: Vec::with_capacity(OUTPUT_CAPACITY.max(plain.len() + room)),
                len: 0,
            });
        }
        let t = self.packets.get_mut(self.count)?;
        t.to = to;
        t.buf.clear();
        t.buf.extend_from_slice(plain);
        t.buf.resize(plain.len() + room, 0);
        Some(&mut t.buf)
    }

    /// Keeps the staged buffer as a packet of `len` bytes.
    fn commit(&mut self, len: usize) {
        if let Some(t) = self.packets.get_mut(self.count) {
            t.len = len;
            self.count += 1;
        }
    }
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
    /// The current source's sequence number it was switched on: an earlier packet of that
    /// source (arriving late) would be renumbered onto outgoing numbers, and so SRTP indices,
    /// already used for the previous source, and is held back.
    switched_at: Option<u16>,
}

#[derive(Debug)]
struct Participant {
    inbound: Box<dyn SrtpTransform>,
    outbound: Box<dyn SrtpTransform>,
    sources: Vec<u32>,
    slots: Vec<Slot>,
    /// What was forwarded to it directly (the held counters stay 0 here: see `Sfu::held`).
    forwarding: ForwardingStats,
    /// `Sfu::held` when it was added.
    held_base: ForwardingStats,
    /// Held packets since then that were not held *from it*: its own, and those of sources
    /// it takes through a slot.
    held_not_its: ForwardingStats,
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
    participants: BTreeMap<ParticipantId, Participant>,
    stats: SfuStats,
    policy: Policy,
    /// Packets the policy held back, counted once each (the selection is one for the whole
    /// SFU, so a held packet is held from every direct receiver): a held packet costs O(1)
    /// whatever the number of participants, and each receiver's held counters are derived.
    held: ForwardingStats,
    /// Participants with at least one slot (only they need a look at a held packet).
    slotted: usize,
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
            participants: BTreeMap::new(),
            stats: SfuStats::default(),
            policy: Policy::new(config),
            held: ForwardingStats::default(),
            slotted: 0,
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

    /// The next change in whether the policy forwards a source to anyone, for the
    /// application to carry to its sender ([`ForwardingConfig`]'s upstream pause). Changes
    /// come from [`Sfu::set_source_kind`] (a video source declared outside the selection) and
    /// [`Sfu::handle_timeout`] (a new ranking); only video is ever paused, and never when
    /// video is not limited.
    pub fn poll_demand(&mut self) -> Option<SourceDemand> {
        self.policy.poll_demand()
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
        self.participants.get(&id).map(|p| {
            p.forwarding
                .with_held(&self.held, &p.held_base, &p.held_not_its)
        })
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
                held_base: self.held,
                held_not_its: ForwardingStats::default(),
            },
        );
        Ok(())
    }

    /// Removes a participant.
    pub fn remove_participant(&mut self, id: ParticipantId) -> bool {
        self.policy.remove_participant(id);
        let removed = self.participants.remove(&id);
        if removed.as_ref().is_some_and(|p| !p.slots.is_empty()) {
            self.slotted -= 1;
        }
        removed.is_some()
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
        self.slotted += usize::from(p.slots.is_empty());
        p.slots.push(Slot {
            out_ssrc,
            candidates: candidates.iter().copied().collect(),
            current: None,
            next: Some(first),
            seq_offset: 0,
            ts_offset: 0,
            last_out: None,
            switched_at: None,
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

    /// Handles one SRTP packet from participant `from`: a convenience over
    /// [`Sfu::receive_in_place`] that copies the packet and returns what it produced in new
    /// buffers (several allocations per packet; a server's hot path keeps an [`SfuOutput`]
    /// and calls [`Sfu::receive_in_place`] instead).
    ///
    /// A copy that cannot be re-protected for one destination is skipped and counted
    /// ([`SfuStats::protect_failures`]); it never costs the other destinations their copy, so
    /// a failure halfway through the destinations leaves no half-done state behind.
    ///
    /// # Errors
    /// [`Error::UnknownParticipant`]; bad input, counted: [`Error::Srtp`], [`Error::Rtp`].
    pub fn receive(&mut self, from: ParticipantId, packet: &[u8]) -> Result<Forwarded, Error> {
        let mut buf = packet.to_vec();
        let mut out = SfuOutput::new();
        let got = self.receive_in_place(from, &mut buf, &mut out)?;
        Ok(Forwarded {
            info: got.info.into(),
            seen: Bytes::copy_from_slice(got.seen),
            out: out.iter().map(|(to, p)| (to, p.to_vec())).collect(),
        })
    }

    /// Handles one SRTP packet from participant `from` without allocating: `packet` (the
    /// caller's receive buffer) is unprotected once in place, its header read where it lies,
    /// and each destination's copy written, rewritten and protected in a buffer of `out`,
    /// which the caller keeps from call to call (its buffers grow to the largest fan-out and
    /// packet seen, then are reused). `out` is emptied first; afterwards it holds the SRTP
    /// packets to send, in the order of the destinations' ids (the same as
    /// [`Forwarded::out`]).
    ///
    /// On success `packet` holds the plaintext RTP packet ([`SfuReceived::seen`] is the
    /// part of it without the SRTP tag). On error its bytes may have been overwritten (an
    /// AES-GCM packet that fails authentication is zeroed) and `out` is empty.
    ///
    /// ```
    /// use sframe_rtp::{Sfu, SfuOutput, SrtpContext, SrtpKeys, SrtpProfile, SrtpTransform};
    ///
    /// let keys = |seed: u8| SrtpKeys {
    ///     profile: SrtpProfile::AeadAes128Gcm,
    ///     master_key: vec![seed; 16],
    ///     master_salt: vec![seed; 12],
    /// };
    /// let mut sfu = Sfu::new();
    /// for id in 1..=3u8 {
    ///     let sources: &[u32] = if id == 1 { &[0x1234] } else { &[] };
    ///     sfu.add_participant(u32::from(id), Box::new(SrtpContext::receiver(&keys(id), 1024)?),
    ///         Box::new(SrtpContext::sender(&keys(id + 10))?), sources)?;
    /// }
    /// // Participant 1 sends an RTP packet (SFrame descriptor 0x40: neither first nor last).
    /// let mut sender = SrtpContext::sender(&keys(1))?;
    /// let mut packet = [0u8; 64];
    /// packet[..12].copy_from_slice(&[0x80, 96, 0, 1, 0, 0, 0, 9, 0, 0, 0x12, 0x34]);
    /// packet[12..16].copy_from_slice(&[0x00, 1, 2, 3]);
    /// let len = sender.protect(&mut packet, 16)?;
    ///
    /// let mut out = SfuOutput::new(); // kept across packets
    /// let got = sfu.receive_in_place(1, &mut packet[..len], &mut out)?;
    /// assert_eq!((got.info.ssrc, got.info.seq), (0x1234, 1));
    /// let to: Vec<u32> = out.iter().map(|(to, _)| to).collect();
    /// assert_eq!(to, [2, 3]);
    /// while let Some((_to, srtp)) = out.poll_transmit() {
    ///     assert_eq!(srtp.len(), 16 + 16); // to the socket
    /// }
    /// # Ok::<(), sframe_rtp::SframeRtpError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Sfu::receive`].
    pub fn receive_in_place<'a>(
        &mut self,
        from: ParticipantId,
        packet: &'a mut [u8],
        out: &mut SfuOutput,
    ) -> Result<SfuReceived<'a>, Error> {
        out.clear();
        self.stats.received += 1;
        let sender = self
            .participants
            .get_mut(&from)
            .ok_or(Error::UnknownParticipant(from))?;
        let plain: &'a [u8] = match sender.inbound.unprotect(packet) {
            Ok(p) => p,
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
        let (info, view) = match read(from, plain) {
            Ok(read) => read,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        let level = if self.policy.reads_level(info.ssrc) {
            view.extension(self.policy.level_id())
                .and_then(AudioLevel::from_payload)
                .map(AudioLevel::minus_dbov)
        } else {
            None
        };
        let verdict = self.policy.on_packet(info.ssrc, info.timestamp, level);
        let held = verdict.filter(|v| v.hold.is_some());
        if let Some(v) = &held {
            self.held.count(v);
            if let Some(sender) = self.participants.get_mut(&from) {
                sender.held_not_its.count(v);
            }
            if self.slotted == 0 {
                return Ok(SfuReceived { info, seen: plain });
            }
        }
        for (&to, p) in &mut self.participants {
            if to == from || (held.is_some() && p.slots.is_empty()) {
                continue;
            }
            let Some(route) = route(p, &info, verdict.as_ref(), &mut self.stats) else {
                continue;
            };
            let room = p.outbound.profile().overhead();
            let Some(buf) = out.stage(to, plain, room) else {
                self.stats.protect_failures += 1;
                continue;
            };
            match route.apply(buf, &info) {
                Ok(()) => {}
                Err(Rewrite::Skip) => continue,
                Err(Rewrite::Failed) => {
                    self.stats.protect_failures += 1;
                    continue;
                }
            }
            match p.outbound.protect(buf, plain.len()) {
                Ok(n) => out.commit(n),
                Err(_) => {
                    self.stats.protect_failures += 1;
                    continue;
                }
            }
            self.stats.forwarded += 1;
        }
        Ok(SfuReceived { info, seen: plain })
    }
}

/// How one destination gets a packet.
#[derive(Clone, Copy, Debug)]
enum Route {
    /// Directly, its sequence number lowered by what the policy held back before it.
    Direct { seq_offset: u16 },
    /// Through a slot, with this SSRC, sequence number and timestamp.
    Slot(u32, u16, u32),
}

/// Why a destination's copy was dropped while its header was rewritten.
enum Rewrite {
    /// Not counted.
    Skip,
    /// Counted as a protect failure.
    Failed,
}

impl Route {
    fn apply(self, buf: &mut [u8], info: &PacketSummary) -> Result<(), Rewrite> {
        match self {
            Self::Direct { seq_offset: 0 } => Ok(()),
            // Cannot fail: `read` parsed this header. Skipped, never half-sent to the other
            // destinations.
            Self::Direct { seq_offset } => rewrite_header(
                buf,
                info.ssrc,
                info.seq.wrapping_sub(seq_offset),
                info.timestamp,
            )
            .map_err(|_| Rewrite::Skip),
            // Cannot fail either. Counted, never half-sent.
            Self::Slot(ssrc, seq, ts) => {
                rewrite_header(buf, ssrc, seq, ts).map_err(|_| Rewrite::Failed)
            }
        }
    }
}

/// Whether and how participant `p` gets the packet `info` (its slots and the policy's
/// `verdict` decide); counts what the policy and the slots held back.
fn route(
    p: &mut Participant,
    info: &PacketSummary,
    verdict: Option<&Verdict>,
    stats: &mut SfuStats,
) -> Option<Route> {
    let mut via_slot = false;
    let mut rewritten = None;
    for slot in &mut p.slots {
        if !slot.candidates.contains(&info.ssrc) {
            continue;
        }
        via_slot = true;
        if let Some(ids) = slot.route(info) {
            rewritten = Some(ids);
        }
    }
    if via_slot {
        if let Some(v) = verdict.filter(|v| v.hold.is_some()) {
            // Counted as held for everyone; not for a receiver taking it through a slot.
            p.held_not_its.count(v);
        }
        let Some((ssrc, seq, ts)) = rewritten else {
            stats.held_back += 1;
            return None;
        };
        return Some(Route::Slot(ssrc, seq, ts));
    }
    match verdict {
        Some(v) => {
            if v.hold.is_some() {
                return None;
            }
            p.forwarding.count(v);
            Some(Route::Direct {
                seq_offset: v.seq_offset,
            })
        }
        None => Some(Route::Direct { seq_offset: 0 }),
    }
}

impl Slot {
    /// Where a packet of a candidate source goes in this slot, if anywhere: the rewritten
    /// SSRC, sequence number and timestamp.
    fn route(&mut self, info: &PacketSummary) -> Option<(u32, u16, u32)> {
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
            self.switched_at = Some(info.seq);
        }
        if self.current != Some(info.ssrc) {
            return None;
        }
        if self
            .switched_at
            .is_some_and(|at| (info.seq.wrapping_sub(at) as i16) < 0)
        {
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

/// The header fields, CSRCs, descriptor and SFrame header of the plaintext packet `plain`,
/// read where they lie.
fn read(from: ParticipantId, plain: &[u8]) -> Result<(PacketSummary, RtpView<'_>), RtpError> {
    let view = RtpView::parse(plain)?;
    let payload = view.payload();
    let (&first, rest) = payload.split_first().ok_or(RtpError::NoDescriptor)?;
    let descriptor = Descriptor::from_byte(first);
    let sframe = if descriptor.start {
        sframe_core::Header::parse(rest).ok().map(|(h, _)| h)
    } else {
        None
    };
    let mut csrcs = [0u32; MAX_CSRCS];
    let mut csrc_count = 0u8;
    for (slot, csrc) in csrcs.iter_mut().zip(view.csrcs()) {
        *slot = csrc;
        csrc_count += 1;
    }
    let info = PacketSummary {
        from,
        ssrc: view.ssrc(),
        seq: view.sequence_number(),
        timestamp: view.timestamp(),
        payload_type: view.payload_type(),
        marker: view.marker(),
        csrcs,
        csrc_count,
        extensions: extension_count(&view),
        descriptor,
        sframe,
    };
    Ok((info, view))
}

/// The number of header extension elements of a packet [`RtpView::parse`] accepted, counted
/// as the `rtp` crate's `Header::unmarshal` does (one-byte and two-byte elements, padding
/// not counted; one opaque element for another profile), without allocating.
fn extension_count(view: &RtpView<'_>) -> usize {
    let bytes = view.bytes();
    let Some(&b0) = bytes.first() else {
        return 0;
    };
    if b0 & 0x10 == 0 {
        return 0;
    }
    let at = FIXED_HEADER_LEN + 4 * usize::from(b0 & 0x0F);
    let one_byte = match bytes.get(at..at + 2) {
        Some(&[0xBE, 0xDE]) => true,
        Some(&[0x10, 0x00]) => false,
        _ => return 1,
    };
    let end = view.header_len();
    let mut at = at + 4;
    let mut count = 0;
    while at < end {
        let Some(&x) = bytes.get(at) else {
            break;
        };
        at += 1;
        if x == 0 {
            continue; // padding
        }
        count += 1;
        at += if one_byte {
            usize::from(x & 0x0F) + 1
        } else {
            1 + usize::from(bytes.get(at).copied().unwrap_or(0))
        };
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `read` counts extension elements in place as the `rtp` crate's parser (which the
        /// SFU used before, allocating) does, on every header `RtpView` accepts.
        #[test]
        fn extension_count_agrees_with_rtp(
            profile in proptest::sample::select(vec![0xBEDEu16, 0x1000, 0x1234]),
            cc in 0u8..3,
            block in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..8),
        ) {
            let mut wire = vec![0x90 | cc, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
            wire.extend(std::iter::repeat_n(7u8, 4 * usize::from(cc)));
            wire.extend_from_slice(&profile.to_be_bytes());
            wire.extend_from_slice(&((block.len() / 4) as u16).to_be_bytes());
            wire.extend_from_slice(&block[..block.len() / 4 * 4]);
            wire.extend_from_slice(&tail);
            if let Ok(view) = RtpView::parse(&wire) {
                let header = view.to_header();
                proptest::prop_assert!(header.is_ok());
                if let Ok(h) = header {
                    proptest::prop_assert_eq!(extension_count(&view), h.extensions.len());
                }
            }
        }
    }

    #[test]
    fn no_extension_bit_no_extensions() {
        let wire = [0x80, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x40];
        let view = RtpView::parse(&wire).unwrap();
        assert_eq!(extension_count(&view), 0);
        let (info, _) = read(4, &wire).unwrap();
        assert!(info.csrcs().is_empty());
        assert_eq!(PacketInfo::from(info).csrcs, Vec::<u32>::new());
    }
}
