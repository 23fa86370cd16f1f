use actix_web::post;
use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::extract::Json;
use crate::http::openapi::Conflict;
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

/// `POST /api/workspaces` with `{ name, slug }` → 201 the Workspace, its creator the owner;
/// `conflict` when the slug is taken.
#[utoipa::path(
    operation_id = "createWorkspace",
    tag = "workspaces",
    security(("bearer" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The workspace, its creator the owner", body = WorkspaceView),
        (status = 409, response = Conflict),
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
    let created = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let new = NewWorkspace {
                id: Uuid::now_v7(),
                name: &name,
                slug: &slug,
                created_by: me.id,
            };
            let space = workspace::insert(conn, &new).await?;
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
        Err(err) if is_unique_violation(&err, SLUG_TAKEN) => {
            return Err(ApiError::conflict("slug is taken"))
        }
        Err(err) => return Err(err.into()),
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
