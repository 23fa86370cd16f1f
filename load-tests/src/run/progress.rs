//! The once-a-second status line of a run.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::report::Second;
use crate::stats::{Counters, Latencies, Percentiles, Recorder};

/// The once-a-second status line, and the per-second latencies for the timeline plot.
pub(super) struct Progress {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<(Latencies, Vec<Second>)>,
}

impl Progress {
    pub(super) fn start(recorder: Arc<Recorder>, plain: bool) -> Progress {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut total = Latencies::default();
            let mut timeline = Vec::new();
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            ticks.tick().await;
            let c = &recorder.counters;
            let (mut last_sent, mut last_delivered) = (0, 0);
            loop {
                let done = tokio::select! {
                    _ = ticks.tick() => false,
                    _ = &mut stopped => true,
                };
                let window = recorder.take_windows();
                total.merge(&window);
                let (sent, delivered) = (Counters::get(&c.sent), Counters::get(&c.delivered));
                let second = Second {
                    at_secs: recorder.started.elapsed().as_secs_f64(),
                    sent: sent - last_sent,
                    delivered: delivered - last_delivered,
                    p50_ms: Percentiles::of(&window.delivery).p50,
                    p99_ms: Percentiles::of(&window.delivery).p99,
                };
                (last_sent, last_delivered) = (sent, delivered);
                let line = format!(
                    "{:>6.1}s  conns {:>6}  sent/s {:>6}  delivered/s {:>8}  p99 {:>8.2} ms (so far {:.2})  errors {}",
                    second.at_secs,
                    Counters::get(&c.connected),
                    second.sent,
                    second.delivered,
                    second.p99_ms,
                    Percentiles::of(&total.delivery).p99,
                    recorder.errors().values().sum::<u64>(),
                );
                let mut err = std::io::stderr();
                if plain {
                    let _ = writeln!(err, "{line}");
                } else {
                    let _ = write!(err, "\r{line}");
                    let _ = err.flush();
                }
                timeline.push(second);
                if done {
                    if !plain {
                        let _ = writeln!(err);
                    }
                    return (total, timeline);
                }
            }
        });
        Progress { stop, task }
    }

    pub(super) async fn finish(self) -> (Latencies, Vec<Second>) {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}
