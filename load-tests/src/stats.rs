//! What a run measures. Latencies go into HDR histograms (microseconds, 3 significant digits):
//! client tasks record into one of several shards, chosen by their index, so they rarely
//! contend; once a second the progress task takes every shard's window, merges it into the
//! run's totals and keeps that second's percentiles for the latency-over-time plot.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency a histogram holds (longer ones are recorded as this).
const MAX_MICROS: u64 = 120_000_000;
const SHARDS: usize = 16;

/// A histogram of microseconds up to two minutes.
#[allow(
    clippy::expect_used,
    reason = "constant bounds: 1 ≤ 2 × 1 ≤ MAX_MICROS and 3 significant figures"
)]
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

#[derive(Default)]
struct Window {
    ack: Option<Histogram<u64>>,
    delivery: Option<Histogram<u64>>,
    connect: Option<Histogram<u64>>,
    change: Option<Histogram<u64>>,
}

impl Window {
    fn record(slot: &mut Option<Histogram<u64>>, value: Duration) {
        slot.get_or_insert_with(histogram)
            .saturating_record(value.as_micros().clamp(1, u128::from(MAX_MICROS)) as u64);
    }
}

/// Counters shared by every client task and the scheduler.
#[derive(Debug, Default)]
pub struct Counters {
    pub connected: AtomicU64,
    pub handshake_failures: AtomicU64,
    pub disconnects: AtomicU64,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub expected: AtomicU64,
    pub delivered: AtomicU64,
    pub duplicates: AtomicU64,
    pub out_of_order: AtomicU64,
    /// Actions the scheduler gave clients, and those the clients took up (sent).
    pub actions_asked: AtomicU64,
    pub actions_taken: AtomicU64,
    /// Edits and reactions asked for (`--mix`), and acked.
    pub changes_sent: AtomicU64,
    pub changes_acked: AtomicU64,
    /// `message:updated` and `reaction:updated` expected (every connected member's socket)
    /// and received.
    pub changes_expected: AtomicU64,
    pub changes_delivered: AtomicU64,
    /// Revs each client applied in order: live, or by a `sync:changes` repair.
    pub revs_applied: AtomicU64,
    /// Jumps in a client's revs (it missed or has not yet seen a change), and how many of them
    /// `sync:changes` repaired.
    pub gaps_seen: AtomicU64,
    pub gaps_repaired: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Everything recorded during a run.
pub struct Recorder {
    /// The run's clock: message bodies carry their send time as microseconds since this.
    pub started: Instant,
    pub counters: Counters,
    windows: Vec<Mutex<Window>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// When each reaction was asked for, by (message id, user id, emoji, added), for the
    /// change→delivery latency of `reaction:updated` (whose payload carries no time).
    reactions: Mutex<HashMap<(String, String, String, bool), u64>>,
    /// Each client's last reaction list heard, counted by list.
    final_reactions: Mutex<HashMap<String, u64>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            counters: Counters::default(),
            windows: (0..SHARDS).map(|_| Mutex::default()).collect(),
            errors: Mutex::default(),
            reactions: Mutex::default(),
            final_reactions: Mutex::default(),
        }
    }

    fn window(&self, shard: usize) -> std::sync::MutexGuard<'_, Window> {
        self.windows[shard % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Microseconds since the run started (what a message body carries).
    pub fn now_micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    pub fn ack(&self, shard: usize, latency: Duration) {
        Window::record(&mut self.window(shard).ack, latency);
    }

    pub fn delivery(&self, shard: usize, latency: Duration) {
        Window::record(&mut self.window(shard).delivery, latency);
    }

    pub fn connect(&self, shard: usize, latency: Duration) {
        Window::record(&mut self.window(shard).connect, latency);
    }

    /// An edit or reaction reached a socket `latency` after it was asked for.
    pub fn change(&self, shard: usize, latency: Duration) {
        Window::record(&mut self.window(shard).change, latency);
    }

    /// Notes that a reaction was asked for now.
    pub fn reaction_sent(&self, key: (String, String, String, bool)) {
        let now = self.now_micros();
        self.reactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, now);
    }

    /// A client's last reaction list, as it left.
    pub fn final_reactions(&self, list: String) {
        *self
            .final_reactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(list)
            .or_default() += 1;
    }

    /// How many different last lists the clients ended with, and how many users the most
    /// common one lists.
    pub fn final_reaction_lists(&self) -> (usize, usize) {
        let lists = self
            .final_reactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let entries = lists
            .iter()
            .max_by_key(|(_, n)| **n)
            .and_then(|(list, _)| serde_json::from_str::<Vec<serde_json::Value>>(list).ok())
            .map_or(0, |list| {
                list.iter()
                    .filter_map(|r| r["userIds"].as_array())
                    .map(Vec::len)
                    .sum()
            });
        (lists.len(), entries)
    }

    /// When the reaction `key` was asked for (microseconds on the run's clock).
    pub fn reaction_sent_at(&self, key: &(String, String, String, bool)) -> Option<u64> {
        self.reactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    /// Counts an error answer (or a failure of the tool's own) by its code.
    pub fn error(&self, code: &str) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(code.to_string())
            .or_default() += 1;
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes what every shard recorded since the last call.
    pub fn take_windows(&self) -> Latencies {
        let mut taken = Latencies::default();
        for shard in 0..SHARDS {
            let window = std::mem::take(&mut *self.window(shard));
            taken.merge_window(window);
        }
        taken
    }
}

/// Ack, delivery and connect latencies.
pub struct Latencies {
    pub ack: Histogram<u64>,
    pub delivery: Histogram<u64>,
    pub connect: Histogram<u64>,
    pub change: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            ack: histogram(),
            delivery: histogram(),
            connect: histogram(),
            change: histogram(),
        }
    }
}

impl Latencies {
    fn merge_window(&mut self, window: Window) {
        for (into, from) in [
            (&mut self.ack, window.ack),
            (&mut self.delivery, window.delivery),
            (&mut self.connect, window.connect),
            (&mut self.change, window.change),
        ] {
            if let Some(from) = from {
                // Same bounds on both sides: adding cannot fail.
                let _ = into.add(&from);
            }
        }
    }

    pub fn merge(&mut self, other: &Latencies) {
        let _ = self.ack.add(&other.ack);
        let _ = self.delivery.add(&other.delivery);
        let _ = self.connect.add(&other.connect);
        let _ = self.change.add(&other.change);
    }
}

/// Percentiles of one histogram, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if h.is_empty() {
            return Percentiles {
                count: 0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        Percentiles {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// `delivered / expected`; a run that expected nothing delivered everything.
pub fn delivery_ratio(expected: u64, delivered: u64) -> f64 {
    if expected == 0 {
        1.0
    } else {
        delivered as f64 / expected as f64
    }
}

/// Points of the percentile curve (percentile, milliseconds), from p0 up to the max, spaced
/// evenly on the "nines" scale that latency curves are read on.
pub fn percentile_curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points = Vec::new();
    // 1 - q = 10^(-x) for x from 0 to 5 (p0 .. p99.999) in steps of 0.05.
    for step in 0..=100 {
        let x = f64::from(step) * 0.05;
        let q = 1.0 - 10f64.powf(-x);
        points.push((q * 100.0, h.value_at_quantile(q) as f64 / 1000.0));
    }
    points.push((100.0, h.max() as f64 / 1000.0));
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = histogram();
        // 1..=1000 ms, one each.
        for ms in 1..=1000u64 {
            h.record(ms * 1000).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 1000);
        // Three significant digits: each value within 0.1 % of the exact one.
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(p.p50, 500.0), "{p:?}");
        assert!(close(p.p90, 900.0), "{p:?}");
        assert!(close(p.p99, 990.0), "{p:?}");
        assert!(close(p.p999, 999.0), "{p:?}");
        assert!(close(p.max, 1000.0), "{p:?}");
        assert!(close(p.mean, 500.5), "{p:?}");
    }

    #[test]
    fn an_empty_histogram_reports_zeros() {
        let p = Percentiles::of(&histogram());
        assert_eq!(p.count, 0);
        assert_eq!(p.p99, 0.0);
    }

    #[test]
    fn shards_merge_into_one_window_and_then_start_afresh() {
        let recorder = Recorder::new();
        for shard in 0..40 {
            recorder.delivery(shard, Duration::from_millis(2));
            recorder.ack(shard, Duration::from_millis(1));
        }
        recorder.delivery(3, Duration::from_secs(1000));
        let taken = recorder.take_windows();
        assert_eq!(taken.delivery.len(), 41);
        assert_eq!(taken.ack.len(), 40);
        // Longer than the histogram holds: kept as its largest value, not dropped.
        assert!(taken.delivery.max() >= MAX_MICROS * 999 / 1000);
        assert_eq!(recorder.take_windows().delivery.len(), 0);
    }

    #[test]
    fn delivery_ratio_handles_nothing_expected() {
        assert_eq!(delivery_ratio(0, 0), 1.0);
        assert_eq!(delivery_ratio(200, 199), 0.995);
    }

    #[test]
    fn the_percentile_curve_rises_to_the_max() {
        let mut h = histogram();
        for micros in [100u64, 200, 300, 5000] {
            h.record(micros).unwrap();
        }
        let curve = percentile_curve(&h);
        assert_eq!(curve.first().unwrap().0, 0.0);
        let (p, ms) = *curve.last().unwrap();
        assert_eq!(p, 100.0);
        // The max, to the histogram's three significant digits.
        assert!((ms - 5.0).abs() <= 0.005, "{ms}");
        assert!(curve
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }
}
