//! Invite links: minting and reading codes (`code`), and what guards their use. Looking a code
//! up (`GET /invites/{code}`) and accepting one spend a per-user and a per-address rate, so
//! that guessing codes (hopeless at 192 bits) is also slow and noisy: every refused look-up is
//! counted in `confab_invite_lookups_total`, and each burst of refusals from one user or
//! address is logged once.

pub mod code;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use confab_actors::chat::Limiter;
use prometheus::{IntCounterVec, Opts};
use uuid::Uuid;

use crate::error::ApiError;
pub use code::InviteCodes;

/// Refusals from one source within this long of the last one logged are the same burst.
const BURST_QUIET: Duration = Duration::from_secs(60);
/// Sources remembered for logging bursts; past it the memory starts over.
const BURSTS_TRACKED: usize = 10_000;

/// What a look-up or an accept came to, as a metric label.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Found,
    Unknown,
    RateLimited,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Found => "found",
            Outcome::Unknown => "unknown",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

/// The node's invite codes and the guards on their use.
pub struct Invites {
    pub codes: InviteCodes,
    by_user: Limiter,
    /// By the client's address; addresses that are not IP addresses share one bucket.
    by_address: Limiter<std::net::IpAddr>,
    lookups: IntCounterVec,
    bursts: Mutex<HashMap<String, Instant>>,
}

impl Invites {
    /// `per_minute` look-ups per user (and four times that per address), in bursts of as many;
    /// the counter is registered with `metrics`.
    pub fn new(
        secret: &[u8],
        per_minute: f64,
        metrics: &crate::metrics::Metrics,
    ) -> anyhow::Result<Invites> {
        let lookups = IntCounterVec::new(
            Opts::new(
                "invite_lookups_total",
                "Invite codes looked up or accepted, by outcome",
            )
            .namespace("confab"),
            &["outcome"],
        )?;
        metrics.register(Box::new(lookups.clone()))?;
        Ok(Invites {
            codes: InviteCodes::new(secret)?,
            by_user: Limiter::new(per_minute / 60.0, per_minute),
            by_address: Limiter::new(4.0 * per_minute / 60.0, 4.0 * per_minute),
            lookups,
            bursts: Mutex::new(HashMap::new()),
        })
    }

    /// Spends one look-up of `user` at `address`; `rate_limited` past either rate.
    pub fn spend(&self, user: Uuid, address: &str) -> Result<(), ApiError> {
        let limited = self.by_user.check(user).and_then(|()| {
            let ip = address
                .parse()
                .unwrap_or(std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
            self.by_address.check(ip)
        });
        match limited {
            Ok(()) => Ok(()),
            Err(wait) => {
                self.record(Outcome::RateLimited, user, address);
                Err(ApiError::rate_limited(
                    "too many invite look-ups; retry later",
                    wait,
                ))
            }
        }
    }

    /// Counts a look-up's outcome; logs the first refusal of each burst from a user or address.
    pub fn record(&self, outcome: Outcome, user: Uuid, address: &str) {
        self.lookups.with_label_values(&[outcome.label()]).inc();
        if matches!(outcome, Outcome::Found) {
            return;
        }
        let now = Instant::now();
        let mut bursts = self.bursts.lock().unwrap_or_else(|e| e.into_inner());
        if bursts.len() >= BURSTS_TRACKED {
            bursts.clear();
        }
        let mut first = false;
        for source in [user.to_string(), address.to_string()] {
            let last = bursts.insert(source, now);
            first |= last.is_none_or(|at| now.duration_since(at) > BURST_QUIET);
        }
        if first {
            log::warn!(
                user_id:% = user, address = address, outcome = outcome.label();
                "invite codes refused: unknown or rate-limited look-ups (logged once a burst)"
            );
        }
    }
}
