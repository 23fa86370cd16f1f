use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use tokio_util::io::ReaderStream;

use super::granted;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::local::Grant;
use crate::storage::IMAGE_TYPES;

/// `GET /storage/{key}?expires&type&disposition&sig`: streams the object with the signed
/// `Content-Type` and `Content-Disposition` (inline only for the four image types), never
/// sniffed and never run as a document, until the URL expires.
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (store, key, query, grant) = granted(&state, &req, path.into_inner(), "GET")?;
    let Grant::Get {
        content_type,
        disposition,
    } = grant
    else {
        return Err(ApiError::forbidden("the URL is not a download URL"));
    };
    let file = match tokio::fs::File::open(store.path(&key)).await {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("no such object"));
        }
        Err(err) => return Err(ApiError::internal(format!("opening an object: {err}"))),
    };
    let length = file
        .metadata()
        .await
        .map_err(|err| ApiError::internal(format!("reading an object: {err}")))?
        .len();
    // A signed disposition can only be one this node made; anything but an image is still
    // downloaded, never shown.
    let disposition = if IMAGE_TYPES.contains(&content_type.as_str()) {
        disposition
    } else {
        "attachment".to_string()
    };
    let max_age = (query.expires - Utc::now().timestamp()).max(0);
    let header = |value: &str| {
        HeaderValue::from_str(value).map_err(|_| ApiError::forbidden("the URL is not valid"))
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, header(&content_type)?))
        .insert_header((header::CONTENT_DISPOSITION, header(&disposition)?))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ))
        .insert_header((header::CACHE_CONTROL, format!("private, max-age={max_age}")))
        .no_chunking(length)
        .streaming(ReaderStream::new(file)))
}
