use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::users;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// `settings.readReceipts`: others hear of the user's receipts.
    pub read_receipts: bool,
    /// `settings.presence`: others see the user online and when they were last seen.
    pub presence_visible: bool,
    /// `settings.dmFromContactsOnly`: only contacts open new DMs with the user.
    pub dm_from_contacts_only: bool,
    /// When the account was deleted (`DELETE /me`): the row stays for its messages' sake.
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
}

/// A profile change; `None` leaves a field as it is (`avatar_url: Some(None)` clears it).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub read_receipts: Option<bool>,
    pub presence_visible: Option<bool>,
    pub dm_from_contacts_only: Option<bool>,
}

impl UserChanges {
    fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.avatar_url.is_none()
            && self.read_receipts.is_none()
            && self.presence_visible.is_none()
            && self.dm_from_contacts_only.is_none()
    }
}

pub const EMAIL_TAKEN: &str = "users_email_key";
pub const USERNAME_TAKEN: &str = "users_username_key";

pub async fn insert(conn: &mut AsyncPgConnection, user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Inserts many users at once (seeding); PostgreSQL takes at most 65,535 binds a statement.
pub async fn insert_many(conn: &mut AsyncPgConnection, new: &[NewUser<'_>]) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in new.chunks(5_000) {
        inserted += diesel::insert_into(users::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// The account `id`, unless it was deleted.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The row of `id`, a deleted account's too.
pub async fn find_any(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user whose email or username is `login`, ignoring case.
pub async fn find_by_login(conn: &mut AsyncPgConnection, login: &str) -> QueryResult<Option<User>> {
    let login = login.to_lowercase();
    users::table
        .filter(
            lower(users::email)
                .eq(&login)
                .or(lower(users::username).eq(&login)),
        )
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user whose username is `username`, ignoring case (usernames are unique ignoring case).
pub async fn find_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> QueryResult<Option<User>> {
    users::table
        .filter(lower(users::username).eq(username.to_lowercase()))
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many of `ids` exist (deleted accounts do not).
pub async fn count_existing(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<i64> {
    users::table
        .filter(users::id.eq_any(ids))
        .filter(users::deleted_at.is_null())
        .count()
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &UserChanges,
) -> QueryResult<User> {
    if changes.is_empty() {
        return users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await;
    }
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Users whose username or display name starts with `prefix` (case-insensitive); with
/// `workspace`, only its members.
pub async fn search(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    workspace: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    use crate::db::schema::workspace_members;
    let pattern = super::prefix_pattern(&prefix.to_lowercase());
    let mut query = users::table
        .filter(
            lower(users::username)
                .like(pattern.clone())
                .or(lower(users::display_name).like(pattern)),
        )
        .filter(users::deleted_at.is_null())
        .into_boxed();
    if let Some(workspace) = workspace {
        query = query.filter(diesel::dsl::exists(
            workspace_members::table
                .filter(workspace_members::workspace_id.eq(workspace))
                .filter(workspace_members::user_id.eq(users::id)),
        ));
    }
    query
        .order((lower(users::username), users::id))
        .limit(limit)
        .select(User::as_select())
        .load(conn)
        .await
}

/// The last-seen time of each of `ids` that exists.
/// When each of `ids` that `viewer` may see was last seen: the viewer themself, and users who
/// share a conversation with them and have not blocked them. Others are left out.
pub async fn visible_last_seen_of(
    conn: &mut AsyncPgConnection,
    viewer: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Option<DateTime<Utc>>)>> {
    use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as SqlUuid};

    #[derive(QueryableByName)]
    struct Seen {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        last_seen_at: Option<DateTime<Utc>>,
    }

    let rows: Vec<Seen> = diesel::sql_query(
        "SELECT u.id, u.last_seen_at FROM users u \
         WHERE u.id = ANY($2) AND u.deleted_at IS NULL \
         AND (u.id = $1 OR u.presence_visible AND EXISTS (SELECT 1 FROM conversation_members mine \
              JOIN conversation_members theirs ON theirs.conversation_id = mine.conversation_id \
              WHERE mine.user_id = $1 AND theirs.user_id = u.id)) \
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $1)",
    )
    .bind::<SqlUuid, _>(viewer)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.last_seen_at)).collect())
}

/// Records when user `id` was last seen; whether they show their presence (`false` also for
/// an account that is gone).
pub async fn touch_last_seen(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(users::table.find(id).filter(users::deleted_at.is_null()))
        .set(users::last_seen_at.eq(at))
        .returning(users::presence_visible)
        .get_result(conn)
        .await
        .optional()
        .map(|visible| visible.unwrap_or(false))
}

/// Whether credentials of `user` (of refresh-token `family`, when they have one) still hold:
/// the account exists and the family has not been revoked. One round trip.
pub async fn credentials_hold(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    family: Option<Uuid>,
) -> QueryResult<bool> {
    use crate::db::schema::refresh_tokens;
    use diesel::dsl::{exists, not};
    let account = exists(users::table.find(user).filter(users::deleted_at.is_null()));
    match family {
        Some(family) => {
            let revoked = refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family))
                .filter(refresh_tokens::revoked_at.is_not_null());
            diesel::select(account.and(not(exists(revoked))))
                .get_result(conn)
                .await
        }
        None => diesel::select(account).get_result(conn).await,
    }
}

/// For a new socket of `user` (of refresh-token `family`): whether they show their presence,
/// and the users who have blocked them; `None` when the credentials no longer hold (no such
/// account, or a revoked family).
/// One round trip, a statement prepared once per connection: a row per blocker, or one row
/// without a blocker, when the credentials hold; no row otherwise.
pub async fn admit(
    mut conn: &AsyncPgConnection,
    user: Uuid,
    family: Option<Uuid>,
) -> QueryResult<Option<(bool, Vec<Uuid>)>> {
    use crate::db::schema::{blocks, refresh_tokens};
    use diesel::dsl::{exists, not};
    let revoked = refresh_tokens::table
        .filter(refresh_tokens::family_id.nullable().eq(family))
        .filter(refresh_tokens::revoked_at.is_not_null());
    let rows: Vec<(bool, Option<Uuid>)> = users::table
        .left_join(blocks::table.on(blocks::blocked_id.eq(users::id)))
        .filter(users::id.eq(user))
        .filter(users::deleted_at.is_null())
        .filter(not(exists(revoked)))
        .select((users::presence_visible, blocks::blocker_id.nullable()))
        .load(&mut conn)
        .await?;
    let Some(&(visible, _)) = <[_]>::first(&rows) else {
        return Ok(None);
    };
    Ok(Some((
        visible,
        rows.into_iter().filter_map(|(_, b)| b).collect(),
    )))
}

/// Marks account `id` deleted and forgets what it held: email, password, profile, settings.
/// The username stays, reserved (see [`release_username`]). Call it in the deletion's
/// transaction; `false` when there was no live account.
pub async fn mark_deleted(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    use diesel::dsl::now;
    let changed = diesel::update(users::table.find(id).filter(users::deleted_at.is_null()))
        .set((
            users::deleted_at.eq(now),
            // Neither is a valid email nor a bcrypt hash: no registration or login matches.
            users::email.eq(format!("deleted:{id}")),
            users::password_hash.eq(""),
            users::display_name.eq(""),
            users::avatar_url.eq(None::<String>),
            users::read_receipts.eq(false),
            users::presence_visible.eq(false),
            users::dm_from_contacts_only.eq(false),
            users::last_seen_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(changed == 1)
}

/// Frees `username` when it belongs to an account deleted before `deleted_before`: the old
/// row is renamed `deleted:<id>` (a name no registration can take). Whether it was freed.
pub async fn release_username(
    conn: &mut AsyncPgConnection,
    username: &str,
    deleted_before: DateTime<Utc>,
) -> QueryResult<bool> {
    let released = diesel::sql_query(
        "UPDATE users SET username = 'deleted:' || id::text \
         WHERE lower(username) = lower($1) AND deleted_at < $2",
    )
    .bind::<diesel::sql_types::Text, _>(username)
    .bind::<diesel::sql_types::Timestamptz, _>(deleted_before)
    .execute(conn)
    .await?;
    Ok(released > 0)
}
