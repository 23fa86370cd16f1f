//! A room bridge and a presence directory that record what they are asked.

use std::collections::HashSet;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use uuid::Uuid;

use super::lock;
use crate::chat::{PresenceDirectory, RoomBridge};
use crate::protocol::engineio::Frame;

/// What a [`MemoryBridge`] was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeCall {
    /// A room's first local subscriber arrived.
    Subscribe(Uuid),
    /// A room's last local subscriber left.
    Unsubscribe(Uuid),
    /// A frame published to a room, with its seq for `message:new`.
    Publish(Uuid, String, Option<i64>),
    /// A membership event for a user's sockets on other nodes.
    User(Uuid, String),
}

/// A room bridge that records every call, in order.
#[derive(Default)]
pub struct MemoryBridge {
    calls: Mutex<Vec<BridgeCall>>,
}

impl MemoryBridge {
    /// Every call so far.
    pub fn calls(&self) -> Vec<BridgeCall> {
        lock(&self.calls).clone()
    }
}

impl RoomBridge for MemoryBridge {
    fn subscribe(&self, conversation: Uuid) {
        lock(&self.calls).push(BridgeCall::Subscribe(conversation));
    }

    fn unsubscribe(&self, conversation: Uuid) {
        lock(&self.calls).push(BridgeCall::Unsubscribe(conversation));
    }

    fn publish(&self, conversation: Uuid, frame: &Frame, seq: Option<i64>) {
        if let Frame::Text(text) = frame {
            lock(&self.calls).push(BridgeCall::Publish(conversation, text.to_string(), seq));
        }
    }

    fn publish_user(&self, user: Uuid, event: String) {
        lock(&self.calls).push(BridgeCall::User(user, event));
    }
}

/// A presence directory whose other nodes have exactly the users put there.
#[derive(Default)]
pub struct MemoryDirectory {
    elsewhere: Mutex<HashSet<Uuid>>,
    here: Mutex<Vec<(Uuid, bool)>>,
}

impl MemoryDirectory {
    /// `user` is (or is no longer) online on another node.
    pub fn set_elsewhere(&self, user: Uuid, online: bool) {
        let mut elsewhere = lock(&self.elsewhere);
        if online {
            elsewhere.insert(user);
        } else {
            elsewhere.remove(&user);
        }
    }

    /// The users this node said came online (`true`) or went offline here, in order.
    pub fn told(&self) -> Vec<(Uuid, bool)> {
        lock(&self.here).clone()
    }
}

impl PresenceDirectory for MemoryDirectory {
    fn online_here(&self, user: Uuid) {
        lock(&self.here).push((user, true));
    }

    fn offline_here(&self, user: Uuid) -> BoxFuture<'static, bool> {
        lock(&self.here).push((user, false));
        let elsewhere = lock(&self.elsewhere).contains(&user);
        Box::pin(std::future::ready(elsewhere))
    }

    fn online_elsewhere(&self, users: Vec<Uuid>) -> BoxFuture<'static, Vec<bool>> {
        let elsewhere = lock(&self.elsewhere);
        let online = users.iter().map(|u| elsewhere.contains(u)).collect();
        Box::pin(std::future::ready(online))
    }
}
