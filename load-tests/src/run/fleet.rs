//! The clients of a run: who connects as whom, to which node, from which address, over which
//! transport first.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Connected;
use crate::client::{self, ClientSpec};
use crate::http;
use crate::seed::Seed;
use crate::stats::{Counters, Recorder};

/// Whether client `i` starts on long-polling: `share` of the clients, spread evenly.
pub fn polling_first(i: usize, share: f64) -> bool {
    (((i + 1) as f64) * share).floor() > ((i as f64) * share).floor()
}

/// The source address for client `i`: 127.0.0.1 upwards, for loopback targets only.
pub fn source_address(target: IpAddr, i: usize, spread: u8) -> Option<IpAddr> {
    match target {
        IpAddr::V4(v4) if v4.is_loopback() && spread > 1 => {
            let last = 1 + (i % usize::from(spread)) as u8;
            Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        }
        _ => None,
    }
}

/// What every client of a run is built from.
pub(super) struct Fleet<'a> {
    pub(super) seed: &'a Seed,
    pub(super) targets: Vec<(String, SocketAddr)>,
    /// Connected members, per group.
    pub(super) groups: Vec<Arc<AtomicUsize>>,
    /// Each user's group.
    pub(super) group_of: Vec<Option<usize>>,
    pub(super) source_addrs: u8,
    pub(super) polling_share: f64,
    pub(super) recorder: Arc<Recorder>,
    /// The HTTP clients of the long-polling starts, one per source address, each made when
    /// first needed.
    pub(super) http: Mutex<HashMap<Option<IpAddr>, reqwest::Client>>,
}

impl Fleet<'_> {
    /// Connects users `0..users`, starting `ramp` a second, each on a task of its own; the
    /// clients that connected (the others are counted as handshake failures, by cause).
    pub(super) async fn ramp_up(&self, users: usize, ramp: f64) -> Vec<Connected> {
        let started = Instant::now();
        let mut connecting = Vec::with_capacity(users);
        for i in 0..users {
            let due = started + Duration::from_secs_f64(i as f64 / ramp);
            tokio::time::sleep_until(due.into()).await;
            connecting.push(self.connect(i));
        }
        let mut clients = Vec::with_capacity(users);
        for task in connecting {
            match task.await {
                Ok(Ok(client)) => clients.push(client),
                Ok(Err(err)) => {
                    Counters::add(&self.recorder.counters.handshake_failures, 1);
                    self.recorder.error(&connect_failure(&err));
                }
                Err(_) => Counters::add(&self.recorder.counters.handshake_failures, 1),
            }
        }
        clients
    }

    /// The HTTP client whose connections leave from `source`.
    fn http(&self, source: Option<IpAddr>) -> anyhow::Result<reqwest::Client> {
        let mut clients = self.http.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&source) {
            return Ok(client.clone());
        }
        let client = http::client(source)?;
        clients.insert(source, client.clone());
        Ok(client)
    }

    /// Starts connecting user `i`, on a task of its own.
    pub(super) fn connect(&self, i: usize) -> tokio::task::JoinHandle<anyhow::Result<Connected>> {
        let (ws_url, addr) = self.targets[i % self.targets.len()].clone();
        let group = self.group_of[i];
        let source = source_address(addr.ip(), i, self.source_addrs);
        let polling = polling_first(i, self.polling_share)
            .then(|| self.http(source))
            .transpose();
        let token = self.seed.users[i].token.clone();
        let group_connected = group.map(|g| self.groups[g].clone());
        let recorder = self.recorder.clone();
        let conversation: Option<Arc<str>> = group.map(|g| self.seed.groups[g].id.as_str().into());
        tokio::spawn(async move {
            let spec = ClientSpec {
                index: i,
                url: ws_url.clone(),
                token,
                polling: polling?,
                source,
                group_connected: group_connected.clone(),
            };
            let commands = client::connect(spec, ws_url, addr, recorder).await?;
            anyhow::Ok(Connected {
                commands,
                conversation,
                group_connected,
            })
        })
    }
}

/// The error code of a failed connection, by its cause.
fn connect_failure(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    if text.contains("Too many open files") {
        "connect_no_files".into()
    } else if text.contains("Cannot assign requested address") {
        "connect_no_ports".into()
    } else if text.contains("refused") {
        "connect_refused".into()
    } else {
        "connect_failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_clients_starts_on_polling() {
        let count = |share| (0..1000).filter(|&i| polling_first(i, share)).count();
        assert_eq!(count(0.0), 0);
        assert_eq!(count(0.1), 100);
        assert_eq!(count(0.25), 250);
        assert_eq!(count(1.0), 1000);
        // Spread out, not the first hundred.
        assert!(!polling_first(0, 0.1) && polling_first(9, 0.1) && polling_first(19, 0.1));
    }

    #[test]
    fn sources_spread_over_loopback_only() {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(source_address(local, 5, 1), None);
        assert_eq!(
            source_address(local, 5, 4),
            Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        );
        assert_eq!(
            source_address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5, 4),
            None
        );
    }
}
