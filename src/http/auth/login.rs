use actix_web::post;
use std::time::Duration;

use crate::http::extract::Json;
use crate::http::openapi::{RateLimited, Unauthorized};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{issue_tokens, SessionBody};
use crate::auth::password;
use crate::auth::throttle::{self, LoginKeys};
use crate::error::{ApiError, ApiResult};
use crate::http::{client_ip, validate};
use crate::models::{login_failure, user};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = Login)]
pub struct LoginBody {
    /// An email or a username.
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    login: String,
    #[schema(format = Password, min_length = 1, max_length = 1024)]
    password: String,
}

/// `POST /api/auth/login` with an email or a username → 200 `{ user, accessToken }` and the
/// refresh cookie; 401 for a wrong login or password; 429 after too many failures of this
/// address, on this account or on any. An account failing from many addresses is slowed down,
/// never locked.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in; the refresh cookie is set", body = SessionBody,
            headers(("set-cookie" = String, description = "`confab_refresh`, HttpOnly"))),
        (status = 401, response = Unauthorized),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginBody>,
) -> ApiResult<HttpResponse> {
    let login = validate::text("login", &body.login, 1, 254)?.to_lowercase();
    if body.password.is_empty() || body.password.len() > 1024 {
        return Err(ApiError::invalid("password must be 1-1024 bytes"));
    }
    let auth = &state.settings.auth;
    let window = chrono::Duration::seconds(auth.login_window_secs as i64);
    let address = client_ip(&req, state.settings.server.trust_proxy_headers);

    let mut conn = state.pool.get().await?;
    let user = user::find_by_login(&mut conn, &login).await?;
    let keys = LoginKeys::new(user.as_ref().map(|u| u.id), &login, &address);
    let claimed =
        login_failure::claim(&mut conn, &keys.counters(auth), Utc::now() - window).await?;
    let claim = match claimed {
        Ok(claim) => claim,
        Err(over) => {
            if state.floods.logins_refused.admit() {
                log::warn!(key = over.key.split(':').next().unwrap_or(""); "login rate limited");
            }
            return Err(too_many(
                over.oldest + window,
                "too many failed logins; try again later",
            ));
        }
    };
    // No connection is held while the attempt waits or bcrypt runs.
    drop(conn);
    // The account's failures from every address slow its attempts down, never stop them.
    let wait = throttle::account_delay(LoginKeys::account_failures(&claim), auth);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    // Without an account, check against a dummy hash all the same: the time taken does not
    // tell whether the account exists.
    let hash = user
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let matched = password::verify(body.password.clone(), hash).await?;
    let user = match user {
        Some(user) if matched => user,
        // The claimed attempt stays: it was a failure.
        _ => {
            if state.floods.logins_failed.admit() {
                log::warn!("login failed: wrong login or password");
            }
            return Err(ApiError::unauthorized("wrong login or password"));
        }
    };
    let mut conn = state.pool.get().await?;
    login_failure::release(&mut conn, claim).await?;
    login_failure::clear(&mut conn, &keys.cleared_on_success()).await?;
    let (access_token, cookie) = issue_tokens(&state, &mut conn, user.id, None).await?;
    log::info!(user_id:% = user.id; "user logged in");
    Ok(HttpResponse::Ok().cookie(cookie).json(SessionBody {
        user: (&user).into(),
        access_token,
    }))
}

/// `rate_limited`, lifting at `lifts_at`.
pub fn too_many(lifts_at: chrono::DateTime<Utc>, message: &str) -> ApiError {
    let wait = (lifts_at - Utc::now())
        .to_std()
        .unwrap_or(Duration::from_secs(1));
    ApiError::rate_limited(message, wait)
}
