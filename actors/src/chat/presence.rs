//! `PresenceActor`: one per node. Knows which users have sockets here, turns their first
//! connection and their last disconnection (after a grace period) into `presence:update`, and
//! runs the typing timers. It does no I/O: storage calls stay in the namespace handler.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;
use serde_json::json;
use uuid::Uuid;

use super::time::rfc3339_millis;
use super::Rooms;
use crate::engine::Socket;
use crate::protocol::engineio::Frame;
use crate::protocol::socketio;

/// How long a user stays online after their last socket leaves.
pub const OFFLINE_GRACE: Duration = Duration::from_secs(5);
/// A `typing:start` not renewed within this is followed by `typing:stop`.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(6);

#[derive(Default)]
struct UserEntry {
    sockets: Vec<Socket>,
    conversations: Vec<Uuid>,
    /// Pending offline announcement (the grace timer).
    leaving: Option<SpawnHandle>,
}

pub struct PresenceActor {
    rooms: Rooms,
    grace: Duration,
    typing_timeout: Duration,
    users: HashMap<Uuid, UserEntry>,
    typing: HashMap<(Uuid, Uuid), SpawnHandle>,
    /// Persists a user's last-seen time; the offline announcement waits for it.
    went_offline: WentOffline,
}

/// Persists `(user, last seen)`; resolves when stored (or given up).
pub type WentOffline = Box<dyn Fn(Uuid, SystemTime) -> LocalBoxFuture<'static, ()>>;

impl PresenceActor {
    pub fn new(
        rooms: Rooms,
        grace: Duration,
        typing_timeout: Duration,
        went_offline: WentOffline,
    ) -> Self {
        PresenceActor {
            rooms,
            grace,
            typing_timeout,
            users: HashMap::new(),
            typing: HashMap::new(),
            went_offline,
        }
    }

    /// Publishes an event to the rooms of `conversations`.
    fn announce(
        &self,
        conversations: &[Uuid],
        event: &str,
        data: &serde_json::Value,
        except: Option<&str>,
    ) {
        let Ok(text) = socketio::encode_event_with("/", event, data) else {
            return;
        };
        let frame = Frame::message(&text);
        for conversation in conversations {
            self.rooms.publish(*conversation, frame.clone(), except);
        }
    }
}

impl Actor for PresenceActor {
    type Context = Context<Self>;
}

/// Namespace → presence: a socket of `user` is connected (and subscribed to `conversations`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Arrived {
    pub user: Uuid,
    pub socket: Socket,
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
        entry.sockets.push(msg.socket);
        for conversation in msg.conversations {
            if !entry.conversations.contains(&conversation) {
                entry.conversations.push(conversation);
            }
        }
        if !was_online {
            let conversations = entry.conversations.clone();
            let update = json!({ "userId": msg.user, "online": true, "lastSeenAt": null });
            self.announce(&conversations, "presence:update", &update, Some(&arriving));
        }
    }
}

/// Namespace → presence: a socket of `user` is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Departed {
    pub user: Uuid,
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
            let Some(entry) = act.users.remove(&user) else { return };
            if !entry.sockets.is_empty() {
                act.users.insert(user, entry);
                return;
            }
            let at = SystemTime::now();
            let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
            let update = json!({ "userId": user, "online": false, "lastSeenAt": rfc3339_millis(since_epoch) });
            // Stored first, so a presence:query after the announcement sees the same time.
            let conversations = entry.conversations;
            ctx.spawn((act.went_offline)(user, at).into_actor(act).map(move |(), act, _| {
                if !act.users.contains_key(&user) {
                    act.announce(&conversations, "presence:update", &update, None);
                }
            }));
        });
        entry.leaving = Some(timer);
    }
}

/// Namespace → presence: `user` joined or left `conversation` while connected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Membership {
    pub user: Uuid,
    pub conversation: Uuid,
    pub member: bool,
}

impl Handler<Membership> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: Membership, _: &mut Context<Self>) {
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
    pub users: Vec<Uuid>,
}

impl Handler<Online> for PresenceActor {
    type Result = MessageResult<Online>;

    fn handle(&mut self, msg: Online, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            msg.users
                .iter()
                .map(|u| self.users.contains_key(u))
                .collect(),
        )
    }
}

/// Namespace → presence: `user` started (`typing: true`) or stopped typing in `conversation`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    pub user: Uuid,
    pub conversation: Uuid,
    pub typing: bool,
    /// The socket that said so (it is not told its own typing).
    pub socket_id: String,
}

impl Handler<Typing> for PresenceActor {
    type Result = ();

    fn handle(&mut self, msg: Typing, ctx: &mut Context<Self>) {
        let key = (msg.user, msg.conversation);
        let was_typing = match self.typing.remove(&key) {
            Some(timer) => {
                ctx.cancel_future(timer);
                true
            }
            None => false,
        };
        let data = json!({ "conversationId": msg.conversation, "userId": msg.user });
        if msg.typing {
            self.announce(
                &[msg.conversation],
                "typing:start",
                &data,
                Some(&msg.socket_id),
            );
            let timer = ctx.run_later(self.typing_timeout, move |act, _| {
                if act.typing.remove(&key).is_some() {
                    act.announce(&[key.1], "typing:stop", &data, None);
                }
            });
            self.typing.insert(key, timer);
        } else if was_typing {
            self.announce(
                &[msg.conversation],
                "typing:stop",
                &data,
                Some(&msg.socket_id),
            );
        }
    }
}
