//! `S`, the KID's sender bits, exactly as RFC 9605 section 5.2 defines it: "the smallest value
//! such that `group_size <= (1 << S)`", for every group size from 1 to 1,100 and around 4,096
//! and 65,536; and every leaf index of such a group survives a KID round trip under it.
//!
//! Before issue 15 `sender_bits_for` computed the smallest `S` with `group_size < (1 << S)`,
//! one bit too many at every power of two (4 members got 3 bits, the RFC says 2).

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sframe_mls::{KidLayout, KidParts, sender_bits_for, sender_bits_for_leaves};

fn sizes() -> impl Iterator<Item = u64> {
    (1..=1_100).chain(4_080..=4_112).chain(65_520..=65_552)
}

/// Worked by hand from the RFC's sentence (`group_size <= 2^S`, smallest S).
const BY_HAND: &[(u64, u8)] = &[
    (1, 0),
    (2, 1),
    (3, 2),
    (4, 2),
    (5, 3),
    (8, 3),
    (9, 4),
    (16, 4),
    (17, 5),
    (33, 6),
    // The RFC's own figure: "E=4; S=6, Allowing for 64 Group Members".
    (64, 6),
    (65, 7),
    (255, 8),
    (256, 8),
    (257, 9),
    (1_024, 10),
    (1_025, 11),
    (1_100, 11),
    (4_095, 12),
    (4_096, 12),
    (4_097, 13),
    (65_535, 16),
    (65_536, 16),
    (65_537, 17),
];

#[test]
fn the_hand_worked_values() {
    for &(size, s) in BY_HAND {
        assert_eq!(sender_bits_for(size), s, "group of {size}");
    }
}

#[test]
fn s_is_the_smallest_value_with_group_size_at_most_two_to_the_s() {
    let mut checked = 0;
    for size in sizes() {
        let s = sender_bits_for(size);
        assert!(size <= 1u64 << s, "group of {size}: S = {s} is too small");
        assert!(
            s == 0 || size > 1u64 << (s - 1),
            "group of {size}: S = {s} is not the smallest"
        );
        checked += 1;
    }
    assert_eq!(checked, 1_100 + 33 + 33);
}

#[test]
fn every_leaf_of_a_full_group_round_trips_through_its_kid() {
    for size in sizes() {
        let leaves = 0..u32::try_from(size).unwrap();
        let s = sender_bits_for_leaves(leaves.clone());
        assert_eq!(s, sender_bits_for(size), "a full tree of {size} leaves");
        for e in [0, 4, 20] {
            let layout = KidLayout::new(e, s).unwrap();
            for leaf in leaves.clone() {
                for context in [0, 1, 7] {
                    let kid = layout.kid(context, leaf, 37).unwrap();
                    assert_eq!(
                        layout.split(kid),
                        KidParts {
                            context,
                            sender_index: leaf,
                            epoch_low: 37 & ((1 << e) - 1),
                        },
                        "group of {size}, E {e}"
                    );
                }
            }
            // One leaf more does not fit: S is as small as it can be.
            if s < 32 {
                assert!(layout.kid(0, 1 << s, 0).is_err());
            }
        }
    }
}

#[test]
fn blank_leaves_never_truncate_an_index() {
    // Three members at leaves 0, 1 and 4 (2 and 3 blank after removals): a member count of 3
    // would give S = 2, and leaf 4 would come out as leaf 0. The tree's leaves up to its
    // rightmost member are 5: S = 3.
    assert_eq!(sender_bits_for(3), 2);
    let s = sender_bits_for_leaves([0, 1, 4]);
    assert_eq!(s, 3);
    let layout = KidLayout::new(4, s).unwrap();
    assert_eq!(layout.split(layout.kid(0, 4, 9).unwrap()).sender_index, 4);
    // A member count reading that is usable (no index truncated) agrees: members at 0..=4 and
    // 6 (5 blank), six members.
    assert_eq!(sender_bits_for(6), sender_bits_for_leaves([0, 1, 2, 3, 4, 6]));
}
