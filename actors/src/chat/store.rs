//! What the chat layer needs from storage. The diesel implementation lives in the server
//! crate; no actor touches diesel.

use std::future::Future;
use std::sync::Arc;

use serde_json::value::RawValue;
use uuid::Uuid;

use crate::ErrorCode;

/// A refused or failed storage request, with the contract's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// The contract's code.
    pub code: ErrorCode,
    /// What went wrong, safe to show to the client.
    pub message: String,
    /// With `rate_limited`: how long to wait.
    pub retry_after_ms: Option<u64>,
}

impl StoreError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        StoreError {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

/// Who an access token speaks for, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user: Uuid,
    /// The refresh-token family the token was issued with, if any: revoking it (logout,
    /// reuse) ends the sockets it authenticated.
    pub family: Option<Uuid>,
    /// When the token expires; the socket is disconnected then unless refreshed.
    pub expires_at: std::time::SystemTime,
}

/// What a new socket starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStart {
    /// The user's conversations, for `session:ready` and the rooms.
    pub memberships: Vec<Membership>,
    /// The users who have blocked the user: their presence is not sent to the socket.
    pub blockers: Vec<Uuid>,
    /// Whether the user shows others their presence (`settings.presence`).
    pub presence_visible: bool,
}

/// A user's membership of one conversation, for `session:ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its latest message's seq.
    pub last_seq: i64,
    /// Its latest change's rev.
    pub last_rev: i64,
    /// The user's read watermark in it.
    pub last_read_seq: i64,
}

/// A `message:send` as the client gave it (validated by the store).
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Where it goes.
    pub conversation_id: Uuid,
    /// Who sends it (the socket's user).
    pub sender_id: Uuid,
    /// The client's id for it.
    pub client_message_id: String,
    /// The text as sent.
    pub body: String,
    /// Attachment ids as sent.
    pub attachment_ids: Vec<String>,
    /// The id of the message it answers, as sent.
    pub reply_to_id: Option<String>,
}

/// A change to a message, as the client asked for it (the store validates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `message:edit` to `body`.
    Edit {
        /// The new text as sent.
        body: String,
    },
    /// `message:delete`.
    Delete,
    /// `reaction:add` (`add`) or `reaction:remove` of `emoji`.
    React {
        /// The emoji as sent.
        emoji: String,
        /// Added, or removed.
        add: bool,
    },
}

/// `actor` asks for `change` to a message of a conversation.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    /// The message's conversation.
    pub conversation_id: Uuid,
    /// Who asks (the socket's user).
    pub actor: Uuid,
    /// The message's id as sent.
    pub message_id: String,
    /// What to change.
    pub change: Change,
}

/// A change stored, or found to change nothing (a repeated delete, a reaction the user
/// already has): then `changed` is false and nothing is published.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The message's conversation.
    pub conversation_id: Uuid,
    /// The message's id (decimal).
    pub message_id: String,
    /// The message's rev after the change.
    pub rev: i64,
    /// The Message after the change, as JSON, encoded once.
    pub message: Arc<RawValue>,
    /// Its reactions after the change (`[{ emoji, userIds }]`), as JSON.
    pub reactions: Arc<RawValue>,
    /// Whether anything changed.
    pub changed: bool,
}

/// A page of changes: the Messages changed after a rev, in ascending rev order.
#[derive(Debug, Clone)]
pub struct Changes {
    /// A JSON array of Messages.
    pub messages: Box<RawValue>,
    /// The conversation's latest rev.
    pub last_rev: i64,
    /// Whether more follow.
    pub has_more: bool,
}

/// A committed message. `message` is the Message object as JSON text, encoded once and shared
/// by the ack, `message:sent` and every `message:new`.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its seq there.
    pub seq: i64,
    /// Its rev (the order rooms hand changes out in).
    pub rev: i64,
    /// The Message, as JSON.
    pub message: Arc<RawValue>,
    /// False when a retry found the message stored the first time.
    pub created: bool,
}

/// A member's watermarks after a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marked {
    /// The delivered watermark.
    pub delivered: i64,
    /// The read watermark.
    pub read: i64,
    /// Whether the member lets others see their receipts (`settings.readReceipts`).
    pub shared: bool,
}

/// A page of history: `messages` is a JSON array of Message objects in ascending seq order.
#[derive(Debug, Clone)]
pub struct History {
    /// A JSON array of Messages.
    pub messages: Box<RawValue>,
    /// Whether more follow.
    pub has_more: bool,
}

/// Storage and identity, as the chat layer sees them.
pub trait ChatStore: Send + Sync + 'static {
    /// What a valid access token says; `Unauthorized` or `TokenExpired` otherwise.
    fn verify_token(&self, token: &str) -> Result<Credentials, ErrorCode>;

    /// Whether `credentials` still hold: the account exists and their family is not revoked.
    fn credentials_hold(
        &self,
        credentials: Credentials,
    ) -> impl Future<Output = Result<bool, StoreError>>;

    /// What a socket with `credentials` starts with, in one visit to storage: the user's
    /// conversations and who has blocked them. `None` when the credentials no longer hold (a
    /// deleted account, a revoked family).
    fn open_session(
        &self,
        credentials: Credentials,
    ) -> impl Future<Output = Result<Option<SessionStart>, StoreError>>;

    /// The conversations `user` belongs to.
    fn memberships(&self, user: Uuid) -> impl Future<Output = Result<Vec<Membership>, StoreError>>;

    /// The send service: validates a message, applies the sender's sending rate and commits it
    /// (or returns the one a retry already stored).
    fn send(&self, message: NewMessage) -> impl Future<Output = Result<Committed, StoreError>>;

    /// Validates and commits a change to a message (an edit, a delete, a reaction), under
    /// the contract's rules for it.
    fn change(&self, request: ChangeRequest) -> impl Future<Output = Result<Changed, StoreError>>;

    /// For a member: the messages of `conversation` changed after `after_rev`, at most
    /// `limit`, in ascending rev order.
    fn changes(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_rev: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Changes, StoreError>>;

    /// Moves `user`'s delivered (and, with `read`, read) watermark in `conversation` up to
    /// `seq`, never down and never past the last message.
    fn mark(
        &self,
        user: Uuid,
        conversation: Uuid,
        seq: i64,
        read: bool,
    ) -> impl Future<Output = Result<Marked, StoreError>>;

    /// The stored last-seen time (RFC 3339, `None` when never seen) of each of `users` that
    /// `viewer` may see: themself, and users who share a conversation with them, have not
    /// blocked them and show their presence. The others are left out.
    fn last_seen(
        &self,
        viewer: Uuid,
        users: Vec<Uuid>,
    ) -> impl Future<Output = Result<Vec<(Uuid, Option<String>)>, StoreError>>;

    /// Records that `user` was last seen `at`; whether they show their presence (if not, no
    /// one is told they went offline).
    fn set_last_seen(
        &self,
        user: Uuid,
        at: std::time::SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>>;

    /// Messages of `conversation` with `seq > after_seq`, at most `limit`, for a member.
    fn history(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<History, StoreError>>;
}
