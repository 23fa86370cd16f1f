//! The Message object of PROTOCOL.md section 4, shared by the HTTP API and the sockets:
//! camelCase fields, string ids, RFC 3339 times in UTC with milliseconds.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::models::attachment::{self, Attachment};
use crate::models::message::{self, Message};
use crate::models::reaction;
use crate::storage::{Downloads, Object, Signer};

/// `2026-11-21T10:00:00.123Z`.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn ts<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&timestamp(at))
}

pub(crate) fn opt_ts<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&timestamp(at)),
        None => s.serialize_none(),
    }
}

/// The Attachment object: what it is, and signed URLs of it and its thumbnail (`null` until
/// the thumbnail exists), valid until `expiresAt`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Attachment)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub url: String,
    pub thumbnail_url: Option<String>,
    #[serde(serialize_with = "ts")]
    pub expires_at: DateTime<Utc>,
}

impl AttachmentView {
    /// `attachment` shown with `downloads`; without them (signing failed), with the URL that
    /// redirects to freshly signed ones.
    pub fn new(attachment: &Attachment, downloads: Option<&Downloads>) -> Self {
        let (url, thumbnail_url, expires_at) = match downloads {
            Some(d) => (d.url.clone(), d.thumbnail_url.clone(), d.expires_at),
            None => {
                let url = format!("/api/attachments/{}", attachment.id);
                let thumbnail = attachment
                    .thumbnail_key
                    .as_ref()
                    .map(|_| format!("{url}?thumbnail=true"));
                (url, thumbnail, Utc::now() + chrono::Duration::hours(1))
            }
        };
        AttachmentView {
            id: attachment.id,
            name: attachment.name.clone(),
            content_type: attachment.content_type.clone(),
            size: attachment.size_bytes,
            width: attachment.width,
            height: attachment.height,
            url,
            thumbnail_url,
            expires_at,
        }
    }

    /// `attachment` with URLs signed now.
    pub async fn signed(attachment: &Attachment, signer: &Signer) -> Self {
        let downloads = sign(attachment, signer, signer.expiry()).await;
        AttachmentView::new(attachment, downloads.as_ref())
    }
}

async fn sign(
    attachment: &Attachment,
    signer: &Signer,
    expires_at: DateTime<Utc>,
) -> Option<Downloads> {
    let object = Object {
        key: &attachment.storage_key,
        content_type: &attachment.content_type,
        name: &attachment.name,
        thumbnail_key: attachment.thumbnail_key.as_deref(),
    };
    match signer.downloads(object, expires_at).await {
        Ok(downloads) => Some(downloads),
        Err(err) => {
            log::warn!(attachment:% = attachment.id, cause:% = err; "could not sign an attachment's URLs");
            None
        }
    }
}

/// `replyTo`: what a reply shows of the message it answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReplyTo)]
#[serde(rename_all = "camelCase")]
pub struct ReplyView {
    pub id: String,
    pub seq: i64,
    pub sender_id: Uuid,
    /// The first 200 characters of its body; empty once it is deleted.
    pub excerpt: String,
}

/// One emoji of a message's `reactions`, with its users in the order they reacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Reaction)]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    pub emoji: String,
    pub user_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Message)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub rev: i64,
    pub sender_id: Uuid,
    pub client_message_id: String,
    pub body: String,
    pub reply_to: Option<ReplyView>,
    pub attachments: Vec<AttachmentView>,
    pub reactions: Vec<ReactionView>,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "opt_ts")]
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

/// What Messages show beside their own rows: their attachments, reactions, and the messages
/// they answer. Loaded once for a page.
#[derive(Debug, Default)]
pub struct Related {
    pub attachments: Vec<Attachment>,
    /// The attachments' signed URLs (see `sign`).
    pub downloads: HashMap<Uuid, Downloads>,
    /// Each message's reactions, in the order they were made.
    pub reactions: HashMap<i64, Vec<ReactionView>>,
    pub replies: HashMap<i64, ReplyView>,
}

impl Related {
    /// Everything `messages` show, in three queries (fewer when there is nothing to look up),
    /// with their attachments' URLs signed by `signer`.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        signer: &Signer,
        messages: &[Message],
    ) -> QueryResult<Self> {
        let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
        let attachments = attachment::of_messages(conn, &ids).await?;
        let mut reactions = HashMap::new();
        for (message, emoji, user) in reaction::of_messages(conn, &ids).await? {
            add_reaction(reactions.entry(message).or_default(), emoji, user);
        }
        let mut related = Related {
            attachments,
            reactions,
            ..Related::default()
        };
        related.load_replies(conn, messages).await?;
        related.sign(signer).await;
        Ok(related)
    }

    /// Signs the URLs of the attachments, all valid until the same time.
    pub async fn sign(&mut self, signer: &Signer) {
        let expires_at = signer.expiry();
        for attachment in &self.attachments {
            if let Some(downloads) = sign(attachment, signer, expires_at).await {
                self.downloads.insert(attachment.id, downloads);
            }
        }
    }

    /// The messages that `messages` answer.
    pub async fn load_replies(
        &mut self,
        conn: &mut AsyncPgConnection,
        messages: &[Message],
    ) -> QueryResult<()> {
        let targets: Vec<i64> = messages.iter().filter_map(|m| m.reply_to_id).collect();
        for target in message::reply_targets(conn, &targets).await? {
            let view = ReplyView {
                id: target.id.to_string(),
                seq: target.seq,
                sender_id: target.sender_id,
                excerpt: if target.deleted_at.is_some() {
                    String::new()
                } else {
                    target.excerpt
                },
            };
            self.replies.insert(target.id, view);
        }
        Ok(())
    }
}

/// Adds `user`'s `emoji` to a message's list: to the emoji's entry, or a new one at the end.
fn add_reaction(list: &mut Vec<ReactionView>, emoji: String, user: Uuid) {
    match list.iter_mut().find(|r| r.emoji == emoji) {
        Some(entry) => entry.user_ids.push(user),
        None => list.push(ReactionView {
            emoji,
            user_ids: vec![user],
        }),
    }
}

impl MessageView {
    /// The message as `related` describes it. A deleted message keeps its place in the
    /// sequence (and its `replyTo`) but shows no body, attachments or reactions.
    pub fn new(message: &Message, related: &Related) -> Self {
        let deleted = message.deleted_at.is_some();
        MessageView {
            id: message.id.to_string(),
            conversation_id: message.conversation_id,
            seq: message.seq,
            rev: message.rev,
            sender_id: message.sender_id,
            client_message_id: message.client_message_id.clone(),
            body: if deleted {
                String::new()
            } else {
                message.body.clone()
            },
            reply_to: message
                .reply_to_id
                .and_then(|id| related.replies.get(&id).cloned()),
            attachments: related
                .attachments
                .iter()
                .filter(|a| a.message_id == Some(message.id) && !deleted)
                .map(|a| AttachmentView::new(a, related.downloads.get(&a.id)))
                .collect(),
            reactions: if deleted {
                Vec::new()
            } else {
                related
                    .reactions
                    .get(&message.id)
                    .cloned()
                    .unwrap_or_default()
            },
            created_at: message.created_at,
            edited_at: message.edited_at,
            deleted,
        }
    }

    /// The views of `messages`, loading what they show.
    pub async fn load_all(
        conn: &mut AsyncPgConnection,
        signer: &Signer,
        messages: &[Message],
    ) -> QueryResult<Vec<MessageView>> {
        let related = Related::load(conn, signer, messages).await?;
        Ok(messages
            .iter()
            .map(|m| MessageView::new(m, &related))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_have_milliseconds_and_zulu() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(timestamp(&at), "2026-11-21T10:00:00.123Z");
    }

    #[test]
    fn deleted_messages_hide_their_body() {
        let message = Message {
            id: 7,
            conversation_id: Uuid::nil(),
            seq: 3,
            sender_id: Uuid::nil(),
            client_message_id: "c".into(),
            body: "secret".into(),
            created_at: Utc::now(),
            edited_at: None,
            deleted_at: Some(Utc::now()),
            rev: 5,
            reply_to_id: Some(2),
        };
        let mut related = Related::default();
        related.reactions.insert(
            7,
            vec![ReactionView {
                emoji: "👍".into(),
                user_ids: vec![Uuid::nil()],
            }],
        );
        related.replies.insert(
            2,
            ReplyView {
                id: "2".into(),
                seq: 1,
                sender_id: Uuid::nil(),
                excerpt: "hi".into(),
            },
        );
        let json = serde_json::to_value(MessageView::new(&message, &related)).unwrap();
        assert_eq!(json["id"], "7");
        assert_eq!(json["rev"], 5);
        assert_eq!(json["body"], "");
        assert_eq!(json["reactions"], serde_json::json!([]));
        assert_eq!(json["replyTo"]["excerpt"], "hi");
        assert_eq!(json["deleted"], true);
        assert_eq!(json["editedAt"], serde_json::Value::Null);
    }

    #[test]
    fn reactions_keep_the_order_of_first_use_and_of_reacting() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut list = Vec::new();
        add_reaction(&mut list, "👍".into(), a);
        add_reaction(&mut list, "🎉".into(), b);
        add_reaction(&mut list, "👍".into(), b);
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                { "emoji": "👍", "userIds": [a, b] },
                { "emoji": "🎉", "userIds": [b] },
            ])
        );
    }
}
