//! The server's payloads, as far as a client reads them.

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Delivered {
    pub(super) id: String,
    pub(super) conversation_id: String,
    pub(super) seq: u64,
    #[serde(default)]
    pub(super) rev: u64,
    pub(super) body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Sent {
    pub(super) message: Delivered,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReactionUpdated {
    pub(super) conversation_id: String,
    pub(super) message_id: String,
    pub(super) rev: u64,
    pub(super) user_id: String,
    pub(super) emoji: String,
    pub(super) added: bool,
    pub(super) reactions: Box<RawValue>,
}

#[derive(Deserialize)]
pub(super) struct AckError {
    pub(super) code: String,
}

#[derive(Deserialize)]
pub(super) struct Ack {
    pub(super) ok: bool,
    pub(super) error: Option<AckError>,
}

#[derive(Deserialize)]
pub(super) struct RevOnly {
    pub(super) rev: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChangesAck {
    pub(super) ok: bool,
    #[serde(default)]
    pub(super) messages: Vec<RevOnly>,
    #[serde(default)]
    pub(super) last_rev: u64,
    #[serde(default)]
    pub(super) has_more: bool,
}

/// `session:ready`, as far as the client needs it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Ready {
    pub(super) user_id: String,
    pub(super) conversations: Vec<ReadyConversation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadyConversation {
    pub(super) conversation_id: String,
    #[serde(default)]
    pub(super) last_rev: u64,
}
