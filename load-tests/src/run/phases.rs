//! The phases of a run besides the steady sends: the storm and the churn.

use std::time::{Duration, Instant};

use super::fleet::Fleet;
use super::{Connected, RunOptions, DRAIN};
use crate::cli::Scenario;
use crate::client::Command;
use crate::stats::{Counters, Recorder};
use crate::system::{self, Usage};

/// The storm: the first sender's message, delivered to everyone, then one reaction to it from
/// each sender, in random order, at the scenario's rate.
pub(super) async fn storm(
    scenario: &Scenario,
    clients: &[Connected],
    senders: &[usize],
    recorder: &Recorder,
) {
    use rand::seq::SliceRandom;
    let act = |client: &Connected, action| {
        let (Some(conversation), Some(group)) = (&client.conversation, &client.group_connected)
        else {
            return;
        };
        let members = group.load(std::sync::atomic::Ordering::Relaxed);
        let command = Command::Act {
            conversation: conversation.clone(),
            action,
            members,
        };
        if client.commands.send(command).is_ok() {
            Counters::add(&recorder.counters.actions_asked, 1);
        }
    };
    let Some(&first) = senders.first() else {
        return;
    };
    act(&clients[first], crate::cli::Action::Send);
    let c = &recorder.counters;
    let until = Instant::now() + DRAIN;
    while Instant::now() < until
        && (Counters::get(&c.expected) == 0
            || Counters::get(&c.delivered) < Counters::get(&c.expected))
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut order = senders.to_vec();
    order.shuffle(&mut rand::rng());
    let started = Instant::now();
    for (n, &i) in order.iter().enumerate() {
        let due = started + Duration::from_secs_f64(n as f64 / scenario.rate);
        tokio::time::sleep_until(due.into()).await;
        act(&clients[i], crate::cli::Action::React);
    }
}

/// Closes every client and connects them again, `scenario.cycles` times; the servers' RSS
/// after each reconnection.
pub(super) async fn churn(
    scenario: &Scenario,
    options: &RunOptions,
    fleet: &Fleet<'_>,
    clients: &mut Vec<Connected>,
    scrapes: &reqwest::Client,
) -> Vec<u64> {
    let recorder = &fleet.recorder;
    let mut rss = Vec::new();
    for _ in 0..scenario.cycles {
        for client in clients.drain(..) {
            let _ = client.commands.send(Command::Close);
        }
        // Wait until every session is gone on the client side, then on the servers, so that
        // a cycle's sessions never overlap the previous one's.
        while Counters::get(&recorder.counters.connected) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while system::open_sessions(scrapes, &scenario.urls)
            .await
            .is_some_and(|open| open > 0.0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let tasks: Vec<_> = (0..scenario.users).map(|i| fleet.connect(i)).collect();
        for task in tasks {
            if let Ok(Ok(client)) = task.await {
                clients.push(client);
            } else {
                Counters::add(&recorder.counters.handshake_failures, 1);
            }
        }
        let usage: Option<Usage> =
            system::server_usage(scrapes, &options.server_pids, &scenario.urls).await;
        rss.push(usage.map_or(0, |u| u.rss_bytes));
    }
    rss
}
