//! Thumbnails, off the request path: `complete` queues the upload, a few workers make the
//! thumbnails (the CPU work on `thumbnail_workers` threads of the lowest priority, one image
//! each at a time, so at most as many decoded images are held), store them beside the originals, and record them;
//! a message that already holds the upload changes (`Messaging::thumbnailed`). A full queue
//! drops the job, and the cleanup job queues it again later.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use super::cpu::CpuPool;
use super::inspect::{self, Bounds};
use super::metrics::UploadMetrics;
use crate::config::StorageSettings;
use crate::db::DbPool;
use crate::messaging::Messaging;
use crate::models::attachment;
use crate::models::change::Outcome;
use crate::storage::{thumbnail_key, Storage};

/// Queues uploads for their thumbnails. Cloning shares the queue.
#[derive(Clone)]
pub struct Thumbnails {
    queue: mpsc::Sender<Uuid>,
    /// Whether uploads are queued as they complete (`thumbnail_queue` > 0), or only by the
    /// cleanup job.
    eager: bool,
    metrics: UploadMetrics,
}

/// What the workers use.
struct Worker {
    pool: DbPool,
    store: Storage,
    messaging: Messaging,
    metrics: UploadMetrics,
    cpu: CpuPool,
    px: u32,
    max_bytes: u64,
    bounds: Bounds,
}

impl Thumbnails {
    /// Starts the workers on the current runtime.
    pub fn start(
        pool: DbPool,
        store: Storage,
        messaging: Messaging,
        settings: &StorageSettings,
        metrics: UploadMetrics,
    ) -> std::io::Result<Thumbnails> {
        let (queue, mut jobs) = mpsc::channel::<Uuid>(settings.thumbnail_queue.max(1));
        let worker = Arc::new(Worker {
            pool,
            store,
            messaging,
            metrics: metrics.clone(),
            cpu: CpuPool::new("thumbnails", settings.thumbnail_workers)?,
            px: settings.thumbnail_px,
            max_bytes: settings.max_upload_bytes,
            bounds: Bounds {
                max_side: settings.max_side_px,
                max_pixels: settings.max_pixels,
            },
        });
        let slots = Arc::new(Semaphore::new(settings.thumbnail_workers));
        actix_web::rt::spawn(async move {
            while let Some(id) = jobs.recv().await {
                worker.metrics.thumbnail_queue.dec();
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let worker = worker.clone();
                actix_web::rt::spawn(async move {
                    worker.make(id).await;
                    drop(slot);
                });
            }
        });
        Ok(Thumbnails {
            queue,
            eager: settings.thumbnail_queue > 0,
            metrics,
        })
    }

    /// Queues upload `id`, which has just completed (unless only the cleanup job queues).
    pub fn completed(&self, id: Uuid) {
        if self.eager {
            self.enqueue(id);
        }
    }

    /// Queues upload `id`; false (and counted as dropped) when the queue is full.
    pub fn enqueue(&self, id: Uuid) -> bool {
        match self.queue.try_send(id) {
            Ok(()) => {
                self.metrics.thumbnail_queue.inc();
                true
            }
            Err(_) => {
                self.metrics
                    .thumbnails
                    .with_label_values(&["dropped"])
                    .inc();
                false
            }
        }
    }
}

impl Worker {
    async fn make(&self, id: Uuid) {
        let started = Instant::now();
        match self.try_make(id).await {
            Ok(true) => {
                self.metrics.thumbnails.with_label_values(&["made"]).inc();
                self.metrics
                    .thumbnail_seconds
                    .observe(started.elapsed().as_secs_f64());
            }
            Ok(false) => {}
            Err(err) => {
                log::warn!(attachment:% = id, cause:% = err; "thumbnail failed; the cleanup job will queue it again")
            }
        }
    }

    /// Whether a thumbnail was made. Errors are transient (storage, database): the job is
    /// tried again later. An image that cannot be decoded is recorded as having none.
    async fn try_make(&self, id: Uuid) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await?;
        let Some(upload) = attachment::find(&mut conn, id).await? else {
            return Ok(false);
        };
        if !upload.is_ready() || upload.thumbnailed_at.is_some() || upload.released_at.is_some() {
            return Ok(false);
        }
        drop(conn);
        let bytes = self.store.read(&upload.storage_key, self.max_bytes).await?;
        let (content_type, px, bounds) = (upload.content_type.clone(), self.px, self.bounds);
        let made = self
            .cpu
            .run(move || inspect::thumbnail(&bytes, &content_type, px, bounds))
            .await?;
        let (thumbnail, thumbnail_type) = match made {
            Ok(made) => made,
            Err(err) => {
                log::info!(attachment:% = id, cause:% = err; "no thumbnail can be made");
                self.metrics.thumbnails.with_label_values(&["failed"]).inc();
                let mut conn = self.pool.get().await?;
                attachment::thumbnail_failed(&mut conn, id).await?;
                return Ok(false);
            }
        };
        let key = thumbnail_key(&upload.storage_key, thumbnail_type);
        self.store.write(&key, thumbnail, thumbnail_type).await?;
        let outcome = self.messaging.thumbnailed(id, &key).await?;
        if outcome == Outcome::Gone {
            // The upload went while its thumbnail was made: nothing will remove this one.
            self.store.delete(&key).await?;
            return Ok(false);
        }
        Ok(matches!(outcome, Outcome::Changed | Outcome::Unclaimed))
    }
}
