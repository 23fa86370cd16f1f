//! Floods logged once per burst. A refused login, a refused registration: each is worth a log
//! line, but a flood of them would write one line per request and drown everything else. A
//! [`Bursts`] logs the first event of a burst as it comes, holds the rest back and counts them,
//! and when the burst's period ends writes one line: "N more … in the last Xs". The next event
//! after that starts a new burst. Each kind of event has its own `Bursts`, so memory is one
//! small window per kind, however large the flood.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a burst lasts: a flood writes at most two lines a minute per kind of event.
pub const BURST: Duration = Duration::from_secs(60);

/// The floods the HTTP API logs once per burst, one [`Bursts`] per kind.
#[derive(Clone)]
pub struct Floods {
    /// Logins refused before their password was checked (an address or an account and
    /// address pair over its limit).
    pub logins_refused: Bursts,
    /// Logins with a wrong login or password.
    pub logins_failed: Bursts,
    /// Registrations refused for their address's rate.
    pub registrations_refused: Bursts,
    /// Workspaces refused for their creator's daily cap.
    pub workspaces_refused: Bursts,
    /// Account deletions refused (a wrong password, or too many attempts).
    pub deletions_refused: Bursts,
}

impl Default for Floods {
    fn default() -> Self {
        Floods {
            logins_refused: Bursts::new("logins refused for their rate", BURST),
            logins_failed: Bursts::new("failed logins", BURST),
            registrations_refused: Bursts::new("registrations refused for their rate", BURST),
            workspaces_refused: Bursts::new("workspaces refused for the daily cap", BURST),
            deletions_refused: Bursts::new("account deletions refused", BURST),
        }
    }
}

/// Requests answered `unavailable` because storage is down, stalled or saturated, however
/// they met it (one pool for the whole process: these come from code with no state at hand).
pub fn storage_unavailable() -> &'static Bursts {
    static OUTAGE: std::sync::LazyLock<Bursts> =
        std::sync::LazyLock::new(|| Bursts::new("requests that found storage unavailable", BURST));
    &OUTAGE
}

/// One kind of event, logged at most once per `period` plus one summary line.
#[derive(Clone)]
pub struct Bursts {
    /// What the events are, as the summary names them ("refused logins").
    what: &'static str,
    period: Duration,
    window: Arc<Mutex<Window>>,
}

impl Bursts {
    pub fn new(what: &'static str, period: Duration) -> Bursts {
        Bursts {
            what,
            period,
            window: Arc::new(Mutex::new(Window::default())),
        }
    }

    /// Counts one event; `true` when the caller should log it (the first of a burst). The
    /// first event held back schedules the burst's summary line at the period's end.
    pub fn admit(&self) -> bool {
        self.admit_scheduling().0
    }

    /// [`Bursts::admit`], with the task that will write the summary when this event
    /// scheduled it.
    fn admit_scheduling(&self) -> (bool, Option<tokio::task::JoinHandle<()>>) {
        let now = Instant::now();
        let hit = self.lock().hit(now, self.period);
        match hit {
            Hit::Log { previous } => {
                if let Some((count, over)) = previous {
                    self.summarise(count, over);
                }
                (true, None)
            }
            Hit::Held { first } => (false, first.then(|| self.schedule_summary(now)).flatten()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the summary when the burst that began before `now` ends. Without a runtime (a
    /// blocking caller), the next event writes it instead.
    fn schedule_summary(&self, now: Instant) -> Option<tokio::task::JoinHandle<()>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let bursts = self.clone();
        let due = self.lock().ends(self.period).unwrap_or(now);
        Some(runtime.spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            let summary = bursts.lock().close(Instant::now());
            if let Some((count, over)) = summary {
                bursts.summarise(count, over);
            }
        }))
    }

    fn summarise(&self, count: u64, over: Duration) {
        log::warn!(
            event = self.what, count = count, secs = over.as_secs();
            "{count} more {} in the last {}s", self.what, over.as_secs().max(1)
        );
    }
}

/// One burst of events: when it began and how many of its events were held back.
#[derive(Debug, Default)]
struct Window {
    began: Option<Instant>,
    held: u64,
}

/// What to do with an event.
#[derive(Debug, PartialEq, Eq)]
enum Hit {
    /// Log it: it begins a burst. `previous` is the summary of the burst before, when no
    /// timer wrote it.
    Log { previous: Option<(u64, Duration)> },
    /// Hold it back; `first` when it is the first one held in this burst.
    Held { first: bool },
}

impl Window {
    fn hit(&mut self, now: Instant, period: Duration) -> Hit {
        match self.began {
            Some(began) if now.duration_since(began) < period => {
                self.held += 1;
                Hit::Held {
                    first: self.held == 1,
                }
            }
            _ => {
                let previous = self.close(now);
                self.began = Some(now);
                Hit::Log { previous }
            }
        }
    }

    /// When the current burst ends.
    fn ends(&self, period: Duration) -> Option<Instant> {
        self.began.map(|began| began + period)
    }

    /// Ends the current burst: how many events it held back, and over how long; `None` when
    /// it held none back (nothing to sum up).
    fn close(&mut self, now: Instant) -> Option<(u64, Duration)> {
        let began = self.began.take()?;
        let held = std::mem::take(&mut self.held);
        (held > 0).then(|| (held, now.duration_since(began)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(10);

    #[test]
    fn the_first_event_is_logged_and_the_rest_counted() {
        let start = Instant::now();
        let mut window = Window::default();
        assert_eq!(window.hit(start, PERIOD), Hit::Log { previous: None });
        assert_eq!(window.hit(start, PERIOD), Hit::Held { first: true });
        for n in 1..1000 {
            let at = start + Duration::from_millis(n);
            assert_eq!(window.hit(at, PERIOD), Hit::Held { first: false });
        }
        let end = start + PERIOD;
        assert_eq!(window.ends(PERIOD), Some(end));
        assert_eq!(window.close(end), Some((1000, PERIOD)));
        // The burst is over: the next event is logged and begins another.
        let later = end + Duration::from_secs(1);
        assert_eq!(window.hit(later, PERIOD), Hit::Log { previous: None });
        assert_eq!(window.hit(later, PERIOD), Hit::Held { first: true });
    }

    #[test]
    fn a_lone_event_needs_no_summary() {
        let start = Instant::now();
        let mut window = Window::default();
        assert_eq!(window.hit(start, PERIOD), Hit::Log { previous: None });
        assert_eq!(window.close(start + PERIOD), None);
        assert_eq!(window.ends(PERIOD), None);
    }

    #[test]
    fn without_a_timer_the_next_burst_carries_the_summary() {
        let start = Instant::now();
        let mut window = Window::default();
        window.hit(start, PERIOD);
        window.hit(start + Duration::from_secs(1), PERIOD);
        window.hit(start + Duration::from_secs(2), PERIOD);
        let next = start + PERIOD + Duration::from_secs(5);
        assert_eq!(
            window.hit(next, PERIOD),
            Hit::Log {
                previous: Some((2, PERIOD + Duration::from_secs(5)))
            }
        );
    }

    #[tokio::test]
    async fn the_summary_is_written_when_the_burst_ends() {
        let bursts = Bursts::new("refused logins", Duration::from_millis(50));
        assert!(bursts.admit());
        let (logged, summary) = bursts.admit_scheduling();
        assert!(!logged);
        for _ in 1..50 {
            assert!(bursts.admit_scheduling().1.is_none());
        }
        assert_eq!(bursts.lock().held, 50);
        summary
            .expect("the first event held back schedules the summary")
            .await
            .unwrap();
        // The timer closed the burst: nothing is held, and the next event is logged.
        assert_eq!(bursts.lock().held, 0);
        assert!(bursts.lock().began.is_none());
        assert!(bursts.admit());
    }
}
