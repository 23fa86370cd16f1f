//! The command line; the presets it starts from are in `scenario`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

pub use crate::scenario::{Action, Mix, Preset, Scenario};

/// Drives a Confab cluster with Socket.IO clients over WebSocket and reports connect time,
/// send→ack and send→delivery latency, delivery ratio, errors and the server's resources.
#[derive(Debug, Clone, Parser)]
#[command(name = "confab-load", version)]
pub struct Args {
    /// A named scenario; the flags below override its values.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,

    /// A node to connect to (repeat for several: users are spread over them in turn).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,

    /// Connected users.
    #[arg(long)]
    pub users: Option<usize>,

    /// Members per group (users are split into groups of this size).
    #[arg(long)]
    pub group_size: Option<usize>,

    /// Messages per second, in total, from random connected users.
    #[arg(long)]
    pub rate: Option<f64>,

    /// How long to send: `60s`, `2m`, `500ms`.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// New connections per second while ramping up.
    #[arg(long)]
    pub ramp: Option<f64>,

    /// Connect/disconnect cycles (the churn preset); no messages are sent.
    #[arg(long)]
    pub cycles: Option<usize>,

    /// What the senders do, as weights: `send=80,edit=10,react=10`. An edit changes the
    /// sender's own latest message, a reaction toggles 👍 on the latest message seen.
    #[arg(long, value_parser = Mix::parse)]
    pub mix: Option<Mix>,

    /// A seed file written by `confab seed --out FILE`. Without it, the tool runs
    /// `confab seed` itself (see --confab).
    #[arg(long)]
    pub seed: Option<PathBuf>,

    /// The `confab` binary used to seed (it reads DATABASE_URL like the server).
    #[arg(long, default_value = "confab")]
    pub confab: PathBuf,

    /// The database `confab seed` writes to (default: its own DATABASE_URL).
    #[arg(long)]
    pub database_url: Option<String>,

    /// Spread client sockets over this many source addresses, 127.0.0.1 upwards (loopback
    /// targets only), so that more connections fit than one address has ports for. A run
    /// uses at least as many as keep each address under the server's per-address limits
    /// (900 sessions, 90 handshakes per second).
    #[arg(long, default_value_t = 1)]
    pub source_addrs: u8,

    /// The share of clients (0..=1) that start on long-polling and upgrade to WebSocket, as
    /// the stock client does with its default transports.
    #[arg(long, default_value_t = 0.0)]
    pub polling_share: f64,

    /// The server's process id, to read its RSS and CPU from /proc (repeat for several);
    /// without it they are scraped from each node's /metrics.
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,

    /// Fail (exit 1) when p99 send→delivery latency exceeds this many milliseconds.
    #[arg(long)]
    pub max_p99: Option<f64>,

    /// Fail (exit 1) when the delivery ratio is below this (0..1).
    #[arg(long)]
    pub min_delivery: Option<f64>,

    /// Where the report goes: report.json, latency.svg, timeline.svg.
    #[arg(long, default_value = "load-report")]
    pub out: PathBuf,

    /// One status line per second instead of a redrawn line (for logs).
    #[arg(long)]
    pub plain: bool,

    /// The upload scenario instead of sockets: every user uploads one image of
    /// --upload-bytes through the first --url, completes it, sends it to their group and waits
    /// for its thumbnail, --upload-concurrency users at a time.
    #[arg(long)]
    pub uploads: bool,

    #[arg(long, default_value_t = 1 << 20)]
    pub upload_bytes: usize,

    #[arg(long, default_value_t = 10)]
    pub upload_concurrency: usize,

    /// Upload without sending the images (beside another run whose deliveries are measured).
    #[arg(long)]
    pub upload_only: bool,

    /// Start at most this many uploads a second (default: as fast as --upload-concurrency
    /// allows).
    #[arg(long)]
    pub upload_rate: Option<f64>,

    /// Write the search benchmark's corpus (conversation, seq and body per line, for COPY) of
    /// this many messages to standard output, and exit.
    #[arg(long)]
    pub corpus_messages: Option<usize>,

    /// The corpus's conversations.
    #[arg(long, default_value_t = 1000)]
    pub corpus_conversations: usize,

    /// The search benchmark instead of sockets: each `name=text` query in turn, through the
    /// first --url with --search-token, --search-count times each.
    #[arg(long = "search")]
    pub searches: Vec<String>,

    #[arg(long)]
    pub search_token: Option<String>,

    #[arg(long, default_value_t = 200)]
    pub search_count: usize,

    /// At most this many searches a second in all (beside another run).
    #[arg(long)]
    pub search_rate: Option<f64>,

    /// The path each --search asks, `{q}` standing for its text (percent-encoded): another
    /// paged listing timed the same way, such as channel discovery,
    /// `/api/workspaces/ID/channels?q={q}&limit=20`.
    #[arg(long, default_value = "/api/search?q={q}&limit=20")]
    pub search_path: String,

    /// Upload a smooth photo-like JPEG of this many megapixels instead of --upload-bytes of
    /// noise: small to send, as costly to thumbnail as a camera's photo.
    #[arg(long)]
    pub upload_megapixels: Option<f64>,
}

impl Args {
    /// The preset (or a small custom run) with the flags applied.
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        let mut s = match self.preset {
            Some(preset) => preset.scenario(),
            None => Scenario {
                name: "custom".into(),
                urls: Vec::new(),
                users: 100,
                group_size: 10,
                rate: 10.0,
                duration: Duration::from_secs(10),
                ramp: 1000.0,
                cycles: 0,
                mix: Mix::default(),
                storm: false,
            },
        };
        s.urls = self.urls.clone();
        if let Some(mix) = self.mix {
            s.mix = mix;
        }
        if let Some(users) = self.users {
            s.users = users;
        }
        if let Some(size) = self.group_size {
            s.group_size = size;
        }
        if let Some(rate) = self.rate {
            s.rate = rate;
        }
        if let Some(duration) = self.duration {
            s.duration = duration;
        }
        if let Some(ramp) = self.ramp {
            s.ramp = ramp;
        }
        if let Some(cycles) = self.cycles {
            s.cycles = cycles;
        }
        anyhow::ensure!(s.users >= 2, "--users must be at least 2");
        anyhow::ensure!(
            (2..=300).contains(&s.group_size),
            "--group-size must be 2..=300 (the contract's group limit)"
        );
        anyhow::ensure!(s.rate >= 0.0 && s.rate.is_finite(), "--rate must be >= 0");
        anyhow::ensure!(s.ramp > 0.0 && s.ramp.is_finite(), "--ramp must be > 0");
        anyhow::ensure!(!s.urls.is_empty(), "at least one --url");
        if self.preset == Some(Preset::Cluster) {
            anyhow::ensure!(
                s.urls.len() >= 2,
                "the cluster preset needs two --url (one per node)"
            );
        }
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.polling_share),
            "--polling-share is a share in 0..=1"
        );
        if let Some(ratio) = self.min_delivery {
            anyhow::ensure!(
                (0.0..=1.0).contains(&ratio),
                "--min-delivery is a ratio in 0..=1"
            );
        }
        Ok(s)
    }
}

/// `90s`, `2m`, `1h`, `250ms`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 60s, 2m or 500ms"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?} (ms, s, m, h)")),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("{text:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Args {
        Args::try_parse_from(std::iter::once("confab-load").chain(line.split_whitespace())).unwrap()
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn the_issue_example_parses() {
        let a = args(
            "--url http://127.0.0.1:8080 --users 1000 --group-size 300 --rate 50 --duration 60s",
        );
        let s = a.scenario().unwrap();
        assert_eq!(s.users, 1000);
        assert_eq!(s.group_size, 300);
        assert_eq!(s.rate, 50.0);
        // 1,000 users ramping at 1,000 per second: 12 addresses of at most 90 handshakes/s.
        assert_eq!(s.source_addrs_needed(), 12);
        assert_eq!(s.duration, Duration::from_secs(60));
        assert_eq!(s.urls, vec!["http://127.0.0.1:8080".to_string()]);
    }

    #[test]
    fn presets_set_values_and_flags_override_them() {
        let s = args("--preset spike").scenario().unwrap();
        assert_eq!((s.name.as_str(), s.users, s.rate), ("spike", 1000, 100.0));
        let s = args("--preset tenx --rate 300").scenario().unwrap();
        assert_eq!((s.users, s.rate), (10_000, 300.0));
        let s = args("--preset fanout").scenario().unwrap();
        assert_eq!((s.users, s.group_size, s.rate), (1000, 300, 500.0));
        let s = args("--preset churn").scenario().unwrap();
        assert_eq!((s.cycles, s.rate), (10, 0.0));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let err = args("--group-size 301").scenario().unwrap_err();
        assert!(err.to_string().contains("group-size"), "{err}");
        let err = args("--preset cluster").scenario().unwrap_err();
        assert!(err.to_string().contains("two --url"), "{err}");
        assert!(args("--min-delivery 1.5").scenario().is_err());
        assert!(args("--polling-share 2").scenario().is_err());
        assert!(Args::try_parse_from(["confab-load", "--preset", "huge"]).is_err());
        let s = args("--preset cluster --url http://127.0.0.1:1 --url http://127.0.0.1:2")
            .scenario()
            .unwrap();
        assert_eq!(s.urls.len(), 2);
    }
}
