//! The members of an epoch, as leaf indices, held so that a large group costs little.
//!
//! An MLS ratchet tree fills leaves from the left, so a group's roster is nearly always "every
//! leaf below the tree's width except a few blanks". [`Roster::dense`] holds just that: the
//! width and the blanks, so installing the epoch of a 50,000-member group with no blank leaf
//! stores two words and touches no member. A sparse set of leaves is held as a sorted list
//! instead ([`Roster::from_leaves`] picks whichever form is smaller). Lookups are
//! O(log blanks) or O(log members), never a scan.

/// An epoch's members (leaf indices). Two rosters are equal when they hold the same members,
/// whatever their form.
#[derive(Clone)]
pub struct Roster {
    /// Every leaf is below `width` (a u64, so that leaf `u32::MAX` fits).
    width: u64,
    /// Sorted, no duplicates, all below `width`.
    list: Vec<u32>,
    /// `list` holds the blanks (the members are the other leaves below `width`), or the
    /// members.
    list_is_blanks: bool,
}

impl PartialEq for Roster {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Roster {}

impl core::fmt::Debug for Roster {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Roster")
            .field("members", &self.len())
            .field("width", &self.width)
            .finish()
    }
}

impl Roster {
    /// Leaves `0..width`, except `blanks` (those at or above `width` are ignored). Costs
    /// O(b log b) for `b` blanks: nothing per member.
    pub fn dense(width: u32, blanks: impl IntoIterator<Item = u32>) -> Self {
        let mut list: Vec<u32> = blanks.into_iter().filter(|&b| b < width).collect();
        list.sort_unstable();
        list.dedup();
        Self {
            width: u64::from(width),
            list,
            list_is_blanks: true,
        }
    }

    /// The given leaves, in any order, duplicates ignored: O(n log n) once, held in the
    /// smaller of the two forms.
    pub fn from_leaves(leaves: impl IntoIterator<Item = u32>) -> Self {
        let mut list: Vec<u32> = leaves.into_iter().collect();
        list.sort_unstable();
        list.dedup();
        let width = list.last().map_or(0, |&m| u64::from(m) + 1);
        let blanks = width.saturating_sub(list.len() as u64);
        if blanks < list.len() as u64 {
            let mut gaps = Vec::with_capacity(usize::try_from(blanks).unwrap_or(0));
            let mut next = 0u32;
            for &m in &list {
                gaps.extend(next..m);
                next = m.saturating_add(1);
            }
            Self {
                width,
                list: gaps,
                list_is_blanks: true,
            }
        } else {
            Self {
                width,
                list,
                list_is_blanks: false,
            }
        }
    }

    /// Whether leaf `leaf` is a member.
    pub fn contains(&self, leaf: u32) -> bool {
        u64::from(leaf) < self.width
            && (self.list.binary_search(&leaf).is_ok() != self.list_is_blanks)
    }

    /// How many members.
    pub fn len(&self) -> usize {
        if self.list_is_blanks {
            usize::try_from(self.width)
                .unwrap_or(usize::MAX)
                .saturating_sub(self.list.len())
        } else {
            self.list.len()
        }
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The highest member leaf.
    pub fn max_leaf(&self) -> Option<u32> {
        if self.list_is_blanks {
            // The blanks are sorted: walk down from the top past trailing blanks.
            let mut top = self.width.checked_sub(1)?;
            for &b in self.list.iter().rev() {
                if u64::from(b) != top {
                    break;
                }
                top = top.checked_sub(1)?;
            }
            u32::try_from(top).ok()
        } else {
            self.list.last().copied()
        }
    }

    /// The members, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let blanks = if self.list_is_blanks {
            &self.list[..]
        } else {
            &[]
        };
        let range = if self.list_is_blanks {
            0..self.width
        } else {
            0..0
        };
        let dense = range
            .filter_map(|l| u32::try_from(l).ok())
            .filter(move |l| blanks.binary_search(l).is_err());
        let listed = if self.list_is_blanks {
            &[][..]
        } else {
            &self.list[..]
        };
        dense.chain(listed.iter().copied())
    }

    /// The members as a sorted list.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }

    /// Whether every member of `self` is a member of `other`. For two dense rosters this
    /// costs O(blanks log blanks), not a walk over the members.
    pub fn is_subset_of(&self, other: &Roster) -> bool {
        if !(self.list_is_blanks && other.list_is_blanks) {
            return self.iter().all(|m| other.contains(m));
        }
        // Leaves of self at or above other's width must all be blanks of self.
        if self.width > other.width {
            let above = self
                .list
                .iter()
                .filter(|&&b| u64::from(b) >= other.width)
                .count();
            if above as u64 != self.width - other.width {
                return false;
            }
        }
        // Every blank of other below self's width must be a blank of self.
        other
            .list
            .iter()
            .filter(|&&b| u64::from(b) < self.width)
            .all(|b| self.list.binary_search(b).is_ok())
    }

    /// Bytes this roster holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.list.capacity() * core::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(r: &Roster, leaves: &[u32]) {
        assert_eq!(r.to_vec(), leaves);
        assert_eq!(r.len(), leaves.len());
        assert_eq!(r.max_leaf(), leaves.iter().max().copied());
        for l in 0..leaves.iter().max().map_or(4, |m| m + 4) {
            assert_eq!(r.contains(l), leaves.contains(&l), "leaf {l}");
        }
    }

    #[test]
    fn both_forms_hold_the_same_members() {
        for leaves in [
            &[][..],
            &[0],
            &[3],
            &[0, 1, 2, 3],
            &[0, 2, 3, 4, 5],
            &[0, 1, 2, 7],
            &[1, 100, 1000],
        ] {
            let r = Roster::from_leaves(leaves.iter().rev().copied());
            check(&r, leaves);
        }
        let d = Roster::dense(6, [5, 2, 2, 9]);
        check(&d, &[0, 1, 3, 4]);
        assert_eq!(d, Roster::from_leaves([0, 1, 3, 4]));
        assert_eq!(Roster::dense(50_000, []).heap_bytes(), 0);
        assert_eq!(Roster::dense(50_000, []).len(), 50_000);
    }

    #[test]
    fn subsets() {
        let cases: [&[u32]; 6] = [
            &[],
            &[0, 1, 2],
            &[0, 1, 2, 3],
            &[0, 2, 3],
            &[1, 2],
            &[0, 1, 5],
        ];
        for a in cases {
            for b in cases {
                let expect = a.iter().all(|m| b.contains(m));
                let (ra, rb) = (
                    Roster::from_leaves(a.iter().copied()),
                    Roster::from_leaves(b.iter().copied()),
                );
                assert_eq!(ra.is_subset_of(&rb), expect, "{a:?} in {b:?}");
                let (wa, wb) = (
                    a.iter().max().map_or(0, |m| m + 1),
                    b.iter().max().map_or(0, |m| m + 1),
                );
                let da = Roster::dense(wa, (0..wa).filter(|l| !a.contains(l)));
                let db = Roster::dense(wb, (0..wb).filter(|l| !b.contains(l)));
                assert_eq!(da.is_subset_of(&db), expect, "dense {a:?} in {b:?}");
            }
        }
    }
}
