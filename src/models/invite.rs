use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::invites;

/// An invite link's row. `code_hash` is the SHA-256 of the code; `sealed_code` the code
/// sealed with the node's invite key (see `crate::invites::code`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invites)]
pub struct Invite {
    pub code_hash: Vec<u8>,
    pub sealed_code: Vec<u8>,
    pub conversation_id: Option<Uuid>,
    pub workspace_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invite {
    /// Whether the link still opens: not revoked, not expired and not used up.
    pub fn works(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none()
            && self.expires_at > now
            && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invites)]
pub struct NewInvite<'a> {
    pub code_hash: &'a [u8],
    pub sealed_code: &'a [u8],
    pub conversation_id: Option<Uuid>,
    pub workspace_id: Option<Uuid>,
    pub created_by: Uuid,
    pub expires_at: DateTime<Utc>,
    pub max_uses: Option<i32>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewInvite<'_>) -> QueryResult<Invite> {
    diesel::insert_into(invites::table)
        .values(new)
        .returning(Invite::as_returning())
        .get_result(conn)
        .await
}

/// The invite whose code hashes to `hash`, locking its row until the transaction ends, so
/// that uses are counted one accept at a time.
pub async fn lock(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Invite>> {
    invites::table
        .find(hash)
        .for_update()
        .select(Invite::as_select())
        .first(conn)
        .await
        .optional()
}

/// The invite whose code hashes to `hash`, working or not.
pub async fn find(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Invite>> {
    invites::table
        .find(hash)
        .select(Invite::as_select())
        .first(conn)
        .await
        .optional()
}

/// The working invites of a conversation (`conversation`) or of a workspace, oldest first.
pub async fn live_of(
    conn: &mut AsyncPgConnection,
    conversation: Option<Uuid>,
    workspace: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Invite>> {
    let mut query = live();
    query = match (conversation, workspace) {
        (Some(c), _) => query.filter(invites::conversation_id.eq(c)),
        (None, Some(w)) => query.filter(invites::workspace_id.eq(w)),
        (None, None) => return Ok(Vec::new()),
    };
    query
        .order((invites::created_at, invites::code_hash))
        .limit(limit)
        .select(Invite::as_select())
        .load(conn)
        .await
}

/// How many working invites a conversation or workspace has (they are bounded).
pub async fn count_live_of(
    conn: &mut AsyncPgConnection,
    conversation: Option<Uuid>,
    workspace: Option<Uuid>,
) -> QueryResult<i64> {
    let mut query = live();
    query = match (conversation, workspace) {
        (Some(c), _) => query.filter(invites::conversation_id.eq(c)),
        (None, Some(w)) => query.filter(invites::workspace_id.eq(w)),
        (None, None) => return Ok(0),
    };
    query.count().get_result(conn).await
}

/// Counts one use of a locked, working invite.
pub async fn use_once(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<usize> {
    diesel::update(invites::table.find(hash))
        .set(invites::uses.eq(invites::uses + 1))
        .execute(conn)
        .await
}

/// Revokes an invite: it stops working at once.
pub async fn revoke(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<usize> {
    diesel::update(
        invites::table
            .find(hash)
            .filter(invites::revoked_at.is_null()),
    )
    .set(invites::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// Every invite that still works: not revoked, not expired, not used up.
fn live<'a>() -> invites::BoxedQuery<'a, diesel::pg::Pg> {
    invites::table
        .filter(invites::revoked_at.is_null())
        .filter(invites::expires_at.gt(diesel::dsl::now))
        .filter(
            invites::max_uses
                .is_null()
                .or(invites::uses.nullable().lt(invites::max_uses)),
        )
        .into_boxed()
}
