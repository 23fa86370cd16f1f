//! `PresenceActor`: one per node. Knows which users have sockets here, turns their first
//! connection and their last disconnection (after a grace period) into `presence:update`, and
//! runs the typing timers. It does no I/O itself: storage calls come in as a closure, and the
//! cluster's view (which users are online on other nodes) through a `PresenceDirectory`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use futures_util::future::{BoxFuture, LocalBoxFuture};
use uuid::Uuid;

use super::time::rfc3339_millis;
use super::{ChatTimers, PresenceTransition, Publisher};
use crate::engine::Socket;
use crate::protocol::events::{PresenceUpdate, ServerEvent, TypingStart, TypingStop};

#[derive(Default)]
struct UserEntry {
    sockets: Vec<Socket>,
    conversations: Vec<Uuid>,
    /// Pending offline announcement (the grace timer).
    leaving: Option<SpawnHandle>,
    /// The user hides their presence: nothing is announced.
    hidden: bool,
    /// This node told the user's conversations they are online (and not since that they
    /// are not).
    announced: bool,
}

/// Who is online on the other nodes of a cluster (Redis, in the server). Calls must not block.
pub trait PresenceDirectory: Send + Sync + 'static {
    /// `user` came online on this node (their first local socket).
    fn online_here(&self, user: Uuid);
    /// `user` went offline on this node; resolves to whether they are still online on
    /// another node (then no one is told they went offline).
    fn offline_here(&self, user: Uuid) -> BoxFuture<'static, bool>;
    /// For each of `users`: whether they are online on another node.
    fn online_elsewhere(&self, users: Vec<Uuid>) -> BoxFuture<'static, Vec<bool>>;
}

/// The node's presence: its users' sockets, grace timers and typing timers.
pub struct PresenceActor {
    publisher: Publisher,
    directory: Option<Arc<dyn PresenceDirectory>>,
    grace: Duration,
    typing_timeout: Duration,
    typing_relay_every: Duration,
    users: HashMap<Uuid, UserEntry>,
    typing: HashMap<(Uuid, Uuid), Typist>,
    /// Persists a user's last-seen time; the offline announcement waits for it.
    went_offline: WentOffline,
}

/// A user typing in a conversation.
struct Typist {
    /// Sends `typing:stop` unless renewed.
    timer: SpawnHandle,
    /// When their `typing:start` was last relayed.
    relayed: Instant,
}

/// Persists `(user, last seen)`; resolves when stored (or given up) to whether the user shows
/// their presence, so that their going offline is announced.
pub type WentOffline = Box<dyn Fn(Uuid, SystemTime) -> LocalBoxFuture<'static, bool>>;

impl PresenceActor {
    /// A presence actor announcing through `publisher`; `went_offline` stores last-seen times
    /// and `directory`, in a cluster, knows the other nodes.
    pub fn new(
        publisher: Publisher,
        timers: ChatTimers,
        went_offline: WentOffline,
        directory: Option<Arc<dyn PresenceDirectory>>,
    ) -> Self {
        PresenceActor {
            publisher,
            directory,
            grace: timers.offline_grace,
            typing_timeout: timers.typing_timeout,
            typing_relay_every: timers.typing_relay_every,
            users: HashMap::new(),
            typing: HashMap::new(),
            went_offline,
        }
    }

    /// Publishes an event to the rooms of `conversations`.
    fn announce<E: ServerEvent>(&self, conversations: &[Uuid], event: &E, except: Option<&str>) {
        self.publisher
            .to_conversations(conversations, event, except);
    }

    /// Publishes `user`'s presence update to the rooms of `conversations`, not to the users
    /// `user` has blocked.
    fn announce_presence(
        &self,
        conversations: &[Uuid],
        update: &PresenceUpdate,
        except: Option<&str>,
    ) {
        self.publisher
            .presence_changed(conversations, update, except);
    }
}

/// The `presence:update` of `user` going offline, last seen `at`.
pub fn offline_update(user: Uuid, at: SystemTime) -> PresenceUpdate {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    PresenceUpdate {
        user_id: user,
        online: false,
        last_seen_at: Some(rfc3339_millis(since_epoch)),
    }
}

impl Actor for PresenceActor {
    type Context = Context<Self>;
}

/// Namespace → presence: a socket of `user` is connected (and subscribed to `conversations`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Arrived {
    /// The user.
    pub user: Uuid,
    /// They hide their presence.
    pub hidden: bool,
    /// Their new socket.
    pub socket: Socket,
    /// The conversations it is subscribed to.
    pub conversations: Vec<Uuid>,
}

impl Handler<Arrived> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: Arrived, ctx: &mut Context<Self>) {
        let entry = self.users.entry(msg.user).or_default();
        let was_online = !entry.sockets.is_empty() || entry.leaving.is_some();
        if let Some(timer) = entry.leaving.take() {
            ctx.cancel_future(timer);
        }
        let arriving = msg.socket.id().to_string();
        entry.hidden = msg.hidden;
        entry.sockets.push(msg.socket);
        for conversation in msg.conversations {
            if !entry.conversations.contains(&conversation) {
                entry.conversations.push(conversation);
            }
        }
        if !was_online {
            if let Some(directory) = &self.directory {
                directory.online_here(msg.user);
            }
            self.publisher.stats().presence(PresenceTransition::Online);
        }
        if !entry.hidden && !entry.announced {
            entry.announced = true;
            let conversations = entry.conversations.clone();
            let update = PresenceUpdate {
                user_id: msg.user,
                online: true,
                last_seen_at: None,
            };
            self.announce_presence(&conversations, &update, Some(&arriving));
        }
    }
}

/// Namespace → presence: a socket of `user` is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Departed {
    /// The user.
    pub user: Uuid,
    /// The socket that left.
    pub socket_id: String,
}

impl Handler<Departed> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: Departed, ctx: &mut Context<Self>) {
        let Some(entry) = self.users.get_mut(&msg.user) else {
            return;
        };
        entry.sockets.retain(|s| s.id() != msg.socket_id);
        if !entry.sockets.is_empty() || entry.leaving.is_some() {
            return;
        }
        let user = msg.user;
        let timer = ctx.run_later(self.grace, move |act, ctx| {
            let Some(entry) = act.users.remove(&user) else {
                return;
            };
            if !entry.sockets.is_empty() {
                act.users.insert(user, entry);
                return;
            }
            let at = SystemTime::now();
            let elsewhere = match &act.directory {
                Some(directory) => directory.offline_here(user),
                None => Box::pin(std::future::ready(false)),
            };
            let conversations = entry.conversations;
            ctx.spawn(elsewhere.into_actor(act).then(move |elsewhere, act, _| {
                // Stored first, so a presence:query after the announcement sees the same time.
                if elsewhere {
                    act.publisher
                        .stats()
                        .presence(PresenceTransition::StillElsewhere);
                }
                let stored = (!elsewhere && !act.users.contains_key(&user))
                    .then(|| (act.went_offline)(user, at));
                async move {
                    match stored {
                        Some(stored) => stored.await,
                        None => false,
                    }
                }
                .into_actor(act)
                .map(move |announce, act, _| {
                    if announce && !act.users.contains_key(&user) {
                        act.publisher.stats().presence(PresenceTransition::Offline);
                        let update = offline_update(user, at);
                        act.announce_presence(&conversations, &update, None);
                    }
                })
            }));
        });
        entry.leaving = Some(timer);
    }
}

/// Namespace → presence: `user` turned their presence off (`hidden`) or on. If they are
/// connected here, their conversations hear them go offline (with no last-seen time) or come
/// back online.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PresenceHidden {
    /// The user.
    pub user: Uuid,
    /// Hidden now (or shown).
    pub hidden: bool,
}

impl Handler<PresenceHidden> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: PresenceHidden, _: &mut Context<Self>) {
        let Some(entry) = self.users.get_mut(&msg.user) else {
            return;
        };
        if entry.hidden == msg.hidden {
            return;
        }
        entry.hidden = msg.hidden;
        if entry.sockets.is_empty() {
            // Leaving (the grace period): the offline announcement checks the stored setting,
            // and a socket that comes back is announced as for a first one.
            return;
        }
        entry.announced = !msg.hidden;
        let update = PresenceUpdate {
            user_id: msg.user,
            online: !msg.hidden,
            last_seen_at: None,
        };
        let conversations = entry.conversations.clone();
        self.announce_presence(&conversations, &update, None);
    }
}

/// Namespace → presence: `user` joined or left `conversation` while connected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MembershipChanged {
    /// The user.
    pub user: Uuid,
    /// The conversation.
    pub conversation: Uuid,
    /// A member now (`true`), or no longer.
    pub member: bool,
}

impl Handler<MembershipChanged> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: MembershipChanged, _: &mut Context<Self>) {
        if let Some(entry) = self.users.get_mut(&msg.user) {
            entry.conversations.retain(|c| *c != msg.conversation);
            if msg.member {
                entry.conversations.push(msg.conversation);
            }
        }
    }
}

/// HTTP/namespace → presence: the local sockets of `user`.
#[derive(Message)]
#[rtype(result = "Vec<Socket>")]
pub struct SocketsOf {
    /// The user.
    pub user: Uuid,
}

impl Handler<SocketsOf> for PresenceActor {
    type Result = MessageResult<SocketsOf>;

    fn handle(&mut self, msg: SocketsOf, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.users
                .get(&msg.user)
                .map(|e| e.sockets.clone())
                .unwrap_or_default(),
        )
    }
}

/// Namespace → presence: which of `users` are online here.
#[derive(Message)]
#[rtype(result = "Vec<bool>")]
pub struct Online {
    /// The users asked about.
    pub users: Vec<Uuid>,
}

impl Handler<Online> for PresenceActor {
    type Result = ResponseFuture<Vec<bool>>;

    fn handle(&mut self, msg: Online, _: &mut Context<Self>) -> Self::Result {
        let mut online: Vec<bool> = msg
            .users
            .iter()
            .map(|u| self.users.contains_key(u))
            .collect();
        let absent: Vec<Uuid> = msg
            .users
            .iter()
            .zip(&online)
            .filter(|(_, here)| !**here)
            .map(|(u, _)| *u)
            .collect();
        let Some(directory) = self.directory.clone().filter(|_| !absent.is_empty()) else {
            return Box::pin(std::future::ready(online));
        };
        Box::pin(async move {
            let mut elsewhere = directory.online_elsewhere(absent).await.into_iter();
            for here in online.iter_mut().filter(|here| !**here) {
                *here = elsewhere.next().unwrap_or(false);
            }
            online
        })
    }
}

/// Namespace → presence: `user` started (`typing: true`) or stopped typing in `conversation`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    /// Who is typing.
    pub user: Uuid,
    /// Where.
    pub conversation: Uuid,
    /// Started (`true`) or stopped.
    pub typing: bool,
    /// The socket that said so (it is not told its own typing).
    pub socket_id: String,
}

impl Handler<Typing> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: Typing, ctx: &mut Context<Self>) {
        let key = (msg.user, msg.conversation);
        let previous = self.typing.remove(&key);
        if let Some(typist) = &previous {
            ctx.cancel_future(typist.timer);
        }
        let (conversation_id, user_id) = (msg.conversation, msg.user);
        if msg.typing {
            // A renewal extends the timer; the others hear of it at most once per period.
            let now = Instant::now();
            let relayed = match previous {
                Some(typist) if now.duration_since(typist.relayed) < self.typing_relay_every => {
                    typist.relayed
                }
                _ => {
                    let start = TypingStart {
                        conversation_id,
                        user_id,
                    };
                    self.announce(&[conversation_id], &start, Some(&msg.socket_id));
                    now
                }
            };
            let timer = ctx.run_later(self.typing_timeout, move |act, _| {
                if act.typing.remove(&key).is_some() {
                    let stop = TypingStop {
                        conversation_id,
                        user_id,
                    };
                    act.announce(&[conversation_id], &stop, None);
                }
            });
            self.typing.insert(key, Typist { timer, relayed });
        } else if previous.is_some() {
            let stop = TypingStop {
                conversation_id,
                user_id,
            };
            self.announce(&[conversation_id], &stop, Some(&msg.socket_id));
        }
    }
}
