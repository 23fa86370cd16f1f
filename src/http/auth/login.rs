use std::time::Duration;

use crate::http::extract::Json;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;

use super::{issue_tokens, SessionBody};
use crate::auth::password;
use crate::error::{ApiError, ApiResult};
use crate::http::{client_ip, validate};
use crate::models::{login_failure, user};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    login: String,
    password: String,
}

/// `POST /api/auth/login` with an email or a username → 200 `{ user, accessToken }` and the
/// refresh cookie; 401 for a wrong login or password; 429 after too many failures.
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
    let since = Utc::now() - window;
    let account_key = format!("account:{login}");
    let ip_key = format!(
        "ip:{}",
        client_ip(&req, state.settings.server.trust_proxy_headers)
    );

    let mut conn = state.pool.get().await?;
    for key in [&account_key, &ip_key] {
        let recent =
            login_failure::recent(&mut conn, key, since, auth.login_max_failures as i64).await?;
        if recent.len() as u32 >= auth.login_max_failures {
            // The limit lifts when the oldest of the newest `max` failures leaves the window.
            let lifts_at = recent[recent.len() - 1] + window;
            let wait = (lifts_at - Utc::now())
                .to_std()
                .unwrap_or(Duration::from_secs(1));
            log::warn!(key = key.split(':').next().unwrap_or(""); "login rate limited");
            return Err(ApiError::rate_limited(
                "too many failed logins; try again later",
                wait,
            ));
        }
    }

    let user = user::find_by_login(&mut conn, &login).await?;
    // Without an account, check against a dummy hash all the same: the time taken does not
    // tell whether the account exists.
    let hash = user
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let matched = password::verify(body.password.clone(), hash).await?;
    let user = match user {
        Some(user) if matched => user,
        _ => {
            login_failure::record(&mut conn, &[&account_key, &ip_key], since).await?;
            return Err(ApiError::unauthorized("wrong login or password"));
        }
    };
    login_failure::clear(&mut conn, &account_key).await?;
    let (access_token, cookie) = issue_tokens(&state, &mut conn, user.id, None).await?;
    log::info!(user_id:% = user.id; "user logged in");
    Ok(HttpResponse::Ok().cookie(cookie).json(SessionBody {
        user: (&user).into(),
        access_token,
    }))
}
