//! The end of the meeting: the numbers (one JSON object with `--json`), a readable table, and
//! the invariants, checked from the simulation's ledger.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;
use sframe_rtp::Mode;
use sframe_rtp::sim::LinkStats;

use super::ledger::{Dropped, Tally};
use super::media::{InboundStats, Meter};
use super::simulation::{
    BATCH_US, EPOCH_BITS, KeyringLog, LINGER_US, MTU, Meeting, SRTP_PROFILE, SfuSeen,
};

#[derive(Debug, Serialize)]
pub struct Report {
    /// Every invariant held.
    pub ok: bool,
    /// How many checks failed, and the first messages.
    pub violation_count: u64,
    pub violations: Vec<String>,
    pub config: ConfigView,
    pub meeting: MeetingView,
    pub participants: Vec<ParticipantView>,
    pub totals: Totals,
    pub network: NetworkView,
    pub sfu: SfuView,
    pub crypto: CryptoView,
}

#[derive(Debug, Serialize)]
pub struct ConfigView {
    pub participants: u32,
    pub duration_s: f64,
    pub churn_per_minute: f64,
    pub loss_percent: f64,
    pub reorder_percent: f64,
    pub delay_ms: f64,
    pub jitter_ms: f64,
    pub suite: String,
    pub mode: &'static str,
    pub commit_delay_ms: f64,
    pub grace_ms: f64,
    pub seed: u64,
    pub srtp_profile: &'static str,
    pub mtu: usize,
    pub epoch_bits: u8,
    pub commit_batch_s: f64,
    pub removed_linger_s: f64,
}

#[derive(Debug, Serialize)]
pub struct MeetingView {
    /// Everyone who took part, the leader included.
    pub participants_total: usize,
    pub present_at_end: usize,
    pub commits: u64,
    pub joins: u64,
    pub leaves: u64,
    /// The most joins and leaves in one commit.
    pub biggest_batch: usize,
    pub final_epoch: u64,
    /// The final epoch's security code, if every member present shows the same one.
    pub security_code: Option<String>,
    /// Every epoch's members showed one code, and every present member shows the final one.
    pub codes_agree: bool,
    pub epochs_checked: usize,
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub name: String,
    pub role: &'static str,
    pub leaf: Option<u32>,
    pub joined_epoch: Option<u64>,
    pub removed_epoch: Option<u64>,
    pub frames_sent: u64,
    #[serde(flatten)]
    pub received: Tally,
    pub keyring: KeyringView,
    pub srtp: InboundStats,
    pub security_code: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct KeyringView {
    /// Epochs it could decrypt (given to its keyring).
    pub epochs: u64,
    /// Times its sender moved to a newer epoch.
    pub rollovers: u64,
    pub rollover_all_acknowledged: u64,
    pub rollover_grace_expired: u64,
    pub rollover_member_removed: u64,
    pub rollover_forced: u64,
    /// Epoch keys removed and zeroized.
    pub retired: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub frames_sent: u64,
    pub expected: u64,
    pub decrypted: u64,
    pub lost: u64,
    pub dropped: Dropped,
    pub unaccounted: u64,
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    pub packets: u64,
    pub bytes: u64,
    pub lost: u64,
    pub reordered: u64,
    pub duplicated: u64,
}

impl From<LinkStats> for LinkView {
    fn from(s: LinkStats) -> Self {
        Self {
            packets: s.sent,
            bytes: s.bytes,
            lost: s.lost,
            reordered: s.reordered,
            duplicated: s.duplicated,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NetworkView {
    pub uplinks: LinkView,
    pub downlinks: LinkView,
}

#[derive(Debug, Serialize)]
pub struct SfuView {
    pub packets_received: u64,
    pub bytes_received: u64,
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
    /// Packets whose SFrame header (KID, CTR: in clear) it read.
    pub sframe_headers_read: u64,
    pub replays_refused: u64,
    pub from_disconnected: u64,
    pub other_refused: u64,
    /// Packets, as the SFU held them after SRTP, that contained a frame's plaintext: must be
    /// 0. (The SFU has no SFrame key to hold: `Sfu` takes none.)
    pub plaintext_seen: u64,
}

#[derive(Debug, Serialize)]
pub struct StageView {
    pub calls: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub mb_per_s: f64,
}

impl From<Meter> for StageView {
    fn from(m: Meter) -> Self {
        Self {
            calls: m.calls,
            bytes: m.bytes,
            seconds: m.nanos as f64 / 1e9,
            mb_per_s: m.mb_per_s(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CryptoView {
    pub sframe_encrypt: StageView,
    pub sframe_decrypt: StageView,
    pub srtp_protect: StageView,
    pub srtp_unprotect: StageView,
    pub sfu_srtp: StageView,
    pub mls_seconds: f64,
    pub wall_seconds: f64,
    pub simulated_seconds: f64,
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::PerFrame => "per-frame",
        Mode::PerPacket => "per-packet",
    }
}

fn profile_name() -> &'static str {
    match SRTP_PROFILE {
        sframe_rtp::SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
        _ => "AES_CM_128_HMAC_SHA1_80",
    }
}

impl Report {
    /// Builds the report and checks the invariants.
    pub fn new(m: &Meeting, wall_seconds: f64) -> Self {
        let c = &m.config;
        let ledger = &m.ledger;
        let (first_violations, count) = ledger.violations();
        let mut violations: Vec<String> = first_violations.to_vec();
        let mut violation_count = count;
        let mut fail = |message: String| {
            violation_count += 1;
            if violations.len() < 20 {
                violations.push(message);
            }
        };

        let views = m.participant_views();
        let mut participants = Vec::new();
        let mut totals = Totals::default();
        let mut present_codes = BTreeSet::new();
        let mut present = 0;
        for (pid, (person, (log, srtp, code))) in ledger.people.iter().zip(views).enumerate() {
            if person.admitted_at.is_none() {
                continue;
            }
            let is_present = person.joined_at.is_some() && person.departed_at.is_none();
            if is_present {
                present += 1;
                present_codes.insert(code.clone());
            }
            let t = &person.tally;
            totals.frames_sent += person.sent;
            totals.expected += t.expected;
            totals.decrypted += t.decrypted;
            totals.lost += t.lost;
            totals.unaccounted += t.unaccounted;
            let d = &mut totals.dropped;
            d.total += t.dropped.total;
            d.before_join += t.dropped.before_join;
            d.after_removal += t.dropped.after_removal;
            d.while_leaving += t.dropped.while_leaving;
            d.rollover += t.dropped.rollover;
            if t.expected != t.decrypted + t.lost + t.dropped.total + t.unaccounted {
                fail(format!("p{pid}: the ledger's counts do not add up"));
            }
            if srtp.srtp_other > 0 {
                fail(format!(
                    "p{pid}: SRTP refused {} packets other than replays",
                    srtp.srtp_other
                ));
            }
            participants.push(ParticipantView {
                name: format!("p{pid}"),
                role: if pid == 0 {
                    "leader"
                } else if person.removal_epoch.is_some() {
                    "left"
                } else if person.join_epoch.is_some_and(|e| e > 1) {
                    "joined"
                } else {
                    "member"
                },
                leaf: person.leaf,
                joined_epoch: person.join_epoch,
                removed_epoch: person.removal_epoch,
                frames_sent: person.sent,
                received: t.clone(),
                keyring: keyring_view(&log),
                srtp,
                security_code: code,
            });
        }

        let (final_epoch, _) = m.final_epoch();
        let mut codes_agree = true;
        for (epoch, codes) in &ledger.codes {
            if codes.len() != 1 {
                codes_agree = false;
                fail(format!(
                    "the members of epoch {epoch} showed {} different security codes",
                    codes.len()
                ));
            }
        }
        let final_code = ledger
            .codes
            .get(&final_epoch)
            .and_then(|c| c.first())
            .cloned();
        if present_codes.len() != 1 || present_codes.first() != Some(&final_code) {
            codes_agree = false;
            fail(format!(
                "the members present at the end show {} security codes, not the final epoch's",
                present_codes.len()
            ));
        }
        if m.sfu_seen.plaintext_canaries > 0 {
            fail(format!(
                "the SFU saw plaintext in {} packets",
                m.sfu_seen.plaintext_canaries
            ));
        }
        if m.sfu_seen.other_refused > 0 {
            fail(format!(
                "the SFU refused {} packets other than replays",
                m.sfu_seen.other_refused
            ));
        }

        let s: SfuSeen = m.sfu_seen;
        let meters = m.meters;
        Report {
            ok: violation_count == 0,
            violation_count,
            violations,
            config: ConfigView {
                participants: c.participants,
                duration_s: c.duration_us as f64 / 1e6,
                churn_per_minute: c.churn_per_minute,
                loss_percent: c.link.loss * 100.0,
                reorder_percent: c.link.reorder * 100.0,
                delay_ms: c.link.delay_us as f64 / 1e3,
                jitter_ms: c.link.jitter_us as f64 / 1e3,
                suite: c.suite.name().to_owned(),
                mode: mode_name(c.mode),
                commit_delay_ms: c.commit_delay_us as f64 / 1e3,
                grace_ms: c.grace_us as f64 / 1e3,
                seed: c.seed,
                srtp_profile: profile_name(),
                mtu: MTU,
                epoch_bits: EPOCH_BITS,
                commit_batch_s: BATCH_US as f64 / 1e6,
                removed_linger_s: LINGER_US as f64 / 1e6,
            },
            meeting: MeetingView {
                participants_total: participants.len(),
                present_at_end: present,
                commits: m.commits,
                joins: m.joins,
                leaves: m.leaves,
                biggest_batch: m.biggest_batch,
                final_epoch,
                security_code: if codes_agree { final_code } else { None },
                codes_agree,
                epochs_checked: ledger.codes.len(),
            },
            participants,
            totals,
            network: NetworkView {
                uplinks: m.uplink_stats().into(),
                downlinks: m.downlink_stats().into(),
            },
            sfu: SfuView {
                packets_received: s.packets_in,
                bytes_received: s.bytes_in,
                packets_forwarded: s.packets_out,
                bytes_forwarded: s.bytes_out,
                sframe_headers_read: s.sframe_headers_read,
                replays_refused: s.replays_refused,
                from_disconnected: s.from_disconnected,
                other_refused: s.other_refused,
                plaintext_seen: s.plaintext_canaries,
            },
            crypto: CryptoView {
                sframe_encrypt: meters.sframe_encrypt.into(),
                sframe_decrypt: meters.sframe_decrypt.into(),
                srtp_protect: meters.srtp_protect.into(),
                srtp_unprotect: meters.srtp_unprotect.into(),
                sfu_srtp: meters.sfu_srtp.into(),
                mls_seconds: m.mls_nanos as f64 / 1e9,
                wall_seconds,
                simulated_seconds: m.total_us() as f64 / 1e6,
            },
        }
    }

    /// The report as text for a person.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let c = &self.config;
        let m = &self.meeting;
        let _ = writeln!(
            o,
            "sframe meeting: {} participants, {} s of media (seed {}), {} {} SFrame, SRTP {}",
            c.participants, c.duration_s, c.seed, c.suite, c.mode, c.srtp_profile
        );
        let _ = writeln!(
            o,
            "network: every link {} ms + up to {} ms jitter, {}% loss, {}% held back 5-40 ms; \
             commits reach members within {} ms; grace {} ms",
            c.delay_ms,
            c.jitter_ms,
            c.loss_percent,
            c.reorder_percent,
            c.commit_delay_ms,
            c.grace_ms
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "MLS: {} commits (epoch 0 -> {}): {} joins and {} leaves, batched by the leader \
             (up to {} in one commit)",
            m.commits, m.final_epoch, m.joins, m.leaves, m.biggest_batch
        );
        match &m.security_code {
            Some(code) => {
                let _ = writeln!(
                    o,
                    "security code of epoch {}, the same for all {} members: {code}",
                    m.final_epoch, m.present_at_end
                );
            }
            None => {
                let _ = writeln!(o, "security codes DIFFER between members");
            }
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<4} {:<7} {:>4} {:>7} {:>6} {:>8} {:>9} {:>6} | {:>7} {:>7} {:>7} {:>8} | {:>9}",
            "",
            "",
            "leaf",
            "epochs",
            "sent",
            "expected",
            "decrypted",
            "lost",
            "before",
            "after",
            "while",
            "key",
            "rollovers"
        );
        let _ = writeln!(
            o,
            "{:<4} {:<7} {:>4} {:>7} {:>6} {:>8} {:>9} {:>6} | {:>7} {:>7} {:>7} {:>8} | {:>9}",
            "",
            "",
            "",
            "",
            "frames",
            "frames",
            "",
            "",
            "join",
            "removal",
            "leaving",
            "rollover",
            "(sender)"
        );
        for p in &self.participants {
            let r = &p.received;
            let epochs = match (p.joined_epoch, p.removed_epoch) {
                (Some(j), Some(x)) => format!("{j}-{}", x.saturating_sub(1)),
                (Some(j), None) => format!("{j}-{}", m.final_epoch),
                _ => "-".to_owned(),
            };
            let _ = writeln!(
                o,
                "{:<4} {:<7} {:>4} {:>7} {:>6} {:>8} {:>9} {:>6} | {:>7} {:>7} {:>7} {:>8} | {:>9}",
                p.name,
                p.role,
                p.leaf.map_or("-".to_owned(), |l| l.to_string()),
                epochs,
                p.frames_sent,
                r.expected,
                r.decrypted,
                r.lost,
                r.dropped.before_join,
                r.dropped.after_removal,
                r.dropped.while_leaving,
                r.dropped.rollover,
                p.keyring.rollovers
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            o,
            "{:<4} {:<7} {:>4} {:>7} {:>6} {:>8} {:>9} {:>6} | {:>7} {:>7} {:>7} {:>8} |",
            "all",
            "",
            "",
            "",
            t.frames_sent,
            t.expected,
            t.decrypted,
            t.lost,
            t.dropped.before_join,
            t.dropped.after_removal,
            t.dropped.while_leaving,
            t.dropped.rollover
        );
        let _ = writeln!(
            o,
            "expected: frames the others sent while the SFU forwarded to it = decrypted + lost (a \
             packet lost on a link)\n  + dropped (arrived whole but not decryptable by it: sent \
             under an epoch before it joined, after its removal,\n  or while it was leaving; a \
             key-rollover drop, of a frame it was entitled to, must never happen)"
        );
        let mut causes = std::collections::BTreeMap::new();
        for p in &self.participants {
            for (cause, n) in &p.received.drop_causes {
                *causes.entry(cause.name()).or_insert(0u64) += n;
            }
        }
        if !causes.is_empty() {
            let list: Vec<String> = causes.iter().map(|(c, n)| format!("{c} {n}")).collect();
            let _ = writeln!(o, "drops as the receivers saw them: {}", list.join(", "));
        }
        let rollovers: u64 = self.participants.iter().map(|p| p.keyring.rollovers).sum();
        let by = |f: fn(&KeyringView) -> u64| -> u64 {
            self.participants.iter().map(|p| f(&p.keyring)).sum()
        };
        let _ = writeln!(
            o,
            "sender rollovers: {rollovers} ({} once all acknowledged, {} at the end of the grace \
             period, {} at once because a member was removed)",
            by(|k| k.rollover_all_acknowledged),
            by(|k| k.rollover_grace_expired),
            by(|k| k.rollover_member_removed)
        );
        let n = &self.network;
        let _ = writeln!(
            o,
            "network: {} packets up, {} lost, {} reordered; {} down, {} lost, {} reordered",
            n.uplinks.packets,
            n.uplinks.lost,
            n.uplinks.reordered,
            n.downlinks.packets,
            n.downlinks.lost,
            n.downlinks.reordered
        );
        let s = &self.sfu;
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "SFU: received {} packets ({:.1} MB), forwarded {} ({:.1} MB); read {} SFrame \
             headers (KID and CTR are in clear); holds no SFrame key; plaintext found in {} of \
             the packets it saw",
            s.packets_received,
            s.bytes_received as f64 / 1e6,
            s.packets_forwarded,
            s.bytes_forwarded as f64 / 1e6,
            s.sframe_headers_read,
            s.plaintext_seen
        );
        let k = &self.crypto;
        let stage = |name: &str, v: &StageView| {
            format!(
                "{name} {:.0} MB/s ({:.1} MB in {:.2} s)",
                v.mb_per_s,
                v.bytes as f64 / 1e6,
                v.seconds
            )
        };
        let _ = writeln!(
            o,
            "crypto path (CPU time per stage): {}; {}; {}; {}; SFU {}",
            stage("SFrame encrypt", &k.sframe_encrypt),
            stage("SFrame decrypt", &k.sframe_decrypt),
            stage("SRTP protect", &k.srtp_protect),
            stage("SRTP unprotect", &k.srtp_unprotect),
            stage("SRTP", &k.sfu_srtp)
        );
        let _ = writeln!(
            o,
            "{:.1} s of wall time for {:.1} s simulated (MLS {:.2} s)",
            k.wall_seconds, k.simulated_seconds, k.mls_seconds
        );
        let _ = writeln!(o);
        if self.ok {
            let _ = writeln!(
                o,
                "invariants: all held: no key-rollover drop, no removed member decrypted a frame \
                 sent after its removal took effect, no member decrypted a frame sent before it \
                 joined, every frame accounted for, one security code per epoch, no plaintext at \
                 the SFU"
            );
        } else {
            let _ = writeln!(o, "invariants: {} FAILED", self.violation_count);
            for v in &self.violations {
                let _ = writeln!(o, "  - {v}");
            }
        }
        o
    }
}

fn keyring_view(log: &KeyringLog) -> KeyringView {
    KeyringView {
        epochs: log.epochs,
        rollovers: log.switches,
        rollover_all_acknowledged: log.switched_all_acknowledged,
        rollover_grace_expired: log.switched_grace_expired,
        rollover_member_removed: log.switched_member_removed,
        rollover_forced: log.switched_forced,
        retired: log.retired,
    }
}
