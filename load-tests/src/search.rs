//! The search benchmark: each named query is asked `count` times in turn through
//! `GET /api/search` (or another paged listing, such as channel discovery) with a user's token (one at a time, or at a steady rate beside another
//! run), and its latency percentiles are reported.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Serialize;

use crate::http::{self, api};

#[derive(Debug, Serialize)]
pub struct QueryReport {
    pub name: String,
    pub q: String,
    pub count: usize,
    pub results: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Asks every query of `queries` (`name=text`) `count` times, at most `rate` a second in all,
/// as `path` with `{q}` replaced by the query's text.
pub async fn run(
    base: &str,
    token: &str,
    path: &str,
    queries: &[(String, String)],
    count: usize,
    rate: Option<f64>,
) -> anyhow::Result<Vec<QueryReport>> {
    let pace = rate.map(|r| Duration::from_secs_f64(1.0 / r.max(0.001)));
    let http = http::client(None)?;
    let started = Instant::now();
    let mut asked = 0u32;
    let mut reports = Vec::new();
    let mut latencies: Vec<Vec<f64>> = vec![Vec::with_capacity(count); queries.len()];
    let mut results = vec![0usize; queries.len()];
    for _ in 0..count {
        for (i, (_, text)) in queries.iter().enumerate() {
            if let Some(pace) = pace {
                tokio::time::sleep_until((started + pace * asked).into()).await;
            }
            asked += 1;
            let path = path.replace("{q}", &encode(text));
            let sent = Instant::now();
            let (status, body) = api(&http, base, Method::GET, &path, token, None).await?;
            latencies[i].push(sent.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(
                status == StatusCode::OK,
                "search {text:?} answered {status}: {body}"
            );
            results[i] = ["results", "channels"]
                .iter()
                .find_map(|key| body[key].as_array())
                .map_or(0, Vec::len);
        }
    }
    for (i, (name, text)) in queries.iter().enumerate() {
        let mut l = std::mem::take(&mut latencies[i]);
        l.sort_by(f64::total_cmp);
        let at = |q: f64| l[((l.len() as f64 * q).ceil() as usize).clamp(1, l.len()) - 1];
        reports.push(QueryReport {
            name: name.clone(),
            q: text.clone(),
            count: l.len(),
            results: results[i],
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: *l.last().unwrap_or(&0.0),
        });
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            super::encode("\"release notes\" -x"),
            "%22release%20notes%22%20-x"
        );
    }
}
