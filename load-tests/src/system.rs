//! The machine around a run: the tool's own file limit, and the server's memory and CPU.

use reqwest::Client;
use serde::Serialize;

use crate::http;

/// Raises this process's open-file limit to its hard limit; returns the soft limit now in force.
pub fn raise_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024),
    }
}

/// How many connections `limit` open files allow (a few are kept for the tool itself).
pub fn connections_allowed(limit: u64) -> u64 {
    limit.saturating_sub(64)
}

/// One reading of the servers' resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Resident memory, summed over the servers, in bytes.
    pub rss_bytes: u64,
    /// CPU time used so far, summed, in seconds.
    pub cpu_seconds: f64,
}

/// Reads the servers' usage: from /proc for `pids`, else from each node's `/metrics`.
pub async fn server_usage(http: &Client, pids: &[u32], urls: &[String]) -> Option<Usage> {
    if !pids.is_empty() {
        let mut total = Usage::default();
        for pid in pids {
            let usage = proc_usage(*pid)?;
            total.rss_bytes += usage.rss_bytes;
            total.cpu_seconds += usage.cpu_seconds;
        }
        return Some(total);
    }
    let mut total = Usage::default();
    for url in urls {
        let usage = scrape_usage(http, url).await?;
        total.rss_bytes += usage.rss_bytes;
        total.cpu_seconds += usage.cpu_seconds;
    }
    Some(total)
}

fn proc_usage(pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(Usage {
        rss_bytes: parse_vm_rss(&status)? * 1024,
        cpu_seconds: parse_cpu_ticks(&stat)? as f64 / clock_ticks_per_second(),
    })
}

/// `VmRSS:   1234 kB` → 1234.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// utime + stime from /proc/<pid>/stat (fields 14 and 15, after the parenthesised name).
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state); utime is field 14.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // Linux reports 100 on every architecture this tool runs on (USER_HZ).
    100.0
}

/// `process_resident_memory_bytes` and `process_cpu_seconds_total` from `/metrics`.
async fn scrape_usage(http: &Client, base: &str) -> Option<Usage> {
    let text = http::metrics(http, base).await?;
    Some(Usage {
        rss_bytes: metric(&text, "process_resident_memory_bytes")? as u64,
        cpu_seconds: metric(&text, "process_cpu_seconds_total")?,
    })
}

/// The value of an unlabelled sample in the Prometheus text format.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// The sum of every sample of `name`, whatever its labels; `None` when there is none.
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.strip_prefix('{') {
                Some(labelled) => labelled.split_once("} ")?.1,
                None => rest.strip_prefix(' ')?,
            };
            value.trim().parse().ok()
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// Engine.IO sessions still open on the servers, from `/metrics`; `None` when a server does
/// not report them (the Node.js peer, say).
pub async fn open_sessions(http: &Client, urls: &[String]) -> Option<f64> {
    let mut total = 0.0;
    for url in urls {
        let text = http::metrics(http, url).await?;
        total += metric_sum(&text, "confab_engine_sessions")?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_files() {
        assert_eq!(
            parse_vm_rss("Name:\tconfab\nVmRSS:\t   23456 kB\n"),
            Some(23456)
        );
        let stat = "4242 (confab (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn reads_unlabelled_metrics() {
        let text = "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 2.5e7\nprocess_cpu_seconds_total 1.25\n";
        assert_eq!(metric(text, "process_resident_memory_bytes"), Some(2.5e7));
        assert_eq!(metric(text, "process_cpu_seconds_total"), Some(1.25));
        assert_eq!(metric(text, "process_open_fds"), None);
    }

    #[test]
    fn sums_a_labelled_metric() {
        let text = "# TYPE confab_engine_sessions gauge\n\
                    confab_engine_sessions{transport=\"polling\"} 2\n\
                    confab_engine_sessions{transport=\"websocket\"} 5\n\
                    confab_engine_sessions_opened_total 9\n";
        assert_eq!(metric_sum(text, "confab_engine_sessions"), Some(7.0));
        assert_eq!(
            metric_sum(text, "confab_engine_sessions_opened_total"),
            Some(9.0)
        );
        assert_eq!(metric_sum(text, "confab_rooms"), None);
    }

    #[test]
    fn keeps_files_for_the_tool() {
        assert_eq!(connections_allowed(20_000), 19_936);
        assert_eq!(connections_allowed(10), 0);
    }
}
