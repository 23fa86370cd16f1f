use actix_web::post;
use actix_web::web;
use diesel_async::AsyncConnection;

use super::tell_both;
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::openapi::{Conflict, Forbidden, NotFound};
use crate::http::validate;
use crate::http::views::ContactRequestView;
use crate::models::contact::{self, ContactRequest, ACCEPTED, DECLINED, PENDING};
use crate::state::AppState;

fn request_not_found() -> ApiError {
    ApiError::not_found("contact request not found")
}

/// `POST /api/contacts/requests/{id}/accept` (the recipient only) → the request, `accepted`;
/// both users become contacts and both users' sockets get `contact:updated`.
#[utoipa::path(
    operation_id = "acceptContactRequest",
    tag = "contacts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request")),
    responses(
        (status = 200, description = "The request, accepted", body = ContactRequestView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
#[post("/contacts/requests/{id}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<ContactRequestView>> {
    let (request, changed) = answer(&state, me, &path, ACCEPTED).await?;
    if changed {
        tell_both(&state, request.from_user_id, request.to_user_id, true).await;
    }
    Ok(web::Json((&request).into()))
}

/// `POST /api/contacts/requests/{id}/decline` (the recipient only) → the request, `declined`.
#[utoipa::path(
    operation_id = "declineContactRequest",
    tag = "contacts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request")),
    responses(
        (status = 200, description = "The request, declined", body = ContactRequestView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
#[post("/contacts/requests/{id}/decline")]
pub async fn decline(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
) -> ApiResult<web::Json<ContactRequestView>> {
    let (request, _) = answer(&state, me, &path, DECLINED).await?;
    Ok(web::Json((&request).into()))
}

/// Answers the request `id` with `status`, under its row lock. Answering it again the same way
/// changes nothing; the other way is a `conflict`. The sender is `forbidden`; anyone else gets
/// 404. Returns the request and whether this call answered it.
async fn answer(
    state: &AppState,
    me: AuthUser,
    id: &str,
    status: &'static str,
) -> ApiResult<(ContactRequest, bool)> {
    let id = validate::path_id(id, request_not_found)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let request = contact::lock_request(conn, id)
            .await?
            .ok_or_else(request_not_found)?;
        if request.from_user_id == me.id {
            return Err(ApiError::forbidden("only the recipient answers a request"));
        }
        if request.to_user_id != me.id {
            return Err(request_not_found());
        }
        if request.status == status {
            return Ok((request, false));
        }
        if request.status != PENDING {
            return Err(ApiError::conflict(format!(
                "the request was already {}",
                request.status
            )));
        }
        let answered = contact::answer(conn, id, status).await?;
        if status == ACCEPTED {
            contact::connect(conn, answered.from_user_id, answered.to_user_id).await?;
        }
        log::info!(request_id:% = id, status = status; "contact request answered");
        Ok((answered, true))
    })
    .await
}
