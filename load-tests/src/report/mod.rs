//! The final report: a table for people, a JSON file for scripts, and two SVG plots (the
//! delivery-latency percentile curve, and latency and throughput over time).

mod plot;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::Percentiles;

/// One second of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Second {
    pub at_secs: f64,
    pub sent: u64,
    pub delivered: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub scenario: String,
    pub urls: Vec<String>,
    pub users: usize,
    pub group_size: usize,
    pub rate: f64,
    pub duration_secs: f64,
    pub connected: usize,
    pub handshake_failures: u64,
    pub connect_secs: f64,
    pub connect: Percentiles,
    pub sent: u64,
    pub acked: u64,
    pub achieved_rate: f64,
    pub ack: Percentiles,
    pub expected: u64,
    pub delivered: u64,
    pub delivery_ratio: f64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub delivery: Percentiles,
    /// Edits and reactions (`--mix`), and how clients kept up with every rev.
    pub changes: ChangeCounts,
    /// Change→delivery: an edit or reaction asked for, to each socket's event.
    pub change: Percentiles,
    pub errors: BTreeMap<String, u64>,
    pub disconnects: u64,
    pub server_rss_before: Option<u64>,
    pub server_rss_connected: Option<u64>,
    pub server_rss_after: Option<u64>,
    pub server_rss_per_connection_kib: Option<f64>,
    pub server_cpu_percent: Option<f64>,
    pub churn_rss: Vec<u64>,
    pub file_limit: u64,
    pub timeline: Vec<Second>,
    #[serde(skip)]
    pub delivery_histogram: Histogram<u64>,
}

/// What `--mix` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    /// The mix, as given.
    pub mix: String,
    pub sent: u64,
    pub acked: u64,
    pub expected: u64,
    pub delivered: u64,
    /// Revs clients applied in order, live or repaired.
    pub revs_applied: u64,
    pub gaps_seen: u64,
    pub gaps_repaired: u64,
    /// How many different reaction lists the clients ended with (1: all the same), and how
    /// many users the most common one lists.
    pub final_reaction_lists: usize,
    pub final_reaction_entries: usize,
}

/// Targets given on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets {
    pub max_p99_ms: Option<f64>,
    pub min_delivery: Option<f64>,
}

impl Report {
    /// The targets this run missed, each as a sentence.
    pub fn missed(&self, targets: Targets) -> Vec<String> {
        let mut missed = Vec::new();
        if let Some(max) = targets.max_p99_ms {
            if self.delivery.p99 > max {
                missed.push(format!(
                    "p99 send→delivery {:.2} ms is over --max-p99 {max} ms",
                    self.delivery.p99
                ));
            }
        }
        if let Some(min) = targets.min_delivery {
            if self.delivery_ratio < min {
                missed.push(format!(
                    "delivery ratio {:.5} is under --min-delivery {min}",
                    self.delivery_ratio
                ));
            }
        }
        if self.connected < self.users {
            missed.push(format!(
                "only {} of {} users connected",
                self.connected, self.users
            ));
        }
        missed
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let row = |out: &mut String, name: &str, p: &Percentiles| {
            let _ = writeln!(
                out,
                "{name:<18} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}",
                p.count, p.mean, p.p50, p.p90, p.p95, p.p99, p.p999, p.max
            );
        };
        let _ = writeln!(
            out,
            "scenario {}: {} users in groups of {}, {} msg/s for {} s, {}",
            self.scenario,
            self.users,
            self.group_size,
            self.rate,
            self.duration_secs,
            self.urls.join(" ")
        );
        let _ = writeln!(
            out,
            "connected {} of {} in {:.2} s ({} handshake failures, {} disconnects)",
            self.connected,
            self.users,
            self.connect_secs,
            self.handshake_failures,
            self.disconnects
        );
        let _ = writeln!(
            out,
            "sent {} ({:.1}/s), acked {}; delivered {} of {} expected (ratio {:.5}), {} duplicates, {} out of order",
            self.sent,
            self.achieved_rate,
            self.acked,
            self.delivered,
            self.expected,
            self.delivery_ratio,
            self.duplicates,
            self.out_of_order
        );
        let _ = writeln!(
            out,
            "\n{:<18} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "latency (ms)", "count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
        );
        row(&mut out, "connect", &self.connect);
        row(&mut out, "send→ack", &self.ack);
        row(&mut out, "send→delivery", &self.delivery);
        let changes = &self.changes;
        if changes.sent > 0 || changes.gaps_seen > 0 {
            row(&mut out, "change→delivery", &self.change);
            let _ = writeln!(
                out,
                "\nmix {}: {} edits and reactions, acked {}; delivered {} of {} expected; \
                 {} revs applied in order; gaps seen {}, repaired {}, unrepaired {}",
                changes.mix,
                changes.sent,
                changes.acked,
                changes.delivered,
                changes.expected,
                changes.revs_applied,
                changes.gaps_seen,
                changes.gaps_repaired,
                changes.gaps_seen.saturating_sub(changes.gaps_repaired)
            );
            if changes.final_reaction_lists > 0 {
                let _ = writeln!(
                    out,
                    "clients ended with {} different reaction list(s); the most common lists {} users",
                    changes.final_reaction_lists, changes.final_reaction_entries
                );
            }
        }
        if !self.errors.is_empty() {
            let errors: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(out, "\nerrors: {}", errors.join(", "));
        }
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        if let (Some(before), Some(connected)) = (self.server_rss_before, self.server_rss_connected)
        {
            let _ = writeln!(
                out,
                "\nserver RSS {:.1} MiB idle, {:.1} MiB connected ({:.1} KiB per connection)",
                mib(before),
                mib(connected),
                self.server_rss_per_connection_kib.unwrap_or(0.0)
            );
        }
        if let Some(cpu) = self.server_cpu_percent {
            let _ = writeln!(out, "server CPU while sending: {cpu:.0} % of one core");
        }
        if let (Some(first), Some(last)) = (self.churn_rss.first(), self.churn_rss.last()) {
            let _ = writeln!(
                out,
                "churn: RSS after cycle 1 {:.1} MiB, after cycle {} {:.1} MiB ({:+.1} %)",
                mib(*first),
                self.churn_rss.len(),
                mib(*last),
                100.0 * (*last as f64 - *first as f64) / (*first).max(1) as f64
            );
        }
        out
    }

    /// Writes report.json, latency.svg and timeline.svg into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(self)?)?;
        std::fs::write(dir.join("latency.svg"), self.latency_svg())?;
        std::fs::write(dir.join("timeline.svg"), self.timeline_svg())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::histogram;

    fn report() -> Report {
        let mut h = histogram();
        for micros in [1_000u64, 2_000, 3_000, 40_000] {
            h.record(micros).unwrap();
        }
        Report {
            scenario: "floor".into(),
            urls: vec!["http://127.0.0.1:8080".into()],
            users: 4,
            group_size: 4,
            rate: 2.0,
            duration_secs: 2.0,
            connected: 4,
            handshake_failures: 0,
            connect_secs: 0.5,
            connect: Percentiles::of(&h),
            sent: 4,
            acked: 4,
            achieved_rate: 2.0,
            ack: Percentiles::of(&h),
            expected: 12,
            delivered: 12,
            delivery_ratio: 1.0,
            duplicates: 0,
            out_of_order: 0,
            delivery: Percentiles::of(&h),
            changes: ChangeCounts::default(),
            change: Percentiles::of(&histogram()),
            errors: BTreeMap::from([("rate_limited".to_string(), 2)]),
            disconnects: 0,
            server_rss_before: Some(10 << 20),
            server_rss_connected: Some(11 << 20),
            server_rss_after: Some(11 << 20),
            server_rss_per_connection_kib: Some(256.0),
            server_cpu_percent: Some(12.0),
            churn_rss: vec![],
            file_limit: 20_000,
            timeline: vec![
                Second {
                    at_secs: 1.0,
                    sent: 2,
                    delivered: 6,
                    p50_ms: 2.0,
                    p99_ms: 3.0,
                },
                Second {
                    at_secs: 2.0,
                    sent: 2,
                    delivered: 6,
                    p50_ms: 2.0,
                    p99_ms: 40.0,
                },
            ],
            delivery_histogram: h,
        }
    }

    #[test]
    fn the_table_names_every_figure() {
        let table = report().table();
        for needle in [
            "send→ack",
            "send→delivery",
            "ratio 1.00000",
            "rate_limited 2",
            "256.0 KiB per connection",
        ] {
            assert!(table.contains(needle), "{needle} missing from\n{table}");
        }
    }

    #[test]
    fn targets_are_checked() {
        let r = report();
        assert!(r
            .missed(Targets {
                max_p99_ms: Some(100.0),
                min_delivery: Some(0.999)
            })
            .is_empty());
        let missed = r.missed(Targets {
            max_p99_ms: Some(10.0),
            min_delivery: Some(1.0),
        });
        assert_eq!(missed.len(), 1, "{missed:?}");
        assert!(missed[0].contains("--max-p99"));
        let mut short = report();
        short.delivery_ratio = 0.9;
        short.connected = 3;
        assert_eq!(
            short
                .missed(Targets {
                    max_p99_ms: None,
                    min_delivery: Some(0.99)
                })
                .len(),
            2
        );
    }

    #[test]
    fn writes_json_and_plots() {
        let dir = std::env::temp_dir().join(format!("confab-load-report-{}", std::process::id()));
        report().write(&dir).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(json["deliveryRatio"], 1.0);
        assert_eq!(json["timeline"].as_array().unwrap().len(), 2);
        for plot in ["latency.svg", "timeline.svg"] {
            let svg = std::fs::read_to_string(dir.join(plot)).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            assert!(svg.contains("<polyline"), "{plot} has a line");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
