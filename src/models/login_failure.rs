//! Attempts counted against a limit: logins by account and address pair, by address and by
//! account, registrations by address. An attempt is claimed before the work it guards (a
//! bcrypt check), in one transaction that holds a lock per key, so N parallel attempts never
//! get more than a hard limit through; a login that succeeds gives its claim back. The rows
//! live in PostgreSQL, so every node of a cluster counts the same attempts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_failures;

/// One key an attempt is counted under.
#[derive(Debug, Clone, Copy)]
pub struct Counter<'a> {
    pub key: &'a str,
    /// With `hard`, the attempts after which a further one is refused; without, how many are
    /// counted at most (the count a caller sees stops there).
    pub max: i64,
    /// Whether reaching `max` refuses the attempt, or only reports the count.
    pub hard: bool,
}

impl<'a> Counter<'a> {
    /// A key that refuses the attempt once it holds `max` attempts.
    pub fn hard(key: &'a str, max: i64) -> Self {
        Counter {
            key,
            max,
            hard: true,
        }
    }

    /// A key whose attempts are only counted, up to `max`.
    pub fn soft(key: &'a str, max: i64) -> Self {
        Counter {
            key,
            max,
            hard: false,
        }
    }
}

/// The attempts a claim recorded, one row per key, and the attempts each key held before it
/// (in the order the counters were given).
#[derive(Debug, Clone)]
pub struct Claim {
    ids: Vec<i64>,
    pub before: Vec<i64>,
}

/// A key already at its hard limit, and when its oldest attempt in the window was made.
#[derive(Debug, Clone)]
pub struct OverLimit {
    pub key: String,
    pub oldest: DateTime<Utc>,
}

/// Records one attempt under each counter's key unless a hard one already has `max` attempts
/// after `since`; forgets their attempts from before `since`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    counters: &[Counter<'_>],
    since: DateTime<Utc>,
) -> QueryResult<Result<Claim, OverLimit>> {
    let mut keys: Vec<String> = counters.iter().map(|c| c.key.to_string()).collect();
    // Locks are taken in one order, so two claims never wait for each other in a circle.
    keys.sort();
    keys.dedup();
    let counters: Vec<(String, i64, bool)> = counters
        .iter()
        .map(|c| (c.key.to_string(), c.max.max(1), c.hard))
        .collect();
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        for key in &keys {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                .bind::<Text, _>(key)
                .execute(conn)
                .await?;
        }
        let mut before = Vec::with_capacity(counters.len());
        for (key, max, hard) in &counters {
            let recent: Vec<DateTime<Utc>> = login_failures::table
                .filter(login_failures::key.eq(key))
                .filter(login_failures::failed_at.gt(since))
                .order(login_failures::failed_at.desc())
                .limit(*max)
                .select(login_failures::failed_at)
                .load(conn)
                .await?;
            if *hard && recent.len() as i64 >= *max {
                let oldest = recent[recent.len() - 1];
                return Ok(Err(OverLimit {
                    key: key.clone(),
                    oldest,
                }));
            }
            before.push(recent.len() as i64);
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
        Ok(Ok(Claim { ids, before }))
    })
    .await
}

/// Gives a claim back: the attempt it recorded does not count (a login that succeeded).
pub async fn release(conn: &mut AsyncPgConnection, claim: Claim) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(claim.ids)))
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets the attempts of `keys` (after a successful login to that account).
pub async fn clear(conn: &mut AsyncPgConnection, keys: &[&str]) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::key.eq_any(keys)))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes at most `batch` attempts made before `before`, whatever their key: keys that are
/// never claimed again (an address that gave up) would otherwise keep their rows for ever.
/// Returns how many were removed.
pub async fn purge(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    batch: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM login_failures WHERE id IN \
         (SELECT id FROM login_failures WHERE failed_at < $1 LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .execute(conn)
    .await
}
