//! Edits, deletes, reactions and late thumbnails: each is one call of its SQL function
//! (migration `2026-12-01-000001_revisions`), which locks the conversation row, checks the
//! rules with a fresh snapshot and takes the conversation's next rev only when it changes
//! something.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::models::attachment::Attachment;
use crate::models::message::Message;

/// What a change function decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored, with the next rev.
    Changed,
    /// Nothing to do (a repeated delete, a reaction the user already has or has not).
    Unchanged,
    /// No such message in the conversation, or the actor is not a member.
    NotFound,
    /// The actor may not make this change.
    Forbidden,
    /// The message is a tombstone.
    Deleted,
    /// The message has as many distinct emoji as it may.
    TooMany,
    /// A thumbnail was recorded for an upload no message claims yet.
    Unclaimed,
    /// The upload a thumbnail was made for is gone.
    Gone,
}

/// The result of a change: the outcome and, when the message exists, the message after it
/// with its reactions (`[{ emoji, userIds }]`, as JSON) and its attachments.
#[derive(Debug, Deserialize)]
pub struct Change {
    pub outcome: Outcome,
    pub rev: Option<i64>,
    pub message: Option<Message>,
    pub reactions: Option<Box<RawValue>>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    result: String,
}

fn parse(row: Row) -> QueryResult<Change> {
    serde_json::from_str(&row.result)
        .map_err(|err| diesel::result::Error::DeserializationError(Box::new(err)))
}

/// `actor` edits `message` of `conversation` to `body` (already validated).
pub async fn edit(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    actor: Uuid,
    message: i64,
    body: &str,
) -> QueryResult<Change> {
    diesel::sql_query("SELECT confab_edit($1, $2, $3, $4)::text AS result")
        .bind::<SqlUuid, _>(conversation)
        .bind::<SqlUuid, _>(actor)
        .bind::<BigInt, _>(message)
        .bind::<Text, _>(body)
        .get_result(conn)
        .await
        .and_then(parse)
}

/// `actor` deletes `message` of `conversation`.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    actor: Uuid,
    message: i64,
) -> QueryResult<Change> {
    diesel::sql_query("SELECT confab_delete($1, $2, $3)::text AS result")
        .bind::<SqlUuid, _>(conversation)
        .bind::<SqlUuid, _>(actor)
        .bind::<BigInt, _>(message)
        .get_result(conn)
        .await
        .and_then(parse)
}

/// `actor` adds (`add`) or removes their `emoji` reaction to `message` of `conversation`.
pub async fn react(
    conn: &mut AsyncPgConnection,
    conversation: Uuid,
    actor: Uuid,
    message: i64,
    emoji: &str,
    add: bool,
) -> QueryResult<Change> {
    diesel::sql_query("SELECT confab_react($1, $2, $3, $4, $5, $6)::text AS result")
        .bind::<SqlUuid, _>(conversation)
        .bind::<SqlUuid, _>(actor)
        .bind::<BigInt, _>(message)
        .bind::<Text, _>(emoji)
        .bind::<Bool, _>(add)
        .bind::<Integer, _>(crate::models::reaction::MAX_DISTINCT)
        .get_result(conn)
        .await
        .and_then(parse)
}

/// Records the thumbnail stored as `thumb` for upload `id` (see `confab_thumbnailed`): a change
/// of the message that holds the upload, if one does.
pub async fn thumbnailed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    thumb: &str,
) -> QueryResult<Change> {
    diesel::sql_query("SELECT confab_thumbnailed($1, $2)::text AS result")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(thumb)
        .get_result(conn)
        .await
        .and_then(parse)
}
