use actix_web::post;
use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{is_unique_violation, ApiError, ApiResult, ErrorCode};
use crate::http::bearer::AuthUser;
use crate::http::extract::Json;
use crate::http::openapi::{Conflict, RateLimited};
use crate::http::validate;
use crate::http::views::WorkspaceView;
use crate::models::workspace::{self, NewWorkspace, NewWorkspaceMember, OWNER, SLUG_TAKEN};
use crate::state::AppState;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewWorkspace)]
pub struct CreateBody {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// 3-40 of `a-z`, `0-9` and `-`.
    #[schema(pattern = "^[a-z0-9-]{3,40}$")]
    slug: String,
}

/// A slug: 3-40 of `a-z`, `0-9` and `-`.
fn slug(value: &str) -> ApiResult<String> {
    let ok = (3..=40).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(ApiError::invalid("slug must be 3-40 of a-z, 0-9 and -"))
    }
}

/// Refuses (`rate_limited`, with the time until the oldest of them is a day old) a creator who
/// made `per_day` workspaces in the last 24 hours: slugs are a shared namespace, and one user
/// must not take them by the thousand. Call it in the creation's transaction.
async fn within_daily_cap(
    conn: &mut diesel_async::AsyncPgConnection,
    user: Uuid,
    per_day: i64,
) -> ApiResult<()> {
    workspace::lock_creator(conn, user).await?;
    let day = chrono::Duration::hours(24);
    let (made, oldest) = workspace::created_since(conn, user, chrono::Utc::now() - day).await?;
    if made < per_day {
        return Ok(());
    }
    let wait = oldest
        .and_then(|at| (at + day - chrono::Utc::now()).to_std().ok())
        .unwrap_or(std::time::Duration::from_secs(1));
    Err(ApiError::rate_limited(
        format!("at most {per_day} new workspaces a day"),
        wait,
    ))
}

/// `POST /api/workspaces` with `{ name, slug }` → 201 the Workspace, its creator the owner;
/// `conflict` when the slug is taken; `rate_limited` past `limits.workspaces_per_day`.
#[utoipa::path(
    operation_id = "createWorkspace",
    tag = "workspaces",
    security(("bearer" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The workspace, its creator the owner", body = WorkspaceView),
        (status = 409, response = Conflict),
        (status = 429, response = RateLimited),
    ),
)]
#[post("/workspaces")]
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    body: Json<CreateBody>,
) -> ApiResult<HttpResponse> {
    let name = validate::text("name", &body.name, 1, 100)?;
    let slug = slug(&body.slug)?;
    let mut conn = state.pool.get().await?;
    let per_day = state.settings.limits.workspaces_per_day;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            within_daily_cap(conn, me.id, per_day).await?;
            let new = NewWorkspace {
                id: Uuid::now_v7(),
                name: &name,
                slug: &slug,
                created_by: me.id,
            };
            let space = match workspace::insert(conn, &new).await {
                Err(err) if is_unique_violation(&err, SLUG_TAKEN) => {
                    return Err(ApiError::conflict("slug is taken"))
                }
                created => created?,
            };
            let owner = NewWorkspaceMember {
                workspace_id: space.id,
                user_id: me.id,
                role: OWNER,
            };
            workspace::insert_members(conn, &[owner]).await?;
            Ok(space)
        })
        .await;
    let space = match created {
        Ok(space) => space,
        Err(err) => {
            if err.code == ErrorCode::RateLimited && state.floods.workspaces_refused.admit() {
                log::warn!(user_id:% = me.id; "workspace refused: daily cap reached");
            }
            return Err(err);
        }
    };
    log::info!(workspace_id:% = space.id; "workspace created");
    Ok(HttpResponse::Created().json(WorkspaceView::new(&space, OWNER)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert!(super::slug("acme-2").is_ok());
        assert!(super::slug("ab").is_err());
        assert!(super::slug(&"a".repeat(41)).is_err());
        assert!(super::slug("Acme").is_err());
        assert!(super::slug("ac me").is_err());
        assert!(super::slug("acmé").is_err());
    }
}
