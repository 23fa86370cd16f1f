pub mod login;
pub mod logout;
pub mod origin;
pub mod refresh;
pub mod register;

use actix_web::cookie::Cookie;
use actix_web::HttpRequest;
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::refresh as refresh_tokens;
use crate::error::{ApiError, ApiResult};
use crate::http::views::UserView;
use crate::models::refresh_token::{self, NewRefreshToken};
use crate::state::AppState;

/// `{ user, accessToken }`, the answer to register and login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    #[schema(value_type = crate::http::views::UserView)]
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

/// `{ refreshToken? }`: for clients without cookies, the refresh token in the body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshBody {
    #[schema(min_length = 1, max_length = 256)]
    refresh_token: Option<String>,
}

/// `{ accessToken }`, the answer to refresh.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: String,
}

/// Whether a body that may be left out was: nothing, white space or `null`.
pub fn is_empty_body(body: &[u8]) -> bool {
    let text = body.trim_ascii();
    text.is_empty() || text == b"null"
}

/// The refresh token of a request: the cookie, else `{ "refreshToken": "…" }` in the body
/// (for clients without cookies). A body, when there is one, must be that object. The cookie
/// is only taken from the node's own origin (`forbidden` otherwise): a browser sends it with
/// requests that other pages make.
pub fn presented_refresh_token(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
) -> ApiResult<Option<String>> {
    let in_body = if is_empty_body(body) {
        None
    } else {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::invalid("the body must be JSON text"))?;
        let body: RefreshBody = crate::http::extract::decode(text)?;
        match body.refresh_token {
            Some(token) if token.is_empty() || token.len() > 256 => {
                return Err(ApiError::invalid("refreshToken must be 1 to 256 bytes"))
            }
            token => token,
        }
    };
    if let Some(cookie) = req.cookie(&state.settings.auth.refresh_cookie_name) {
        if !cookie.value().is_empty() {
            origin::check(req, state)?;
            return Ok(Some(cookie.value().to_string()));
        }
    }
    Ok(in_body)
}
