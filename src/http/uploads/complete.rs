use actix_web::post;
use actix_web::web;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::messaging::view::AttachmentView;
use crate::state::AppState;

/// `POST /api/uploads/{id}/complete` → the Attachment, once the stored object has exactly the
/// declared size, the declared type by its magic bytes, and dimensions within bounds;
/// otherwise `invalid`, and the object and the upload are gone. Idempotent. What was checked
/// is what every reader gets from then on: the upload URL cannot change it, and a PUT to it
/// is refused (403 `forbidden` from the node's own store, 412 from S3).
#[utoipa::path(
    operation_id = "completeUpload",
    tag = "attachments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The upload's `attachmentId`")),
    responses(
        (status = 200, description = "The checked attachment", body = AttachmentView),
        (status = 404, response = NotFound),
    ),
)]
#[post("/uploads/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<AttachmentView>> {
    let id = validate::path_id(&path, || ApiError::not_found("upload not found"))?;
    Ok(web::Json(state.attachments.complete(me.id, id).await?))
}
