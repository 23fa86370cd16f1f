use actix_web::get;
use actix_web::web;
use serde::Deserialize;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::extract::Query;
use crate::http::validate;
use crate::http::views::ContactRequestView;
use crate::models::contact;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// `incoming` (the default) or `outgoing`.
    #[param(value_type = Option<Direction>, inline)]
    direction: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// `{ requests }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestList {
    pub requests: Vec<ContactRequestView>,
}

/// Which pending requests: received or sent.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code, reason = "describes `RequestsQuery::direction`")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// `GET /api/contacts/requests?direction=incoming|outgoing&limit=` → `{ requests }`: the
/// caller's pending requests, received (the default) or sent, oldest first.
#[utoipa::path(
    operation_id = "listContactRequests",
    tag = "contacts",
    security(("bearer" = [])),
    params(RequestsQuery),
    responses((status = 200, description = "Pending requests, oldest first", body = RequestList)),
)]
#[get("/contacts/requests")]
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    query: Query<RequestsQuery>,
) -> ApiResult<web::Json<RequestList>> {
    let incoming = match query.direction.as_deref() {
        None | Some("incoming") => true,
        Some("outgoing") => false,
        Some(_) => return Err(ApiError::invalid("direction must be incoming or outgoing")),
    };
    let limit = validate::limit(query.limit, 100, 100)?;
    let mut conn = state.pool.get().await?;
    let requests: Vec<ContactRequestView> = contact::pending(&mut conn, me.id, incoming, limit)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(web::Json(RequestList { requests }))
}
