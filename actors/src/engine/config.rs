use std::time::Duration;

use serde::Deserialize;

/// Every limit of the engine. The handshake values (`ping_interval`, `ping_timeout`,
/// `max_payload`) are announced to clients in the open packet.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// How often the server pings (ms).
    pub ping_interval_ms: u64,
    /// How long a client has to answer a ping (ms).
    pub ping_timeout_ms: u64,
    /// Largest HTTP POST body or WebSocket message accepted (bytes).
    pub max_payload: usize,
    /// A session that has not connected to a namespace by then is closed (ms).
    pub connect_timeout_ms: u64,
    /// An upgrade probe that has not completed by then is dropped (ms).
    pub upgrade_timeout_ms: u64,
    /// Most packets waiting for a slow client before it is disconnected.
    pub max_buffered_packets: usize,
    /// Most bytes waiting for a slow client before it is disconnected.
    pub max_buffered_bytes: usize,
    /// Most binary attachments in one Socket.IO packet.
    pub max_attachments: usize,
    /// Most Engine.IO sessions this node holds at once; more handshakes get 503.
    pub max_sessions: usize,
    /// Most sessions open at once from one client address; more handshakes get 429.
    pub max_sessions_per_address: usize,
    /// Handshakes per second from one client address, past its burst; more get 429.
    pub handshakes_per_sec_per_address: f64,
    /// The burst of handshakes one address may make at once.
    pub handshake_burst_per_address: f64,
    /// Take the client address from `X-Forwarded-For` / `Forwarded` (behind a trusted proxy).
    /// Set from `[server] trust_proxy_headers`.
    #[serde(skip)]
    pub trust_proxy_headers: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: 1_000_000,
            connect_timeout_ms: 45_000,
            upgrade_timeout_ms: 10_000,
            max_buffered_packets: 1_024,
            max_buffered_bytes: 4 * 1024 * 1024,
            max_attachments: 10,
            max_sessions: 100_000,
            max_sessions_per_address: 1_000,
            handshakes_per_sec_per_address: 100.0,
            handshake_burst_per_address: 200.0,
            trust_proxy_headers: false,
        }
    }
}

impl EngineConfig {
    /// `ping_interval_ms` as a duration.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// `ping_timeout_ms` as a duration.
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms)
    }

    /// `connect_timeout_ms` as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// `upgrade_timeout_ms` as a duration.
    pub fn upgrade_timeout(&self) -> Duration {
        Duration::from_millis(self.upgrade_timeout_ms)
    }

    /// The open packet's JSON, keys in the order the official server sends them.
    pub fn open_json(&self, sid: &str, upgrades: bool) -> String {
        let upgrades = if upgrades { "[\"websocket\"]" } else { "[]" };
        format!(
            "{{\"sid\":{},\"upgrades\":{upgrades},\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
            serde_json::Value::from(sid),
            self.ping_interval_ms,
            self.ping_timeout_ms,
            self.max_payload
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_packet_has_exactly_the_official_keys_in_order() {
        let config = EngineConfig {
            ping_interval_ms: 300,
            ping_timeout_ms: 200,
            ..Default::default()
        };
        assert_eq!(
            config.open_json("abc", true),
            "{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,\"pingTimeout\":200,\"maxPayload\":1000000}"
        );
        assert!(config.open_json("abc", false).contains("\"upgrades\":[]"));
    }
}
