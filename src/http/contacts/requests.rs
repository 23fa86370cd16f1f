use actix_web::web;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::Query;
use crate::http::validate;
use crate::http::views::ContactRequestView;
use crate::models::contact;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct RequestsQuery {
    direction: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/contacts/requests?direction=incoming|outgoing&limit=` → `{ requests }`: the
/// caller's pending requests, received (the default) or sent, oldest first.
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    query: Query<RequestsQuery>,
) -> ApiResult<web::Json<Value>> {
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
    Ok(web::Json(json!({ "requests": requests })))
}
