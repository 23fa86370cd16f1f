use crate::http::extract::Json;
use actix_web::patch;
use actix_web::web;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::http::views::MeView;
use crate::models::user::{self, UserChanges};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = MeChanges)]
pub struct UpdateBody {
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    display_name: Option<String>,
    /// Absent: unchanged; `null`: removed; a string: replaced.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^https?://[^\\s]+$")]
    avatar_url: Option<Option<String>>,
    settings: Option<SettingsBody>,
}

/// `settings` of `PATCH /me`: each one absent is left as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsBody {
    read_receipts: Option<bool>,
    presence: Option<bool>,
    dm_from_contacts_only: Option<bool>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /api/me` with `{ displayName?, avatarUrl?, settings?: { readReceipts?, presence?,
/// dmFromContactsOnly? } }`
/// → the updated user. Turning presence off or on is told to the user's presence on every
/// node: they go offline to everyone else (with no last-seen time), or come back online.
#[utoipa::path(
    operation_id = "updateMe",
    tag = "users",
    security(("bearer" = [])),
    request_body = UpdateBody,
    responses((status = 200, description = "The updated user", body = MeView)),
)]
#[patch("/me")]
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
        read_receipts: body.settings.as_ref().and_then(|s| s.read_receipts),
        presence_visible: body.settings.as_ref().and_then(|s| s.presence),
        dm_from_contacts_only: body.settings.as_ref().and_then(|s| s.dm_from_contacts_only),
    };
    let mut conn = state.pool.get().await?;
    let Some(before) = user::find(&mut conn, me.id).await? else {
        return Err(ApiError::unauthorized("the account no longer exists"));
    };
    // Turning presence off or on tells every member of every conversation of the user, on
    // every node: it spends the sending rate, and past it nothing is changed.
    if changes
        .presence_visible
        .is_some_and(|visible| visible != before.presence_visible)
    {
        state.messaging.spend(me.id)?;
    }
    let user = user::update(&mut conn, me.id, &changes).await?;
    if user.presence_visible != before.presence_visible {
        state
            .publisher
            .presence_setting_changed(me.id, user.presence_visible)
            .await;
    }
    Ok(web::Json((&user).into()))
}
