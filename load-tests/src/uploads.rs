//! The upload scenario: every seeded user uploads one image (JPEG noise of the given size)
//! through the node's upload URLs, completes it, sends it to their group, and waits for its
//! thumbnail; `concurrency` users at a time. Reports uploads per second, the time `complete`
//! takes to make an upload ready, the time from ready to thumbnail, and the node's memory
//! while it runs.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::stream::{self, StreamExt};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::{Client, Method, StatusCode};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::http::{self, api};
use crate::seed::Seed;
use crate::system;

/// What one run measured.
#[derive(Debug, Serialize)]
pub struct UploadReport {
    pub uploads: usize,
    pub failed: usize,
    pub bytes_each: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub uploads_per_sec: f64,
    pub complete_p50_ms: f64,
    pub complete_p99_ms: f64,
    pub thumbnail_p50_ms: f64,
    pub thumbnail_p99_ms: f64,
    /// The server's own time per thumbnail (`confab_thumbnail_seconds`): the mean, and the
    /// p50 and p99 read from its buckets.
    pub server_thumbnail_mean_ms: Option<f64>,
    pub server_thumbnail_p50_ms: Option<f64>,
    pub server_thumbnail_p99_ms: Option<f64>,
    pub rss_before_mib: Option<f64>,
    pub rss_peak_mib: Option<f64>,
    pub rss_after_mib: Option<f64>,
}

impl UploadReport {
    pub fn table(&self) -> String {
        let mib = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        format!(
            "uploads            {} ({} failed), {} bytes each, {} at a time\n\
             uploads/s          {:.1} over {:.1} s\n\
             complete→ready     p50 {:.1} ms, p99 {:.1} ms\n\
             ready→thumbnail    p50 {:.1} ms, p99 {:.1} ms (waiting for a worker included)\n\
             thumbnail work     mean {} ms, p50 {} ms, p99 {} ms (the server's histogram)\n\
             server RSS (MiB)   before {}, peak {}, after {}\n",
            self.uploads,
            self.failed,
            self.bytes_each,
            self.concurrency,
            self.uploads_per_sec,
            self.seconds,
            self.complete_p50_ms,
            self.complete_p99_ms,
            self.thumbnail_p50_ms,
            self.thumbnail_p99_ms,
            mib(self.server_thumbnail_mean_ms),
            mib(self.server_thumbnail_p50_ms),
            mib(self.server_thumbnail_p99_ms),
            mib(self.rss_before_mib),
            mib(self.rss_peak_mib),
            mib(self.rss_after_mib),
        )
    }
}

/// A smooth JPEG of about `megapixels` (gradients: it compresses as a photo does, and decodes
/// as slowly as one of its size).
pub fn smooth_jpeg(megapixels: f64) -> anyhow::Result<Vec<u8>> {
    let height = ((megapixels * 1e6 * 3.0 / 4.0).sqrt()).round().max(1.0) as u32;
    let width = (height * 4 / 3).max(1);
    let image = image::ImageBuffer::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// How the uploads are run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Users uploading at once.
    pub concurrency: usize,
    /// At most this many uploads started a second.
    pub rate: Option<f64>,
    /// Whether each image is sent to the user's group (and its thumbnail awaited).
    pub send: bool,
}

/// A JPEG of noise, about `bytes` long (noise does not compress, so its size follows its area).
pub fn noise_jpeg(bytes: usize) -> anyhow::Result<Vec<u8>> {
    let encode = |side: u32| -> anyhow::Result<Vec<u8>> {
        // Seeded: the same size asked for is always the same image.
        let mut pixels = vec![0; side as usize * side as usize * 3];
        ChaCha8Rng::seed_from_u64(2026).fill(&mut pixels[..]);
        let image = image::RgbImage::from_raw(side, side, pixels).context("the pixels fit")?;
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Jpeg)?;
        Ok(out.into_inner())
    };
    let probe = encode(256)?;
    let side = (256.0 * (bytes as f64 / probe.len() as f64).sqrt()).round() as u32;
    encode(side.clamp(16, 16_000))
}

struct Timings {
    complete: Histogram<u64>,
    thumbnail: Histogram<u64>,
    failed: usize,
}

/// One user's upload, send and wait for the thumbnail.
async fn one(
    http: &Client,
    base: &str,
    token: &str,
    group: Option<&str>,
    image: &[u8],
    n: usize,
    timings: &Mutex<Timings>,
) -> anyhow::Result<()> {
    let asked = json!({ "contentType": "image/jpeg", "size": image.len(), "name": format!("load-{n}.jpg") });
    let (status, ticket) = api(
        http,
        base,
        Method::POST,
        "/api/uploads",
        token,
        Some(&asked),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!("POST /uploads answered {status}: {ticket}");
    }
    let url = ticket["uploadUrl"].as_str().context("no uploadUrl")?;
    let mut put = http.put(url).body(image.to_vec());
    // The signed headers; the length is the body's own.
    for (name, value) in ticket["headers"].as_object().context("no headers")? {
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name.as_str(), value.as_str().unwrap_or_default());
        }
    }
    let response = put.send().await?;
    let status = response.status();
    // Read to the end, so that the connection goes back to the pool.
    response.bytes().await?;
    if status != StatusCode::OK {
        bail!("the upload PUT answered {status}");
    }
    let id = ticket["attachmentId"].as_str().context("no attachmentId")?;
    let started = Instant::now();
    let path = format!("/api/uploads/{id}/complete");
    let (status, ready) = api(http, base, Method::POST, &path, token, None).await?;
    let complete = started.elapsed();
    if status != StatusCode::OK {
        bail!("complete answered {status}: {ready}");
    }
    let ready_at = Instant::now();
    if let Some(group) = group {
        let body =
            json!({ "clientMessageId": format!("upload-{id}"), "body": "", "attachmentIds": [id] });
        let path = format!("/api/conversations/{group}/messages");
        let (status, sent) = api(http, base, Method::POST, &path, token, Some(&body)).await?;
        if status != StatusCode::CREATED {
            bail!("the send answered {status}: {sent}");
        }
    }
    if group.is_none() {
        // Beside another run: no polling that would load the node.
        let _ = timings
            .lock()
            .await
            .complete
            .record(complete.as_micros() as u64);
        return Ok(());
    }
    let deadline = ready_at + Duration::from_secs(60);
    let path = format!("/api/attachments/{id}?thumbnail=true");
    loop {
        let (status, _) = api(http, base, Method::GET, &path, token, None).await?;
        if status == StatusCode::FOUND {
            break;
        }
        if Instant::now() > deadline {
            bail!("no thumbnail within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let thumbnail = ready_at.elapsed();
    let mut timings = timings.lock().await;
    let _ = timings.complete.record(complete.as_micros() as u64);
    let _ = timings.thumbnail.record(thumbnail.as_micros() as u64);
    Ok(())
}

/// Runs the scenario against `base` for every user of `seed`.
pub async fn run(
    base: &str,
    seed: &Seed,
    image: Vec<u8>,
    plan: &Plan,
    pids: &[u32],
) -> anyhow::Result<UploadReport> {
    let (concurrency, send) = (plan.concurrency, plan.send);
    let http = http::client(None)?;
    let image = Arc::new(image);
    let pace = plan
        .rate
        .map(|rate| Duration::from_secs_f64(1.0 / rate.max(0.001)));
    let groups = seed.group_of_users();
    let urls = vec![base.to_string()];
    let rss = |usage: Option<system::Usage>| usage.map(|u| u.rss_bytes as f64 / (1024.0 * 1024.0));
    let rss_before = rss(system::server_usage(&http, pids, &urls).await);
    let peak = Arc::new(std::sync::Mutex::new(rss_before.unwrap_or(0.0)));
    let sampling = {
        let (peak, pids, urls, http) = (peak.clone(), pids.to_vec(), urls.clone(), http.clone());
        tokio::spawn(async move {
            loop {
                if let Some(now) = rss(system::server_usage(&http, &pids, &urls).await) {
                    let mut peak = peak.lock().unwrap_or_else(|e| e.into_inner());
                    *peak = peak.max(now);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let timings = Mutex::new(Timings {
        complete: crate::stats::histogram(),
        thumbnail: crate::stats::histogram(),
        failed: 0,
    });
    let started = Instant::now();
    let jobs = seed.users.iter().enumerate().filter_map(|(n, user)| {
        let group = &seed.groups[groups[n]?].id;
        Some((n, user, group))
    });
    let uploads = jobs.clone().count();
    stream::iter(jobs)
        .for_each_concurrent(concurrency, |(n, user, group)| {
            let (image, timings, http) = (image.clone(), &timings, &http);
            async move {
                if let Some(pace) = pace {
                    tokio::time::sleep_until((started + pace * n as u32).into()).await;
                }
                let group = send.then_some(group.as_str());
                if let Err(err) = one(http, base, &user.token, group, &image, n, timings).await {
                    eprintln!("upload {n}: {err:#}");
                    timings.lock().await.failed += 1;
                }
            }
        })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    sampling.abort();
    let rss_after = rss(system::server_usage(&http, pids, &urls).await);
    let text = http::metrics(&http, base).await.unwrap_or_default();
    let server_thumbnail_mean_ms = {
        let sum = system::metric(&text, "confab_thumbnail_seconds_sum");
        let count = system::metric(&text, "confab_thumbnail_seconds_count");
        sum.zip(count)
            .filter(|(_, c)| *c > 0.0)
            .map(|(s, c)| s / c * 1000.0)
    };
    let quantile = |q| bucket_quantile(&text, "confab_thumbnail_seconds", q).map(|s| s * 1000.0);
    let timings = timings.into_inner();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let peak = *peak.lock().unwrap_or_else(|e| e.into_inner());
    Ok(UploadReport {
        uploads,
        failed: timings.failed,
        bytes_each: image.len(),
        concurrency,
        seconds,
        uploads_per_sec: (uploads - timings.failed) as f64 / seconds,
        complete_p50_ms: ms(&timings.complete, 0.5),
        complete_p99_ms: ms(&timings.complete, 0.99),
        thumbnail_p50_ms: ms(&timings.thumbnail, 0.5),
        thumbnail_p99_ms: ms(&timings.thumbnail, 0.99),
        server_thumbnail_mean_ms,
        server_thumbnail_p50_ms: quantile(0.5),
        server_thumbnail_p99_ms: quantile(0.99),
        rss_before_mib: rss_before,
        rss_peak_mib: rss_before.map(|_| peak),
        rss_after_mib: rss_after,
    })
}

/// The `q` quantile of the Prometheus histogram `name` in `text`, interpolated linearly within
/// its bucket (as Prometheus's `histogram_quantile` does).
pub fn bucket_quantile(text: &str, name: &str, q: f64) -> Option<f64> {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (bound, count) = rest.split_once("\"} ")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut below = (0.0, 0.0);
    for (bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(below.0);
            }
            let share = if count > below.1 {
                (rank - below.1) / (count - below.1)
            } else {
                1.0
            };
            return Some(below.0 + (bound - below.0) * share);
        }
        below = (bound, count);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_buckets() {
        let text = "x_bucket{le=\"0.1\"} 50\nx_bucket{le=\"0.2\"} 90\nx_bucket{le=\"0.5\"} 100\nx_bucket{le=\"+Inf\"} 100\n";
        assert_eq!(bucket_quantile(text, "x", 0.5), Some(0.1));
        let p70 = bucket_quantile(text, "x", 0.7).unwrap();
        assert!((p70 - 0.15).abs() < 1e-9, "{p70}");
        assert_eq!(bucket_quantile(text, "y", 0.5), None);
    }

    #[test]
    fn noise_is_about_the_size_asked_for() {
        let image = noise_jpeg(200_000).unwrap();
        assert!((150_000..260_000).contains(&image.len()), "{}", image.len());
    }
}
