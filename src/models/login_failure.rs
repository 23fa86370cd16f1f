//! Attempts counted against a limit: logins by account and by address, registrations by
//! address. An attempt is claimed before the work it guards (a bcrypt check), in one
//! transaction that holds a lock per key, so N parallel attempts never get more than the limit
//! through; a login that succeeds gives its claim back.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_failures;

/// The attempts a claim recorded, one row per key.
#[derive(Debug, Clone)]
pub struct Claim(Vec<i64>);

/// A key already at its limit, and when its oldest attempt in the window was made.
#[derive(Debug, Clone)]
pub struct OverLimit {
    pub key: String,
    pub oldest: DateTime<Utc>,
}

/// Records one attempt under each of `keys` unless one of them already has `max` attempts
/// after `since`; forgets their attempts from before `since`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    keys: &[&str],
    since: DateTime<Utc>,
    max: i64,
) -> QueryResult<Result<Claim, OverLimit>> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    // Locks are taken in one order, so two claims never wait for each other in a circle.
    keys.sort();
    keys.dedup();
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        for key in &keys {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                .bind::<Text, _>(key)
                .execute(conn)
                .await?;
        }
        for key in &keys {
            let recent: Vec<DateTime<Utc>> = login_failures::table
                .filter(login_failures::key.eq(key))
                .filter(login_failures::failed_at.gt(since))
                .order(login_failures::failed_at.desc())
                .limit(max)
                .select(login_failures::failed_at)
                .load(conn)
                .await?;
            if recent.len() as i64 >= max {
                let oldest = recent[recent.len() - 1];
                return Ok(Err(OverLimit {
                    key: key.clone(),
                    oldest,
                }));
            }
        }
        diesel::delete(
            login_failures::table
                .filter(login_failures::key.eq_any(&keys))
                .filter(login_failures::failed_at.le(since)),
        )
        .execute(conn)
        .await?;
        let rows: Vec<_> = keys.iter().map(|key| login_failures::key.eq(key)).collect();
        let ids = diesel::insert_into(login_failures::table)
            .values(&rows)
            .returning(login_failures::id)
            .get_results(conn)
            .await?;
        Ok(Ok(Claim(ids)))
    })
    .await
}

/// Gives a claim back: the attempt it recorded does not count (a login that succeeded).
pub async fn release(conn: &mut AsyncPgConnection, claim: Claim) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(claim.0)))
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets the attempts of `key` (after a successful login to that account).
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::key.eq(key)))
        .execute(conn)
        .await
        .map(drop)
}
