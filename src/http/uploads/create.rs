use crate::http::extract::Json;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::attachments::UploadRequest;
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::messaging::view::timestamp;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadBody {
    content_type: String,
    size: i64,
    name: String,
}

/// `POST /api/uploads` `{ contentType, size, name }` → 201 `{ attachmentId, uploadUrl,
/// method: "PUT", headers, expiresAt }`: the client then sends exactly `size` bytes with
/// exactly `headers` before `expiresAt`, and calls `complete`. Everything is checked before
/// anything is signed.
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
    let headers: Map<String, Value> = ticket
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_string(), Value::String(value)))
        .collect();
    Ok(HttpResponse::Created().json(serde_json::json!({
        "attachmentId": ticket.attachment_id,
        "uploadUrl": ticket.url,
        "method": "PUT",
        "headers": headers,
        "expiresAt": timestamp(&ticket.expires_at),
    })))
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
