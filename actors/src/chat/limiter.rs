//! Token buckets by key: the per-user sending rate (by default 10 messages a second, bursts of
//! 20), every user's event budget, searches and the database time they spend, invite look-ups
//! by user and by address, and handshakes by address all use this one limiter, keyed by
//! whatever they limit.
//!
//! Buckets live in shards by key, each behind its own lock, so keys rarely wait on each
//! other. Idle buckets are forgotten by a sweep that each shard runs at most once per
//! `FORGET_AFTER`: its cost is spread over every check of that period, so no check pays for
//! more than its share however many users there are.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Buckets are forgotten once idle this long (they are full again by then).
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// Independent locks; a power of two.
const SHARDS: usize = 16;

/// A token bucket per key `K` (a user by default). Cloning shares the buckets: shared by every
/// session of a node, a user's tabs spend one budget.
pub struct Limiter<K = Uuid> {
    rate: f64,
    burst: f64,
    shards: Arc<[Mutex<Shard<K>>; SHARDS]>,
    hasher: RandomState,
}

impl<K> Clone for Limiter<K> {
    fn clone(&self) -> Self {
        Limiter {
            rate: self.rate,
            burst: self.burst,
            shards: self.shards.clone(),
            hasher: self.hasher.clone(),
        }
    }
}

struct Shard<K> {
    buckets: HashMap<K, Bucket>,
    swept: Instant,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq> Limiter<K> {
    /// `rate` tokens a second, up to `burst` at once.
    pub fn new(rate: f64, burst: f64) -> Limiter<K> {
        let now = Instant::now();
        Limiter {
            rate,
            burst,
            shards: Arc::new(std::array::from_fn(|_| {
                Mutex::new(Shard {
                    buckets: HashMap::new(),
                    swept: now,
                })
            })),
            hasher: RandomState::new(),
        }
    }

    /// Takes one token for `key`; `Err(wait)` says how long until one is available.
    pub fn check(&self, key: K) -> Result<(), Duration> {
        self.take_at(key, 1.0, Instant::now())
    }

    /// Takes `cost` tokens for `key` when it has them all (a budget counted in something other
    /// than requests, such as milliseconds of work); `Err(wait)` says how long until it will.
    pub fn take(&self, key: K, cost: f64) -> Result<(), Duration> {
        self.take_at(key, cost, Instant::now())
    }

    /// Gives `amount` tokens back to `key`, never past the burst: what a [`take`](Self::take)
    /// reserved and did not use.
    pub fn give_back(&self, key: K, amount: f64) {
        let mut shard = self.shard(&key);
        if let Some(bucket) = shard.buckets.get_mut(&key) {
            bucket.tokens = (bucket.tokens + amount.max(0.0)).min(self.burst);
        }
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, Shard<K>> {
        let index = self.hasher.hash_one(key) as usize & (SHARDS - 1);
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn check_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        self.take_at(key, 1.0, now)
    }

    fn take_at(&self, key: K, cost: f64, now: Instant) -> Result<(), Duration> {
        let mut shard = self.shard(&key);
        if now.saturating_duration_since(shard.swept) >= FORGET_AFTER {
            shard
                .buckets
                .retain(|_, b| now.saturating_duration_since(b.at) < FORGET_AFTER);
            shard.swept = now;
        }
        let bucket = shard.buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - bucket.tokens) / self.rate))
        }
    }

    /// Buckets held, over all shards.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().map_or(0, |s| s.buckets.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_the_steady_rate() {
        let limiter = Limiter::<Uuid>::new(10.0, 20.0);
        let user = Uuid::new_v4();
        let start = Instant::now();
        for _ in 0..20 {
            assert!(limiter.check_at(user, start).is_ok());
        }
        let wait = limiter.check_at(user, start).unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // A tenth of a second later there is one token again, and only one.
        let later = start + Duration::from_millis(100);
        assert!(limiter.check_at(user, later).is_ok());
        assert!(limiter.check_at(user, later).is_err());
        // Other users have their own budget.
        assert!(limiter.check_at(Uuid::new_v4(), start).is_ok());
    }

    #[test]
    fn idle_buckets_are_forgotten_by_a_sweep_at_most_once_a_period() {
        let limiter = Limiter::<Uuid>::new(10.0, 20.0);
        let start = Instant::now();
        let users: Vec<Uuid> = (0..50_000).map(|_| Uuid::new_v4()).collect();
        for user in &users {
            assert!(limiter.check_at(*user, start).is_ok());
        }
        assert_eq!(limiter.len(), 50_000);
        // Within the period nothing is swept, however many buckets there are.
        let soon = start + FORGET_AFTER / 2;
        assert!(limiter.check_at(users[0], soon).is_ok());
        assert_eq!(limiter.len(), 50_000);
        // After it, each shard sweeps once, on its next check: the idle buckets go, the
        // recently used one stays.
        let later = start + FORGET_AFTER + Duration::from_secs(1);
        for user in &users[..2_000] {
            assert!(limiter.check_at(*user, later).is_ok());
        }
        assert_eq!(limiter.len(), 2_000);
    }

    #[test]
    fn a_user_spends_one_budget_whichever_shard_is_asked_from_where() {
        let limiter = Limiter::<Uuid>::new(1.0, 3.0);
        let user = Uuid::new_v4();
        let now = Instant::now();
        let copy = limiter.clone();
        assert!(limiter.check_at(user, now).is_ok());
        assert!(copy.check_at(user, now).is_ok());
        assert!(limiter.check_at(user, now).is_ok());
        assert!(copy.check_at(user, now).is_err());
    }

    #[test]
    fn a_costed_take_reserves_and_gives_back_what_it_did_not_use() {
        let limiter = Limiter::<Uuid>::new(100.0, 1000.0);
        let user = Uuid::new_v4();
        let now = Instant::now();
        assert!(limiter.take_at(user, 400.0, now).is_ok());
        assert!(limiter.take_at(user, 400.0, now).is_ok());
        // 200 left: a third reservation of 400 waits for 200 more, two seconds.
        assert_eq!(
            limiter.take_at(user, 400.0, now).unwrap_err(),
            Duration::from_secs(2)
        );
        limiter.give_back(user, 350.0);
        assert!(limiter.take_at(user, 400.0, now).is_ok());
        // Never past the burst.
        limiter.give_back(user, 1e9);
        assert!(limiter.take_at(user, 1000.0, now).is_ok());
        assert!(limiter.take_at(user, 1.0, now).is_err());
    }

    #[test]
    fn any_hashable_key_has_its_own_bucket() {
        let limiter = Limiter::<std::net::IpAddr>::new(1.0, 1.0);
        let now = Instant::now();
        let (a, b) = ("127.0.0.1".parse().unwrap(), "::1".parse().unwrap());
        assert!(limiter.check_at(a, now).is_ok());
        assert!(limiter.check_at(a, now).is_err());
        assert!(limiter.check_at(b, now).is_ok());
    }
}
