use crate::http::extract::Query;
use crate::http::openapi::NotFound;
use actix_web::get;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentQuery {
    /// The thumbnail rather than the image.
    #[serde(default)]
    thumbnail: bool,
}

/// `GET /api/attachments/{id}?thumbnail=` → 302 to a freshly signed URL of the image (or its
/// thumbnail), for a member of the conversation holding it, or its uploader before it is
/// sent; 404 for anyone else, as for an attachment that does not exist.
#[utoipa::path(
    operation_id = "getAttachment",
    tag = "attachments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The attachment"), AttachmentQuery),
    responses(
        (status = 302, description = "To a freshly signed URL of the image or its thumbnail",
            headers(("location" = String, description = "The signed URL"))),
        (status = 404, response = NotFound),
    ),
)]
#[get("/attachments/{id}")]
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
