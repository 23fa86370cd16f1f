use crate::http::extract::Json;
use actix_web::web;
use serde::{Deserialize, Deserializer};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::http::views::MeView;
use crate::models::user::{self, UserChanges};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    display_name: Option<String>,
    /// Absent: unchanged; `null`: removed; a string: replaced.
    #[serde(default, deserialize_with = "present")]
    avatar_url: Option<Option<String>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /api/me` with `{ displayName?, avatarUrl? }` → the updated user.
pub async fn update(
    state: web::Data<AppState>,
    me: AuthUser,
    body: Json<UpdateBody>,
) -> ApiResult<web::Json<MeView>> {
    let changes = UserChanges {
        display_name: body
            .display_name
            .as_deref()
            .map(|name| validate::text("displayName", name, 1, 64))
            .transpose()?,
        avatar_url: match &body.avatar_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(url)) => Some(Some(validate::avatar_url(url)?)),
        },
    };
    let mut conn = state.pool.get().await?;
    if user::find(&mut conn, me.id).await?.is_none() {
        return Err(ApiError::unauthorized("the account no longer exists"));
    }
    let user = user::update(&mut conn, me.id, &changes).await?;
    Ok(web::Json((&user).into()))
}
