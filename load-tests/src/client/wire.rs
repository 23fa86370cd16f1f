//! The server's events and acks, as far as a client reads them. Their names are the protocol
//! crate's own; the payloads are read through small views of the protocol's types (which only
//! serialise) that borrow from the packet: a client decodes every event it receives, so it
//! takes only the fields it uses and copies none of them.

use std::borrow::Cow;

use confab_protocol::events::{self, ServerEvent};
use serde::Deserialize;
use serde_json::value::RawValue;

pub(super) use confab_protocol::events::{MESSAGE_NEW, MESSAGE_UPDATED};

/// `session:ready`.
pub(super) const SESSION_READY: &str = <events::SessionReady<'static> as ServerEvent>::NAME;
/// `message:sent`.
pub(super) const MESSAGE_SENT: &str = <events::MessageSent<'static> as ServerEvent>::NAME;
/// `reaction:updated`.
pub(super) const REACTION_UPDATED: &str = <events::ReactionUpdated<'static> as ServerEvent>::NAME;

/// A Message (the payload of `message:new` and `message:updated`): what a client reads of it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Message<'a> {
    #[serde(borrow)]
    pub(super) id: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) conversation_id: Cow<'a, str>,
    pub(super) seq: u64,
    #[serde(default)]
    pub(super) rev: u64,
    #[serde(borrow)]
    pub(super) body: Cow<'a, str>,
}

/// [`events::MessageSent`].
#[derive(Deserialize)]
pub(super) struct MessageSent<'a> {
    #[serde(borrow)]
    pub(super) message: Message<'a>,
}

/// [`events::ReactionUpdated`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReactionUpdated<'a> {
    #[serde(borrow)]
    pub(super) conversation_id: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) message_id: Cow<'a, str>,
    pub(super) rev: u64,
    #[serde(borrow)]
    pub(super) user_id: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) emoji: Cow<'a, str>,
    pub(super) added: bool,
    #[serde(borrow)]
    pub(super) reactions: &'a RawValue,
}

/// An ack, [`events::Ack`] or [`events::AckError`]: whether it is ok, and the error's code.
#[derive(Deserialize)]
pub(super) struct Ack<'a> {
    pub(super) ok: bool,
    #[serde(borrow)]
    pub(super) error: Option<AckError<'a>>,
}

#[derive(Deserialize)]
pub(super) struct AckError<'a> {
    #[serde(borrow)]
    pub(super) code: Cow<'a, str>,
}

/// The ack of `sync:changes` ([`events::ChangesAck`]): the revs of its messages, and where the
/// conversation stands.
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

#[derive(Deserialize)]
pub(super) struct RevOnly {
    pub(super) rev: u64,
}

/// [`events::SessionReady`]: who the client is, and the rev each conversation is at. Read once
/// per connection, so it owns its strings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Ready {
    pub(super) user_id: String,
    pub(super) conversations: Vec<ReadyConversation>,
}

/// [`events::ReadyEntry`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadyConversation {
    pub(super) conversation_id: String,
    #[serde(default)]
    pub(super) last_rev: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_borrow_what_needs_no_unescaping() {
        let text =
            r#"{"id":"7","conversationId":"c","seq":3,"rev":5,"body":"a\"b","replyTo":null}"#;
        let message: Message = serde_json::from_str(text).unwrap();
        assert!(matches!(message.conversation_id, Cow::Borrowed("c")));
        assert_eq!(message.body, "a\"b");
        assert_eq!((message.seq, message.rev), (3, 5));
    }
}
