use crate::http::extract::Query;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct AttachmentQuery {
    #[serde(default)]
    thumbnail: bool,
}

/// `GET /api/attachments/{id}?thumbnail=` → 302 to a freshly signed URL of the image (or its
/// thumbnail), for a member of the conversation holding it, or its uploader before it is
/// sent; 404 for anyone else, as for an attachment that does not exist.
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    query: Query<AttachmentQuery>,
) -> ApiResult<HttpResponse> {
    let id = validate::path_id(&path, || ApiError::not_found("attachment not found"))?;
    let url = state.attachments.locate(me.id, id, query.thumbnail).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .finish())
}
