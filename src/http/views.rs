//! The JSON shapes of PROTOCOL.md section 4: camelCase fields, string ids, RFC 3339 times
//! in UTC with milliseconds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::messaging::view::{opt_ts, ts, MessageView};

use crate::models::contact::ContactRequest;
use crate::models::conversation::{Conversation, PUBLIC};
use crate::models::invite::Invite;
use crate::models::member::Member;
use crate::models::user::User;
use crate::models::workspace::Workspace;

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
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

/// A deleted account, as its profile answers: `{ id, deleted: true }`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeletedUser)]
pub struct DeletedUserView {
    pub id: Uuid,
    /// Always `true`.
    pub deleted: bool,
}

/// A profile: the User, or what is left of a deleted account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Profile)]
pub enum ProfileView {
    User(UserView),
    Deleted(DeletedUserView),
}

impl From<&User> for ProfileView {
    fn from(user: &User) -> Self {
        if user.deleted_at.is_some() {
            ProfileView::Deleted(DeletedUserView {
                id: user.id,
                deleted: true,
            })
        } else {
            ProfileView::User(user.into())
        }
    }
}

/// The signed-in user's own view: the public profile plus the email.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Me)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub email: String,
    pub settings: SettingsView,
}

/// `settings` of `/me`: what the user lets others see.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Settings)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub read_receipts: bool,
    pub presence: bool,
    pub dm_from_contacts_only: bool,
}

impl From<&User> for MeView {
    fn from(user: &User) -> Self {
        MeView {
            user: user.into(),
            email: user.email.clone(),
            settings: SettingsView {
                read_receipts: user.read_receipts,
                presence: user.presence_visible,
                dm_from_contacts_only: user.dm_from_contacts_only,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Member)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: Uuid,
    pub role: String,
    pub last_delivered_seq: i64,
    pub last_read_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Conversation)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub id: Uuid,
    pub kind: String,
    pub title: Option<String>,
    /// The workspace of a channel; `None` outside workspaces.
    pub workspace_id: Option<Uuid>,
    /// `"private"` outside workspaces.
    #[schema(value_type = Visibility)]
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
            workspace_id: conversation.workspace_id,
            visibility: if conversation.visibility == PUBLIC {
                "public"
            } else {
                "private"
            },
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

/// Who may find and join a conversation: `public` channels of a workspace, else `private`.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code, reason = "describes `ConversationView::visibility`")]
pub enum Visibility {
    Public,
    Private,
}

/// A conversation as it appears in the caller's list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationListItem {
    #[serde(flatten)]
    pub conversation: ConversationView,
    pub last_message: Option<MessageView>,
    pub unread_count: i64,
}

/// An invite link (`Invite`): for a group (`conversationId`) or a workspace (`workspaceId`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Invite)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    pub created_by: Uuid,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ts")]
    pub expires_at: DateTime<Utc>,
    pub max_uses: Option<i32>,
    pub uses: i32,
}

impl InviteView {
    pub fn new(invite: &Invite, code: String) -> Self {
        InviteView {
            code,
            conversation_id: invite.conversation_id,
            workspace_id: invite.workspace_id,
            created_by: invite.created_by,
            created_at: invite.created_at,
            expires_at: invite.expires_at,
            max_uses: invite.max_uses,
            uses: invite.uses,
        }
    }
}

/// A workspace as its member sees it, with their role.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Workspace)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub role: String,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
}

impl WorkspaceView {
    pub fn new(workspace: &Workspace, role: &str) -> Self {
        WorkspaceView {
            id: workspace.id,
            name: workspace.name.clone(),
            slug: workspace.slug.clone(),
            role: role.to_string(),
            created_at: workspace.created_at,
        }
    }
}

/// A contact request (`ContactRequest`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ContactRequest)]
#[serde(rename_all = "camelCase")]
pub struct ContactRequestView {
    pub id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub status: String,
    #[serde(serialize_with = "ts")]
    pub created_at: DateTime<Utc>,
}

impl From<&ContactRequest> for ContactRequestView {
    fn from(request: &ContactRequest) -> Self {
        ContactRequestView {
            id: request.id,
            from_user_id: request.from_user_id,
            to_user_id: request.to_user_id,
            status: request.status.clone(),
            created_at: request.created_at,
        }
    }
}
