//! Workspaces (PROTOCOL.md v1.1 section 7): tenant partitions whose public channels their
//! members find and join. Nothing of a workspace is visible to a non-member (404).

pub mod channels;
pub mod create;
pub mod get;
pub mod list;
pub mod members;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::validate;
use crate::models::workspace::{self, Workspace, WorkspaceMember};

pub fn workspace_not_found() -> ApiError {
    ApiError::not_found("workspace not found")
}

/// The workspace named in a path and the caller's membership; `not_found` for a malformed id,
/// a missing workspace and a non-member alike.
pub async fn load_for_member(
    conn: &mut AsyncPgConnection,
    id: &str,
    user: Uuid,
) -> ApiResult<(Workspace, WorkspaceMember)> {
    let id = validate::path_id(id, workspace_not_found)?;
    workspace::find_for_member(conn, id, user)
        .await?
        .ok_or_else(workspace_not_found)
}
