//! The chat namespace: authentication on CONNECT, `session:ready` and the room subscriptions
//! of a connected socket, and each event decoded once and handed to its handler in
//! `chat::events`. What the chat layer tells sockets leaves through `chat::publisher`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use serde_json::{json, Value};

use uuid::Uuid;

use super::events;
use super::limiter::Limiter;
use super::presence::{
    offline_update, Arrived, Departed, Online, PresenceActor, PresenceDirectory, WentOffline,
};
use super::publisher::{PresenceMailbox, Publisher};
use super::socket_state::SocketState;
use super::store::{ChatStore, StoreError};
use super::PresenceTransition;
use crate::engine::{ConnectError, DisconnectReason, Event, NamespaceHandler, Socket};
use crate::protocol::events::{ReadyEntry, SessionReady};
use crate::ErrorCode;

/// Told how long each socket send took from its event arriving to its ack being queued.
pub type AckObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// The chat layer's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatTimers {
    /// A `typing:start` not renewed within this is followed by `typing:stop`.
    pub typing_timeout: Duration,
    /// How long a user stays online after their last socket left.
    pub offline_grace: Duration,
    /// A user's renewed `typing:start` reaches the others at most once per this.
    pub typing_relay_every: Duration,
}

impl Default for ChatTimers {
    fn default() -> Self {
        ChatTimers {
            typing_timeout: Duration::from_secs(6),
            offline_grace: Duration::from_secs(5),
            typing_relay_every: Duration::from_secs(3),
        }
    }
}

/// What a chat namespace is built from.
pub struct ChatParts<S> {
    /// Storage, identity and the send service.
    pub store: S,
    /// The one way out to the sockets.
    pub publisher: Publisher,
    /// Where the node's presence actor runs (made with the publisher).
    pub presence: PresenceMailbox,
    /// Who is online on the other nodes, in a cluster.
    pub directory: Option<Arc<dyn PresenceDirectory>>,
    /// The typing and presence timers.
    pub timers: ChatTimers,
    /// How many events of one socket are handled at once, and how many more may wait their
    /// turn; past those, `rate_limited`.
    pub events: EventBounds,
    /// Where the time from a socket send's arrival to its ack goes (for metrics).
    pub on_acked: Option<AckObserver>,
}

/// The chat namespace handler. Cloning shares it.
pub struct ChatNamespace<S> {
    pub(super) inner: Arc<Inner<S>>,
}

impl<S> Clone for ChatNamespace<S> {
    fn clone(&self) -> Self {
        ChatNamespace {
            inner: self.inner.clone(),
        }
    }
}

/// What every event handler of the namespace shares.
pub(super) struct Inner<S> {
    pub(super) store: Arc<S>,
    pub(super) publisher: Publisher,
    pub(super) on_acked: Option<AckObserver>,
    pub(super) events: EventBounds,
    /// Every user's budget for all events.
    pub(super) event_budget: Limiter,
    /// Whether storage missed the commit deadline (or was unavailable) since it last
    /// answered in time.
    pub(super) stalled: std::sync::atomic::AtomicBool,
}

/// Bounds on one socket's events, and on all of a user's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventBounds {
    /// Handled at once, per socket.
    pub in_flight: usize,
    /// Waiting for one of those to finish, per socket.
    pub waiting: usize,
    /// Events per second of one user, all sockets on this node together.
    pub per_user_rate: f64,
    /// The burst of those.
    pub per_user_burst: f64,
    /// An event not answered within this of its arrival (waiting for its turn included) is
    /// answered `unavailable`: storage is stalled.
    pub deadline: Duration,
}

impl Default for EventBounds {
    fn default() -> Self {
        EventBounds {
            in_flight: 16,
            waiting: 64,
            per_user_rate: 50.0,
            per_user_burst: 100.0,
            deadline: Duration::from_secs(5),
        }
    }
}

impl<S: ChatStore> ChatNamespace<S> {
    /// A namespace over `parts`. Starts the node's presence actor on its mailbox (call inside
    /// an actix system).
    pub fn new(parts: ChatParts<S>) -> Self {
        let store = Arc::new(parts.store);
        let saver = store.clone();
        let went_offline: WentOffline = Box::new(move |user, at| {
            let saver = saver.clone();
            async move {
                match saver.set_last_seen(user, at).await {
                    Ok(visible) => visible,
                    Err(err) => {
                        log::warn!(user_id:% = user, cause = err.message.as_str(); "last seen not saved");
                        true
                    }
                }
            }
            .boxed_local()
        });
        parts.presence.0.run(PresenceActor::new(
            parts.publisher.clone(),
            parts.timers,
            went_offline,
            parts.directory,
        ));
        ChatNamespace {
            inner: Arc::new(Inner {
                store,
                publisher: parts.publisher,
                on_acked: parts.on_acked,
                events: parts.events,
                event_budget: Limiter::new(parts.events.per_user_rate, parts.events.per_user_burst),
                stalled: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The one way out to the sockets.
    pub fn publisher(&self) -> &Publisher {
        &self.inner.publisher
    }

    /// `users` were online only on a node that died: stores when they were last seen (`at`) and
    /// tells their conversations they went offline, unless they are back by now.
    pub async fn users_gone(&self, users: Vec<Uuid>, at: SystemTime) {
        let inner = &self.inner;
        let online = inner
            .publisher
            .presence
            .send(Online {
                users: users.clone(),
            })
            .await
            .unwrap_or_default();
        let gone = users
            .into_iter()
            .zip(online.into_iter().chain(std::iter::repeat(false)))
            .filter(|(_, online)| !online)
            .map(|(user, _)| user);
        for user in gone {
            match inner.store.set_last_seen(user, at).await {
                // They hide their presence: no one was told they were online.
                Ok(false) => continue,
                Ok(true) => {}
                Err(err) => {
                    log::warn!(user_id:% = user, cause = err.message.as_str(); "last seen not saved")
                }
            }
            let Ok(memberships) = inner.store.memberships(user).await else {
                continue;
            };
            inner.publisher.stats().presence(PresenceTransition::Reaped);
            let conversations: Vec<Uuid> = memberships.iter().map(|m| m.conversation_id).collect();
            inner
                .publisher
                .presence_changed(&conversations, &offline_update(user, at), None);
        }
    }
}

fn refuse(code: ErrorCode) -> ConnectError {
    ConnectError {
        message: "unauthorized".into(),
        data: Some(json!({ "code": code })),
    }
}

impl<S: ChatStore> NamespaceHandler for ChatNamespace<S> {
    fn connect(
        &self,
        socket: Socket,
        auth: Option<Value>,
    ) -> LocalBoxFuture<'static, Result<(), ConnectError>> {
        let token = auth
            .as_ref()
            .and_then(|auth| auth.get("token"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| socket.session().query_param("token"));
        let inner = self.inner.clone();
        async move {
            let token = token.ok_or_else(|| refuse(ErrorCode::Unauthorized))?;
            let credentials = inner.store.verify_token(&token).map_err(refuse)?;
            let failed = |err: StoreError| ConnectError {
                message: err.code.as_str().into(),
                data: Some(json!({ "code": err.code })),
            };
            // A deleted account, or a family revoked by logout or reuse, connects no more.
            let start = inner
                .store
                .open_session(credentials)
                .await
                .map_err(failed)?
                .ok_or_else(|| refuse(ErrorCode::Unauthorized))?;
            let mut state =
                SocketState::new(credentials, start.memberships, inner.events.in_flight);
            state.presence_visible = start.presence_visible;
            for blocker in start.blockers {
                state.set_blocked_by(blocker, true);
            }
            socket.set_data(Arc::new(state));
            Ok(())
        }
        .boxed_local()
    }

    fn connected(&self, socket: &Socket) {
        let Some(state) = socket.data::<SocketState>() else {
            return;
        };
        let ready = SessionReady {
            user_id: state.user,
            session_id: socket.id(),
            conversations: state
                .memberships
                .iter()
                .map(|m| ReadyEntry {
                    conversation_id: m.conversation_id,
                    last_seq: m.last_seq,
                    last_rev: m.last_rev,
                    last_read_seq: m.last_read_seq,
                })
                .collect(),
        };
        events::emit(socket, &ready);
        for membership in &state.memberships {
            let conversation = membership.conversation_id;
            if state.join(conversation) {
                let last_rev = Some(membership.last_rev);
                self.inner
                    .publisher
                    .rooms
                    .join(conversation, socket.clone(), last_rev);
            }
        }
        state.watch_expiry(actix::spawn(super::expiry::watch(
            socket.clone(),
            state.clone(),
        )));
        self.inner.publisher.presence.do_send(Arrived {
            user: state.user,
            hidden: !state.presence_visible,
            socket: socket.clone(),
            conversations: state
                .memberships
                .iter()
                .map(|m| m.conversation_id)
                .collect(),
        });
    }

    fn disconnect(&self, socket: &Socket, _reason: DisconnectReason) {
        let Some(state) = socket.data::<SocketState>() else {
            return;
        };
        state.stop_expiry();
        for conversation in state.take_joined() {
            self.inner.publisher.rooms.leave(conversation, socket.id());
        }
        self.inner.publisher.presence.do_send(Departed {
            user: state.user,
            socket_id: socket.id().to_string(),
        });
    }

    fn event(&self, socket: Socket, event: Event) -> LocalBoxFuture<'static, ()> {
        events::handle(self.inner.clone(), socket, event).boxed_local()
    }
}
