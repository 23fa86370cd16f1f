//! Chat counters for operators: events by name, rate-limited requests, fan-out deliveries,
//! presence transitions.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::events::ClientEvent;

/// The client events are counted by name (`ClientEvent::NAMES`); anything else counts under
/// this label, so that no client can add a series.
const OTHER: &str = "other";

/// How many event names are counted: the client events and `other`.
const COUNTED: usize = ClientEvent::NAMES.len() + 1;

/// What became of a user's presence on this node, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceTransition {
    /// Their first socket here: announced online.
    Online,
    /// Their last socket here left, and no other node has them: announced offline.
    Offline,
    /// Their last socket here left, but another node still has them: nothing announced.
    StillElsewhere,
    /// Their node died and no other node has them: announced offline by this node.
    Reaped,
}

impl PresenceTransition {
    /// Every transition, in label order.
    pub const ALL: [PresenceTransition; 4] = [
        PresenceTransition::Online,
        PresenceTransition::Offline,
        PresenceTransition::StillElsewhere,
        PresenceTransition::Reaped,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            PresenceTransition::Online => "online",
            PresenceTransition::Offline => "offline",
            PresenceTransition::StillElsewhere => "still_elsewhere",
            PresenceTransition::Reaped => "reaped",
        }
    }
}

/// The chat layer's counters, read by the metrics collector.
#[derive(Debug, Default)]
pub struct ChatStats {
    events: [AtomicU64; COUNTED],
    presence: [AtomicU64; PresenceTransition::ALL.len()],
    rate_limited: AtomicU64,
    deliveries: AtomicU64,
}

impl ChatStats {
    pub(crate) fn event(&self, name: &str) {
        let i = ClientEvent::NAMES
            .iter()
            .position(|e| *e == name)
            .unwrap_or(COUNTED - 1);
        self.events[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused for the sending rate (sockets and HTTP alike).
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, n: usize) {
        self.deliveries.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn presence(&self, transition: PresenceTransition) {
        self.presence[transition as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// `(transition, count)` for every presence transition.
    pub fn presence_transitions(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        PresenceTransition::ALL
            .iter()
            .zip(&self.presence)
            .map(|(t, n)| (t.label(), n.load(Ordering::Relaxed)))
    }

    /// `(event name, count)` for every counted name.
    pub fn events(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ClientEvent::NAMES
            .iter()
            .chain([&OTHER])
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
