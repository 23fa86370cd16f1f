//! The operator's files: every metric the Grafana dashboard and the Prometheus alert rules name
//! is one a running node really exports on `/metrics`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::TestApp;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The Confab and process metric names an expression uses, as their families.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = ["confab_", "process_"]
        .iter()
        .filter_map(|prefix| rest.find(prefix))
        .min()
    {
        let boundary = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if boundary {
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            names.insert(family.to_string());
        }
        rest = &rest[at + name.len()..];
    }
    names
}

/// The families `/metrics` declares (`# TYPE name kind`).
fn exported(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[actix_web::test]
async fn the_dashboard_and_the_alerts_name_only_exported_metrics() {
    // With Redis, as a node of a cluster: the bridge's families too.
    let app = TestApp::spawn_with(|s| {
        s.redis.url = confab::config::Secret::new("redis://127.0.0.1:6379")
    })
    .await;
    // A request, so that the per-route HTTP families have a series.
    assert_eq!(app.request("GET", "/health", None, None).await.status, 200);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .body()
        .limit(4 << 20)
        .await
        .unwrap();
    let exported = exported(std::str::from_utf8(&metrics).unwrap());
    assert!(
        exported.contains("confab_send_commit_seconds"),
        "{exported:?}"
    );

    let dashboard: Value = serde_json::from_str(&read("config/grafana/confab.json")).unwrap();
    assert_eq!(dashboard["uid"], "confab");
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut named = BTreeSet::new();
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{expr} names no metric");
            named.extend(names);
        }
    }
    let alerts = read("config/prometheus/alerts.yml");
    let mut alerted = BTreeSet::new();
    for line in alerts
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
    {
        alerted.extend(metric_names(line));
    }
    assert!(alerted.len() >= 8, "{alerted:?}");
    let missing: Vec<_> = named
        .union(&alerted)
        .filter(|n| !exported.contains(*n))
        .collect();
    assert!(missing.is_empty(), "not exported by /metrics: {missing:?}");
}

#[test]
fn metric_names_are_read_as_families() {
    let names = metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(confab_send_commit_seconds_bucket[5m]))) \
         / process_max_fds + xconfab_nothing",
    );
    let expected: BTreeSet<String> = ["confab_send_commit_seconds", "process_max_fds"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
}
