//! The per-user sending rate: a token bucket (by default 10 messages a second, bursts of 20).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Shared by every session of a node, so a user's tabs share one budget.
#[derive(Clone)]
pub struct Limiter {
    rate: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<Uuid, Bucket>>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets are forgotten once idle this long (they are full again by then).
const FORGET_AFTER: Duration = Duration::from_secs(60);

impl Limiter {
    /// `rate` tokens a second, up to `burst` at once.
    pub fn new(rate: f64, burst: f64) -> Limiter {
        Limiter {
            rate,
            burst,
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one token for `user`; `Err(wait)` says how long until one is available.
    pub fn check(&self, user: Uuid) -> Result<(), Duration> {
        self.check_at(user, Instant::now())
    }

    fn check_at(&self, user: Uuid, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.duration_since(b.at) < FORGET_AFTER);
        }
        let bucket = buckets.entry(user).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_the_steady_rate() {
        let limiter = Limiter::new(10.0, 20.0);
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
}
