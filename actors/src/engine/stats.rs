use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::socket::DisconnectReason;

/// Every reason a session or socket can end with, in a fixed order.
pub const REASONS: [DisconnectReason; 10] = [
    DisconnectReason::TransportClose,
    DisconnectReason::TransportError,
    DisconnectReason::PingTimeout,
    DisconnectReason::ParseError,
    DisconnectReason::ClientNamespaceDisconnect,
    DisconnectReason::ServerNamespaceDisconnect,
    DisconnectReason::SlowConsumer,
    DisconnectReason::ConnectTimeout,
    DisconnectReason::ServerShuttingDown,
    DisconnectReason::ForcedClose,
];

/// Counters for operators: sessions by transport, upgrades, packets, and why sessions closed.
#[derive(Debug, Default)]
pub struct EngineStats {
    polling: AtomicI64,
    websocket: AtomicI64,
    opened: AtomicU64,
    upgrades: AtomicU64,
    packets_in: AtomicU64,
    packets_out: AtomicU64,
    closed: [AtomicU64; REASONS.len()],
}

/// The transport a session uses, for the per-transport gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    Polling,
    WebSocket,
}

impl EngineStats {
    fn gauge(&self, kind: TransportKind) -> &AtomicI64 {
        match kind {
            TransportKind::Polling => &self.polling,
            TransportKind::WebSocket => &self.websocket,
        }
    }

    pub(crate) fn opened(&self, kind: TransportKind) {
        self.opened.fetch_add(1, Ordering::Relaxed);
        self.gauge(kind).fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn upgraded(&self) {
        self.upgrades.fetch_add(1, Ordering::Relaxed);
        self.polling.fetch_sub(1, Ordering::Relaxed);
        self.websocket.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self, kind: TransportKind, reason: DisconnectReason) {
        self.gauge(kind).fetch_sub(1, Ordering::Relaxed);
        if let Some(i) = REASONS.iter().position(|r| *r == reason) {
            self.closed[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn packet_in(&self) {
        self.packets_in.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn packets_out(&self, n: usize) {
        self.packets_out.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Sessions open now on long-polling.
    pub fn polling_sessions(&self) -> i64 {
        self.polling.load(Ordering::Relaxed)
    }

    /// Sessions open now on WebSocket.
    pub fn websocket_sessions(&self) -> i64 {
        self.websocket.load(Ordering::Relaxed)
    }

    /// Sessions opened since start.
    pub fn sessions_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Completed polling-to-WebSocket upgrades.
    pub fn upgrades(&self) -> u64 {
        self.upgrades.load(Ordering::Relaxed)
    }

    /// Engine.IO packets received from clients.
    pub fn packets_received(&self) -> u64 {
        self.packets_in.load(Ordering::Relaxed)
    }

    /// Engine.IO frames sent to clients.
    pub fn packets_sent(&self) -> u64 {
        self.packets_out.load(Ordering::Relaxed)
    }

    /// Sessions closed with `reason` since start.
    pub fn closed_with(&self, reason: DisconnectReason) -> u64 {
        REASONS
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.closed[i].load(Ordering::Relaxed))
    }
}
