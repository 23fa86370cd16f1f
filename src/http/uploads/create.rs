use crate::http::extract::Json;
use crate::http::openapi::RateLimited;
use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::attachments::UploadRequest;
use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::messaging::view::timestamp;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewUpload)]
pub struct UploadBody {
    #[schema(value_type = ImageType)]
    content_type: String,
    /// Bytes: at most 10 MB.
    #[schema(minimum = 1, maximum = 10485760)]
    size: i64,
    /// The file's name, shown to others.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    name: String,
}

/// The image types an upload may declare.
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes `UploadBody::content_type`")]
pub enum ImageType {
    #[schema(rename = "image/jpeg")]
    Jpeg,
    #[schema(rename = "image/png")]
    Png,
    #[schema(rename = "image/gif")]
    Gif,
    #[schema(rename = "image/webp")]
    Webp,
}

/// Where and how to send an upload's bytes: exactly `headers`, before `expiresAt`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadTicket {
    pub attachment_id: uuid::Uuid,
    pub upload_url: String,
    /// Always `PUT`.
    #[schema(value_type = String, example = "PUT")]
    pub method: &'static str,
    pub headers: BTreeMap<String, String>,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// `POST /api/uploads` `{ contentType, size, name }` → 201 `{ attachmentId, uploadUrl,
/// method: "PUT", headers, expiresAt }`: the client then sends exactly `size` bytes with
/// exactly `headers` before `expiresAt` (with S3, `If-None-Match: *` among them: the bucket
/// stores the bytes once), and calls `complete`. Everything is checked before anything is
/// signed.
#[utoipa::path(
    operation_id = "createUpload",
    tag = "attachments",
    security(("bearer" = [])),
    request_body = UploadBody,
    responses(
        (status = 201, description = "Where and how to send the bytes", body = UploadTicket),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/uploads")]
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    req: HttpRequest,
    body: Json<UploadBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let origin = origin(&req, state.settings.server.trust_proxy_headers);
    let ticket = state
        .attachments
        .start(
            me.id,
            UploadRequest {
                content_type: body.content_type,
                size: body.size,
                name: body.name,
            },
            origin.as_deref(),
        )
        .await?;
    let headers = ticket
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    Ok(HttpResponse::Created().json(UploadTicket {
        attachment_id: ticket.attachment_id,
        upload_url: ticket.url,
        method: "PUT",
        headers,
        expires_at: timestamp(&ticket.expires_at),
    }))
}

/// The origin the request reached: what a proxy forwarded (only when trusted), or this
/// node's own (it speaks plain HTTP) at the `Host` the client named.
fn origin(req: &HttpRequest, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        let info = req.connection_info();
        return Some(format!("{}://{}", info.scheme(), info.host()));
    }
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)?
        .to_str()
        .ok()?;
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    valid.then(|| format!("http://{host}"))
}
