//! The local store's own routes (`/storage/{key}`): uploads and downloads through signed URLs
//! only. Mounted when the local store is in use.

pub mod get;
pub mod put;

use std::sync::Arc;

use actix_web::HttpRequest;
use chrono::Utc;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::local::{Grant, SignedQuery};
use crate::storage::{is_valid_key, LocalStorage};

/// What a request's signed URL allows for `method`: the store, the key, the query and the
/// grant. 404 without a local store or for a key the node never makes; 403 for a URL that is
/// unsigned, tampered with or expired.
fn granted(
    state: &AppState,
    req: &HttpRequest,
    key: String,
    method: &str,
) -> ApiResult<(Arc<LocalStorage>, String, SignedQuery, Grant)> {
    let store = state
        .attachments
        .local()
        .cloned()
        .ok_or_else(|| ApiError::not_found("no such endpoint"))?;
    if !is_valid_key(&key) {
        return Err(ApiError::not_found("no such object"));
    }
    let query: SignedQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::forbidden("the URL is not signed"))?;
    let grant = store
        .verify(method, &key, &query, Utc::now())
        .map_err(|refusal| ApiError::forbidden(refusal.to_string()))?;
    Ok((store, key, query, grant))
}
