use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::socket::DisconnectReason;

/// Counters an operator can export: sessions open and how they ended.
#[derive(Debug, Default)]
pub struct EngineStats {
    sessions: AtomicI64,
    opened: AtomicU64,
    slow_consumers: AtomicU64,
    ping_timeouts: AtomicU64,
    parse_errors: AtomicU64,
}

impl EngineStats {
    pub(crate) fn opened(&self) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn removed(&self) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self, reason: DisconnectReason) {
        let counter = match reason {
            DisconnectReason::SlowConsumer => &self.slow_consumers,
            DisconnectReason::PingTimeout => &self.ping_timeouts,
            DisconnectReason::ParseError => &self.parse_errors,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sessions open now.
    pub fn sessions(&self) -> i64 {
        self.sessions.load(Ordering::Relaxed)
    }

    /// Sessions opened since start.
    pub fn sessions_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Sessions dropped because their client could not keep up.
    pub fn slow_consumers(&self) -> u64 {
        self.slow_consumers.load(Ordering::Relaxed)
    }

    pub fn ping_timeouts(&self) -> u64 {
        self.ping_timeouts.load(Ordering::Relaxed)
    }

    pub fn parse_errors(&self) -> u64 {
        self.parse_errors.load(Ordering::Relaxed)
    }
}
