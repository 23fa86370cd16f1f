//! The JSON shapes of PROTOCOL.md section 4: camelCase fields, string ids, RFC 3339 times
//! in UTC with milliseconds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::messaging::view::{opt_ts, ts, MessageView};

use crate::models::conversation::Conversation;
use crate::models::member::Member;
use crate::models::user::User;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            avatar_url: user.avatar_url.clone(),
            created_at: user.created_at,
        }
    }
}

/// The signed-in user's own view: the public profile plus the email.
#[derive(Debug, Serialize)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub email: String,
    pub settings: SettingsView,
}

/// `settings` of `/me`: what the user lets others see.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub read_receipts: bool,
    pub presence: bool,
}

impl From<&User> for MeView {
    fn from(user: &User) -> Self {
        MeView {
            user: user.into(),
            email: user.email.clone(),
            settings: SettingsView {
                read_receipts: user.read_receipts,
                presence: user.presence_visible,
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: Uuid,
    pub role: String,
    pub last_delivered_seq: i64,
    pub last_read_seq: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub id: Uuid,
    pub kind: String,
    pub title: Option<String>,
    /// The workspace of a channel; `None` outside workspaces.
    pub workspace_id: Option<Uuid>,
    /// `"private"` outside workspaces.
    pub visibility: &'static str,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
    pub last_rev: i64,
    #[serde(serialize_with = "opt_ts")]
    pub last_message_at: Option<DateTime<Utc>>,
    pub members: Vec<MemberView>,
}

impl ConversationView {
    /// The conversation with those of `members` that belong to it.
    pub fn new(conversation: &Conversation, members: &[Member]) -> Self {
        ConversationView {
            id: conversation.id,
            kind: conversation.kind.clone(),
            title: conversation.title.clone(),
            workspace_id: None,
            visibility: "private",
            created_at: conversation.created_at,
            last_seq: conversation.last_seq,
            last_rev: conversation.last_rev,
            last_message_at: conversation.last_message_at,
            members: members
                .iter()
                .filter(|m| m.conversation_id == conversation.id)
                .map(|m| MemberView {
                    user_id: m.user_id,
                    role: m.role.clone(),
                    last_delivered_seq: m.last_delivered_seq,
                    last_read_seq: m.last_read_seq,
                })
                .collect(),
        }
    }
}

/// A conversation as it appears in the caller's list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationListItem {
    #[serde(flatten)]
    pub conversation: ConversationView,
    pub last_message: Option<MessageView>,
    pub unread_count: i64,
}
