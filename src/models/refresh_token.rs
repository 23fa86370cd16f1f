use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::refresh_tokens;

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token found.
#[derive(Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// The token was live and is now used up: rotate within this family.
    Valid { user_id: Uuid, family_id: Uuid },
    /// The token had been rotated or revoked before: its family is now revoked.
    Reused { user_id: Uuid, family_id: Uuid },
    /// Unknown or expired.
    Invalid,
}

pub async fn insert(conn: &mut AsyncPgConnection, token: &NewRefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)
        .await
        .map(drop)
}

/// Marks the token with `hash` used, atomically, so that only one caller can rotate it.
/// Presenting a token that was already used or revoked revokes its whole family.
pub async fn redeem(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Redeemed> {
    let now = Utc::now();
    let live: Option<(Uuid, Uuid)> = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now)),
    )
    .set(refresh_tokens::used_at.eq(now))
    .returning((refresh_tokens::user_id, refresh_tokens::family_id))
    .get_result(conn)
    .await
    .optional()?;
    if let Some((user_id, family_id)) = live {
        return Ok(Redeemed::Valid { user_id, family_id });
    }
    let known: Option<(Uuid, Uuid, DateTime<Utc>)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at,
        ))
        .first(conn)
        .await
        .optional()?;
    match known {
        Some((user_id, family_id, expires_at)) if expires_at > now => {
            revoke_family(conn, family_id).await?;
            Ok(Redeemed::Reused { user_id, family_id })
        }
        _ => Ok(Redeemed::Invalid),
    }
}

/// Revokes every token of the family that the token with `hash` belongs to; returns the
/// family's user and id.
pub async fn revoke_family_of(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> QueryResult<Option<(Uuid, Uuid)>> {
    let family: Option<(Uuid, Uuid)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((refresh_tokens::user_id, refresh_tokens::family_id))
        .first(conn)
        .await
        .optional()?;
    if let Some((_, family_id)) = family {
        revoke_family(conn, family_id).await?;
    }
    Ok(family)
}

async fn revoke_family(conn: &mut AsyncPgConnection, family_id: Uuid) -> QueryResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
    .map(drop)
}
