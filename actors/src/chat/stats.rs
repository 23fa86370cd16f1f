//! Chat counters for operators: events by name, rate-limited requests, fan-out deliveries.

use std::sync::atomic::{AtomicU64, Ordering};

/// The client events counted by name; anything else counts as `other`.
pub const EVENTS: [&str; 10] = [
    "message:send",
    "sync:request",
    "typing:start",
    "typing:stop",
    "receipt:delivered",
    "receipt:read",
    "presence:query",
    "message:edit",
    "message:delete",
    "other",
];

#[derive(Debug, Default)]
pub struct ChatStats {
    events: [AtomicU64; EVENTS.len()],
    rate_limited: AtomicU64,
    deliveries: AtomicU64,
}

impl ChatStats {
    pub(crate) fn event(&self, name: &str) {
        let i = EVENTS
            .iter()
            .position(|e| *e == name)
            .unwrap_or(EVENTS.len() - 1);
        self.events[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused for the sending rate (sockets and HTTP alike).
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, n: usize) {
        self.deliveries.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `(event name, count)` for every counted name.
    pub fn events(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        EVENTS
            .iter()
            .zip(&self.events)
            .map(|(name, n)| (*name, n.load(Ordering::Relaxed)))
    }

    /// Requests refused for going over the sending rate.
    pub fn rate_limited_total(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// Frames handed to sockets by room fan-out.
    pub fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }
}
