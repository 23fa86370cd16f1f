//! What the chat layer keeps on each socket: whose it is, and which rooms it has joined.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use uuid::Uuid;

use super::store::Membership;

/// Attached to a socket once its CONNECT is accepted.
pub(super) struct SocketState {
    pub(super) user: Uuid,
    /// The user's conversations when the socket connected, for `session:ready`.
    pub(super) memberships: Vec<Membership>,
    /// The conversations whose rooms this socket has joined.
    joined: Mutex<HashSet<Uuid>>,
}

impl SocketState {
    pub(super) fn new(user: Uuid, memberships: Vec<Membership>) -> SocketState {
        SocketState {
            user,
            memberships,
            joined: Mutex::new(HashSet::new()),
        }
    }

    fn joined(&self) -> MutexGuard<'_, HashSet<Uuid>> {
        self.joined.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a subscription; false when it already existed.
    pub(super) fn join(&self, conversation: Uuid) -> bool {
        self.joined().insert(conversation)
    }

    /// Drops a subscription; false when there was none.
    pub(super) fn leave(&self, conversation: Uuid) -> bool {
        self.joined().remove(&conversation)
    }

    pub(super) fn is_member(&self, conversation: Uuid) -> bool {
        self.joined().contains(&conversation)
    }

    /// Every subscription, dropped (the socket is gone).
    pub(super) fn take_joined(&self) -> HashSet<Uuid> {
        std::mem::take(&mut *self.joined())
    }
}
