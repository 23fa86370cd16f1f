//! Per-address limits, taken before any session state is allocated: sessions open at once,
//! and handshakes per second (a token bucket with a burst). The address is the peer's, or
//! with `trust_proxy_headers` the one a proxy forwarded.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use actix_web::http::header::HeaderMap;

use super::EngineConfig;
use crate::chat::Limiter;

/// Why a handshake from an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverLimit {
    /// Too many handshakes per second.
    Rate,
    /// Too many sessions open at once.
    Sessions,
}

/// What each address is using: handshakes by a token bucket per address, and the sessions it
/// has open (an address is listed only while it has one, so the list is bounded by sessions).
pub(crate) struct Addresses {
    handshakes: Limiter<IpAddr>,
    sessions: Mutex<HashMap<IpAddr, usize>>,
    max_sessions: usize,
}

impl Addresses {
    /// The limits of `config`.
    pub(crate) fn new(config: &EngineConfig) -> Self {
        Addresses {
            handshakes: Limiter::new(
                config.handshakes_per_sec_per_address,
                config.handshake_burst_per_address,
            ),
            sessions: Mutex::new(HashMap::new()),
            max_sessions: config.max_sessions_per_address,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a handshake token and a session slot for `addr`, or says which limit it is over
    /// (an address at its session limit spends no token).
    pub(crate) fn admit(&self, addr: IpAddr) -> Result<(), OverLimit> {
        let mut sessions = self.lock();
        if sessions.get(&addr).copied().unwrap_or(0) >= self.max_sessions {
            return Err(OverLimit::Sessions);
        }
        self.handshakes.check(addr).map_err(|_| OverLimit::Rate)?;
        *sessions.entry(addr).or_insert(0) += 1;
        Ok(())
    }

    /// A session of `addr` ended.
    pub(crate) fn release(&self, addr: IpAddr) {
        let mut sessions = self.lock();
        if let Some(open) = sessions.get_mut(&addr) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                sessions.remove(&addr);
            }
        }
    }

    /// Sessions open from `addr`.
    #[cfg(test)]
    fn sessions(&self, addr: IpAddr) -> usize {
        self.lock().get(&addr).copied().unwrap_or(0)
    }
}

/// The client's address: the first `X-Forwarded-For` entry (or `Forwarded: for=`) when proxy
/// headers are trusted, else the peer's.
pub(crate) fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_proxy_headers: bool,
) -> Option<IpAddr> {
    if trust_proxy_headers {
        let forwarded_for = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| parse_host(v.trim()));
        let forwarded = || {
            headers
                .get("forwarded")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.split([';', ','])
                        .map(str::trim)
                        .find_map(|pair| pair.strip_prefix("for="))
                })
                .and_then(|v| parse_host(v.trim_matches('"')))
        };
        if let Some(addr) = forwarded_for.or_else(forwarded) {
            return Some(addr);
        }
    }
    peer.map(|p| p.ip())
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:5678`.
fn parse_host(host: &str) -> Option<IpAddr> {
    host.parse::<IpAddr>()
        .ok()
        .or_else(|| host.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            host.strip_prefix('[')
                .and_then(|h| h.split(']').next())
                .and_then(|h| h.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sessions: usize, rate: f64, burst: f64) -> EngineConfig {
        EngineConfig {
            max_sessions_per_address: sessions,
            handshakes_per_sec_per_address: rate,
            handshake_burst_per_address: burst,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn sessions_and_handshakes_are_limited_per_address() {
        let addresses = Addresses::new(&config(2, 0.001, 10.0));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!(addresses.admit(a), Ok(()));
        assert_eq!(addresses.admit(a), Ok(()));
        assert_eq!(addresses.admit(a), Err(OverLimit::Sessions));
        assert_eq!(addresses.admit(b), Ok(()));
        addresses.release(a);
        assert_eq!(addresses.sessions(a), 1);
        assert_eq!(addresses.admit(a), Ok(()));
        addresses.release(b);
        assert_eq!(addresses.sessions(b), 0);

        let rated = Addresses::new(&config(100, 0.001, 3.0));
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(rated.admit(c), Ok(()));
            rated.release(c);
        }
        assert_eq!(rated.admit(c), Err(OverLimit::Rate));
    }

    #[test]
    fn the_address_is_the_peers_unless_proxies_are_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for".parse().unwrap(),
            "203.0.113.7, 10.0.0.1".parse().unwrap(),
        );
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(client_address(&headers, Some(peer), false), Some(peer.ip()));
        assert_eq!(
            client_address(&headers, Some(peer), true),
            Some("203.0.113.7".parse().unwrap())
        );
        let mut forwarded = HeaderMap::new();
        forwarded.insert(
            "forwarded".parse().unwrap(),
            "for=\"[2001:db8::1]:4711\";proto=https".parse().unwrap(),
        );
        assert_eq!(
            client_address(&forwarded, Some(peer), true),
            Some("2001:db8::1".parse().unwrap())
        );
    }
}
