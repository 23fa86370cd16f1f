//! Per-address limits, taken before any session state is allocated: sessions open at once,
//! and handshakes per second (a token bucket with a burst). The address is the peer's, or
//! with `trust_proxy_headers` the one a proxy forwarded.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;

use super::EngineConfig;

/// Addresses kept before idle ones are swept out.
const SWEEP_ABOVE: usize = 4_096;
/// Sweeps at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Why a handshake from an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverLimit {
    /// Too many handshakes per second.
    Rate,
    /// Too many sessions open at once.
    Sessions,
}

struct Use {
    sessions: usize,
    tokens: f64,
    refilled: Instant,
}

/// What each address is using.
pub(crate) struct Addresses {
    uses: Mutex<(HashMap<IpAddr, Use>, Instant)>,
}

impl Default for Addresses {
    fn default() -> Self {
        Addresses {
            uses: Mutex::new((HashMap::new(), Instant::now())),
        }
    }
}

impl Addresses {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<IpAddr, Use>, Instant)> {
        self.uses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a handshake token and a session slot for `addr`, or says which limit it is over.
    pub(crate) fn admit(&self, addr: IpAddr, config: &EngineConfig) -> Result<(), OverLimit> {
        let now = Instant::now();
        let rate = config.handshakes_per_sec_per_address;
        let burst = config.handshake_burst_per_address;
        let mut guard = self.lock();
        let (uses, swept) = &mut *guard;
        if uses.len() > SWEEP_ABOVE && now.duration_since(*swept) >= SWEEP_EVERY {
            *swept = now;
            uses.retain(|_, u| {
                let tokens = u.tokens + now.duration_since(u.refilled).as_secs_f64() * rate;
                u.sessions > 0 || tokens < burst
            });
        }
        let entry = uses.entry(addr).or_insert(Use {
            sessions: 0,
            tokens: burst,
            refilled: now,
        });
        entry.tokens =
            (entry.tokens + now.duration_since(entry.refilled).as_secs_f64() * rate).min(burst);
        entry.refilled = now;
        if entry.sessions >= config.max_sessions_per_address {
            return Err(OverLimit::Sessions);
        }
        if entry.tokens < 1.0 {
            return Err(OverLimit::Rate);
        }
        entry.tokens -= 1.0;
        entry.sessions += 1;
        Ok(())
    }

    /// A session of `addr` ended.
    pub(crate) fn release(&self, addr: IpAddr) {
        let mut guard = self.lock();
        if let Some(entry) = guard.0.get_mut(&addr) {
            entry.sessions = entry.sessions.saturating_sub(1);
        }
    }

    /// Sessions open from `addr`.
    #[cfg(test)]
    fn sessions(&self, addr: IpAddr) -> usize {
        self.lock().0.get(&addr).map_or(0, |u| u.sessions)
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
        let addresses = Addresses::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let limits = config(2, 0.001, 10.0);
        assert_eq!(addresses.admit(a, &limits), Ok(()));
        assert_eq!(addresses.admit(a, &limits), Ok(()));
        assert_eq!(addresses.admit(a, &limits), Err(OverLimit::Sessions));
        assert_eq!(addresses.admit(b, &limits), Ok(()));
        addresses.release(a);
        assert_eq!(addresses.sessions(a), 1);
        assert_eq!(addresses.admit(a, &limits), Ok(()));

        let rated = config(100, 0.001, 3.0);
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(addresses.admit(c, &rated), Ok(()));
            addresses.release(c);
        }
        assert_eq!(addresses.admit(c, &rated), Err(OverLimit::Rate));
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
