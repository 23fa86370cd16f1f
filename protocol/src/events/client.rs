//! Client → server events, decoded once at the edge.

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `message:send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSend {
    /// The conversation to send to.
    pub conversation_id: String,
    /// The sender's own id for the message (a retry repeats it).
    pub client_message_id: String,
    /// The text, trimmed before it is stored.
    pub body: String,
    /// Uploads to attach, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_ids: Vec<String>,
    /// The message this one answers (same conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
}

/// `message:edit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEdit {
    /// The message's conversation.
    pub conversation_id: String,
    /// The message (its decimal id).
    pub message_id: String,
    /// The new text, under the rules of `message:send`.
    pub body: String,
}

/// `message:delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDelete {
    /// The message's conversation.
    pub conversation_id: String,
    /// The message (its decimal id).
    pub message_id: String,
}

/// `reaction:add` and `reaction:remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactionChange {
    /// The message's conversation.
    pub conversation_id: String,
    /// The message (its decimal id).
    pub message_id: String,
    /// One emoji.
    pub emoji: String,
}

/// `sync:changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncChanges {
    /// The conversation to catch up on.
    pub conversation_id: String,
    /// Messages changed after this rev are returned.
    pub after_rev: i64,
    /// At most this many (1–500, default 500).
    pub limit: Option<i64>,
}

/// `sync:request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    /// The conversation to catch up on.
    pub conversation_id: String,
    /// Messages after this seq are returned.
    pub after_seq: i64,
    /// At most this many (1–100, default 100).
    pub limit: Option<i64>,
}

/// The payload of the events that name only a conversation (`typing:start`, `typing:stop`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRef {
    /// The conversation meant.
    pub conversation_id: String,
}

/// `receipt:delivered` and `receipt:read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The conversation of the watermark.
    pub conversation_id: String,
    /// Everything up to this seq.
    pub seq: i64,
}

/// `presence:query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceQuery {
    /// The users asked about (at most 200).
    pub user_ids: Vec<String>,
}

/// `auth:refresh`: a new access token for the live socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRefresh {
    /// The new access token, of the same user.
    pub token: String,
}

/// Every event a client may send, by its wire name. The serde form is the Socket.IO event
/// array, `["message:send", {…}]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "event", content = "data")]
pub enum ClientEvent {
    /// `message:send`.
    #[serde(rename = "message:send")]
    MessageSend(MessageSend),
    /// `sync:request`.
    #[serde(rename = "sync:request")]
    SyncRequest(SyncRequest),
    /// `typing:start`.
    #[serde(rename = "typing:start")]
    TypingStart(ConversationRef),
    /// `typing:stop`.
    #[serde(rename = "typing:stop")]
    TypingStop(ConversationRef),
    /// `receipt:delivered`.
    #[serde(rename = "receipt:delivered")]
    ReceiptDelivered(Receipt),
    /// `receipt:read`.
    #[serde(rename = "receipt:read")]
    ReceiptRead(Receipt),
    /// `presence:query`.
    #[serde(rename = "presence:query")]
    PresenceQuery(PresenceQuery),
    /// `auth:refresh`.
    #[serde(rename = "auth:refresh")]
    AuthRefresh(AuthRefresh),
    /// `message:edit`.
    #[serde(rename = "message:edit")]
    MessageEdit(MessageEdit),
    /// `message:delete`.
    #[serde(rename = "message:delete")]
    MessageDelete(MessageDelete),
    /// `reaction:add`.
    #[serde(rename = "reaction:add")]
    ReactionAdd(ReactionChange),
    /// `reaction:remove`.
    #[serde(rename = "reaction:remove")]
    ReactionRemove(ReactionChange),
    /// `sync:changes`.
    #[serde(rename = "sync:changes")]
    SyncChanges(SyncChanges),
}

/// Why an event could not be decoded; each is the contract's `invalid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// No client event has this name.
    #[error("unknown event {0:?}")]
    Unknown(String),
    /// The first argument is missing or not an object.
    #[error("the payload must be an object")]
    NotAnObject,
    /// A field is missing or has the wrong type.
    #[error("invalid payload: {0}")]
    Invalid(String),
    /// A string field holds a NUL or an unpaired surrogate.
    #[error("{0} {not_allowed}", not_allowed = crate::text::NOT_ALLOWED)]
    BadText(String),
}

impl ClientEvent {
    /// The event names a client may send.
    pub const NAMES: &[&str] = &[
        "message:send",
        "sync:request",
        "typing:start",
        "typing:stop",
        "receipt:delivered",
        "receipt:read",
        "presence:query",
        "auth:refresh",
        "message:edit",
        "message:delete",
        "reaction:add",
        "reaction:remove",
        "sync:changes",
    ];

    /// Decodes the event `name` whose first argument is `arg` (further arguments are ignored,
    /// as the official server's handlers ignore them). The payload is read in place.
    pub fn decode(name: &str, arg: Option<&Value>) -> Result<ClientEvent, EventError> {
        if !Self::NAMES.contains(&name) {
            return Err(EventError::Unknown(name.to_string()));
        }
        let Some(arg @ Value::Object(_)) = arg else {
            return Err(EventError::NotAnObject);
        };
        if let Some(field) = crate::text::find_nul(arg) {
            return Err(EventError::BadText(field));
        }
        ClientEvent::deserialize(EventArray { name, arg })
            .map_err(|err| EventError::Invalid(err.to_string()))
    }

    /// The event's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            ClientEvent::MessageSend(_) => "message:send",
            ClientEvent::SyncRequest(_) => "sync:request",
            ClientEvent::TypingStart(_) => "typing:start",
            ClientEvent::TypingStop(_) => "typing:stop",
            ClientEvent::ReceiptDelivered(_) => "receipt:delivered",
            ClientEvent::ReceiptRead(_) => "receipt:read",
            ClientEvent::PresenceQuery(_) => "presence:query",
            ClientEvent::AuthRefresh(_) => "auth:refresh",
            ClientEvent::MessageEdit(_) => "message:edit",
            ClientEvent::MessageDelete(_) => "message:delete",
            ClientEvent::ReactionAdd(_) => "reaction:add",
            ClientEvent::ReactionRemove(_) => "reaction:remove",
            ClientEvent::SyncChanges(_) => "sync:changes",
        }
    }
}

/// `[name, arg]` as a serde sequence, borrowed: the name and the payload are not copied into
/// a new array first.
struct EventArray<'a> {
    name: &'a str,
    arg: &'a Value,
}

impl<'de> Deserializer<'de> for EventArray<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_seq(EventItems {
            name: Some(self.name),
            arg: Some(self.arg),
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct EventItems<'a> {
    name: Option<&'a str>,
    arg: Option<&'a Value>,
}

impl<'de> SeqAccess<'de> for EventItems<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        if let Some(name) = self.name.take() {
            return seed
                .deserialize(de::value::BorrowedStrDeserializer::new(name))
                .map(Some);
        }
        match self.arg.take() {
            Some(arg) => seed.deserialize(arg).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(usize::from(self.name.is_some()) + usize::from(self.arg.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_each_event_by_name() {
        let send = json!({ "conversationId": "c", "clientMessageId": "m", "body": "hi" });
        assert_eq!(
            ClientEvent::decode("message:send", Some(&send)).unwrap(),
            ClientEvent::MessageSend(MessageSend {
                conversation_id: "c".into(),
                client_message_id: "m".into(),
                body: "hi".into(),
                attachment_ids: vec![],
                reply_to_id: None,
            })
        );
        let receipt = json!({ "conversationId": "c", "seq": 4 });
        let read = ClientEvent::decode("receipt:read", Some(&receipt)).unwrap();
        assert_eq!(read.name(), "receipt:read");
        assert!(matches!(
            read,
            ClientEvent::ReceiptRead(Receipt { seq: 4, .. })
        ));
        let typing = json!({ "conversationId": "c" });
        assert!(matches!(
            ClientEvent::decode("typing:stop", Some(&typing)).unwrap(),
            ClientEvent::TypingStop(_)
        ));
    }

    #[test]
    fn the_serde_form_is_the_event_array() {
        let event: ClientEvent =
            serde_json::from_value(json!(["presence:query", { "userIds": ["u"] }])).unwrap();
        assert_eq!(
            event,
            ClientEvent::PresenceQuery(PresenceQuery {
                user_ids: vec!["u".into()]
            })
        );
    }

    #[test]
    fn refuses_unknown_events_non_objects_and_wrong_types() {
        assert_eq!(
            ClientEvent::decode("message:sned", Some(&json!({}))),
            Err(EventError::Unknown("message:sned".into()))
        );
        for arg in [
            None,
            Some(json!([1, 2])),
            Some(json!("x")),
            Some(json!(null)),
        ] {
            assert_eq!(
                ClientEvent::decode("typing:start", arg.as_ref()),
                Err(EventError::NotAnObject)
            );
        }
        let wrong = json!({ "conversationId": "c", "seq": "4" });
        assert!(matches!(
            ClientEvent::decode("receipt:delivered", Some(&wrong)),
            Err(EventError::Invalid(_))
        ));
        let missing = json!({ "conversationId": "c" });
        assert!(matches!(
            ClientEvent::decode("sync:request", Some(&missing)),
            Err(EventError::Invalid(_))
        ));
    }

    #[test]
    fn every_listed_name_decodes_to_its_variant() {
        let any = json!({ "conversationId": "c", "clientMessageId": "m", "body": "b",
            "afterSeq": 0, "seq": 0, "userIds": [], "token": "t", "messageId": "1",
            "emoji": "👍", "afterRev": 0 });
        for name in ClientEvent::NAMES {
            assert_eq!(ClientEvent::decode(name, Some(&any)).unwrap().name(), *name);
        }
    }
}
