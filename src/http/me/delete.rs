use actix_web::delete;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{password, refresh};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::login::too_many;
use crate::http::bearer::AuthUser;
use crate::http::extract::Json;
use crate::http::openapi::{Forbidden, RateLimited};
use crate::models::login_failure::{self, Counter};
use crate::models::user;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountDeletion)]
pub struct DeleteBody {
    /// The account's password, asked again: a stolen access token alone deletes nothing.
    #[schema(format = Password, min_length = 1, max_length = 1024)]
    password: String,
}

/// `DELETE /api/me` with `{ password }` → 204: the account is gone (its messages stay as
/// tombstones), every socket of it disconnects and the refresh cookie is cleared. A wrong password is `forbidden`
/// and changes nothing; attempts count like failed logins (`auth.login_max_failures_per_pair`
/// in `auth.login_window_secs` per account, then `rate_limited`).
#[utoipa::path(
    operation_id = "deleteMe",
    tag = "users",
    security(("bearer" = [])),
    request_body = DeleteBody,
    responses(
        (status = 204, description = "The account is deleted; its messages stay as tombstones"),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
)]
#[delete("/me")]
pub async fn delete(
    state: web::Data<AppState>,
    me: AuthUser,
    body: Json<DeleteBody>,
) -> ApiResult<HttpResponse> {
    if body.password.is_empty() || body.password.len() > 1024 {
        return Err(ApiError::invalid("password must be 1-1024 bytes"));
    }
    let auth = &state.settings.auth;
    let window = chrono::Duration::seconds(auth.login_window_secs as i64);
    let key = format!("delete:{}", me.id);
    let counter = [Counter::hard(
        &key,
        i64::from(auth.login_max_failures_per_pair),
    )];
    let mut conn = state.pool.get().await?;
    let account = user::find(&mut conn, me.id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
    if let Err(over) = login_failure::claim(&mut conn, &counter, Utc::now() - window).await? {
        refused(&state, "account deletion rate limited");
        return Err(too_many(
            over.oldest + window,
            "too many attempts to delete this account; try again later",
        ));
    }
    drop(conn);
    if !password::verify(body.password.clone(), account.password_hash).await? {
        refused(&state, "account deletion refused: wrong password");
        return Err(ApiError::forbidden("the password is wrong"));
    }
    crate::accounts::delete(&state, me.id).await?;
    Ok(HttpResponse::NoContent()
        .cookie(refresh::removal_cookie(auth))
        .finish())
}

/// Logs a refused deletion, once per burst.
fn refused(state: &AppState, what: &'static str) {
    if state.floods.deletions_refused.admit() {
        log::warn!("{what}");
    }
}
