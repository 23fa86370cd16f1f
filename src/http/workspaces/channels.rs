use actix_web::get;
use actix_web::web;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::load_for_member;
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::extract::Query;
use crate::http::openapi::NotFound;
use crate::http::validate;
use crate::models::conversation::{self, Channel};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelsQuery {
    /// The start of a title, ignoring case.
    q: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Channel)]
pub struct ChannelView {
    id: Uuid,
    title: Option<String>,
    member_count: i64,
    joined: bool,
}

/// The cursor after `channel`: its id, then its title as it is ordered (lowercased).
fn cursor_after(channel: &Channel) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}{}", channel.id, channel.sort_title))
}

fn parse_cursor(cursor: &str) -> ApiResult<(String, Uuid)> {
    let invalid = || ApiError::invalid("cursor is not one this endpoint gave");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    if text.len() < 36 || !text.is_char_boundary(36) {
        return Err(invalid());
    }
    let (id, title) = text.split_at(36);
    Ok((
        title.to_string(),
        Uuid::parse_str(id).map_err(|_| invalid())?,
    ))
}

/// `{ channels, nextCursor }`: `nextCursor` is `null` on the last page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPage {
    pub channels: Vec<ChannelView>,
    pub next_cursor: Option<String>,
}

/// `GET /api/workspaces/{id}/channels?q=&cursor=&limit=` (members of the workspace) →
/// `{ channels: [{ id, title, memberCount, joined }], nextCursor }`: its public channels whose
/// title starts with `q` (ignoring case), by title.
#[utoipa::path(
    operation_id = "listChannels",
    tag = "workspaces",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workspace"), ChannelsQuery),
    responses(
        (status = 200, description = "Public channels by title", body = ChannelPage),
        (status = 404, response = NotFound),
    ),
)]
#[get("/workspaces/{id}/channels")]
pub async fn list(
    state: web::Data<AppState>,
    me: AuthUser,
    path: web::Path<String>,
    query: Query<ChannelsQuery>,
) -> ApiResult<web::Json<ChannelPage>> {
    let prefix = query
        .q
        .as_deref()
        .map(|q| validate::text("q", q, 0, 100))
        .transpose()?
        .unwrap_or_default()
        .to_lowercase();
    let limit = validate::limit(query.limit, 20, 100)?;
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut conn = state.pool.get().await?;
    let (space, _) = load_for_member(&mut conn, &path, me.id).await?;
    let mut rows =
        conversation::public_channels(&mut conn, space.id, me.id, &prefix, after, limit + 1)
            .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last().map(cursor_after)).flatten();
    let channels: Vec<ChannelView> = rows
        .into_iter()
        .map(|c| ChannelView {
            id: c.id,
            title: c.title,
            member_count: c.member_count,
            joined: c.joined,
        })
        .collect();
    Ok(web::Json(ChannelPage {
        channels,
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let channel = Channel {
            id: Uuid::now_v7(),
            title: Some("Général 🎉".into()),
            sort_title: "général 🎉".into(),
            member_count: 3,
            joined: false,
        };
        let (title, id) = parse_cursor(&cursor_after(&channel)).unwrap();
        assert_eq!((title.as_str(), id), ("général 🎉", channel.id));
        assert!(parse_cursor("not base64!").is_err());
        assert!(parse_cursor(&URL_SAFE_NO_PAD.encode("short")).is_err());
    }
}
