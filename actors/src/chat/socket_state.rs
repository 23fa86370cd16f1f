//! What the chat layer keeps on each socket: whose it is, and which rooms it has joined.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{Semaphore, SemaphorePermit};

use uuid::Uuid;

use super::seen::SeenCache;
use super::store::{Credentials, Membership};

/// Attached to a socket once its CONNECT is accepted.
pub(super) struct SocketState {
    pub(super) user: Uuid,
    /// The access token's family and expiry; `auth:refresh` replaces them.
    credentials: Mutex<Credentials>,
    /// The users who have blocked this socket's user: their presence is not sent here.
    blocked_by: Mutex<HashSet<Uuid>>,
    /// The task that warns of and enforces the expiry, ended with the socket.
    expiry: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The user's conversations when the socket connected, for `session:ready`.
    pub(super) memberships: Vec<Membership>,
    /// Whether the user showed their presence when the socket connected.
    pub(super) presence_visible: bool,
    /// The conversations whose rooms this socket has joined.
    joined: Mutex<HashSet<Uuid>>,
    /// What `presence:query` last read from storage; forgotten when `joined` changes.
    seen: Mutex<SeenCache>,
    /// One permit per event this socket may have handled at once.
    handling: Semaphore,
    /// Events waiting for a permit.
    waiting: AtomicUsize,
}

impl SocketState {
    pub(super) fn new(
        credentials: Credentials,
        memberships: Vec<Membership>,
        in_flight: usize,
    ) -> SocketState {
        SocketState {
            user: credentials.user,
            credentials: Mutex::new(credentials),
            blocked_by: Mutex::new(HashSet::new()),
            expiry: Mutex::new(None),
            memberships,
            presence_visible: true,
            joined: Mutex::new(HashSet::new()),
            seen: Mutex::new(SeenCache::default()),
            handling: Semaphore::new(in_flight.max(1)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// A permit to handle one event, held until dropped. Past the socket's events in flight,
    /// an event waits its turn, in order; past `max_waiting` waiting, `None`: the socket is
    /// sending faster than it is answered.
    pub(super) async fn handle(&self, max_waiting: usize) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.handling.try_acquire() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let permit = self.handling.acquire().await.ok();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit
    }

    /// Whether `user` has blocked this socket's user.
    pub(super) fn is_blocked_by(&self, user: Uuid) -> bool {
        self.blocked_by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&user)
    }

    /// Records that `user` has blocked (`blocked`) or unblocked this socket's user.
    pub(super) fn set_blocked_by(&self, user: Uuid, blocked: bool) {
        let mut blockers = self.blocked_by.lock().unwrap_or_else(|p| p.into_inner());
        if blocked {
            blockers.insert(user);
        } else {
            blockers.remove(&user);
        }
    }

    pub(super) fn credentials(&self) -> Credentials {
        *self.credentials.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.lock().unwrap_or_else(|p| p.into_inner()) = credentials;
    }

    /// Keeps the expiry task, to end it with the socket.
    pub(super) fn watch_expiry(&self, task: tokio::task::JoinHandle<()>) {
        let previous = self
            .expiry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(task);
        if let Some(previous) = previous {
            previous.abort();
        }
    }

    /// Ends the expiry task (the socket is gone).
    pub(super) fn stop_expiry(&self) {
        if let Some(task) = self.expiry.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }

    fn joined(&self) -> MutexGuard<'_, HashSet<Uuid>> {
        self.joined.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a subscription; false when it already existed.
    pub(super) fn join(&self, conversation: Uuid) -> bool {
        let joined = self.joined().insert(conversation);
        if joined {
            self.seen().clear();
        }
        joined
    }

    /// Drops a subscription; false when there was none.
    pub(super) fn leave(&self, conversation: Uuid) -> bool {
        let left = self.joined().remove(&conversation);
        if left {
            self.seen().clear();
        }
        left
    }

    /// Who this socket's user shares a conversation with, as last read (see `chat::seen`).
    pub(super) fn seen(&self) -> MutexGuard<'_, SeenCache> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn is_member(&self, conversation: Uuid) -> bool {
        self.joined().contains(&conversation)
    }

    /// Every subscription, dropped (the socket is gone).
    pub(super) fn take_joined(&self) -> HashSet<Uuid> {
        std::mem::take(&mut *self.joined())
    }
}
