//! MLS at scale with openmls (issue 13): per-commit and per-join costs at 100, 500 and 1,000
//! members, with batched commits of hundreds of joins and leaves, and Welcomes with and
//! without the ratchet tree (the delivery service supplying it).
//!
//! Run: `nice cargo run --release -p sframe-mls --example mls_scale -- 100 500 1000`
//! (sizes as arguments; each size builds its group from scratch). Wall-clock times of one run
//! on the caller's machine, printed as a Markdown table; see mls-keying/BENCHMARKING.md.

// An example: a failed unwrap is a failed measurement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sframe_core::CipherSuite;
use sframe_mls::{KeyringConfig, MemberConfig, MlsMember};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const T: Duration = Duration::ZERO;

fn config() -> MemberConfig {
    MemberConfig::new(KeyringConfig::new(SUITE))
}

fn key_packages(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            MlsMember::new(format!("{prefix}{i}").as_bytes(), config())
                .unwrap()
                .key_package()
                .unwrap()
        })
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn run(n: usize, batch: usize) {
    // The group: the leader adds everyone in one commit; `watcher` joins from that Welcome
    // (tree inside) and then processes every later commit, as any member does.
    let mut leader = MlsMember::new(b"leader", config()).unwrap();
    leader.create_group(T).unwrap();
    let mut watcher = MlsMember::new(b"watcher", config()).unwrap();
    let mut kps = vec![watcher.key_package().unwrap()];
    kps.extend(key_packages("m", n - 2));
    let (out, create_all) = timed(|| leader.commit(T, &kps, &[]).unwrap());
    leader.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    let (_, join_tree_inside) = timed(|| watcher.join(T, &welcome).unwrap());
    assert_eq!(watcher.members().len(), n);

    // Churn: one commit removes `batch` members and adds `batch`, its Welcome without the
    // tree; one joiner takes the tree from the delivery service.
    leader.set_ratchet_tree_in_welcome(false).unwrap();
    let mut joiner = MlsMember::new(b"joiner", config()).unwrap();
    let mut kps = vec![joiner.key_package().unwrap()];
    kps.extend(key_packages("j", batch - 1));
    let removes: Vec<u32> = (2..2 + batch as u32).collect();
    let (out, create_churn) = timed(|| leader.commit(T, &kps, &removes).unwrap());
    let (_, merge_own) = timed(|| leader.merge_pending_commit().unwrap());
    let (_, stage) = timed(|| watcher.stage_commit(T, &out.commit).unwrap());
    let (_, merge) = timed(|| watcher.merge_staged_commit().unwrap());
    let small_welcome = out.welcome.unwrap();
    let tree = leader.ratchet_tree().unwrap();
    let (_, join_ds_tree) = timed(|| {
        joiner
            .join_with_ratchet_tree(T, &small_welcome, &tree)
            .unwrap()
    });
    assert_eq!(joiner.members().len(), n);
    assert_eq!(joiner.epoch(), watcher.epoch());

    // A small commit at this size: 5 leave, 5 join.
    let kps = key_packages("k", 5);
    let removes: Vec<u32> = (2 + batch as u32..7 + batch as u32).collect();
    let (out, create_small) = timed(|| leader.commit(T, &kps, &removes).unwrap());
    leader.merge_pending_commit().unwrap();
    let (_, stage_small) = timed(|| watcher.stage_commit(T, &out.commit).unwrap());
    watcher.merge_staged_commit().unwrap();
    joiner.process_commit(T, &out.commit).unwrap();
    // What reading the roster from openmls costs (the adapter does it a few times per commit;
    // openmls clones every member's credential and keys to list them).
    let (roster, read_roster) = timed(|| watcher.members());
    assert_eq!(roster.len(), n);

    println!(
        "| {n} | {} | {} ({} KB) | {batch}+{batch}: {} / {} / {} | {} ({} KB + tree {} KB) | 5+5: {} / {} | {:.3} |",
        ms(create_all),
        ms(join_tree_inside),
        welcome.len() / 1024,
        ms(create_churn + merge_own),
        ms(stage + merge),
        ms(stage),
        ms(join_ds_tree),
        small_welcome.len() / 1024,
        tree.len() / 1024,
        ms(create_small),
        ms(stage_small),
        read_roster.as_secs_f64() * 1000.0,
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a group size"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 500, 1000]
    } else {
        sizes
    };
    println!(
        "| members | leader adds all (ms) | join, tree in Welcome (ms) | churn commit: create+merge / process+merge / of which stage (ms) | join, tree from DS (ms) | small commit: create / stage (ms) | roster read (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        run(n, (n / 5).max(5));
    }
}
