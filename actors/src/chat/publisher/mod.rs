//! The one way out to the sockets. Whatever changed (a send over a socket or HTTP, an edit, a
//! thumbnail, a membership, a block, a presence), its owner calls one typed method here after
//! the commit; this module encodes the event once and hands it to the conversation's room on
//! this node and, through the bridge, on the others. Nothing outside the chat layer builds a
//! Socket.IO frame or sees a room.
//!
//! What the bridge brings from the other nodes comes back in here too
//! ([`Publisher::deliver_from_bridge`], [`Publisher::apply_remote`]), so local delivery has one
//! owner whichever node a change was made on.

mod users;

use std::sync::Arc;

use actix::{Addr, AsyncContext, Context};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::events::frame;
use super::presence::PresenceActor;
use super::rooms::{RoomBridge, Rooms, SenderFrames};
use super::store::{Change, ChangeRequest, Changed, Committed, StoreError};
use super::ChatStats;
use crate::protocol::engineio::Frame;
use crate::protocol::events::{
    self, ConversationUpdated, PresenceUpdate, ReactionUpdated, ReceiptUpdated, ServerEvent,
    MESSAGE_NEW, MESSAGE_UPDATED,
};
use crate::protocol::socketio;

pub use users::TOLD_EVENTS;

/// Publishes the chat's server events to every subscribed socket, on every node. Cloning
/// shares it.
#[derive(Clone)]
pub struct Publisher {
    pub(super) rooms: Rooms,
    /// The node's presence actor: which sockets each user has here.
    pub(super) presence: Addr<PresenceActor>,
}

/// The presence actor's mailbox, open before the actor runs: the publisher can address it
/// from the start, and the chat namespace starts the actor on it once the store exists.
pub struct PresenceMailbox(pub(super) Context<PresenceActor>);

impl Publisher {
    /// A publisher whose rooms reach the other nodes through `bridge`, when there is one; and
    /// the mailbox of the presence actor that [`super::ChatNamespace::new`] starts.
    pub fn new(bridge: Option<Arc<dyn RoomBridge>>) -> (Publisher, PresenceMailbox) {
        let mailbox = Context::new();
        let publisher = Publisher {
            rooms: match bridge {
                Some(bridge) => Rooms::with_bridge(bridge),
                None => Rooms::default(),
            },
            presence: mailbox.address(),
        };
        (publisher, PresenceMailbox(mailbox))
    }

    /// `message:new` of a committed message to every subscribed socket; a sending socket
    /// gets its `sender` frames (the ack and `message:sent`) instead, in the message's turn.
    /// A retry that found its message stored publishes nothing: its sender gets its frames
    /// at once.
    pub fn message_new(&self, committed: &Committed, sender: Option<SenderFrames>) {
        if !committed.created {
            if let Some(sender) = sender {
                sender.socket.session().send(sender.frames);
            }
            return;
        }
        let text = socketio::encode_event_json("/", MESSAGE_NEW, committed.message.get());
        self.rooms.publish_change(
            committed.conversation_id,
            committed.rev,
            Frame::message(&text),
            sender,
        );
    }

    /// Revs of `conversation` this node just committed, in commit order: its rooms wait for
    /// their publication before handing out any later change (see [`Rooms::expect`]).
    pub fn committed(&self, conversation: Uuid, revs: Vec<i64>) {
        self.rooms.expect(conversation, revs);
    }

    /// `message:updated` or `reaction:updated` of a committed change, to every subscribed
    /// socket (the actor's included). The actor's socket, when `sender` names it, gets its
    /// frames (the ack) and then the change, in the change's turn. Nothing but the sender's
    /// frames for a change that changed nothing.
    pub fn message_changed(
        &self,
        request: &ChangeRequest,
        changed: &Changed,
        sender: Option<SenderFrames>,
    ) -> Result<(), StoreError> {
        if !changed.changed {
            if let Some(sender) = sender {
                sender.socket.session().send(sender.frames);
            }
            return Ok(());
        }
        let text = match &request.change {
            Change::Edit { .. } | Change::Delete => {
                socketio::encode_event_json("/", MESSAGE_UPDATED, changed.message.get())
            }
            Change::React { emoji, add } => events::encode(
                "/",
                &ReactionUpdated {
                    conversation_id: changed.conversation_id,
                    message_id: &changed.message_id,
                    rev: changed.rev,
                    user_id: request.actor,
                    emoji,
                    added: *add,
                    reactions: &changed.reactions,
                },
            )
            .map_err(super::events::internal)?,
        };
        let frame = Frame::message(&text);
        let sender = sender.map(|mut sender| {
            sender.frames.push(frame.clone());
            sender
        });
        self.rooms
            .publish_change(changed.conversation_id, changed.rev, frame, sender);
        Ok(())
    }

    /// `message:updated` of `message` (the Message as JSON), changed by the server itself at
    /// `rev` (a thumbnail made after the send).
    pub fn message_updated(&self, conversation: Uuid, rev: i64, message: &RawValue) {
        let text = socketio::encode_event_json("/", MESSAGE_UPDATED, message.get());
        self.rooms
            .publish_change(conversation, rev, Frame::message(&text), None);
    }

    /// `receipt:updated` to every subscribed socket of its conversation but `except`.
    pub fn receipt_updated(&self, update: &ReceiptUpdated, except: Option<&str>) {
        self.publish(update.conversation_id, update, except);
    }

    /// `conversation:updated` to every subscribed socket of the conversation, on every node
    /// (its members or its latest seq changed).
    pub fn conversation_updated(&self, update: &ConversationUpdated) {
        self.publish(update.conversation_id, update, None);
    }

    /// `conversation:updated` to this node's sockets only, for a conversation whose room
    /// here has not handed out its latest rev: the bridge missed traffic, and these sockets
    /// should repair from the latest seq and rev. Nothing for a room that is up to date.
    pub fn conversation_updated_here(&self, update: &ConversationUpdated) {
        if let Ok(frame) = frame("/", update) {
            self.rooms
                .behind(update.conversation_id, update.last_rev, frame);
        }
    }

    /// `conversation:updated` for the other nodes' sockets of the conversation, where their
    /// room is behind it: this node's publications of its changes were lost on the way.
    pub fn conversation_updated_elsewhere(&self, update: &ConversationUpdated) {
        if let (Some(bridge), Ok(frame)) = (self.rooms.bridge(), frame("/", update)) {
            bridge.publish_behind(update.conversation_id, &frame, update.last_rev);
        }
    }

    /// A repair hint another node published for `conversation` (see
    /// [`Publisher::conversation_updated_elsewhere`]).
    pub fn behind_from_bridge(&self, conversation: Uuid, text: &str, last_rev: i64) {
        self.rooms
            .behind(conversation, last_rev, Frame::Text(text.into()));
    }

    /// `presence:update` about `update.user_id` to every subscribed socket of `conversations`
    /// but `except` and the users they blocked, on every node.
    pub fn presence_changed(
        &self,
        conversations: &[Uuid],
        update: &PresenceUpdate,
        except: Option<&str>,
    ) {
        let Ok(frame) = frame("/", update) else {
            return;
        };
        for conversation in conversations {
            self.rooms
                .publish_about(*conversation, frame.clone(), except, update.user_id);
        }
    }

    /// A frame another node published to `conversation` (with its rev, for a change; about a
    /// user, for presence), for this node's subscribers.
    pub fn deliver_from_bridge(
        &self,
        conversation: Uuid,
        text: &str,
        rev: Option<i64>,
        about: Option<Uuid>,
    ) {
        let frame = Frame::Text(text.into());
        match rev {
            Some(rev) => self.rooms.deliver_change_here(conversation, rev, frame),
            None => self
                .rooms
                .deliver_local_about(conversation, frame, None, about),
        }
    }

    /// The conversations with subscribers on this node (what a reconnected bridge
    /// re-subscribes).
    pub fn subscribed(&self) -> Vec<Uuid> {
        self.rooms.conversations()
    }

    /// The chat counters of this node.
    pub fn stats(&self) -> &ChatStats {
        self.rooms.stats()
    }

    /// Rooms alive on this node.
    pub fn room_count(&self) -> usize {
        self.rooms.count()
    }

    /// The node's rooms, for benchmarks and tests that drive them directly.
    #[cfg(any(test, feature = "testing"))]
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// `event` to every subscribed socket of `conversations` but `except` (typing).
    pub(super) fn to_conversations<E: ServerEvent>(
        &self,
        conversations: &[Uuid],
        event: &E,
        except: Option<&str>,
    ) {
        let Ok(frame) = frame("/", event) else {
            return;
        };
        for conversation in conversations {
            self.rooms.publish(*conversation, frame.clone(), except);
        }
    }

    fn publish<E: ServerEvent>(&self, conversation: Uuid, event: &E, except: Option<&str>) {
        match frame("/", event) {
            Ok(frame) => self.rooms.publish(conversation, frame, except),
            Err(err) => {
                log::error!(event = E::NAME, cause = err.message.as_str(); "unserializable event")
            }
        }
    }
}
