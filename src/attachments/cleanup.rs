//! The cleanup job, run by every node on a timer without two nodes doing the same work (rows
//! are taken `FOR UPDATE SKIP LOCKED`): removes uploads never completed after their URL
//! expired, completed uploads no message claimed in time and the attachments of deleted
//! messages, then removes from storage the objects whose rows are gone (those also of
//! conversations and users deleted with their messages), in bounded batches. It also queues
//! again the thumbnails that a full queue or a stopped node lost.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use super::metrics::UploadMetrics;
use super::thumbnails::Thumbnails;
use super::COMPLETE_GRACE;
use crate::config::StorageSettings;
use crate::db::DbPool;
use crate::models::attachment;
use crate::storage::Storage;

/// Batches one run takes at most of each kind, so that one run stays short; the next run
/// goes on.
const MAX_BATCHES: usize = 20;

/// How long a ready upload may wait for its thumbnail before it is queued again.
const THUMBNAIL_PATIENCE: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct Cleanup {
    pub pool: DbPool,
    pub store: Storage,
    pub settings: StorageSettings,
    pub metrics: UploadMetrics,
    pub thumbnails: Thumbnails,
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Attachment rows removed.
    pub rows: usize,
    /// Objects removed from storage.
    pub objects: usize,
    /// Thumbnails queued again.
    pub requeued: usize,
}

impl Cleanup {
    /// Runs every `cleanup_interval_secs` on the current runtime, from a random point of the
    /// first interval (so that nodes started together spread out).
    pub fn start(self) {
        let every = Duration::from_secs(self.settings.cleanup_interval_secs.max(1));
        actix_web::rt::spawn(async move {
            let offset = rand::random::<f64>() * every.as_secs_f64();
            tokio::time::sleep(Duration::from_secs_f64(offset)).await;
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                match self.run(Utc::now()).await {
                    Ok(swept) if swept != Swept::default() => {
                        log::info!(rows = swept.rows, objects = swept.objects, requeued = swept.requeued; "storage cleanup");
                    }
                    Ok(_) => {}
                    Err(err) => {
                        log::warn!(cause:% = err; "storage cleanup failed; the next run goes on")
                    }
                }
            }
        });
    }

    /// One run as if it were `now`.
    pub async fn run(&self, now: DateTime<Utc>) -> anyhow::Result<Swept> {
        let mut swept = Swept::default();
        let batch = self.settings.cleanup_batch;
        let abandoned_before = now - chrono::Duration::from_std(COMPLETE_GRACE)?;
        let unclaimed_before =
            now - chrono::Duration::seconds(self.settings.unclaimed_ttl_secs as i64);
        let mut conn = self.pool.get().await?;
        for _ in 0..MAX_BATCHES {
            let rows =
                attachment::reap(&mut conn, abandoned_before, unclaimed_before, batch).await?;
            swept.rows += rows;
            if (rows as i64) < batch {
                break;
            }
        }
        self.metrics.rows_reaped.inc_by(swept.rows as u64);
        for _ in 0..MAX_BATCHES {
            let store = self.store.clone();
            let (taken, removed) = conn
                .transaction::<_, anyhow::Error, _>(async move |conn| {
                    let keys = attachment::garbage(conn, now, batch).await?;
                    let mut removed = Vec::with_capacity(keys.len());
                    for key in &keys {
                        match store.delete(key).await {
                            Ok(()) => removed.push(key.clone()),
                            Err(err) => log::warn!(cause:% = err; "could not remove an object; the next run tries again"),
                        }
                    }
                    attachment::remove_garbage(conn, &removed).await?;
                    Ok((keys.len(), removed.len()))
                })
                .await?;
            swept.objects += removed;
            self.metrics.objects_reaped.inc_by(removed as u64);
            if (taken as i64) < batch || removed < taken {
                break;
            }
        }
        let patience = chrono::Duration::from_std(THUMBNAIL_PATIENCE)?;
        let waiting = attachment::unthumbnailed(&mut conn, now - patience, batch).await?;
        for (id, uploader) in waiting {
            if self.thumbnails.enqueue(id, uploader) {
                swept.requeued += 1;
            }
        }
        Ok(swept)
    }
}
