//! The phases of a run after the ramp: the steady sends or the storm, the drain, and the
//! churn.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::Rng;

use super::fleet::Fleet;
use super::{Connected, RunOptions, DRAIN};
use crate::cli::{Action, Scenario};
use crate::client::Command;
use crate::stats::{Counters, Recorder};
use crate::system::{self, Usage};

/// Asks `client` to do `action` in its group's conversation, if it has one. The client counts
/// what it sends, and what it expects the group's connected members to receive.
fn ask(client: &Connected, action: Action, recorder: &Recorder) {
    let (Some(conversation), Some(group)) = (&client.conversation, &client.group_connected) else {
        return;
    };
    let command = Command::Act {
        conversation: conversation.clone(),
        action,
        members: group.load(Ordering::Relaxed),
    };
    if client.commands.send(command).is_ok() {
        Counters::add(&recorder.counters.actions_asked, 1);
    }
}

/// The steady sends: the scenario's rate for its duration, each from a random sender, doing
/// what the mix draws.
pub(super) async fn steady(
    scenario: &Scenario,
    clients: &[Connected],
    senders: &[usize],
    recorder: &Recorder,
) {
    if scenario.rate <= 0.0 || senders.is_empty() || scenario.duration.is_zero() {
        return;
    }
    let total = (scenario.rate * scenario.duration.as_secs_f64()).round() as u64;
    let mut rng = rand::rng();
    let started = Instant::now();
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / scenario.rate);
        tokio::time::sleep_until(due.into()).await;
        let client = &clients[senders[rng.random_range(0..senders.len())]];
        let action = scenario.mix.pick(rng.random_range(0..scenario.mix.total()));
        ask(client, action, recorder);
    }
}

/// Waits until every action asked for was taken, acked (or refused) and delivered, and every
/// gap in revs repaired; at most DRAIN.
pub(super) async fn drain(recorder: &Recorder) {
    let c = &recorder.counters;
    let settled = || {
        let answered = Counters::get(&c.acked)
            + Counters::get(&c.changes_acked)
            + recorder.errors().values().sum::<u64>();
        Counters::get(&c.actions_taken) >= Counters::get(&c.actions_asked)
            && answered >= Counters::get(&c.sent) + Counters::get(&c.changes_sent)
            && Counters::get(&c.delivered) >= Counters::get(&c.expected)
            && Counters::get(&c.changes_delivered) >= Counters::get(&c.changes_expected)
            && Counters::get(&c.gaps_repaired) >= Counters::get(&c.gaps_seen)
    };
    let until = Instant::now() + DRAIN;
    while Instant::now() < until && !settled() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The storm: the first sender's message, delivered to everyone, then one reaction to it from
/// each sender, in random order, at the scenario's rate.
pub(super) async fn storm(
    scenario: &Scenario,
    clients: &[Connected],
    senders: &[usize],
    recorder: &Recorder,
) {
    use rand::seq::SliceRandom;
    let Some(&first) = senders.first() else {
        return;
    };
    ask(&clients[first], Action::Send, recorder);
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
        ask(&clients[i], Action::React, recorder);
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
