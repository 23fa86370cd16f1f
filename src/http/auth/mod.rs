pub mod login;
pub mod logout;
pub mod refresh;
pub mod register;

use actix_web::cookie::Cookie;
use actix_web::HttpRequest;
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::refresh as refresh_tokens;
use crate::error::ApiResult;
use crate::http::views::UserView;
use crate::models::refresh_token::{self, NewRefreshToken};
use crate::state::AppState;

/// `{ user, accessToken }`, the answer to register and login.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    pub user: UserView,
    pub access_token: String,
}

/// Issues an access token and a refresh token in `family` (a new family when `None`),
/// returning the access token and the cookie that carries the refresh token.
pub async fn issue_tokens(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    family: Option<Uuid>,
) -> ApiResult<(String, Cookie<'static>)> {
    let token = refresh_tokens::generate();
    let family = family.unwrap_or_else(Uuid::now_v7);
    let ttl = chrono::Duration::seconds(state.settings.auth.refresh_ttl_secs as i64);
    refresh_token::insert(
        conn,
        &NewRefreshToken {
            id: Uuid::now_v7(),
            user_id,
            family_id: family,
            token_hash: refresh_tokens::hash(&token),
            expires_at: Utc::now() + ttl,
        },
    )
    .await?;
    Ok((
        state.jwt.issue_access(user_id, family),
        refresh_tokens::cookie(&state.settings.auth, token),
    ))
}

/// The refresh token of a request: the cookie, else `{ "refreshToken": "…" }` in the body
/// (for clients without cookies).
pub fn presented_refresh_token(req: &HttpRequest, state: &AppState, body: &[u8]) -> Option<String> {
    if let Some(cookie) = req.cookie(&state.settings.auth.refresh_cookie_name) {
        if !cookie.value().is_empty() {
            return Some(cookie.value().to_string());
        }
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        refresh_token: String,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .map(|b| b.refresh_token)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}
