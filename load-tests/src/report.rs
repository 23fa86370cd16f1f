//! The final report: a table for people, a JSON file for scripts, and two SVG plots (the
//! delivery-latency percentile curve, and latency and throughput over time).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::{percentile_curve, Percentiles};

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

    /// Delivery latency by percentile, on the "nines" axis (p0 … p99.999).
    pub fn latency_svg(&self) -> String {
        let curve = percentile_curve(&self.delivery_histogram);
        let nines = |p: f64| -(1.0 - (p / 100.0).min(0.99999)).log10();
        let points: Vec<(f64, f64)> = curve.iter().map(|(p, ms)| (nines(*p), *ms)).collect();
        let ticks: Vec<(f64, String)> = [0.0, 90.0, 99.0, 99.9, 99.99, 99.999]
            .iter()
            .map(|p| (nines(*p), format!("p{p}")))
            .collect();
        Plot {
            title: format!("{}: send→delivery latency by percentile", self.scenario),
            y_label: "ms".into(),
            x_ticks: ticks,
            series: vec![("delivery".into(), "#1f77b4".into(), points)],
        }
        .svg()
    }

    /// p50 and p99 delivery latency of each second.
    pub fn timeline_svg(&self) -> String {
        let p50 = self
            .timeline
            .iter()
            .map(|s| (s.at_secs, s.p50_ms))
            .collect();
        let p99 = self
            .timeline
            .iter()
            .map(|s| (s.at_secs, s.p99_ms))
            .collect();
        let end = self.timeline.last().map_or(1.0, |s| s.at_secs);
        let step = (end / 6.0).max(1.0).ceil();
        let ticks = (0..=6)
            .map(|i| f64::from(i) * step)
            .filter(|t| *t <= end)
            .map(|t| (t, format!("{t:.0} s")))
            .collect();
        Plot {
            title: format!("{}: send→delivery latency per second", self.scenario),
            y_label: "ms".into(),
            x_ticks: ticks,
            series: vec![
                ("p50".into(), "#2ca02c".into(), p50),
                ("p99".into(), "#d62728".into(), p99),
            ],
        }
        .svg()
    }
}

/// One line of a chart: its name, its colour and its points.
type Series = (String, String, Vec<(f64, f64)>);

/// A minimal line chart.
struct Plot {
    title: String,
    y_label: String,
    x_ticks: Vec<(f64, String)>,
    series: Vec<Series>,
}

impl Plot {
    fn svg(&self) -> String {
        const W: f64 = 720.0;
        const H: f64 = 400.0;
        const L: f64 = 60.0;
        const R: f64 = 20.0;
        const T: f64 = 40.0;
        const B: f64 = 50.0;
        let all = self.series.iter().flat_map(|s| s.2.iter());
        let x_max = all
            .clone()
            .map(|p| p.0)
            .chain(self.x_ticks.iter().map(|t| t.0))
            .fold(f64::MIN, f64::max)
            .max(1e-9);
        let y_max = nice_ceiling(all.map(|p| p.1).fold(0.0, f64::max));
        let x = |v: f64| L + (W - L - R) * v / x_max;
        let y = |v: f64| H - B - (H - T - B) * v / y_max;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
            W / 2.0,
            escape(&self.title)
        );
        for i in 0..=5 {
            let v = y_max * f64::from(i) / 5.0;
            let _ = writeln!(
                svg,
                r##"<line x1="{L}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.1}</text>"##,
                W - R,
                L - 6.0,
                y(v) + 4.0,
                y = y(v)
            );
        }
        for (at, label) in &self.x_ticks {
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{T}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                H - B,
                H - B + 18.0,
                escape(label),
                x = x(*at)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">{}</text>"#,
            H / 2.0,
            H / 2.0,
            escape(&self.y_label)
        );
        for (i, (name, color, points)) in self.series.iter().enumerate() {
            let path: Vec<String> = points
                .iter()
                .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
            let ly = T + 16.0 * i as f64;
            let _ = writeln!(
                svg,
                r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
                L + 10.0,
                L + 30.0,
                L + 36.0,
                ly + 4.0,
                escape(name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(41.0), 50.0);
        assert_eq!(nice_ceiling(0.18), 0.2);
    }
}
