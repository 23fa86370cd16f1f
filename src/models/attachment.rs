use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::attachments;

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
}

pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[i64],
) -> QueryResult<Vec<Attachment>> {
    attachments::table
        .filter(attachments::message_id.eq_any(message_ids))
        .order((attachments::created_at, attachments::id))
        .select(Attachment::as_select())
        .load(conn)
        .await
}

/// Attaches `ids` to `message`; only `uploader`'s own, not yet attached uploads qualify.
/// Returns how many were attached.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    uploader: Uuid,
    message: i64,
) -> QueryResult<usize> {
    diesel::update(
        attachments::table
            .filter(attachments::id.eq_any(ids))
            .filter(attachments::uploader_id.eq(uploader))
            .filter(attachments::message_id.is_null()),
    )
    .set(attachments::message_id.eq(message))
    .execute(conn)
    .await
}
