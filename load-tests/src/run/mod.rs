//! A run: connect every user (ramping up), send at a fixed total rate from random connected
//! users, wait for the last deliveries, and summarise. Progress is printed once a second.

mod fleet;
mod phases;
mod progress;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::cli::Scenario;
use crate::client::{self, Command};
use crate::http;
use crate::report::{ChangeCounts, Report};
use crate::seed::Seed;
use crate::stats::{delivery_ratio, Counters, Percentiles, Recorder};
use crate::system;
use fleet::Fleet;
use phases::{churn, drain, steady, storm};
use progress::Progress;

pub use fleet::{polling_first, source_address};

/// How long to wait after the last send for its acks and deliveries.
const DRAIN: Duration = Duration::from_secs(10);

/// Options that are not part of the scenario itself.
pub struct RunOptions {
    pub source_addrs: u8,
    /// The share of clients (0..=1) that start on long-polling and upgrade.
    pub polling_share: f64,
    pub server_pids: Vec<u32>,
    /// One line per second instead of a redrawn status line.
    pub plain: bool,
}

struct Connected {
    commands: mpsc::UnboundedSender<Command>,
    conversation: Option<Arc<str>>,
    group_connected: Option<Arc<AtomicUsize>>,
}

/// Runs `scenario` as the users of `seed` and reports what it measured.
pub async fn run(scenario: &Scenario, seed: &Seed, options: &RunOptions) -> anyhow::Result<Report> {
    let file_limit = system::raise_file_limit();
    let allowed = system::connections_allowed(file_limit) as usize;
    anyhow::ensure!(
        scenario.users <= allowed,
        "{} connections need more open files than this process may have ({file_limit}); \
         raise the hard limit (ulimit -Hn) or run fewer users",
        scenario.users
    );
    anyhow::ensure!(
        seed.users.len() >= scenario.users,
        "the seed has {} users; the scenario needs {}",
        seed.users.len(),
        scenario.users
    );
    let targets = scenario
        .urls
        .iter()
        .map(|u| client::socket_url(u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let recorder = Arc::new(Recorder::new());
    // The `/metrics` scrapes (without --server-pid).
    let scrapes = http::client(None)?;
    let fleet = Fleet {
        seed,
        targets,
        groups: seed.groups.iter().map(|_| Arc::default()).collect(),
        group_of: seed.group_of_users(),
        source_addrs: options.source_addrs.max(scenario.source_addrs_needed()),
        polling_share: options.polling_share,
        recorder: recorder.clone(),
        http: Mutex::default(),
    };

    let usage_before = system::server_usage(&scrapes, &options.server_pids, &scenario.urls).await;
    let progress = Progress::start(recorder.clone(), options.plain);

    let ramp_started = Instant::now();
    let mut clients = fleet.ramp_up(scenario.users, scenario.ramp).await;
    let connect_elapsed = ramp_started.elapsed();
    let usage_connected =
        system::server_usage(&scrapes, &options.server_pids, &scenario.urls).await;

    // Churn: leave and come back, `cycles` times, reading RSS after each.
    let mut churn_rss = Vec::new();
    if scenario.cycles > 0 {
        churn_rss = churn(scenario, options, &fleet, &mut clients, &scrapes).await;
    }

    // The senders: connected members of a group.
    let senders: Vec<usize> = (0..clients.len())
        .filter(|&i| clients[i].conversation.is_some())
        .collect();
    let send_started = Instant::now();
    if scenario.storm {
        storm(scenario, &clients, &senders, &recorder).await;
    } else {
        steady(scenario, &clients, &senders, &recorder).await;
    }
    let send_elapsed = send_started.elapsed();
    drain(&recorder).await;
    let c = &recorder.counters;
    let usage_after = system::server_usage(&scrapes, &options.server_pids, &scenario.urls).await;
    for client in &clients {
        let _ = client.commands.send(Command::Close);
    }
    let (latencies, timeline) = progress.finish().await;
    // The clients report their last reaction list as they leave.
    let leave_until = Instant::now() + Duration::from_secs(5);
    while Counters::get(&c.connected) > 0 && Instant::now() < leave_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let final_lists = recorder.final_reaction_lists();

    let connected = clients.len();
    let cpu_percent = match (usage_connected, usage_after) {
        (Some(a), Some(b)) if scenario.rate > 0.0 && send_elapsed >= Duration::from_secs(1) => {
            Some(100.0 * (b.cpu_seconds - a.cpu_seconds) / send_elapsed.as_secs_f64())
        }
        _ => None,
    };
    let rss_per_connection = match (usage_before, usage_connected) {
        (Some(a), Some(b)) if connected > 0 => {
            Some(b.rss_bytes.saturating_sub(a.rss_bytes) as f64 / connected as f64 / 1024.0)
        }
        _ => None,
    };
    Ok(Report {
        scenario: scenario.name.clone(),
        urls: scenario.urls.clone(),
        users: scenario.users,
        group_size: scenario.group_size,
        rate: scenario.rate,
        duration_secs: scenario.duration.as_secs_f64(),
        connected,
        handshake_failures: Counters::get(&c.handshake_failures),
        connect_secs: connect_elapsed.as_secs_f64(),
        connect: Percentiles::of(&latencies.connect),
        sent: Counters::get(&c.sent),
        acked: Counters::get(&c.acked),
        achieved_rate: Counters::get(&c.sent) as f64 / send_elapsed.as_secs_f64().max(1e-9),
        ack: Percentiles::of(&latencies.ack),
        expected: Counters::get(&c.expected),
        delivered: Counters::get(&c.delivered),
        delivery_ratio: delivery_ratio(Counters::get(&c.expected), Counters::get(&c.delivered)),
        duplicates: Counters::get(&c.duplicates),
        out_of_order: Counters::get(&c.out_of_order),
        delivery: Percentiles::of(&latencies.delivery),
        changes: ChangeCounts {
            mix: scenario.mix.to_string(),
            sent: Counters::get(&c.changes_sent),
            acked: Counters::get(&c.changes_acked),
            expected: Counters::get(&c.changes_expected),
            delivered: Counters::get(&c.changes_delivered),
            revs_applied: Counters::get(&c.revs_applied),
            gaps_seen: Counters::get(&c.gaps_seen),
            gaps_repaired: Counters::get(&c.gaps_repaired),
            final_reaction_lists: final_lists.0,
            final_reaction_entries: final_lists.1,
        },
        change: Percentiles::of(&latencies.change),
        errors: recorder.errors(),
        disconnects: Counters::get(&c.disconnects),
        server_rss_before: usage_before.map(|u| u.rss_bytes),
        server_rss_connected: usage_connected.map(|u| u.rss_bytes),
        server_rss_after: usage_after.map(|u| u.rss_bytes),
        server_rss_per_connection_kib: rss_per_connection,
        server_cpu_percent: cpu_percent,
        churn_rss,
        file_limit,
        timeline,
        delivery_histogram: latencies.delivery,
    })
}
