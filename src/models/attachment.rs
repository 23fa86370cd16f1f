//! Uploads and the attachments they become: pending from `POST /uploads`, ready once
//! `complete` has checked the stored object (`completed_at`), then claimed by one message in
//! its commit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{attachments, conversation_members, messages, storage_garbage};

/// An upload, attached to a message or not yet. Also read from the JSON of its row, which the
/// change functions return.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Deserialize)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: Uuid,
    pub uploader_id: Uuid,
    pub message_id: Option<i64>,
    pub content_type: String,
    pub size_bytes: i64,
    pub name: String,
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub upload_expires_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub position: Option<i16>,
    pub thumbnail_key: Option<String>,
    pub thumbnailed_at: Option<DateTime<Utc>>,
}

impl Attachment {
    pub fn is_ready(&self) -> bool {
        self.completed_at.is_some()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewUpload<'a> {
    pub id: Uuid,
    pub uploader_id: Uuid,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub name: &'a str,
    pub storage_key: &'a str,
    pub upload_expires_at: DateTime<Utc>,
}

/// Stores `upload` unless its uploader already has `max` uploads that no message claims
/// (pending ones whose URL still works, and ready ones); `None` then. Uploads of one user are
/// counted under a lock of their own, so concurrent requests cannot pass the bound together.
pub async fn create(
    conn: &mut AsyncPgConnection,
    upload: NewUpload<'_>,
    max: i64,
) -> QueryResult<Option<Attachment>> {
    conn.transaction(async move |conn| {
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(hashtextextended('confab:uploads:' || $1, 0))",
        )
        .bind::<Text, _>(upload.uploader_id.to_string())
        .execute(conn)
        .await?;
        let unclaimed: i64 = attachments::table
            .filter(attachments::uploader_id.eq(upload.uploader_id))
            .filter(attachments::message_id.is_null())
            .filter(
                attachments::completed_at
                    .is_not_null()
                    .or(attachments::upload_expires_at.gt(diesel::dsl::now)),
            )
            .count()
            .get_result(conn)
            .await?;
        if unclaimed >= max {
            return Ok(None);
        }
        diesel::insert_into(attachments::table)
            .values(&upload)
            .returning(Attachment::as_returning())
            .get_result(conn)
            .await
            .map(Some)
    })
    .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Attachment>> {
    attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)
        .await
        .optional()
}

/// Why a pending upload could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    /// The checked copy was taken for removal (its `complete` outlived its patience).
    #[error("the checked copy of the upload is gone")]
    CopyGone,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The checked copy of a pending upload (see `ObjectStore::seal`).
pub struct Sealed<'a> {
    /// The copy's key, no upload URL's.
    pub key: &'a str,
    /// The key the upload URL writes (the pending row's `storage_key`).
    pub upload_key: &'a str,
    /// When nothing can write `upload_key` any more.
    pub url_dead_at: DateTime<Utc>,
}

/// Marks a pending upload ready with the dimensions read from its checked copy, which becomes
/// its `storage_key`; the copy's garbage entry is taken back, and the key its upload URL
/// wrote is queued for removal once the URL is dead. `None` when it is not pending (any
/// more): the copy is then the caller's to remove.
pub async fn mark_ready(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    (width, height): (u32, u32),
    sealed: Sealed<'_>,
) -> Result<Option<Attachment>, ReadyError> {
    conn.transaction(async move |conn| {
        let ready = diesel::update(
            attachments::table
                .find(id)
                .filter(attachments::completed_at.is_null()),
        )
        .set((
            attachments::completed_at.eq(diesel::dsl::now),
            attachments::width.eq(width as i32),
            attachments::height.eq(height as i32),
            attachments::storage_key.eq(sealed.key),
        ))
        .returning(Attachment::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(ready) = ready else {
            return Ok(None);
        };
        if remove_garbage(conn, &[sealed.key.to_string()]).await? != 1 {
            return Err(ReadyError::CopyGone);
        }
        queue_garbage(conn, sealed.upload_key, sealed.url_dead_at).await?;
        Ok(Some(ready))
    })
    .await
}

/// Queues `key` for removal from storage at `due` (or later, if it is queued already).
pub async fn queue_garbage(
    conn: &mut AsyncPgConnection,
    key: &str,
    due: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO storage_garbage (key, due_at) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET due_at = greatest(storage_garbage.due_at, EXCLUDED.due_at)",
    )
    .bind::<Text, _>(key)
    .bind::<diesel::sql_types::Timestamptz, _>(due)
    .execute(conn)
    .await
}

/// Removes a pending upload (its object is queued for removal by the row's trigger).
pub async fn discard(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        attachments::table
            .find(id)
            .filter(attachments::completed_at.is_null()),
    )
    .execute(conn)
    .await
}

pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[i64],
) -> QueryResult<Vec<Attachment>> {
    attachments::table
        .filter(attachments::message_id.eq_any(message_ids))
        .order((attachments::position, attachments::id))
        .select(Attachment::as_select())
        .load(conn)
        .await
}

/// Attaches `ids` to `message` in the order given; only `uploader`'s own ready uploads that
/// no message claims qualify. Returns how many were attached.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    uploader: Uuid,
    message: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE attachments a SET message_id = $1, position = x.ord \
         FROM unnest($2::uuid[]) WITH ORDINALITY AS x(id, ord) \
         WHERE a.id = x.id AND a.uploader_id = $3 AND a.completed_at IS NOT NULL \
           AND a.message_id IS NULL AND a.released_at IS NULL",
    )
    .bind::<BigInt, _>(message)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<SqlUuid, _>(uploader)
    .execute(conn)
    .await
}

/// Attachment `id` as `user` may read it: an upload of theirs no message claims yet, or an
/// attachment of a live message in a conversation they belong to.
pub async fn readable_by(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: Uuid,
) -> QueryResult<Option<Attachment>> {
    let Some(found) = find(conn, id).await? else {
        return Ok(None);
    };
    if found.released_at.is_some() {
        return Ok(None);
    }
    let Some(message) = found.message_id else {
        return Ok((found.uploader_id == user).then_some(found));
    };
    let member: bool = diesel::select(diesel::dsl::exists(
        messages::table
            .inner_join(
                conversation_members::table
                    .on(conversation_members::conversation_id.eq(messages::conversation_id)),
            )
            .filter(messages::id.eq(message))
            .filter(messages::deleted_at.is_null())
            .filter(conversation_members::user_id.eq(user)),
    ))
    .get_result(conn)
    .await?;
    Ok(member.then_some(found))
}

/// Records that no thumbnail can be made of `id`.
pub async fn thumbnail_failed(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(
        attachments::table
            .find(id)
            .filter(attachments::thumbnailed_at.is_null()),
    )
    .set(attachments::thumbnailed_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// Ready uploads completed before `before` that still wait for a thumbnail (their job was
/// lost with a node, or found the queue full), as (id, uploader).
pub async fn unthumbnailed(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    attachments::table
        .filter(attachments::thumbnailed_at.is_null())
        .filter(attachments::completed_at.lt(before))
        .filter(attachments::released_at.is_null())
        .order(attachments::completed_at)
        .limit(limit)
        .select((attachments::id, attachments::uploader_id))
        .load(conn)
        .await
}

/// Removes at most `batch` rows the cleanup owns at `now`: attachments of deleted messages,
/// pending uploads whose URL expired before `abandoned_before`, and ready uploads no message
/// claimed since before `unclaimed_before`. Rows another node's run holds are skipped. Their
/// objects go to `storage_garbage` with them. Returns how many went.
pub async fn reap(
    conn: &mut AsyncPgConnection,
    abandoned_before: DateTime<Utc>,
    unclaimed_before: DateTime<Utc>,
    batch: i64,
) -> QueryResult<usize> {
    use diesel::sql_types::{Int8, Timestamptz};
    diesel::sql_query(
        "DELETE FROM attachments WHERE id IN ( \
           SELECT id FROM attachments \
           WHERE released_at IS NOT NULL \
              OR (message_id IS NULL AND ( \
                   (completed_at IS NULL AND upload_expires_at < $1) \
                OR completed_at < $2)) \
           LIMIT $3 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(abandoned_before)
    .bind::<Timestamptz, _>(unclaimed_before)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await
}

/// Takes at most `batch` keys of objects due for removal at `now` (or by the database's
/// clock), holding them (from other nodes' runs) until `remove_garbage` or the end of the
/// transaction.
pub async fn garbage(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    batch: i64,
) -> QueryResult<Vec<String>> {
    storage_garbage::table
        .filter(
            storage_garbage::due_at
                .le(now)
                .or(storage_garbage::due_at.le(diesel::dsl::now)),
        )
        .order(storage_garbage::due_at)
        .limit(batch)
        .select(storage_garbage::key)
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

pub async fn remove_garbage(conn: &mut AsyncPgConnection, keys: &[String]) -> QueryResult<usize> {
    diesel::delete(storage_garbage::table.filter(storage_garbage::key.eq_any(keys)))
        .execute(conn)
        .await
}
