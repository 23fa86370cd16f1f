use actix_web::post;
use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use confab_actors::protocol::events::CONTACT_REQUEST;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::extract::Json;
use crate::http::openapi::{Conflict, Forbidden, NotFound, RateLimited};
use crate::http::validate;
use crate::http::views::ContactRequestView;
use crate::models::contact::{self, ContactRequest, NewContactRequest};
use crate::models::{block, user};
use crate::state::AppState;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewContactRequest)]
pub struct RequestBody {
    #[schema(value_type = uuid::Uuid)]
    user_id: String,
}

/// What a request came to.
enum Made {
    Created(ContactRequest),
    /// The open request between the two, from either of them.
    Open(ContactRequest),
    /// Another open request appeared between the look and the insert.
    Raced,
}

/// `POST /api/contacts/requests` with `{ userId }` → 201 the ContactRequest, and the recipient's
/// sockets get `contact:request`; an open request between the two → 200 it. A block either way
/// → `forbidden`; already contacts → `conflict`; past the daily allowance (50 requests sent in
/// 24 h, counted under a per-user lock so that concurrent requests cannot pass it) →
/// `rate_limited`.
#[utoipa::path(
    operation_id = "requestContact",
    tag = "contacts",
    security(("bearer" = [])),
    request_body = RequestBody,
    responses(
        (status = 201, description = "The new request", body = ContactRequestView),
        (status = 200, description = "The open request between the two", body = ContactRequestView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/contacts/requests")]
pub async fn request(
    state: web::Data<AppState>,
    me: AuthUser,
    body: Json<RequestBody>,
) -> ApiResult<HttpResponse> {
    let to = validate::uuid("userId", &body.user_id)?;
    if to == me.id {
        return Err(ApiError::invalid("userId must be another user"));
    }
    let mut conn = state.pool.get().await?;
    if user::find(&mut conn, to).await?.is_none() {
        return Err(ApiError::not_found("user not found"));
    }
    if block::between(&mut conn, me.id, to).await? {
        return Err(ApiError::forbidden(
            "a block between you and this user forbids a contact request",
        ));
    }
    if contact::are_contacts(&mut conn, me.id, to).await? {
        return Err(ApiError::conflict("you are already contacts"));
    }
    let per_day = state.settings.limits.contact_requests_per_day;
    let from = me.id;
    let made = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            if let Some(open) = contact::open_between(conn, from, to).await? {
                return Ok(Made::Open(open));
            }
            contact::lock_sender(conn, from).await?;
            let since = Utc::now() - Duration::hours(24);
            let (sent, oldest) = contact::sent_since(conn, from, since).await?;
            if sent >= per_day {
                let wait = oldest
                    .map(|at| {
                        (at + Duration::hours(24) - Utc::now())
                            .to_std()
                            .unwrap_or_default()
                    })
                    .unwrap_or_default();
                return Err(ApiError::rate_limited(
                    format!("at most {per_day} contact requests a day"),
                    wait,
                ));
            }
            let new = NewContactRequest {
                id: Uuid::now_v7(),
                from_user_id: from,
                to_user_id: to,
            };
            Ok(match contact::insert_request(conn, &new).await? {
                Some(created) => Made::Created(created),
                None => Made::Raced,
            })
        })
        .await?;
    let made = match made {
        // The other user asked at the same moment: theirs is the open request.
        Made::Raced => Made::Open(
            contact::open_between(&mut conn, me.id, to)
                .await?
                .ok_or_else(|| ApiError::conflict("the request was answered meanwhile"))?,
        ),
        made => made,
    };
    match made {
        Made::Open(open) => Ok(HttpResponse::Ok().json(ContactRequestView::from(&open))),
        Made::Raced => Err(ApiError::internal("a raced request stayed unresolved")),
        Made::Created(created) => {
            let view = ContactRequestView::from(&created);
            log::info!(request_id:% = created.id; "contact request sent");
            let payload = serde_json::to_value(&view).map_err(ApiError::internal)?;
            state
                .publisher
                .tell_user(to, CONTACT_REQUEST, &payload)
                .await;
            Ok(HttpResponse::Created().json(view))
        }
    }
}
