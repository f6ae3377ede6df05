//! Media and what comes of it: frames sent through each participant's media path, the SFU
//! forwarding them, and what the keyrings report (epochs, rollovers, frames released late).

use std::time::Instant;

use sframe_mls::{Event, SwitchReason};
use sframe_rtp::{AudioLevel, SframeRtpError, SrtpError};

use crate::config::ACK_DELAY_US;
use crate::error::SimError;
use crate::ledger::{Pid, contains_canary, payload};
use crate::media::Received;
use crate::meeting::{Ev, Meeting, ssrc};
use crate::stream::Kind;

pub(crate) const AUDIO_US: u64 = 20_000;
pub(crate) const AUDIO_BYTES: usize = 120;
pub(crate) const VIDEO_FPS: u64 = 30;
pub(crate) const KEY_FRAME_EVERY: u64 = 90;
pub(crate) const KEY_FRAME_BYTES: usize = 15_000;
pub(crate) const VIDEO_BYTES: (u64, u64) = (800, 4_000);

impl Meeting {
    /// Drains `pid`'s media path: frames decrypted (those its keyring held back and released
    /// included), frames refused, and what its keyring reported.
    pub(crate) fn drain(&mut self, pid: Pid, t: u64) {
        loop {
            let p = &mut self.people[pid];
            let event = match p.inbound.poll(p.member.keyring_mut(), &mut self.meters) {
                None => return,
                Some(Received::Frame {
                    ssrc,
                    timestamp,
                    data,
                }) => {
                    self.ledger.decrypted(pid, ssrc, timestamp, data);
                    continue;
                }
                Some(Received::Refused {
                    ssrc,
                    timestamp,
                    cause,
                }) => {
                    self.ledger.refused(pid, ssrc, timestamp, cause);
                    continue;
                }
                Some(Received::Keyring(event)) => event,
            };
            self.keyring_event(pid, t, event);
        }
    }

    /// Handles one event of `pid`'s keyring.
    fn keyring_event(&mut self, pid: Pid, t: u64, event: Event) {
        let log = &mut self.people[pid].log;
        match event {
            Event::EpochReady { epoch } => {
                log.epochs += 1;
                // Tell the others (the application's signalling channel).
                if let Some(leaf) = self.ledger.people[pid].leaf {
                    for to in 0..self.people.len() {
                        let l = &self.ledger.people[to];
                        if to != pid && l.connected(t) && l.departed_at.is_none() {
                            let d = self.rng.between(0, ACK_DELAY_US);
                            self.schedule.at(
                                t + d,
                                Ev::Ack {
                                    to,
                                    from_leaf: leaf,
                                    epoch,
                                },
                            );
                        }
                    }
                }
            }
            Event::Switched { reason, from, .. } => {
                if from.is_some() {
                    log.switches += 1;
                }
                match reason {
                    SwitchReason::AllAcknowledged => log.switched_all_acknowledged += 1,
                    SwitchReason::GraceExpired => log.switched_grace_expired += 1,
                    SwitchReason::MemberRemoved => log.switched_member_removed += 1,
                    SwitchReason::Forced => log.switched_forced += 1,
                    SwitchReason::First => {}
                }
            }
            Event::Retired { .. } => log.retired += 1,
            // Held frames come out of the media path as frames or refusals, never here.
            Event::Decrypted(_) | Event::Dropped(_) => {}
        }
    }

    pub(crate) fn start_media(&mut self, pid: Pid, t: u64) {
        self.people[pid].sending = true;
        let audio_phase = self.rng.below(AUDIO_US);
        self.schedule.at(t + audio_phase, Ev::Audio(pid));
        let video_phase = self.rng.below(1_000_000 / VIDEO_FPS);
        self.schedule.at(
            t + video_phase,
            Ev::Video {
                pid,
                n: 0,
                start: t + video_phase,
            },
        );
    }

    pub(crate) fn send(
        &mut self,
        pid: Pid,
        kind: Kind,
        len: usize,
        level: Option<AudioLevel>,
        t: u64,
    ) -> Result<(), SimError> {
        let fid = self.ledger.next_fid();
        let data = payload(fid, len);
        let p = &mut self.people[pid];
        let base = match kind {
            Kind::Audio => p.audio_base,
            Kind::Video => p.video_base,
        };
        let timestamp = base.wrapping_add((t / 1000 * kind.ticks_per_ms()) as u32);
        let mut packets = std::mem::take(&mut self.scratch);
        packets.clear();
        let sent = p
            .outbound
            .send(
                p.member.keyring_mut(),
                (kind, timestamp, level),
                &data,
                &mut packets,
                &mut self.meters,
            )
            .map_err(|source| SimError::Media {
                participant: pid,
                source,
            })?;
        let fid = self.ledger.sent(
            pid,
            t,
            ssrc(pid, kind),
            timestamp,
            data.len(),
            sent.kid,
            sent.packets,
        );
        for packet in packets.drain(..) {
            let transit = self.people[pid].uplink.transmit_bytes(t, packet.len());
            if transit.is_lost() {
                self.ledger.uplink_lost(fid);
            }
            let mut arrivals = transit.arrivals();
            if let Some(first) = arrivals.next() {
                if let Some(second) = arrivals.next() {
                    let copy = packet.clone();
                    self.schedule.at(
                        second,
                        Ev::AtSfu {
                            from: pid,
                            packet: copy,
                        },
                    );
                }
                self.schedule.at(first, Ev::AtSfu { from: pid, packet });
            }
        }
        self.scratch = packets;
        self.drain(pid, t);
        Ok(())
    }

    pub(crate) fn at_sfu(&mut self, from: Pid, packet: &mut [u8], t: u64) {
        self.sfu_seen.packets_in += 1;
        self.sfu_seen.bytes_in += packet.len() as u64;
        let len_in = packet.len();
        let started = Instant::now();
        // The SFU's allocation-free path: unprotect in place, one reused output for every
        // destination's copy.
        let mut out = std::mem::take(&mut self.sfu_out);
        let got = match self.sfu.receive_in_place(from as u32, packet, &mut out) {
            Ok(got) => got,
            Err(e) => {
                match e {
                    SframeRtpError::Srtp(SrtpError::Replay { .. }) => {
                        self.sfu_seen.replays_refused += 1;
                    }
                    SframeRtpError::UnknownParticipant(_) => self.sfu_seen.from_disconnected += 1,
                    _ => self.sfu_seen.other_refused += 1,
                }
                self.sfu_out = out;
                return;
            }
        };
        let out_bytes: usize = out.iter().map(|(_, p)| p.len()).sum();
        self.meters.sfu_srtp.add(started, len_in + out_bytes);
        // What the SFU holds of the media: the RTP header and the SFrame payload.
        if contains_canary(got.seen) {
            self.sfu_seen.plaintext_canaries += 1;
        }
        let info = got.info;
        self.sfu_seen.sframe_headers_read += u64::from(info.sframe.is_some());
        let fid = self.ledger.fid_of(info.ssrc, info.timestamp);
        while let Some((to, srtp)) = out.poll_transmit() {
            let to = to as Pid;
            // Signalling: the SFU names a source to a receiver before forwarding it.
            self.people[to].name_source(info.ssrc);
            self.sfu_seen.packets_out += 1;
            self.sfu_seen.bytes_out += srtp.len() as u64;
            let transit = self.people[to].downlink.transmit_bytes(t, srtp.len());
            if let Some(fid) = fid {
                self.ledger.downlink(fid, to, transit.first_arrival());
            }
            let mut arrivals = transit.arrivals();
            if let Some(first) = arrivals.next() {
                if let Some(second) = arrivals.next() {
                    let packet = self.packets.copy_of(srtp);
                    self.schedule.at(second, Ev::AtParticipant { to, packet });
                }
                let packet = self.packets.copy_of(srtp);
                self.schedule.at(first, Ev::AtParticipant { to, packet });
            }
        }
        self.sfu_out = out;
    }
}
