//! Thumbnails, off the request path: `complete` queues the upload, a few workers make the
//! thumbnails (the CPU work on `thumbnail_workers` threads of the lowest priority, one image
//! each at a time, so at most as many decoded images are held), store them beside the
//! originals, and record them; a message that already holds the upload changes
//! (`Messaging::thumbnailed`). The queue serves uploaders in turn (`fair`), so one user's
//! flood of large images delays another's thumbnail by one image each, not by the flood. A
//! full queue (overall, or for one uploader) drops the job, and the cleanup job queues it
//! again later.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use super::cpu::CpuPool;
use super::fair::{FairQueue, Refused};
use super::inspect::{self, Bounds};
use super::metrics::UploadMetrics;
use crate::config::StorageSettings;
use crate::db::DbPool;
use crate::messaging::Messaging;
use crate::models::attachment;
use crate::models::change::Outcome;
use crate::storage::{thumbnail_key, Storage};

/// Queues uploads for their thumbnails. Cloning shares the queue; the workers stop once every
/// clone is gone.
#[derive(Clone)]
pub struct Thumbnails {
    /// Uploads by uploader.
    jobs: Arc<Mutex<FairQueue<Uuid, Uuid>>>,
    /// Wakes the dispatcher after a push (one pending wake is enough: it drains the queue).
    wake: mpsc::Sender<()>,
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
        let jobs = Arc::new(Mutex::new(FairQueue::new(
            settings.thumbnail_queue,
            settings.thumbnail_queue_per_user,
        )));
        let (wake, mut woken) = mpsc::channel::<()>(1);
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
        let thumbnails = Thumbnails {
            jobs,
            wake,
            eager: settings.thumbnail_queue > 0,
            metrics,
        };
        let queue = thumbnails.jobs.clone();
        let slots = Arc::new(Semaphore::new(settings.thumbnail_workers));
        actix_web::rt::spawn(async move {
            while woken.recv().await.is_some() {
                // A job is taken only once a worker is free, so that it is the fairest one
                // then, not when the previous one was taken.
                loop {
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let Some((_, id)) = Self::take(&queue, &worker.metrics) else {
                        break;
                    };
                    let worker = worker.clone();
                    actix_web::rt::spawn(async move {
                        worker.make(id).await;
                        drop(slot);
                    });
                }
            }
        });
        Ok(thumbnails)
    }

    /// The next job, the uploader's whose turn it is.
    fn take(queue: &Mutex<FairQueue<Uuid, Uuid>>, metrics: &UploadMetrics) -> Option<(Uuid, Uuid)> {
        let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
        let job = queue.pop();
        metrics.thumbnail_queue.set(queue.len() as i64);
        metrics.thumbnail_uploaders.set(queue.owners() as i64);
        job
    }

    /// Queues upload `id` of `uploader`, which has just completed (unless only the cleanup
    /// job queues).
    pub fn completed(&self, id: Uuid, uploader: Uuid) {
        if self.eager {
            self.enqueue(id, uploader);
        }
    }

    /// Queues upload `id` of `uploader`; false (and counted as dropped) when the queue, or
    /// the uploader's share of it, is full. An upload already waiting is not queued twice.
    pub fn enqueue(&self, id: Uuid, uploader: Uuid) -> bool {
        let pushed = {
            let mut queue = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            let pushed = queue.push(uploader, id);
            self.metrics.thumbnail_queue.set(queue.len() as i64);
            self.metrics.thumbnail_uploaders.set(queue.owners() as i64);
            pushed
        };
        match pushed {
            Ok(()) => {
                let _ = self.wake.try_send(());
                true
            }
            Err(Refused::Waiting) => true,
            Err(Refused::Full | Refused::OwnerFull) => {
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
