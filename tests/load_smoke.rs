//! A short run of the load tool against a real node: a few dozen users, a few seconds, sends
//! mixed with edits and reactions. It asserts what the tool counts (every message delivered
//! once, in order; every change delivered; every gap in revs repaired), never how fast.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{DropDatabase, Node};
use confab_load::cli::{Mix, Scenario};
use confab_load::run::{run, RunOptions};
use confab_load::seed::Seed;

#[actix_web::test]
async fn the_load_tool_delivers_everything_it_sends() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let node = Node::start(&url, &[]).await;
    let scenario = Scenario {
        name: "smoke".into(),
        urls: vec![node.base.clone()],
        users: 40,
        group_size: 10,
        rate: 20.0,
        duration: Duration::from_secs(3),
        ramp: 200.0,
        cycles: 0,
        mix: Mix {
            send: 60,
            edit: 20,
            react: 20,
        },
        storm: false,
    };
    let confab = Path::new(env!("CARGO_BIN_EXE_confab"));
    let seed = Seed::generate(confab, Some(&url), scenario.users, scenario.group_size)
        .await
        .expect("confab seed runs");
    assert_eq!(seed.users.len(), 40);
    assert_eq!(seed.groups.len(), 4);
    let options = RunOptions {
        source_addrs: 2,
        // A quarter start on long-polling and upgrade.
        polling_share: 0.25,
        server_pids: vec![node.pid()],
        plain: true,
    };
    let report = run(&scenario, &seed, &options)
        .await
        .expect("the run completes");
    println!("{}", report.table());
    assert_eq!(report.connected, 40);
    assert_eq!(report.handshake_failures, 0);
    assert!(report.sent > 0);
    assert_eq!(report.acked, report.sent, "every send acknowledged");
    // Nine other members of each group.
    assert_eq!(report.expected, report.sent * 9);
    assert_eq!(report.delivered, report.expected, "every message delivered");
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.out_of_order, 0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.delivery.count, report.delivered);
    // Edits and reactions reach every member's socket, the actor's included.
    let changes = &report.changes;
    assert!(changes.sent > 0, "{changes:?}");
    assert_eq!(changes.acked, changes.sent, "every change acknowledged");
    assert_eq!(changes.expected, changes.sent * 10);
    assert_eq!(
        changes.delivered, changes.expected,
        "every change delivered"
    );
    assert_eq!(
        changes.gaps_repaired, changes.gaps_seen,
        "every gap repaired"
    );
    assert!(changes.revs_applied > 0);
    assert!(report.server_rss_connected.is_some());
    // The quarter that started on long-polling upgraded.
    let metrics = awc::Client::new()
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .body()
        .await
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics
            .lines()
            .any(|l| l == "confab_engine_upgrades_total 10"),
        "{metrics}"
    );
}
