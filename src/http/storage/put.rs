use std::path::Path;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::granted;
use crate::error::{ApiError, ApiResult};
use crate::models::attachment;
use crate::state::AppState;
use crate::storage::local::Grant;

/// `PUT /storage/{key}?expires&type&size&sig`: stores exactly the signed number of bytes of
/// the signed type as `key`, for an upload still pending, before the URL expires. The body is
/// streamed to a file of its own and renamed over the object only once it is whole, so a
/// failed or oversized upload leaves nothing.
pub async fn put(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (store, key, query, grant) = granted(&state, &req, path.into_inner(), "PUT")?;
    let Grant::Put { content_type, size } = grant else {
        return Err(ApiError::forbidden("the URL is not an upload URL"));
    };
    let sent_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if sent_type != Some(content_type.as_str()) {
        return Err(ApiError::forbidden(format!(
            "Content-Type must be {content_type}, as signed"
        )));
    }
    let sent_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match sent_length {
        None => return Err(ApiError::invalid("Content-Length is required")),
        Some(length) if length != size => {
            return Err(ApiError::forbidden(format!(
                "Content-Length must be {size}, as signed"
            )));
        }
        Some(_) => {}
    }
    // Only the original of a pending upload can be written (not a thumbnail, nor an image
    // that `complete` has checked already).
    let id = uuid::Uuid::parse_str(&key).map_err(|_| ApiError::forbidden("not an upload"))?;
    refuse_unless_pending(&state, id).await?;
    let Some(_receiving) = store.receive(&key) else {
        return Err(ApiError::conflict(
            "another upload to this URL is under way",
        ));
    };
    let incoming = store.incoming_path();
    let deadline = tokio::time::Instant::now()
        + (chrono::DateTime::from_timestamp(query.expires, 0).unwrap_or_else(Utc::now)
            - Utc::now())
        .to_std()
        .unwrap_or_default();
    let written = tokio::time::timeout_at(deadline, receive(&mut payload, &incoming, size))
        .await
        .unwrap_or_else(|_| Err(ApiError::forbidden("the URL expired during the upload")));
    let outcome = async {
        written?;
        // `complete` may have checked the upload meanwhile. What it checked is a copy that
        // this could not change anyway (`ObjectStore::seal`), but the upload is over.
        refuse_unless_pending(&state, id).await?;
        store
            .commit(&key, &incoming)
            .await
            .map_err(|err| ApiError::internal(format!("storing an upload: {err}")))
    }
    .await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&incoming).await;
    }
    outcome.map(|()| HttpResponse::Ok().finish())
}

/// 403 unless upload `id` is pending.
async fn refuse_unless_pending(state: &AppState, id: uuid::Uuid) -> ApiResult<()> {
    let mut conn = state.pool.get().await?;
    let pending = attachment::find(&mut conn, id)
        .await?
        .is_some_and(|a| !a.is_ready());
    if pending {
        Ok(())
    } else {
        Err(ApiError::forbidden("this upload is complete or gone"))
    }
}

/// How much of an upload is gathered before each write to its file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Writes the body to `file`: exactly `size` bytes, or an error.
async fn receive(payload: &mut web::Payload, file: &Path, size: u64) -> ApiResult<()> {
    let file = tokio::fs::File::create(file)
        .await
        .map_err(|err| ApiError::internal(format!("creating an upload file: {err}")))?;
    // Chunks arrive small; each file write is a hop to a blocking thread.
    let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut received = 0u64;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| ApiError::invalid(format!("reading the body: {err}")))?;
        received += chunk.len() as u64;
        if received > size {
            return Err(ApiError::invalid(format!(
                "the body is longer than {size} bytes"
            )));
        }
        out.write_all(&chunk)
            .await
            .map_err(|err| ApiError::internal(format!("writing an upload: {err}")))?;
    }
    if received != size {
        return Err(ApiError::invalid(format!(
            "the body has {received} bytes, not {size}"
        )));
    }
    out.flush()
        .await
        .map_err(|err| ApiError::internal(format!("writing an upload: {err}")))
}
