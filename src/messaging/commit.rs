//! The write-through commit of a validated send. A message is committed before anyone is told
//! it exists; most sends take one statement shared with the sends around them, the rest a
//! transaction that also finds out why a send is refused.

use std::time::Duration;

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::SendError;
use crate::db::DbPool;
use crate::error::is_unique_violation;
use crate::messaging::group_commit::MessageWriter;
use crate::models::attachment::{self, Attachment};
use crate::models::message::{self, Message, CLIENT_ID_TAKEN};
use crate::models::{block, conversation, member};

/// How many times a send is tried when storage fails in a way a retry can fix.
const ATTEMPTS: u32 = 3;

/// A validated request to send a message.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub client_message_id: String,
    pub body: String,
    pub attachment_ids: Vec<Uuid>,
    /// The message this one answers, in the same conversation.
    pub reply_to_id: Option<i64>,
}

impl SendRequest {
    /// The message to store, stamped now.
    fn unsequenced(&self) -> message::Unsequenced<'_> {
        message::Unsequenced {
            conversation_id: self.conversation_id,
            sender_id: self.sender_id,
            client_message_id: &self.client_message_id,
            body: &self.body,
            created_at: Utc::now(),
            reply_to_id: self.reply_to_id,
        }
    }
}

/// A committed message. `created` is false when a retry found the message stored earlier.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Message,
    pub attachments: Vec<Attachment>,
    pub created: bool,
}

/// Why the send transaction did not commit.
enum Failure {
    Db(DieselError),
    Refused(SendError),
}

impl From<DieselError> for Failure {
    fn from(err: DieselError) -> Self {
        Failure::Db(err)
    }
}

/// Commits `request` (or finds the message an earlier try committed), retrying transient
/// storage failures a bounded number of times; then `unavailable` with nothing stored.
///
/// Most sends take one statement, shared with the sends around them (`writer`); attachments,
/// retries and refusals take the full transaction.
pub async fn commit(
    pool: &DbPool,
    writer: &MessageWriter,
    request: &SendRequest,
) -> Result<Sent, SendError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = match try_fast_send(writer, request).await {
            Ok(Some(sent)) => Ok(sent),
            Err(err) => Err(Failure::Db(err)),
            Ok(None) => match pool.get().await {
                Ok(mut conn) => try_send(&mut conn, request).await,
                Err(err) => {
                    log::debug!(cause:% = err, attempt = attempt; "no database connection for a send");
                    Err(Failure::Db(DieselError::BrokenTransactionManager))
                }
            },
        };
        match outcome {
            Ok(sent) => return Ok(sent),
            Err(Failure::Refused(err)) => return Err(err),
            Err(Failure::Db(err)) if is_unique_violation(&err, CLIENT_ID_TAKEN) => {
                // A concurrent try with the same client id committed first: return its result.
                let mut conn = pool.get().await?;
                return match find_earlier(&mut conn, request).await {
                    Ok(Some(sent)) => Ok(sent),
                    Ok(None) => Err(SendError::internal("client id taken but no message found")),
                    Err(Failure::Refused(err)) => Err(err),
                    Err(Failure::Db(err)) => Err(err.into()),
                };
            }
            Err(Failure::Db(err)) if is_transient(&err) && attempt < ATTEMPTS => {
                log::debug!(cause:% = err, attempt = attempt; "send failed, retrying");
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
            Err(Failure::Db(err)) if is_transient(&err) => {
                if crate::logging::bursts::storage_unavailable().admit() {
                    log::warn!(cause:% = err; "send failed after retries");
                }
                return Err(SendError::Unavailable);
            }
            Err(Failure::Db(err)) => return Err(SendError::internal(err)),
        }
    }
}

fn is_transient(err: &DieselError) -> bool {
    crate::db::is_outage(err)
        || matches!(
            err,
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)
        )
}

async fn find_earlier(
    conn: &mut AsyncPgConnection,
    request: &SendRequest,
) -> Result<Option<Sent>, Failure> {
    let Some(message) =
        message::find_by_client_id(conn, request.sender_id, &request.client_message_id).await?
    else {
        return Ok(None);
    };
    if message.conversation_id != request.conversation_id {
        return Err(Failure::Refused(SendError::ClientIdTaken));
    }
    let attachments = attachment::of_messages(conn, &[message.id]).await?;
    Ok(Some(Sent {
        message,
        attachments,
        created: false,
    }))
}

/// The common send: no attachments, allowed, first try. `None` when the full path must decide.
async fn try_fast_send(
    writer: &MessageWriter,
    request: &SendRequest,
) -> Result<Option<Sent>, DieselError> {
    if !request.attachment_ids.is_empty() {
        return Ok(None);
    }
    Ok(writer
        .insert_if_allowed(request.unsequenced())
        .await?
        .map(|message| Sent {
            message,
            attachments: Vec::new(),
            created: true,
        }))
}

/// The full send, in one transaction: the statement that decides for the common send decides
/// here too (and stores), and the attachments are claimed with it. When it stores nothing,
/// the refusal is explained.
async fn try_send(conn: &mut AsyncPgConnection, request: &SendRequest) -> Result<Sent, Failure> {
    conn.transaction::<_, Failure, _>(async move |conn| {
        let Some(message) = message::insert_if_allowed(conn, request.unsequenced()).await? else {
            return explain_refusal(conn, request).await;
        };
        let mut attachments = Vec::new();
        if !request.attachment_ids.is_empty() {
            let claimed =
                attachment::claim(conn, &request.attachment_ids, request.sender_id, message.id)
                    .await?;
            if claimed != request.attachment_ids.len() {
                return Err(Failure::Refused(SendError::Invalid(
                    "attachmentIds must name your own completed uploads that no message has yet"
                        .into(),
                )));
            }
            attachments = attachment::of_messages(conn, &[message.id]).await?;
        }
        Ok(Sent {
            message,
            attachments,
            created: true,
        })
    })
    .await
}

/// Why `message::insert_if_allowed` stored nothing: a retry (the message stored the first
/// time is the answer), or which of its conditions refused the send.
async fn explain_refusal(
    conn: &mut AsyncPgConnection,
    request: &SendRequest,
) -> Result<Sent, Failure> {
    if let Some(sent) = find_earlier(conn, request).await? {
        return Ok(sent);
    }
    let Some((conversation, _)) =
        conversation::find_for_member(conn, request.conversation_id, request.sender_id).await?
    else {
        return Err(Failure::Refused(SendError::conversation_not_found()));
    };
    if let Some(reply_to) = request.reply_to_id {
        let answered = message::find_visible(conn, reply_to, request.sender_id).await?;
        if answered.is_none_or(|m| m.conversation_id != conversation.id) {
            return Err(Failure::Refused(SendError::NotFound("message not found")));
        }
    }
    if conversation.is_dm() {
        let members = member::user_ids(conn, conversation.id).await?;
        if let Some(other) = members.into_iter().find(|id| *id != request.sender_id) {
            if block::between(conn, request.sender_id, other).await? {
                return Err(Failure::Refused(SendError::Blocked));
            }
        }
    }
    // Allowed now, refused a moment ago (a membership or block changed in between): the
    // caller tries again.
    Err(Failure::Db(DieselError::DatabaseError(
        DatabaseErrorKind::SerializationFailure,
        Box::new("the send's conditions changed while it was checked".to_string()),
    )))
}
