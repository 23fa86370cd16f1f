//! What a client checks of the order of what it receives: revs applied without a gap, and
//! each seq seen once and in order.

use std::collections::BTreeSet;

use crate::stats::Counters;

/// The revs a client applied in one conversation, as a client of the contract keeps them.
#[derive(Debug, Default)]
pub(super) struct Revs {
    /// Every rev up to this one is applied.
    applied: u64,
    /// A `sync:changes` is on its way.
    repairing: bool,
    /// Revs that arrived during a repair, or ahead of the one expected next.
    waiting: BTreeSet<u64>,
}

/// What a rev tracker asks of its client.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    Nothing,
    /// Ask `sync:changes` for everything after this rev.
    Repair(u64),
}

impl Revs {
    /// A conversation whose changes up to `applied` the client has.
    pub(super) fn at(applied: u64) -> Revs {
        Revs {
            applied,
            ..Revs::default()
        }
    }

    /// A live event of `rev`.
    pub(super) fn live(&mut self, rev: u64, counters: &Counters) -> Next {
        if rev <= self.applied {
            return Next::Nothing;
        }
        self.waiting.insert(rev);
        if self.repairing {
            return Next::Nothing;
        }
        self.settle(counters)
    }

    /// A page of `sync:changes` that brought the state up to `top`.
    pub(super) fn repaired(&mut self, top: u64, has_more: bool, counters: &Counters) -> Next {
        if top > self.applied {
            Counters::add(&counters.revs_applied, top - self.applied);
            self.applied = top;
        }
        if has_more {
            return Next::Repair(self.applied);
        }
        self.repairing = false;
        Counters::add(&counters.gaps_repaired, 1);
        self.settle(counters)
    }

    /// Applies the waiting revs that follow on; a jump starts a repair.
    fn settle(&mut self, counters: &Counters) -> Next {
        while let Some(&rev) = self.waiting.first() {
            if rev <= self.applied {
                self.waiting.pop_first();
            } else if rev == self.applied + 1 {
                self.waiting.pop_first();
                self.applied = rev;
                Counters::add(&counters.revs_applied, 1);
            } else {
                Counters::add(&counters.gaps_seen, 1);
                self.repairing = true;
                return Next::Repair(self.applied);
            }
        }
        Next::Nothing
    }
}

/// Which seqs a client has seen in one conversation (a bitset from the first one).
#[derive(Default)]
pub(super) struct SeqSet {
    first: Option<u64>,
    bits: Vec<u64>,
    max: u64,
}

impl SeqSet {
    /// Records `seq`: `Err(true)` if seen before, `Err(false)` if it arrived after a later seq.
    pub(super) fn insert(&mut self, seq: u64) -> Result<(), bool> {
        let first = *self.first.get_or_insert(seq);
        if seq < first {
            return Err(false);
        }
        let i = (seq - first) as usize;
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        let mask = 1u64 << (i % 64);
        if self.bits[i / 64] & mask != 0 {
            return Err(true);
        }
        self.bits[i / 64] |= mask;
        let in_order = seq >= self.max;
        self.max = self.max.max(seq);
        if in_order {
            Ok(())
        } else {
            Err(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_sets_tell_duplicates_from_late_arrivals() {
        let mut s = SeqSet::default();
        assert_eq!(s.insert(10), Ok(()));
        assert_eq!(s.insert(11), Ok(()));
        assert_eq!(s.insert(11), Err(true));
        assert_eq!(s.insert(13), Ok(()));
        assert_eq!(s.insert(12), Err(false));
        assert_eq!(s.insert(12), Err(true));
        assert_eq!(s.insert(200), Ok(()));
        assert_eq!(s.insert(9), Err(false));
    }

    #[test]
    fn revs_apply_in_order_and_a_jump_is_repaired() {
        let counters = Counters::default();
        let mut revs = Revs::at(4);
        assert_eq!(revs.live(5, &counters), Next::Nothing);
        assert_eq!(
            revs.live(5, &counters),
            Next::Nothing,
            "a repeat is ignored"
        );
        // 6 is missing: a repair from 5; what arrives meanwhile waits.
        assert_eq!(revs.live(7, &counters), Next::Repair(5));
        assert_eq!(revs.live(9, &counters), Next::Nothing);
        assert_eq!(Counters::get(&counters.gaps_seen), 1);
        // The page reaches 8: 9 follows on.
        assert_eq!(revs.repaired(8, false, &counters), Next::Nothing);
        assert_eq!(revs.applied, 9);
        assert_eq!(Counters::get(&counters.gaps_repaired), 1);
        assert_eq!(Counters::get(&counters.revs_applied), 5);
        // A page with more to come asks again from where it got.
        assert_eq!(revs.live(12, &counters), Next::Repair(9));
        assert_eq!(revs.repaired(10, true, &counters), Next::Repair(10));
        assert_eq!(revs.repaired(11, false, &counters), Next::Nothing);
        assert_eq!(revs.applied, 12);
        assert_eq!(Counters::get(&counters.gaps_repaired), 2);
    }
}
