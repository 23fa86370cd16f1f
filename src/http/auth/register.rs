use crate::http::extract::Json;
use crate::http::openapi::{Conflict, RateLimited};
use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{issue_tokens, SessionBody};
use crate::accounts;
use crate::auth::password;
use crate::auth::throttle::address_key;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::http::{client_ip, validate};
use crate::models::login_failure;
use crate::models::user::{self, NewUser, EMAIL_TAKEN, USERNAME_TAKEN};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Registration)]
pub struct RegisterBody {
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$"
    )]
    email: String,
    /// 3-32 of ASCII letters, digits, `_`, `.` and `-`; unique ignoring case.
    #[schema(pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    username: String,
    /// At least 8 characters and at most 72 bytes.
    #[schema(format = Password, min_length = 8, max_length = 72)]
    password: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    display_name: Option<String>,
}

/// `POST /api/auth/register` → 201 `{ user, accessToken }` and the refresh cookie; 429 past
/// `register_max_per_address` attempts from one address in the window.
#[utoipa::path(
    operation_id = "register",
    tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered and signed in; the refresh cookie is set", body = SessionBody,
            headers(("set-cookie" = String, description = "`confab_refresh`, HttpOnly"))),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<RegisterBody>,
) -> ApiResult<HttpResponse> {
    let email = validate::email(&body.email)?;
    let username = validate::username(&body.username)?;
    let password = validate::password(&body.password)?;
    let display_name = match &body.display_name {
        Some(name) => validate::text("displayName", name, 1, 64)?,
        None => username.clone(),
    };
    let auth = &state.settings.auth;
    let mut conn = state.pool.get().await?;
    // Every attempt counts, taken or not: each costs a bcrypt hash.
    let window = chrono::Duration::seconds(auth.register_window_secs as i64);
    let key = format!(
        "register:{}",
        address_key(&client_ip(&req, state.settings.server.trust_proxy_headers))
    );
    let max = i64::from(auth.register_max_per_address);
    let counter = [login_failure::Counter::hard(&key, max)];
    if let Err(over) = login_failure::claim(&mut conn, &counter, Utc::now() - window).await? {
        if state.floods.registrations_refused.admit() {
            log::warn!("registration rate limited");
        }
        return Err(super::login::too_many(
            over.oldest + window,
            "too many registrations from this address; try again later",
        ));
    }
    let password_hash = password::hash(password, auth.bcrypt_cost).await?;

    let new = NewUser {
        id: Uuid::now_v7(),
        email: &email,
        username: &username,
        display_name: &display_name,
        password_hash: &password_hash,
    };
    let mut inserted = user::insert(&mut conn, &new).await;
    if matches!(&inserted, Err(err) if is_unique_violation(err, USERNAME_TAKEN)) {
        // A deleted account's name is free once its hold has passed.
        let before = accounts::username_free_if_deleted_before(Utc::now());
        if user::release_username(&mut conn, &username, before).await? {
            inserted = user::insert(&mut conn, &new).await;
        }
    }
    let user = match inserted {
        Ok(user) => user,
        Err(err) if is_unique_violation(&err, EMAIL_TAKEN) => {
            return Err(ApiError::conflict("email is already registered"))
        }
        Err(err) if is_unique_violation(&err, USERNAME_TAKEN) => {
            return Err(ApiError::conflict("username is taken"))
        }
        Err(err) => return Err(err.into()),
    };
    let (access_token, cookie) = issue_tokens(&state, &mut conn, user.id, None).await?;
    log::info!(user_id:% = user.id; "user registered");
    Ok(HttpResponse::Created().cookie(cookie).json(SessionBody {
        user: (&user).into(),
        access_token,
    }))
}
