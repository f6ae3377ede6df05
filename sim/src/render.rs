//! The report as text for a person: a header, one table row per participant, notes on the
//! drops, rollovers and network, the SFU and the crypto path, and the invariants.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{KeyringView, Report, StageView};

impl Report {
    /// The report as text for a person (what `sframe meeting` prints).
    pub fn render(&self) -> String {
        let mut o = String::new();
        header(&mut o, self);
        table(&mut o, self);
        notes(&mut o, self);
        sfu_and_crypto(&mut o, self);
        invariants(&mut o, self);
        o
    }
}

fn header(o: &mut String, r: &Report) {
    let c = &r.config;
    let m = &r.meeting;
    let _ = writeln!(
        o,
        "sframe meeting: {} participants, {} s of media (seed {}), {} {} SFrame, SRTP {}",
        c.participants, c.duration_s, c.seed, c.suite, c.mode, c.srtp_profile
    );
    let _ = writeln!(
        o,
        "network: every link {} ms + up to {} ms jitter, {}% loss, {}% held back 5-40 ms; \
         commits reach members within {} ms; grace {} ms",
        c.delay_ms, c.jitter_ms, c.loss_percent, c.reorder_percent, c.commit_delay_ms, c.grace_ms
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "MLS: {} commits (epoch 0 -> {}): {} joins and {} leaves, batched by the leader \
         (up to {} in one commit)",
        m.commits, m.final_epoch, m.joins, m.leaves, m.biggest_batch
    );
    let per_epoch: Vec<String> = m
        .sender_bits
        .iter()
        .map(|(epoch, s)| format!("{epoch}: {s}"))
        .collect();
    let _ = writeln!(
        o,
        "KID sender bits S per epoch (RFC 9605 5.2, from the group's size): {}",
        per_epoch.join(", ")
    );
    let l = &m.commit_to_switch_ms;
    if l.epochs > 0 {
        let _ = writeln!(
            o,
            "commit to switch (every member of the new epoch sending under it): median {:.0} ms, \
             longest {:.0} ms, over {} epochs",
            l.median_ms, l.max_ms, l.epochs
        );
    }
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
}

/// One line of the table: twelve columns, and the sender's rollovers when there are some.
fn row(o: &mut String, c: [&str; 12], last: Option<&str>) {
    let _ = write!(
        o,
        "{:<4} {:<7} {:>4} {:>7} {:>6} {:>8} {:>9} {:>6} | {:>7} {:>7} {:>7} {:>8} |",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
    );
    if let Some(last) = last {
        let _ = write!(o, " {last:>9}");
    }
    let _ = writeln!(o);
}

/// Up to this many participants get a row each; beyond, the first half of it do.
const TABLE_ROWS: usize = 40;

fn table(o: &mut String, r: &Report) {
    let head = [
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
    ];
    row(o, head, Some("rollovers"));
    let head2 = [
        "", "", "", "", "frames", "frames", "", "", "join", "removal", "leaving", "rollover",
    ];
    row(o, head2, Some("(sender)"));
    let shown = if r.participants.len() > TABLE_ROWS {
        TABLE_ROWS / 2
    } else {
        TABLE_ROWS
    };
    for p in r.participants.iter().take(shown) {
        let t = &p.received;
        let epochs = match (p.joined_epoch, p.removed_epoch) {
            (Some(j), Some(x)) => format!("{j}-{}", x.saturating_sub(1)),
            (Some(j), None) => format!("{j}-{}", r.meeting.final_epoch),
            _ => "-".to_owned(),
        };
        let leaf = p.leaf.map_or("-".to_owned(), |l| l.to_string());
        let n = [
            p.frames_sent,
            t.expected,
            t.decrypted,
            t.lost,
            t.dropped.before_join,
            t.dropped.after_removal,
            t.dropped.while_leaving,
            t.dropped.rollover,
        ]
        .map(|n| n.to_string());
        let cells = [
            p.name.as_str(),
            p.role,
            &leaf,
            &epochs,
            &n[0],
            &n[1],
            &n[2],
            &n[3],
            &n[4],
            &n[5],
            &n[6],
            &n[7],
        ];
        row(o, cells, Some(&p.keyring.rollovers.to_string()));
    }
    if r.participants.len() > shown {
        let _ = writeln!(
            o,
            "... and {} more participants (--json lists every one)",
            r.participants.len() - shown
        );
    }
    let t = &r.totals;
    let d = &t.dropped;
    let n = [
        t.frames_sent,
        t.expected,
        t.decrypted,
        t.lost,
        d.before_join,
        d.after_removal,
        d.while_leaving,
        d.rollover,
    ]
    .map(|n| n.to_string());
    let cells = [
        "all", "", "", "", &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7],
    ];
    row(o, cells, None);
}

fn notes(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "expected: frames the others sent while the SFU forwarded to it = decrypted + lost (a \
         packet lost on a link)\n  + dropped (arrived whole but not decryptable by it: sent \
         under an epoch before it joined, after its removal,\n  or while it was leaving; a \
         key-rollover drop, of a frame it was entitled to, must never happen)"
    );
    let mut causes = BTreeMap::new();
    for p in &r.participants {
        for (cause, n) in &p.received.drop_causes {
            *causes.entry(cause.name()).or_insert(0u64) += n;
        }
    }
    if !causes.is_empty() {
        let list: Vec<String> = causes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(o, "drops as the receivers saw them: {}", list.join(", "));
    }
    let by =
        |f: fn(&KeyringView) -> u64| -> u64 { r.participants.iter().map(|p| f(&p.keyring)).sum() };
    let _ = writeln!(
        o,
        "sender rollovers: {} ({} once all acknowledged, {} at the end of the grace period, {} \
         at once because a member was removed)",
        by(|k| k.rollovers),
        by(|k| k.rollover_all_acknowledged),
        by(|k| k.rollover_grace_expired),
        by(|k| k.rollover_member_removed)
    );
    let n = &r.network;
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
}

fn sfu_and_crypto(o: &mut String, r: &Report) {
    let s = &r.sfu;
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
    let f = &s.forwarding;
    let _ = writeln!(
        o,
        "SFU forwarding ({}): frames forwarded {} audio, {} video; held back {} audio (not \
         among the loudest), {} video (not a recent speaker); frames stay whole",
        f.policy,
        f.audio_forwarded,
        f.video_forwarded,
        f.audio_held_not_loudest,
        f.video_held_not_recent_speaker
    );
    let s = &f.senders;
    if s.demands + s.audio_dtx > 0 {
        let _ = writeln!(
            o,
            "senders: {} video frames not encoded (the SFU forwarded that video to nobody; {} \
             pauses and resumes, {} key frames on resume), {} audio frames of silence left out \
             (DTX)",
            s.video_paused, s.demands, s.key_frames_on_resume, s.audio_dtx
        );
    }
    let k = &r.crypto;
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
        "{:.1} s of wall time for {:.1} s simulated: MLS {:.2} s, media and the rest {:.2} s{}",
        k.wall_seconds,
        k.simulated_seconds,
        k.mls_seconds,
        k.media_seconds,
        k.peak_memory_mb
            .map_or(String::new(), |mb| format!("; peak memory {mb:.0} MB"))
    );
    if let Some(c) = &r.cost {
        let _ = writeln!(
            o,
            "cost per delivered frame ({} frames): {:.2} us of media time = SFrame decrypt \
             {:.2} + SRTP unprotect {:.2} + SFU {:.2} + senders {:.2} + the rest {:.2}; \
             decrypt and unprotect alone {:.2} us (core decrypt {:.0} ns, SRTP unprotect {:.0} \
             ns per call, this run): {:.2}x ({:.2}x for the receivers' decrypt and unprotect \
             alone); every crypto call of the meeting at the core's speed (senders, the SFU \
             both ways, receivers) {:.2} us, {:.2}x: the least this ratio can be, with the SFU \
             re-protecting per receiver; the rest of the simulation multiplies it by {:.2}",
            c.delivered_frames,
            c.media_us_per_frame,
            c.sframe_decrypt_us,
            c.srtp_unprotect_us,
            c.sfu_us,
            c.senders_us,
            c.rest_us,
            c.reference_us_per_frame,
            c.reference_decrypt_ns,
            c.reference_unprotect_ns,
            c.ratio,
            c.receive_path_ratio,
            c.floor_us_per_frame,
            c.floor_ratio,
            c.overhead_ratio
        );
    }
    let _ = writeln!(o);
}

fn invariants(o: &mut String, r: &Report) {
    if r.ok {
        let _ = writeln!(
            o,
            "invariants: all held: no key-rollover drop, no removed member decrypted a frame \
             sent after its removal took effect, no member decrypted a frame sent before it \
             joined, every frame accounted for, one security code per epoch, no plaintext at \
             the SFU"
        );
    } else {
        let _ = writeln!(o, "invariants: {} FAILED", r.violation_count);
        for v in &r.violations {
            let _ = writeln!(o, "  - {v}");
        }
    }
}
