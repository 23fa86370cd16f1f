//! Server → client events and ack bodies, each serialised with serde to the contract's JSON.
//! A Message travels as JSON text encoded once ([`RawValue`]), shared by the ack,
//! `message:sent` and every `message:new`.

use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::socketio;
use crate::ErrorCode;

/// An event the server emits, with its wire name.
pub trait ServerEvent: Serialize {
    /// The event's name on the wire.
    const NAME: &'static str;
}

/// The Socket.IO EVENT packet of `event` on namespace `nsp`: `2["name",{…}]` (an Engine.IO
/// message frame adds its `4`).
pub fn encode<E: ServerEvent>(nsp: &str, event: &E) -> Result<String, serde_json::Error> {
    socketio::encode_event_with(nsp, E::NAME, event)
}

/// The name of `message:new`, whose payload is the Message itself.
pub const MESSAGE_NEW: &str = "message:new";

/// The name of `message:updated` (an edit or a delete), whose payload is the Message itself.
pub const MESSAGE_UPDATED: &str = "message:updated";

macro_rules! server_event {
    ($name:literal, $ty:ident $(<$lt:lifetime>)?) => {
        impl $(<$lt>)? ServerEvent for $ty $(<$lt>)? {
            const NAME: &'static str = $name;
        }
    };
}

/// One conversation of `session:ready`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyEntry {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its latest message's seq.
    pub last_seq: i64,
    /// Its latest change's rev.
    pub last_rev: i64,
    /// The user's read watermark in it.
    pub last_read_seq: i64,
}

/// `session:ready`: the socket is connected and subscribed to `conversations`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReady<'a> {
    /// The signed-in user.
    pub user_id: Uuid,
    /// The socket's id.
    pub session_id: &'a str,
    /// Every conversation the socket is subscribed to.
    pub conversations: Vec<ReadyEntry>,
}
server_event!("session:ready", SessionReady<'a>);

/// `message:sent`, to the sending socket after the commit.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSent<'a> {
    /// The id the client gave the send.
    pub client_message_id: &'a str,
    /// The Message as stored.
    pub message: &'a RawValue,
}
server_event!("message:sent", MessageSent<'a>);

/// `typing:start`, relayed to the conversation's other sockets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingStart {
    /// Where the user is typing.
    pub conversation_id: Uuid,
    /// Who is typing.
    pub user_id: Uuid,
}
server_event!("typing:start", TypingStart);

/// `typing:stop`, relayed, or sent by the server when a `typing:start` was not renewed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingStop {
    /// Where the user stopped typing.
    pub conversation_id: Uuid,
    /// Who stopped.
    pub user_id: Uuid,
}
server_event!("typing:stop", TypingStop);

/// `receipt:updated`: a member's watermarks moved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptUpdated {
    /// The conversation.
    pub conversation_id: Uuid,
    /// The member whose watermarks moved.
    pub user_id: Uuid,
    /// Their delivered watermark.
    pub last_delivered_seq: i64,
    /// Their read watermark.
    pub last_read_seq: i64,
}
server_event!("receipt:updated", ReceiptUpdated);

/// `presence:update`: a user came online, or went offline (`last_seen_at` set).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdate {
    /// The user.
    pub user_id: Uuid,
    /// Whether any of their sockets is connected, on any node.
    pub online: bool,
    /// When they were last seen (offline only).
    pub last_seen_at: Option<String>,
}
server_event!("presence:update", PresenceUpdate);

/// `conversation:added`: the user joined `conversation` (the Conversation object).
#[derive(Debug, Clone, Serialize)]
pub struct ConversationAdded<'a> {
    /// The Conversation object.
    pub conversation: &'a RawValue,
}
server_event!("conversation:added", ConversationAdded<'a>);

/// `conversation:removed`: the user is no longer a member.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRemoved {
    /// The conversation left.
    pub conversation_id: Uuid,
}
server_event!("conversation:removed", ConversationRemoved);

/// `conversation:updated`: the latest seq, after live traffic may have been missed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationUpdated {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its latest message's seq.
    pub last_seq: i64,
    /// Its latest change's rev.
    pub last_rev: i64,
}
server_event!("conversation:updated", ConversationUpdated);

/// `reaction:updated`: a member added or removed a reaction.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactionUpdated<'a> {
    /// The message's conversation.
    pub conversation_id: Uuid,
    /// The message (its decimal id).
    pub message_id: &'a str,
    /// The rev of this change.
    pub rev: i64,
    /// Who reacted.
    pub user_id: Uuid,
    /// The emoji.
    pub emoji: &'a str,
    /// Added (or removed).
    pub added: bool,
    /// The message's whole new list, `[{ emoji, userIds }]`.
    pub reactions: &'a RawValue,
}
server_event!("reaction:updated", ReactionUpdated<'a>);

/// `request:error`: a request without an ack callback failed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestError<'a> {
    /// The client event that failed.
    pub event: &'a str,
    /// Why, as the contract's code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: &'a str,
    /// With `rate_limited`: how long to wait before trying again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}
server_event!("request:error", RequestError<'a>);

/// A successful ack: `{ "ok": true, …body }`.
#[derive(Debug, Clone, Serialize)]
pub struct Ack<T> {
    ok: bool,
    #[serde(flatten)]
    body: T,
}

impl<T: Serialize> Ack<T> {
    /// `{ "ok": true }` with the fields of `body`.
    pub fn ok(body: T) -> Ack<T> {
        Ack { ok: true, body }
    }
}

/// A failed ack: `{ "ok": false, "error": { code, message, retryAfterMs? } }`.
#[derive(Debug, Clone, Serialize)]
pub struct AckError<'a> {
    ok: bool,
    error: ErrorBody<'a>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

impl<'a> AckError<'a> {
    /// The ack of a refused request (`retry_after_ms` with `rate_limited`).
    pub fn new(code: ErrorCode, message: &'a str, retry_after_ms: Option<u64>) -> AckError<'a> {
        AckError {
            ok: false,
            error: ErrorBody {
                code,
                message,
                retry_after_ms,
            },
        }
    }
}

/// The ack body of `message:send`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageAck<'a> {
    /// The Message as stored.
    pub message: &'a RawValue,
}

/// The ack body of `sync:request`: `messages` is a JSON array of Messages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryAck<'a> {
    /// The Messages, in ascending seq order.
    pub messages: &'a RawValue,
    /// Whether more follow the page.
    pub has_more: bool,
}

/// The ack body of `sync:changes`: `messages` is a JSON array of Messages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesAck<'a> {
    /// The Messages changed after the rev asked for, in ascending rev order.
    pub messages: &'a RawValue,
    /// The conversation's latest rev.
    pub last_rev: i64,
    /// Whether more follow the page.
    pub has_more: bool,
}

/// The ack body of `receipt:delivered` and `receipt:read`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptAck {
    /// The delivered watermark now.
    pub last_delivered_seq: i64,
    /// The read watermark now.
    pub last_read_seq: i64,
}

/// One user's state in the ack of `presence:query`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// The user.
    pub user_id: Uuid,
    /// Whether they are online on any node.
    pub online: bool,
    /// When they were last seen (offline only).
    pub last_seen_at: Option<String>,
}

/// The ack body of `presence:query`.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceAck {
    /// One entry per user asked about, in order.
    pub presence: Vec<PresenceEntry>,
}

/// `session:expiring`: the socket's access token expires at `expires_at` (60 s from now);
/// without an `auth:refresh` by then the socket is disconnected.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionExpiring {
    /// When the token expires (RFC 3339).
    pub expires_at: String,
}
server_event!("session:expiring", SessionExpiring);

/// The ack body of `auth:refresh`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshAck {
    /// When the new token expires (RFC 3339).
    pub expires_at: String,
}

/// The name of `contact:request`, whose payload is the ContactRequest itself.
pub const CONTACT_REQUEST: &str = "contact:request";

/// `contact:updated`: the user and `user_id` became contacts (`contact`), or stopped being.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactUpdated {
    /// The other user.
    pub user_id: Uuid,
    /// Whether the two are contacts now.
    pub contact: bool,
}
server_event!("contact:updated", ContactUpdated);

/// The name of every event the server emits (PROTOCOL.md section 6).
pub const SERVER_EVENTS: &[&str] = &[
    <SessionReady<'static> as ServerEvent>::NAME,
    SessionExpiring::NAME,
    <MessageSent<'static> as ServerEvent>::NAME,
    MESSAGE_NEW,
    MESSAGE_UPDATED,
    <ReactionUpdated<'static> as ServerEvent>::NAME,
    TypingStart::NAME,
    TypingStop::NAME,
    ReceiptUpdated::NAME,
    PresenceUpdate::NAME,
    <ConversationAdded<'static> as ServerEvent>::NAME,
    ConversationRemoved::NAME,
    ConversationUpdated::NAME,
    CONTACT_REQUEST,
    ContactUpdated::NAME,
    <RequestError<'static> as ServerEvent>::NAME,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn events_encode_to_the_contracts_json() {
        let message = raw(r#"{"id":"1","seq":1}"#);
        let sent = MessageSent {
            client_message_id: "c\"1",
            message: &message,
        };
        assert_eq!(
            encode("/", &sent).unwrap(),
            r#"2["message:sent",{"clientMessageId":"c\"1","message":{"id":"1","seq":1}}]"#
        );
        let user = Uuid::nil();
        let offline = PresenceUpdate {
            user_id: user,
            online: false,
            last_seen_at: Some("2026-01-01T00:00:00.000Z".into()),
        };
        assert_eq!(
            serde_json::to_value(&offline).unwrap(),
            json!({ "userId": user, "online": false, "lastSeenAt": "2026-01-01T00:00:00.000Z" })
        );
        let removed = ConversationRemoved {
            conversation_id: user,
        };
        assert_eq!(
            encode("/", &removed).unwrap(),
            format!(r#"2["conversation:removed",{{"conversationId":"{user}"}}]"#)
        );
    }

    #[test]
    fn every_typed_server_event_is_listed() {
        // Each `server_event!` below the macro's definition is one typed event; the other
        // three are the names of events whose payload is an object of the server's (a
        // Message or a ContactRequest).
        let typed = include_str!("server.rs")
            .matches(concat!("server_event!", "(\""))
            .count();
        assert_eq!(SERVER_EVENTS.len(), typed + 3);
        let unique: std::collections::BTreeSet<_> = SERVER_EVENTS.iter().collect();
        assert_eq!(unique.len(), SERVER_EVENTS.len());
    }

    #[test]
    fn acks_carry_ok_and_their_fields() {
        let message = raw(r#"{"id":"1"}"#);
        assert_eq!(
            serde_json::to_string(&Ack::ok(MessageAck { message: &message })).unwrap(),
            r#"{"ok":true,"message":{"id":"1"}}"#
        );
        assert_eq!(
            serde_json::to_string(&Ack::ok(())).unwrap(),
            r#"{"ok":true}"#
        );
        assert_eq!(
            serde_json::to_value(AckError::new(ErrorCode::RateLimited, "slow", Some(40))).unwrap(),
            json!({ "ok": false, "error": { "code": "rate_limited", "message": "slow", "retryAfterMs": 40 } })
        );
        assert_eq!(
            serde_json::to_value(AckError::new(ErrorCode::NotFound, "gone", None)).unwrap(),
            json!({ "ok": false, "error": { "code": "not_found", "message": "gone" } })
        );
    }
}
