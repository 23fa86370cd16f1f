use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_failures;

/// The newest `limit` failure times of `key` within `since..now`, newest first.
pub async fn recent(
    conn: &mut AsyncPgConnection,
    key: &str,
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<DateTime<Utc>>> {
    login_failures::table
        .filter(login_failures::key.eq(key))
        .filter(login_failures::failed_at.gt(since))
        .order(login_failures::failed_at.desc())
        .limit(limit)
        .select(login_failures::failed_at)
        .load(conn)
        .await
}

/// Records one failure under each key and forgets failures of those keys older than `since`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    keys: &[&str],
    since: DateTime<Utc>,
) -> QueryResult<()> {
    let rows: Vec<_> = keys
        .iter()
        .map(|key| login_failures::key.eq(*key))
        .collect();
    diesel::insert_into(login_failures::table)
        .values(&rows)
        .execute(conn)
        .await?;
    diesel::delete(
        login_failures::table
            .filter(login_failures::key.eq_any(keys))
            .filter(login_failures::failed_at.le(since)),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Forgets the failures of `key` (after a successful login to that account).
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::key.eq(key)))
        .execute(conn)
        .await
        .map(drop)
}
