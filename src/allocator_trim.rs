//! Giving memory back after sessions leave. glibc's allocator keeps what a thread freed in that
//! thread's arena, so after a wave of clients disconnects the process stays as large as at the
//! wave's peak, and a node that sees waves of connections creeps upwards. Whenever the open
//! sessions have fallen below half of their peak since the last trim, the free pages are
//! returned: a wave that leaves is trimmed after at most a few halvings.

use std::time::Duration;

use confab_actors::engine::Engine;

/// How often the session count is looked at.
const EVERY: Duration = Duration::from_millis(50);

/// Below this many sessions at the peak, there is too little to give back to bother.
const MIN_PEAK: i64 = 64;

/// Watches `engine`'s sessions for as long as the runtime runs.
pub fn start_trimming(engine: Engine) {
    actix_web::rt::spawn(async move {
        let mut peak = 0;
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let stats = engine.stats();
            let open = stats.websocket_sessions() + stats.polling_sessions();
            peak = peak.max(open);
            if should_trim(open, peak) {
                peak = open;
                // Walking every arena takes a moment: not on a worker's thread.
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    });
}

/// Whether the sessions have fallen below half of a peak worth trimming after.
fn should_trim(open: i64, peak: i64) -> bool {
    peak >= MIN_PEAK && open < peak / 2
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's malloc_trim has no safe binding")]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and has no preconditions; it only releases the
    // allocator's own free pages.
    let released = unsafe { libc::malloc_trim(0) } != 0;
    log::debug!(released = released; "returned free memory to the system");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::should_trim;

    #[test]
    fn trims_once_half_the_peak_has_gone() {
        assert!(!should_trim(0, 10), "too few sessions to bother");
        assert!(!should_trim(600, 1000), "still above half");
        assert!(should_trim(499, 1000));
        assert!(should_trim(0, 64));
    }
}
