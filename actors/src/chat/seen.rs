//! What `presence:query` read from storage, kept on the socket for a few seconds, so that
//! asking again about the same users (a client polling its contact list) is answered from the
//! presence state alone: whether each shares a conversation with the socket's user, and when
//! they were last seen.
//!
//! Blocks are not kept here: the socket knows who blocked its user at every moment. An entry
//! is dropped when the socket's own conversations change and when a presence update about its
//! user reaches the socket's room (they came online, went offline, or hid or showed their
//! presence), and read again once it is older than [`SEEN_FOR`] or its user has gone offline
//! since it was read (their last-seen time moved).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long an answer from storage is reused.
pub(super) const SEEN_FOR: Duration = Duration::from_secs(10);

/// Most users a socket remembers.
pub(super) const SEEN_MAX: usize = 1_000;

/// One user as storage described them to the socket's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    /// They share a conversation with the socket's user (or are the socket's user).
    pub(super) visible: bool,
    pub(super) last_seen: Option<String>,
    /// Whether they were online when this was read.
    pub(super) online: bool,
}

#[derive(Default)]
pub(super) struct SeenCache {
    entries: HashMap<Uuid, (Instant, Seen)>,
}

impl SeenCache {
    /// What is known of `user`, if it still holds now that they are `online` (or not).
    pub(super) fn get(&self, user: Uuid, online: bool, now: Instant) -> Option<&Seen> {
        let (read_at, seen) = self.entries.get(&user)?;
        let fresh = now.saturating_duration_since(*read_at) < SEEN_FOR;
        let went_offline = seen.online && !online;
        (fresh && !went_offline).then_some(seen)
    }

    /// Remembers `seen` of `user`, read at `now`; past [`SEEN_MAX`] users, the stale ones
    /// are dropped, and all of them if none is stale.
    pub(super) fn put(&mut self, user: Uuid, seen: Seen, now: Instant) {
        if self.entries.len() >= SEEN_MAX && !self.entries.contains_key(&user) {
            self.entries
                .retain(|_, (read_at, _)| now.saturating_duration_since(*read_at) < SEEN_FOR);
            if self.entries.len() >= SEEN_MAX {
                self.entries.clear();
            }
        }
        self.entries.insert(user, (now, seen));
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Forgets what is known of `user` (their presence changed).
    pub(super) fn forget(&mut self, user: Uuid) {
        self.entries.remove(&user);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(online: bool) -> Seen {
        Seen {
            visible: true,
            last_seen: Some("2026-12-01T00:00:00.000Z".into()),
            online,
        }
    }

    #[test]
    fn an_entry_holds_until_it_is_stale_or_its_user_went_offline() {
        let mut cache = SeenCache::default();
        let (offline, online) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Instant::now();
        cache.put(offline, seen(false), now);
        cache.put(online, seen(true), now);
        assert_eq!(cache.get(offline, false, now), Some(&seen(false)));
        // Came online since: still visible, last-seen not needed.
        assert!(cache.get(offline, true, now).is_some());
        assert!(cache.get(online, true, now).is_some());
        // Online when read, offline now: the stored last-seen time has moved.
        assert_eq!(cache.get(online, false, now), None);
        assert_eq!(cache.get(offline, false, now + SEEN_FOR), None);
        assert_eq!(cache.get(Uuid::new_v4(), false, now), None);
    }

    #[test]
    fn it_never_holds_more_than_its_bound() {
        let mut cache = SeenCache::default();
        let start = Instant::now();
        for _ in 0..SEEN_MAX {
            cache.put(Uuid::new_v4(), seen(false), start);
        }
        assert_eq!(cache.len(), SEEN_MAX);
        // All fresh: making room drops them all.
        let kept = Uuid::new_v4();
        cache.put(kept, seen(false), start);
        assert_eq!(cache.len(), 1);
        for _ in 1..SEEN_MAX {
            cache.put(Uuid::new_v4(), seen(false), start);
        }
        // Later, only the stale ones go.
        let later = start + SEEN_FOR;
        let fresh = Uuid::new_v4();
        cache.put(fresh, seen(false), later);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(fresh, false, later).is_some());
    }
}
