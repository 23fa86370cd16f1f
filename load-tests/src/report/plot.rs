//! The two SVG plots of a report, drawn as a minimal line chart.

use std::fmt::Write as _;

use super::Report;
use crate::stats::percentile_curve;

impl Report {
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

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(41.0), 50.0);
        assert_eq!(nice_ceiling(0.18), 0.2);
    }
}
