//! Events for one user's sockets, on every node: membership changes made outside the socket
//! (the sockets join or leave the room and hear `conversation:added` / `conversation:removed`),
//! revoked credentials, deleted accounts, blocks, presence settings and the `told` events (contacts). Each is
//! applied to this node's sockets and published to the others, which apply it to theirs
//! ([`Publisher::apply_remote`]).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::Publisher;
use crate::chat::events::emit;
use crate::chat::presence::{MembershipChanged, PresenceHidden, SocketsOf};
use crate::chat::socket_state::SocketState;
use crate::engine::Socket;
use crate::protocol::events::{ConversationAdded, ConversationRemoved};

/// What one node tells the others about a user (through the bridge): a membership change,
/// or a refresh-token family revoked.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserEvent<'a> {
    kind: Change,
    #[serde(default)]
    conversation_id: Uuid,
    /// The Conversation object, with `added`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    conversation: Option<&'a RawValue>,
    /// The family, with `revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family: Option<Uuid>,
    /// Who blocked or unblocked the user, with `blocked` and `unblocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<Uuid>,
    /// The event's name and payload, with `told`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    payload: Option<&'a RawValue>,
}

impl UserEvent<'_> {
    /// An event of `kind` about no conversation, with nothing beside it.
    fn of(kind: Change) -> Self {
        UserEvent {
            kind,
            conversation_id: Uuid::nil(),
            conversation: None,
            family: None,
            by: None,
            event: None,
            payload: None,
        }
    }
}

/// The events [`Publisher::tell_user`] sends, the only ones a `told` event may name.
pub const TOLD_EVENTS: &[&str] = &["contact:request", "contact:updated"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Change {
    Added,
    Removed,
    Revoked,
    Blocked,
    Unblocked,
    /// The user now hides their presence.
    Hidden,
    /// The user shows their presence again.
    Shown,
    /// An event for the user's sockets (one of [`TOLD_EVENTS`]).
    Told,
    /// The account was deleted: every socket of the user ends.
    Gone,
}

impl Publisher {
    /// `user` joined `conversation` (described by `conversation_json`, the Conversation object):
    /// their sockets on every node subscribe to it, then hear `conversation:added`.
    pub async fn conversation_added(
        &self,
        user: Uuid,
        conversation: Uuid,
        conversation_json: &RawValue,
    ) {
        self.added_here(user, conversation, conversation_json).await;
        self.tell_other_nodes(user, Change::Added, conversation, Some(conversation_json));
    }

    /// `user` left `conversation`: their sockets on every node hear `conversation:removed` and
    /// leave it.
    pub async fn conversation_removed(&self, user: Uuid, conversation: Uuid) {
        self.removed_here(user, conversation).await;
        self.tell_other_nodes(user, Change::Removed, conversation, None);
    }

    fn tell_other_nodes(
        &self,
        user: Uuid,
        kind: Change,
        conversation_id: Uuid,
        conversation: Option<&RawValue>,
    ) {
        let event = UserEvent {
            kind,
            conversation_id,
            conversation,
            family: None,
            by: None,
            event: None,
            payload: None,
        };
        self.publish_user_event(user, &event);
    }

    fn publish_user_event(&self, user: Uuid, event: &UserEvent<'_>) {
        let Some(bridge) = self.rooms.bridge() else {
            return;
        };
        match serde_json::to_string(event) {
            Ok(event) => bridge.publish_user(user, event),
            Err(err) => log::error!(cause:% = err; "unserializable membership event"),
        }
    }

    /// Applies a membership event another node published for `user` to this node's sockets.
    pub async fn apply_remote(&self, user: Uuid, event: &str) {
        let Ok(remote) = serde_json::from_str::<UserEvent>(event) else {
            log::warn!("malformed membership event from another node");
            return;
        };
        match (remote.kind, remote.conversation) {
            (Change::Told, _) => match (remote.event, remote.payload) {
                (Some(event), Some(payload)) if TOLD_EVENTS.contains(&event) => {
                    self.told_here(user, event, payload).await
                }
                _ => log::warn!("malformed told event from another node"),
            },
            (Change::Hidden | Change::Shown, _) => {
                self.presence_setting_here(user, remote.kind == Change::Shown)
            }
            (Change::Blocked | Change::Unblocked, _) => match remote.by {
                Some(by) => {
                    self.block_here(user, by, remote.kind == Change::Blocked)
                        .await
                }
                None => log::warn!("block event without its blocker"),
            },
            (Change::Gone, _) => self.gone_here(user).await,
            (Change::Revoked, _) => match remote.family {
                Some(family) => self.revoked_here(user, family).await,
                None => log::warn!("revocation event without its family"),
            },
            (Change::Added, Some(json)) => {
                self.added_here(user, remote.conversation_id, json).await
            }
            (Change::Removed, _) => self.removed_here(user, remote.conversation_id).await,
            (Change::Added, None) => log::warn!("membership event without its conversation"),
        }
    }

    /// `user`'s refresh-token `family` was revoked (logout, or a reused token): every socket
    /// it authenticated, on every node, is disconnected.
    pub async fn family_revoked(&self, user: Uuid, family: Uuid) {
        self.revoked_here(user, family).await;
        let event = UserEvent {
            family: Some(family),
            ..UserEvent::of(Change::Revoked)
        };
        self.publish_user_event(user, &event);
    }

    /// `user`'s account was deleted: every socket of theirs, on every node, is disconnected,
    /// whatever credentials it was opened with.
    pub async fn user_gone(&self, user: Uuid) {
        self.gone_here(user).await;
        let event = UserEvent::of(Change::Gone);
        self.publish_user_event(user, &event);
    }

    async fn gone_here(&self, user: Uuid) {
        for socket in self.sockets_of(user).await {
            log::debug!(user_id:% = user; "socket of a deleted account disconnected");
            socket.session().close();
        }
    }

    /// `by` blocked (`blocked`) or unblocked `user`: `by`'s presence stops (or resumes)
    /// reaching `user`'s sockets, on every node.
    pub async fn block_changed(&self, by: Uuid, user: Uuid, blocked: bool) {
        self.block_here(user, by, blocked).await;
        let event = UserEvent {
            by: Some(by),
            ..UserEvent::of(if blocked {
                Change::Blocked
            } else {
                Change::Unblocked
            })
        };
        self.publish_user_event(user, &event);
    }

    /// Sends the event `event` (one of [`TOLD_EVENTS`]) with `payload` to `user`'s sockets on
    /// every node.
    pub async fn tell_user(&self, user: Uuid, event: &'static str, payload: &serde_json::Value) {
        debug_assert!(TOLD_EVENTS.contains(&event));
        let Ok(payload) = serde_json::value::to_raw_value(payload) else {
            log::error!(event = event; "unserializable told event");
            return;
        };
        self.told_here(user, event, &payload).await;
        let remote = UserEvent {
            event: Some(event),
            payload: Some(&payload),
            ..UserEvent::of(Change::Told)
        };
        self.publish_user_event(user, &remote);
    }

    async fn told_here(&self, user: Uuid, event: &str, payload: &RawValue) {
        for socket in self.sockets_of(user).await {
            match crate::protocol::socketio::encode_event_with(socket.namespace(), event, payload) {
                Ok(text) => socket.send_frame(crate::protocol::engineio::Frame::message(&text)),
                Err(err) => log::error!(cause:% = err; "unserializable told event"),
            }
        }
    }

    /// `user`'s sockets on this node.
    async fn sockets_of(&self, user: Uuid) -> Vec<Socket> {
        self.presence
            .send(SocketsOf { user })
            .await
            .unwrap_or_default()
    }

    async fn block_here(&self, user: Uuid, by: Uuid, blocked: bool) {
        let sockets = self.sockets_of(user).await;
        for socket in sockets {
            if let Some(state) = socket.data::<SocketState>() {
                state.set_blocked_by(by, blocked);
            }
        }
    }

    async fn revoked_here(&self, user: Uuid, family: Uuid) {
        let sockets = self.sockets_of(user).await;
        for socket in sockets {
            let of_family = socket
                .data::<SocketState>()
                .is_some_and(|state| state.credentials().family == Some(family));
            if of_family {
                log::debug!(user_id:% = user; "socket of a revoked family disconnected");
                socket.session().close();
            }
        }
    }

    async fn added_here(&self, user: Uuid, conversation: Uuid, conversation_json: &RawValue) {
        let added = ConversationAdded {
            conversation: conversation_json,
        };
        self.apply_here(user, conversation, true, |socket| emit(socket, &added))
            .await;
    }

    async fn removed_here(&self, user: Uuid, conversation: Uuid) {
        let removed = ConversationRemoved {
            conversation_id: conversation,
        };
        self.apply_here(user, conversation, false, |socket| emit(socket, &removed))
            .await;
    }

    /// Moves `user`'s sockets here into (`member`) or out of `conversation`'s room, tells each
    /// with `tell`, and keeps presence's view of the user's conversations in step.
    async fn apply_here(
        &self,
        user: Uuid,
        conversation: Uuid,
        member: bool,
        tell: impl Fn(&Socket),
    ) {
        for socket in self.sockets_of(user).await {
            if let Some(state) = socket.data::<SocketState>() {
                if member && state.join(conversation) {
                    self.rooms.join(conversation, socket.clone(), None);
                } else if !member && state.leave(conversation) {
                    self.rooms.leave(conversation, socket.id());
                }
            }
            tell(&socket);
        }
        self.presence.do_send(MembershipChanged {
            user,
            conversation,
            member,
        });
    }

    /// `user` turned their presence off (`visible: false`) or on: on every node where they are
    /// connected, their conversations hear them go offline (with no last-seen time) or come
    /// back online, and no other presence update of theirs is sent while it is off.
    pub async fn presence_setting_changed(&self, user: Uuid, visible: bool) {
        self.presence_setting_here(user, visible);
        let event = UserEvent::of(if visible {
            Change::Shown
        } else {
            Change::Hidden
        });
        self.publish_user_event(user, &event);
    }

    fn presence_setting_here(&self, user: Uuid, visible: bool) {
        self.presence.do_send(PresenceHidden {
            user,
            hidden: !visible,
        });
    }
}
