//! Sending a message: validation and the write-through transaction, shared by the HTTP API
//! and the socket layer. A message is committed before anyone is told it exists.

use std::time::Duration;

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::config::Limits;
use crate::db::DbPool;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::models::attachment::{self, Attachment};
use crate::models::message::{self, Message, NewMessage, CLIENT_ID_TAKEN};
use crate::models::{block, conversation, member};
use crate::writer::MessageWriter;

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
}

/// A committed message. `created` is false when a retry found the message stored earlier.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Message,
    pub attachments: Vec<Attachment>,
    pub created: bool,
}

/// Checks a message body: 1 to `limits.message_max_chars` characters once trimmed.
/// Returns the trimmed body, which is what is stored.
pub fn validate_body(body: &str, limits: &Limits) -> ApiResult<String> {
    let trimmed = body.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err(ApiError::invalid("body must not be empty"));
    }
    if chars > limits.message_max_chars {
        return Err(ApiError::too_large(format!(
            "body must be at most {} characters",
            limits.message_max_chars
        )));
    }
    Ok(trimmed.to_string())
}

/// Checks a client message id: 1 to `limits.client_message_id_max_chars` characters.
pub fn validate_client_message_id(id: &str, limits: &Limits) -> ApiResult<String> {
    let chars = id.chars().count();
    if chars == 0 || chars > limits.client_message_id_max_chars || id.trim() != id {
        return Err(ApiError::invalid(format!(
            "clientMessageId must be 1-{} characters without surrounding spaces",
            limits.client_message_id_max_chars
        )));
    }
    Ok(id.to_string())
}

/// Checks attachment ids: at most `limits.max_attachments`, each a UUID, no repeats.
pub fn validate_attachment_ids(ids: &[String], limits: &Limits) -> ApiResult<Vec<Uuid>> {
    if ids.len() > limits.max_attachments {
        return Err(ApiError::too_large(format!(
            "at most {} attachments per message",
            limits.max_attachments
        )));
    }
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let id = Uuid::parse_str(id)
            .map_err(|_| ApiError::invalid("attachmentIds must be attachment ids"))?;
        if parsed.contains(&id) {
            return Err(ApiError::invalid("attachmentIds must not repeat"));
        }
        parsed.push(id);
    }
    Ok(parsed)
}

/// Why the send transaction did not commit.
enum Failure {
    Db(DieselError),
    Refused(ApiError),
}

impl From<DieselError> for Failure {
    fn from(err: DieselError) -> Self {
        Failure::Db(err)
    }
}

/// `send`, recording its latency and whether it committed a new message.
pub async fn send_measured(
    pool: &DbPool,
    writer: &MessageWriter,
    request: &SendRequest,
    metrics: &crate::metrics::SendMetrics,
) -> ApiResult<Sent> {
    let started = std::time::Instant::now();
    let sent = send(pool, writer, request).await?;
    metrics.observe(started.elapsed(), sent.created);
    Ok(sent)
}

/// Commits `request` (or finds the message an earlier try committed), retrying transient
/// storage failures a bounded number of times; then `unavailable` with nothing stored.
///
/// Most sends take one statement, shared with the sends around them (`writer`); attachments,
/// retries and refusals take the full transaction.
pub async fn send(pool: &DbPool, writer: &MessageWriter, request: &SendRequest) -> ApiResult<Sent> {
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
                    Ok(None) => Err(ApiError::internal("client id taken but no message found")),
                    Err(Failure::Refused(err)) => Err(err),
                    Err(Failure::Db(err)) => Err(err.into()),
                };
            }
            Err(Failure::Db(err)) if is_transient(&err) && attempt < ATTEMPTS => {
                log::debug!(cause:% = err, attempt = attempt; "send failed, retrying");
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
            Err(Failure::Db(err)) if is_transient(&err) => {
                log::warn!(cause:% = err; "send failed after retries");
                return Err(ApiError::unavailable());
            }
            Err(Failure::Db(err)) => return Err(ApiError::internal(err)),
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
        return Err(Failure::Refused(ApiError::conflict(
            "clientMessageId was already used for a message in another conversation",
        )));
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
    let new = message::Unsequenced {
        conversation_id: request.conversation_id,
        sender_id: request.sender_id,
        client_message_id: &request.client_message_id,
        body: &request.body,
        created_at: Utc::now(),
    };
    Ok(writer.insert_if_allowed(new).await?.map(|message| Sent {
        message,
        attachments: Vec::new(),
        created: true,
    }))
}

async fn try_send(conn: &mut AsyncPgConnection, request: &SendRequest) -> Result<Sent, Failure> {
    conn.transaction::<_, Failure, _>(async move |conn| {
        if let Some(sent) = find_earlier(conn, request).await? {
            return Ok(sent);
        }
        let Some((conversation, _)) =
            conversation::find_for_member(conn, request.conversation_id, request.sender_id).await?
        else {
            return Err(Failure::Refused(ApiError::conversation_not_found()));
        };
        if conversation.is_dm() {
            let members = member::user_ids(conn, conversation.id).await?;
            if let Some(other) = members.into_iter().find(|id| *id != request.sender_id) {
                if block::between(conn, request.sender_id, other).await? {
                    return Err(Failure::Refused(ApiError::forbidden(
                        "a block between you and this user forbids messages",
                    )));
                }
            }
        }
        let now = Utc::now();
        let seq = conversation::next_seq(conn, conversation.id, now).await?;
        let message = message::insert(
            conn,
            &NewMessage {
                conversation_id: conversation.id,
                seq,
                sender_id: request.sender_id,
                client_message_id: &request.client_message_id,
                body: &request.body,
                created_at: now,
            },
        )
        .await?;
        let mut attachments = Vec::new();
        if !request.attachment_ids.is_empty() {
            let claimed =
                attachment::claim(conn, &request.attachment_ids, request.sender_id, message.id)
                    .await?;
            if claimed != request.attachment_ids.len() {
                return Err(Failure::Refused(ApiError::not_found(
                    "attachment not found",
                )));
            }
            attachments = attachment::of_messages(conn, &[message.id]).await?;
        }
        // The sender has read what they wrote.
        member::mark_read(conn, conversation.id, request.sender_id, seq).await?;
        Ok(Sent {
            message,
            attachments,
            created: true,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            message_max_chars: 10,
            client_message_id_max_chars: 4,
            max_attachments: 2,
            group_max_members: 300,
            page_max: 100,
            send_rate_per_sec: 10.0,
            send_burst: 20.0,
        }
    }

    #[test]
    fn bodies_are_trimmed_and_bounded_in_characters() {
        assert_eq!(validate_body("  hi  ", &limits()).unwrap(), "hi");
        assert_eq!(
            validate_body("   ", &limits()).unwrap_err().code,
            crate::error::ErrorCode::Invalid
        );
        assert_eq!(
            validate_body("ééééééééééé", &limits()).unwrap_err().code,
            crate::error::ErrorCode::TooLarge
        );
        assert!(validate_body(" éééééééééé ", &limits()).is_ok());
    }

    #[test]
    fn client_ids_and_attachments_are_bounded() {
        assert!(validate_client_message_id("abcd", &limits()).is_ok());
        assert!(validate_client_message_id("", &limits()).is_err());
        assert!(validate_client_message_id("abcde", &limits()).is_err());
        let id = Uuid::new_v4().to_string();
        assert_eq!(
            validate_attachment_ids(std::slice::from_ref(&id), &limits())
                .unwrap()
                .len(),
            1
        );
        assert!(validate_attachment_ids(&[id.clone(), id.clone()], &limits()).is_err());
        let three = vec![Uuid::new_v4().to_string(); 3];
        assert_eq!(
            validate_attachment_ids(&three, &limits()).unwrap_err().code,
            crate::error::ErrorCode::TooLarge
        );
        assert!(validate_attachment_ids(&["x".into()], &limits()).is_err());
    }
}
