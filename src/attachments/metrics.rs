//! What operators see of uploads: started, completed and rejected (by a bounded set of
//! reasons), bytes stored and reaped, thumbnails made and their time, and the thumbnail
//! queue's depth.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts};

use crate::metrics::Metrics;

const NAMESPACE: &str = "confab";

/// The reasons an upload is rejected, the only values of the `reason` label.
pub const REASONS: [&str; 7] = [
    "invalid_request",
    "too_large",
    "too_many_unclaimed",
    "missing",
    "size_mismatch",
    "type_mismatch",
    "dimensions",
];

#[derive(Clone)]
pub struct UploadMetrics {
    pub started: IntCounter,
    pub completed: IntCounter,
    rejected: IntCounterVec,
    pub bytes_stored: IntCounter,
    pub objects_reaped: IntCounter,
    pub rows_reaped: IntCounter,
    /// Thumbnails by outcome: `made`, `failed`, `dropped` (the queue was full).
    pub thumbnails: IntCounterVec,
    pub thumbnail_seconds: Histogram,
    pub thumbnail_queue: IntGauge,
    /// Uploaders with thumbnails waiting (the queue serves them in turn).
    pub thumbnail_uploaders: IntGauge,
}

impl UploadMetrics {
    pub fn new(metrics: &Metrics) -> prometheus::Result<UploadMetrics> {
        let counter = |name: &str, help: &str| {
            IntCounter::with_opts(Opts::new(name, help).namespace(NAMESPACE))
        };
        let upload = UploadMetrics {
            started: counter("uploads_started_total", "Upload URLs handed out")?,
            completed: counter("uploads_completed_total", "Uploads checked and ready")?,
            rejected: IntCounterVec::new(
                Opts::new("uploads_rejected_total", "Uploads refused, by reason")
                    .namespace(NAMESPACE),
                &["reason"],
            )?,
            bytes_stored: counter(
                "upload_bytes_stored_total",
                "Bytes of uploads that became ready (thumbnails not counted)",
            )?,
            objects_reaped: counter(
                "storage_objects_reaped_total",
                "Objects removed from storage by the cleanup job",
            )?,
            rows_reaped: counter(
                "attachments_reaped_total",
                "Unclaimed uploads and attachments of deleted messages removed by the cleanup job",
            )?,
            thumbnails: IntCounterVec::new(
                Opts::new(
                    "thumbnails_total",
                    "Thumbnails by outcome: made, failed, dropped",
                )
                .namespace(NAMESPACE),
                &["outcome"],
            )?,
            thumbnail_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "thumbnail_seconds",
                    "Time to read, decode, scale, encode and store one thumbnail",
                )
                .namespace(NAMESPACE)
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
            )?,
            thumbnail_queue: IntGauge::with_opts(
                Opts::new("thumbnail_queue", "Thumbnails waiting for a worker")
                    .namespace(NAMESPACE),
            )?,
            thumbnail_uploaders: IntGauge::with_opts(
                Opts::new(
                    "thumbnail_queue_uploaders",
                    "Uploaders with thumbnails waiting; the queue serves them in turn",
                )
                .namespace(NAMESPACE),
            )?,
        };
        metrics.register(Box::new(upload.started.clone()))?;
        metrics.register(Box::new(upload.completed.clone()))?;
        metrics.register(Box::new(upload.rejected.clone()))?;
        metrics.register(Box::new(upload.bytes_stored.clone()))?;
        metrics.register(Box::new(upload.objects_reaped.clone()))?;
        metrics.register(Box::new(upload.rows_reaped.clone()))?;
        metrics.register(Box::new(upload.thumbnails.clone()))?;
        metrics.register(Box::new(upload.thumbnail_seconds.clone()))?;
        metrics.register(Box::new(upload.thumbnail_queue.clone()))?;
        metrics.register(Box::new(upload.thumbnail_uploaders.clone()))?;
        for reason in REASONS {
            upload.rejected.with_label_values(&[reason]);
        }
        for outcome in ["made", "failed", "dropped"] {
            upload.thumbnails.with_label_values(&[outcome]);
        }
        Ok(upload)
    }

    /// Counts a rejection; `reason` is one of `REASONS`.
    pub fn rejected(&self, reason: &'static str) {
        debug_assert!(REASONS.contains(&reason));
        self.rejected.with_label_values(&[reason]).inc();
    }
}
