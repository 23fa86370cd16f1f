//! The Message object of PROTOCOL.md section 4, shared by the HTTP API and the sockets:
//! camelCase fields, string ids, RFC 3339 times in UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::models::attachment::Attachment;
use crate::models::message::Message;

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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub id: Uuid,
    pub content_type: String,
    pub size: i64,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub client_message_id: String,
    pub body: String,
    pub attachments: Vec<AttachmentView>,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "opt_ts")]
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

impl MessageView {
    /// The message with those of `attachments` that belong to it. A deleted message keeps its
    /// place in the sequence but shows neither body nor attachments.
    pub fn new(message: &Message, attachments: &[Attachment]) -> Self {
        let deleted = message.deleted_at.is_some();
        MessageView {
            id: message.id.to_string(),
            conversation_id: message.conversation_id,
            seq: message.seq,
            sender_id: message.sender_id,
            client_message_id: message.client_message_id.clone(),
            body: if deleted {
                String::new()
            } else {
                message.body.clone()
            },
            attachments: attachments
                .iter()
                .filter(|a| a.message_id == Some(message.id) && !deleted)
                .map(|a| AttachmentView {
                    id: a.id,
                    content_type: a.content_type.clone(),
                    size: a.size_bytes,
                    name: a.name.clone(),
                })
                .collect(),
            created_at: message.created_at,
            edited_at: message.edited_at,
            deleted,
        }
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
        };
        let json = serde_json::to_value(MessageView::new(&message, &[])).unwrap();
        assert_eq!(json["id"], "7");
        assert_eq!(json["body"], "");
        assert_eq!(json["deleted"], true);
        assert_eq!(json["editedAt"], serde_json::Value::Null);
    }
}
