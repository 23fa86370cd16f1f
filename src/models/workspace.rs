use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{workspace_members, workspaces};

pub use crate::models::member::{ADMIN, MEMBER, OWNER};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspace_members)]
pub struct WorkspaceMember {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl WorkspaceMember {
    /// Owners and admins manage members and invites.
    pub fn can_manage(&self) -> bool {
        self.role == OWNER || self.role == ADMIN
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workspaces)]
pub struct NewWorkspace<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub slug: &'a str,
    pub created_by: Uuid,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workspace_members)]
pub struct NewWorkspaceMember<'a> {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: &'a str,
}

/// The unique index on slugs, for a `conflict`.
pub const SLUG_TAKEN: &str = "workspaces_slug_key";

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewWorkspace<'_>,
) -> QueryResult<Workspace> {
    diesel::insert_into(workspaces::table)
        .values(new)
        .returning(Workspace::as_returning())
        .get_result(conn)
        .await
}

/// Serialises `user`'s workspace creations until the transaction ends, so that the daily cap
/// is counted exactly however many arrive at once.
pub async fn lock_creator(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('workspaces created by ' || $1::text, 0))",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .execute(conn)
    .await
    .map(drop)
}

/// How many workspaces `user` created since `since`, and when the oldest of them was.
pub async fn created_since(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
    use diesel::dsl::{count_star, min};
    workspaces::table
        .filter(workspaces::created_by.eq(user))
        .filter(workspaces::created_at.gt(since))
        .select((count_star(), min(workspaces::created_at)))
        .get_result(conn)
        .await
}

/// Adds members; those who already belong keep their role. Returns the ids added.
pub async fn insert_members(
    conn: &mut AsyncPgConnection,
    new: &[NewWorkspaceMember<'_>],
) -> QueryResult<Vec<Uuid>> {
    let mut added = Vec::new();
    for chunk in new.chunks(10_000) {
        added.extend(
            diesel::insert_into(workspace_members::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(workspace_members::user_id)
                .get_results::<Uuid>(conn)
                .await?,
        );
    }
    Ok(added)
}

/// The workspace and `user`'s membership; `None` for a non-member as for a missing one.
pub async fn find_for_member(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: Uuid,
) -> QueryResult<Option<(Workspace, WorkspaceMember)>> {
    workspaces::table
        .inner_join(workspace_members::table)
        .filter(workspaces::id.eq(id))
        .filter(workspace_members::user_id.eq(user))
        .select((Workspace::as_select(), WorkspaceMember::as_select()))
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Workspace>> {
    workspaces::table
        .find(id)
        .select(Workspace::as_select())
        .first(conn)
        .await
        .optional()
}

/// `user`'s workspaces with their role, by name.
pub async fn of_user(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    limit: i64,
) -> QueryResult<Vec<(Workspace, WorkspaceMember)>> {
    workspaces::table
        .inner_join(workspace_members::table)
        .filter(workspace_members::user_id.eq(user))
        .order((workspaces::name, workspaces::id))
        .limit(limit)
        .select((Workspace::as_select(), WorkspaceMember::as_select()))
        .load(conn)
        .await
}

pub async fn member(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    user: Uuid,
) -> QueryResult<Option<WorkspaceMember>> {
    workspace_members::table
        .find((workspace, user))
        .select(WorkspaceMember::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many of `users` belong to `workspace`.
pub async fn count_members_among(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    users: &[Uuid],
) -> QueryResult<i64> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace))
        .filter(workspace_members::user_id.eq_any(users))
        .count()
        .get_result(conn)
        .await
}

pub async fn count_members(conn: &mut AsyncPgConnection, workspace: Uuid) -> QueryResult<i64> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace))
        .count()
        .get_result(conn)
        .await
}

pub async fn delete_member(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    user: Uuid,
) -> QueryResult<usize> {
    diesel::delete(workspace_members::table.find((workspace, user)))
        .execute(conn)
        .await
}

/// The longest-standing admin, else member: who owns a workspace its owner leaves.
pub async fn successor(conn: &mut AsyncPgConnection, workspace: Uuid) -> QueryResult<Option<Uuid>> {
    use diesel::dsl::sql;
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace))
        .order((
            sql::<diesel::sql_types::Integer>("CASE role WHEN 'admin' THEN 0 ELSE 1 END"),
            workspace_members::joined_at,
            workspace_members::user_id,
        ))
        .select(workspace_members::user_id)
        .first(conn)
        .await
        .optional()
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    user: Uuid,
    role: &str,
) -> QueryResult<usize> {
    diesel::update(workspace_members::table.find((workspace, user)))
        .set(workspace_members::role.eq(role))
        .execute(conn)
        .await
}

/// Locks the workspace row until the transaction ends (serialises membership changes).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Workspace>> {
    workspaces::table
        .find(id)
        .for_update()
        .select(Workspace::as_select())
        .first(conn)
        .await
        .optional()
}
