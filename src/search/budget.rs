//! Each user's budget of database time for searches (PROTOCOL.md v1.2 §14). The rate of
//! searches alone does not bound their cost: one broad search can take a hundred times what a
//! narrow one does. So every search also spends the milliseconds its statement took, from a
//! bucket that refills at `limits.search_db_ms_per_sec`.
//!
//! A search reserves a whole statement timeout before it starts (no statement runs longer) and
//! gets back what it did not use, so however many searches a user starts at once, together
//! they never spend more than the bucket held. A search whose request is dropped midway keeps
//! its whole reservation spent.

use std::future::Future;
use std::time::{Duration, Instant};

use confab_actors::chat::Limiter;
use uuid::Uuid;

/// Milliseconds of search statements per user, as a token bucket.
#[derive(Clone)]
pub struct Budget {
    time: Limiter,
    timeout: Duration,
}

impl Budget {
    /// `ms_per_sec` milliseconds of database time a second per user, up to `burst_ms` at once,
    /// for statements limited to `timeout` each (`burst_ms` must hold one `timeout`).
    pub fn new(ms_per_sec: f64, burst_ms: f64, timeout: Duration) -> Budget {
        Budget {
            time: Limiter::new(ms_per_sec, burst_ms),
            timeout,
        }
    }

    /// A search statement's time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `search` for `user` when their budget holds a whole statement timeout, and
    /// charges what it took; `Err(wait)` (nothing run) says how long until the budget will.
    pub async fn spend<T>(
        &self,
        user: Uuid,
        search: impl Future<Output = T>,
    ) -> Result<T, Duration> {
        let reserved = millis(self.timeout);
        self.time.take(user, reserved)?;
        let start = Instant::now();
        let found = search.await;
        self.time
            .give_back(user, reserved - millis(start.elapsed()));
        Ok(found)
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
