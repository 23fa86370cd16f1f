//! Attachments (PROTOCOL.md v1.1 sections 4 and 7): `POST /uploads` hands out a signed URL
//! for exactly the declared bytes, `complete` checks what was stored (its size, its magic
//! bytes, its dimensions from the header before any decode), a message claims ready uploads
//! in its own commit (`messaging`), thumbnails are made off the request path
//! (`thumbnails`), and a cleanup job that every node runs removes what nobody claims
//! (`cleanup`). Nothing a client declares is trusted.

pub mod cleanup;
pub mod cpu;
pub mod fair;
pub mod inspect;
pub mod metrics;
pub mod thumbnails;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::StorageSettings;
use crate::db::DbPool;
use crate::error::{ApiError, ApiResult};
use crate::messaging::view::AttachmentView;
use crate::models::attachment::{self, Attachment, NewUpload, ReadyError, Sealed};
use crate::storage::{LocalStorage, Signer, StorageError, IMAGE_TYPES};
use inspect::{Bounds, Rejection};
use metrics::UploadMetrics;
use thumbnails::Thumbnails;

/// The longest name an upload may have, in characters.
pub const NAME_MAX_CHARS: usize = 255;

/// How long after its URL expired a pending upload may still be completed (a PUT that
/// started in time may end later); the cleanup job waits as long before removing it.
pub const COMPLETE_GRACE: Duration = Duration::from_secs(600);

/// How long a `complete` may take from queuing its copy for removal to recording it: a copy
/// that a stopped node left is removed after this.
const SEAL_PATIENCE: Duration = Duration::from_secs(600);

/// The upload service. Cloning shares it.
#[derive(Clone)]
pub struct Attachments {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    signer: Signer,
    /// The local store, when it is the one in use (its URLs may name the request's origin).
    local: Option<Arc<LocalStorage>>,
    settings: StorageSettings,
    metrics: UploadMetrics,
    thumbnails: Thumbnails,
    cleanup: cleanup::Cleanup,
}

/// What `POST /uploads` asks for, as sent.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub content_type: String,
    pub size: i64,
    pub name: String,
}

/// Where the client sends the bytes: `PUT` to `url` with exactly `headers`, before
/// `expires_at`.
#[derive(Debug)]
pub struct Ticket {
    pub attachment_id: Uuid,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub expires_at: DateTime<Utc>,
}

pub struct AttachmentParts {
    pub pool: DbPool,
    pub signer: Signer,
    pub local: Option<Arc<LocalStorage>>,
    pub settings: StorageSettings,
    pub metrics: UploadMetrics,
    pub thumbnails: Thumbnails,
    pub cleanup: cleanup::Cleanup,
}

fn storage_error(err: StorageError) -> ApiError {
    log::warn!(cause:% = err; "storage request failed");
    ApiError::unavailable()
}

impl Attachments {
    pub fn new(parts: AttachmentParts) -> Attachments {
        Attachments {
            inner: Arc::new(Inner {
                pool: parts.pool,
                signer: parts.signer,
                local: parts.local,
                settings: parts.settings,
                metrics: parts.metrics,
                thumbnails: parts.thumbnails,
                cleanup: parts.cleanup,
            }),
        }
    }

    pub fn local(&self) -> Option<&Arc<LocalStorage>> {
        self.inner.local.as_ref()
    }

    /// The origin of the store's signed URLs, when it is not this node's (S3).
    pub fn foreign_origin(&self) -> Option<String> {
        self.inner.signer.store.foreign_origin()
    }

    /// The cleanup job (which runs on its own timer), to run at once.
    pub fn cleanup(&self) -> &cleanup::Cleanup {
        &self.inner.cleanup
    }

    pub fn metrics(&self) -> &UploadMetrics {
        &self.inner.metrics
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            max_side: self.inner.settings.max_side_px,
            max_pixels: self.inner.settings.max_pixels,
        }
    }

    /// Checks `request` (before anything is stored or signed) and hands out an upload URL.
    /// `origin` is the one the request reached, named by the local store's upload URLs
    /// unless a public URL is configured.
    pub async fn start(
        &self,
        uploader: Uuid,
        request: UploadRequest,
        origin: Option<&str>,
    ) -> ApiResult<Ticket> {
        let inner = &*self.inner;
        let refuse = |reason, err: ApiError| {
            inner.metrics.rejected(reason);
            Err(err)
        };
        if !IMAGE_TYPES.contains(&request.content_type.as_str()) {
            return refuse(
                "invalid_request",
                ApiError::invalid(
                    "contentType must be image/jpeg, image/png, image/gif or image/webp",
                ),
            );
        }
        let max = inner.settings.max_upload_bytes;
        if request.size < 1 || request.size as u64 > max {
            let err = if request.size < 1 {
                ApiError::invalid("size must be at least 1 byte")
            } else {
                ApiError::too_large(format!("size must be at most {max} bytes"))
            };
            return refuse(
                if request.size < 1 {
                    "invalid_request"
                } else {
                    "too_large"
                },
                err,
            );
        }
        let chars = request.name.chars().count();
        if chars == 0 || chars > NAME_MAX_CHARS || request.name.chars().any(char::is_control) {
            return refuse(
                "invalid_request",
                ApiError::invalid(format!(
                    "name must be 1-{NAME_MAX_CHARS} characters without control characters"
                )),
            );
        }
        let id = Uuid::new_v4();
        let key = id.to_string();
        let ttl = chrono::Duration::seconds(inner.settings.upload_url_ttl_secs as i64);
        let expires_at = Utc::now() + ttl;
        let mut conn = inner.pool.get().await?;
        let created = attachment::create(
            &mut conn,
            NewUpload {
                id,
                uploader_id: uploader,
                content_type: &request.content_type,
                size_bytes: request.size,
                name: &request.name,
                storage_key: &key,
                upload_expires_at: expires_at,
            },
            inner.settings.max_unclaimed_per_user,
        )
        .await?;
        if created.is_none() {
            return refuse(
                "too_many_unclaimed",
                ApiError::rate_limited(
                    format!(
                        "at most {} uploads may wait to be sent; send or let some expire first",
                        inner.settings.max_unclaimed_per_user
                    ),
                    Duration::from_secs(60),
                ),
            );
        }
        let signed = inner
            .signer
            .store
            .upload_url(&key, &request.content_type, request.size as u64, expires_at)
            .await;
        let signed = match signed {
            Ok(signed) => signed,
            Err(err) => {
                attachment::discard(&mut conn, id).await?;
                return Err(storage_error(err));
            }
        };
        let url = match (&inner.local, origin) {
            (Some(local), Some(origin)) if inner.settings.public_url.is_empty() => {
                local.rebase(&signed.url, origin)
            }
            _ => signed.url,
        };
        inner.metrics.started.inc();
        Ok(Ticket {
            attachment_id: id,
            url,
            headers: signed.headers,
            expires_at,
        })
    }

    /// Checks the object stored for upload `id` of `uploader` and makes the upload ready; an
    /// object that is not what was declared is deleted with its upload (`invalid`). Completing
    /// a ready upload again answers the same.
    ///
    /// What is checked is a copy under a key of its own (`ObjectStore::seal`), which no upload
    /// URL can write and which becomes the one every reader reads: a PUT that is still under
    /// way, or a signed URL replayed later, cannot change a checked image.
    pub async fn complete(&self, uploader: Uuid, id: Uuid) -> ApiResult<AttachmentView> {
        let inner = &*self.inner;
        let mut conn = inner.pool.get().await?;
        let found = attachment::find(&mut conn, id)
            .await?
            .filter(|a| a.uploader_id == uploader && a.released_at.is_none())
            .ok_or_else(|| ApiError::not_found("upload not found"))?;
        if found.is_ready() {
            return Ok(AttachmentView::signed(&found, &inner.signer).await);
        }
        let grace = chrono::Duration::from_std(COMPLETE_GRACE).unwrap_or_default();
        let url_dead_at = found.upload_expires_at + grace;
        if Utc::now() > url_dead_at {
            return Err(ApiError::not_found("upload not found (its URL expired)"));
        }
        // The copy is queued for removal before it exists, so that a node stopping halfway
        // leaves nothing behind; `mark_ready` takes the entry back.
        let sealed = Uuid::new_v4().to_string();
        let patience = chrono::Duration::from_std(SEAL_PATIENCE).unwrap_or_default();
        attachment::queue_garbage(&mut conn, &sealed, Utc::now() + patience).await?;
        drop(conn);
        let store = &inner.signer.store;
        match store.seal(&found.storage_key, &sealed).await {
            Ok(()) => {}
            Err(StorageError::NotFound) => {
                self.drop_copy(&sealed).await?;
                inner.metrics.rejected("missing");
                return Err(ApiError::invalid(
                    "nothing was uploaded yet: PUT the bytes first",
                ));
            }
            Err(err) => return Err(storage_error(err)),
        }
        let size = store.size(&sealed).await.map_err(storage_error)?;
        if size != found.size_bytes as u64 {
            let message = format!(
                "{size} bytes were stored, {} were declared",
                found.size_bytes
            );
            return self.reject(&found, &sealed, "size_mismatch", message).await;
        }
        let prefix = store
            .read_prefix(&sealed, inspect::PREFIX_BYTES)
            .await
            .map_err(storage_error)?;
        let dimensions = match inspect::check(&prefix, &found.content_type, self.bounds()) {
            Ok(dimensions) => dimensions,
            Err(rejection) => {
                let reason = rejection.reason();
                let reason = if matches!(rejection, Rejection::Unreadable) {
                    "type_mismatch"
                } else {
                    reason
                };
                return self
                    .reject(&found, &sealed, reason, rejection.to_string())
                    .await;
            }
        };
        let checked = Sealed {
            key: &sealed,
            upload_key: &found.storage_key,
            url_dead_at,
        };
        let mut conn = inner.pool.get().await?;
        let ready = match attachment::mark_ready(&mut conn, id, dimensions, checked).await {
            Ok(Some(ready)) => {
                inner.metrics.completed.inc();
                inner.metrics.bytes_stored.inc_by(size);
                inner.thumbnails.completed(id, uploader);
                ready
            }
            // A concurrent complete made it ready first, with a copy of its own.
            Ok(None) => {
                drop(conn);
                self.drop_copy(&sealed).await?;
                let mut conn = inner.pool.get().await?;
                attachment::find(&mut conn, id)
                    .await?
                    .filter(Attachment::is_ready)
                    .ok_or_else(|| ApiError::not_found("upload not found"))?
            }
            Err(ReadyError::CopyGone) => {
                log::warn!(attachment:% = id; "an upload's checked copy was removed before it was recorded");
                return Err(ApiError::unavailable());
            }
            Err(ReadyError::Database(err)) => return Err(err.into()),
        };
        Ok(AttachmentView::signed(&ready, &inner.signer).await)
    }

    /// Removes a copy that `complete` made (or meant to make) and no row names, now.
    async fn drop_copy(&self, key: &str) -> ApiResult<()> {
        let inner = &*self.inner;
        if let Err(err) = inner.signer.store.delete(key).await {
            log::warn!(cause:% = err; "could not delete a copy now; the cleanup job will");
            return Ok(());
        }
        let mut conn = inner.pool.get().await?;
        attachment::remove_garbage(&mut conn, &[key.to_string()]).await?;
        Ok(())
    }

    /// Deletes a pending upload whose object is not what was declared (its checked copy
    /// `sealed` and what its URL wrote), and says why. The key its URL writes stays queued
    /// for removal until the URL is dead, in case it is written again.
    async fn reject(
        &self,
        upload: &Attachment,
        sealed: &str,
        reason: &'static str,
        message: String,
    ) -> ApiResult<AttachmentView> {
        let inner = &*self.inner;
        inner.metrics.rejected(reason);
        let mut conn = inner.pool.get().await?;
        let discarded = attachment::discard(&mut conn, upload.id).await?;
        drop(conn);
        self.drop_copy(sealed).await?;
        if discarded > 0 {
            if let Err(err) = inner.signer.store.delete(&upload.storage_key).await {
                log::warn!(cause:% = err; "could not delete a rejected upload now; the cleanup job will");
            }
        }
        Err(ApiError::invalid(message))
    }

    /// A freshly signed URL of attachment `id` (or its thumbnail) for `user`: a member of the
    /// conversation holding it, or its uploader before it is sent. 404 for anyone else.
    pub async fn locate(&self, user: Uuid, id: Uuid, thumbnail: bool) -> ApiResult<String> {
        let inner = &*self.inner;
        let mut conn = inner.pool.get().await?;
        let found = attachment::readable_by(&mut conn, id, user)
            .await?
            .filter(Attachment::is_ready)
            .ok_or_else(|| ApiError::not_found("attachment not found"))?;
        drop(conn);
        let expires_at = inner.signer.expiry();
        if thumbnail {
            let key = found
                .thumbnail_key
                .as_deref()
                .ok_or_else(|| ApiError::not_found("the thumbnail is not made yet"))?;
            return inner
                .signer
                .thumbnail_url(key, expires_at)
                .await
                .map_err(storage_error);
        }
        let object = crate::storage::Object {
            key: &found.storage_key,
            content_type: &found.content_type,
            name: &found.name,
            thumbnail_key: None,
        };
        inner
            .signer
            .downloads(object, expires_at)
            .await
            .map(|d| d.url)
            .map_err(storage_error)
    }
}
