//! A bounded queue that serves its owners in turn: each owner's items wait in their own line,
//! and `pop` takes the oldest item of the next owner round the table. One owner's thousand
//! items delay another's first item by at most one item of each owner ahead of it, never by
//! the thousand. Bounded overall and per owner, so one owner cannot fill it for the others.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Why an item was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue holds its maximum.
    Full,
    /// The owner has its maximum waiting.
    OwnerFull,
    /// The same item of the same owner is waiting already (it is not queued twice).
    Waiting,
}

pub struct FairQueue<K, T> {
    /// Each owner's waiting items, oldest first; only owners with some.
    lines: HashMap<K, VecDeque<T>>,
    /// The owners with waiting items, the next one to serve first.
    turns: VecDeque<K>,
    len: usize,
    max: usize,
    max_per_owner: usize,
}

impl<K: Hash + Eq + Clone, T: PartialEq> FairQueue<K, T> {
    /// A queue of at most `max` items, at most `max_per_owner` of one owner (both at least 1).
    pub fn new(max: usize, max_per_owner: usize) -> FairQueue<K, T> {
        FairQueue {
            lines: HashMap::new(),
            turns: VecDeque::new(),
            len: 0,
            max: max.max(1),
            max_per_owner: max_per_owner.max(1),
        }
    }

    /// Queues `item` of `owner` at the end of the owner's line.
    pub fn push(&mut self, owner: K, item: T) -> Result<(), Refused> {
        if let Some(line) = self.lines.get(&owner) {
            if line.contains(&item) {
                return Err(Refused::Waiting);
            }
            if line.len() >= self.max_per_owner {
                return Err(Refused::OwnerFull);
            }
        }
        if self.len >= self.max {
            return Err(Refused::Full);
        }
        let line = self.lines.entry(owner.clone()).or_default();
        if line.is_empty() {
            self.turns.push_back(owner);
        }
        line.push_back(item);
        self.len += 1;
        Ok(())
    }

    /// The oldest item of the owner whose turn it is; the owner's turn comes again after
    /// every other waiting owner's.
    pub fn pop(&mut self) -> Option<(K, T)> {
        let owner = self.turns.pop_front()?;
        let line = self.lines.get_mut(&owner)?;
        let item = line.pop_front()?;
        if line.is_empty() {
            self.lines.remove(&owner);
        } else {
            self.turns.push_back(owner.clone());
        }
        self.len -= 1;
        Some((owner, item))
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Owners with items waiting.
    pub fn owners(&self) -> usize {
        self.turns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_served_in_turn_whatever_each_queued() {
        let mut queue = FairQueue::new(100, 50);
        for n in 0..40 {
            queue.push("flood", n).unwrap();
        }
        queue.push("small", 1000).unwrap();
        queue.push("other", 2000).unwrap();
        queue.push("other", 2001).unwrap();
        let order: Vec<(&str, i32)> = std::iter::from_fn(|| queue.pop()).take(6).collect();
        assert_eq!(
            order,
            [
                ("flood", 0),
                ("small", 1000),
                ("other", 2000),
                ("flood", 1),
                ("other", 2001),
                ("flood", 2),
            ]
        );
        // An owner that arrives late is served after those already waiting, then in turn.
        queue.push("late", 3000).unwrap();
        assert_eq!(queue.pop(), Some(("flood", 3)));
        assert_eq!(queue.pop(), Some(("late", 3000)));
        assert_eq!(queue.pop(), Some(("flood", 4)));
        assert_eq!(queue.len(), 35);
        assert_eq!(queue.owners(), 1);
    }

    #[test]
    fn the_queue_is_bounded_overall_and_per_owner() {
        let mut queue = FairQueue::new(5, 3);
        for n in 0..3 {
            queue.push('a', n).unwrap();
        }
        assert_eq!(queue.push('a', 3), Err(Refused::OwnerFull));
        assert_eq!(queue.push('a', 0), Err(Refused::Waiting));
        queue.push('b', 0).unwrap();
        queue.push('c', 0).unwrap();
        assert_eq!(queue.push('d', 0), Err(Refused::Full));
        assert_eq!((queue.len(), queue.owners()), (5, 3));
        assert_eq!(queue.pop(), Some(('a', 0)));
        queue.push('d', 0).unwrap();
        // Room for a again, and an item popped may be queued again.
        assert_eq!(queue.pop(), Some(('b', 0)));
        queue.push('a', 0).unwrap();
        let rest: Vec<(char, i32)> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(rest, [('c', 0), ('a', 1), ('d', 0), ('a', 2), ('a', 0)]);
        assert!(queue.is_empty());
        assert_eq!(queue.owners(), 0);
        assert_eq!(queue.pop(), None);
    }
}
