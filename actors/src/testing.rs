//! Test doubles for the chat layer's ports, in the spirit of an in-memory adapter: a store, a
//! room bridge and a presence directory that keep everything in memory and record what they
//! were asked, and clients whose frames land in one shared log. With them the namespace runs
//! its real code, actors included, without PostgreSQL or Redis.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use futures_util::future::BoxFuture;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::chat::{
    ChatNamespace, ChatParts, ChatStore, ChatTimers, Committed, History, Limiter, Membership,
    NewMessage, PresenceDirectory, RoomBridge, Rooms, StoreError,
};
use crate::engine::{
    Ack, ConnectError, Engine, EngineConfig, Event, NamespaceHandler, Socket, WsOut,
};
use crate::protocol::engineio::Frame;
use crate::protocol::socketio::Payload;
use crate::ErrorCode;

/// How long a test waits for a frame before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A store that keeps users, conversations and messages in memory. It applies the rules of
/// the real send (validation, membership, the sending rate, one message per client id), in
/// that order. Cloning shares it.
#[derive(Clone)]
pub struct MemoryStore {
    world: Arc<Mutex<World>>,
    limiter: Limiter,
}

#[derive(Default)]
struct World {
    tokens: HashMap<String, Uuid>,
    conversations: HashMap<Uuid, Conversation>,
    by_client_id: HashMap<(Uuid, String), (Uuid, usize)>,
    last_seen: HashMap<Uuid, String>,
}

#[derive(Default)]
struct Conversation {
    members: Vec<Uuid>,
    messages: Vec<Arc<RawValue>>,
    /// Each member's (delivered, read) watermarks.
    marks: HashMap<Uuid, (i64, i64)>,
}

impl MemoryStore {
    /// An empty store whose sends spend tokens of `limiter`.
    pub fn new(limiter: Limiter) -> MemoryStore {
        MemoryStore {
            world: Arc::default(),
            limiter,
        }
    }

    /// A new user, and the token that signs them in.
    pub fn user(&self) -> (Uuid, String) {
        let user = Uuid::new_v4();
        let token = format!("token-{user}");
        lock(&self.world).tokens.insert(token.clone(), user);
        (user, token)
    }

    /// A new conversation of `members`.
    pub fn conversation(&self, members: &[Uuid]) -> Uuid {
        let id = Uuid::new_v4();
        let conversation = Conversation {
            members: members.to_vec(),
            ..Default::default()
        };
        lock(&self.world).conversations.insert(id, conversation);
        id
    }

    /// Makes `user` a member of `conversation` (or no longer one).
    pub fn set_member(&self, conversation: Uuid, user: Uuid, member: bool) {
        let mut world = lock(&self.world);
        if let Some(c) = world.conversations.get_mut(&conversation) {
            c.members.retain(|m| *m != user);
            if member {
                c.members.push(user);
            }
        }
    }

    /// How many messages `conversation` holds.
    pub fn stored(&self, conversation: Uuid) -> usize {
        lock(&self.world)
            .conversations
            .get(&conversation)
            .map_or(0, |c| c.messages.len())
    }

    fn message_json(message: &NewMessage, seq: usize) -> Result<Arc<RawValue>, StoreError> {
        let json = json!({
            "id": seq.to_string(),
            "conversationId": message.conversation_id,
            "seq": seq,
            "senderId": message.sender_id,
            "clientMessageId": message.client_message_id,
            "body": message.body.trim(),
        });
        serde_json::value::to_raw_value(&json)
            .map(Arc::from)
            .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))
    }
}

fn not_found() -> StoreError {
    StoreError::new(ErrorCode::NotFound, "conversation not found")
}

impl ChatStore for MemoryStore {
    fn verify_token(&self, token: &str) -> Result<Uuid, ErrorCode> {
        lock(&self.world)
            .tokens
            .get(token)
            .copied()
            .ok_or(ErrorCode::Unauthorized)
    }

    async fn memberships(&self, user: Uuid) -> Result<Vec<Membership>, StoreError> {
        let world = lock(&self.world);
        Ok(world
            .conversations
            .iter()
            .filter(|(_, c)| c.members.contains(&user))
            .map(|(id, c)| Membership {
                conversation_id: *id,
                last_seq: c.messages.len() as i64,
                last_read_seq: c.marks.get(&user).map_or(0, |m| m.1),
            })
            .collect())
    }

    async fn send(&self, message: NewMessage) -> Result<Committed, StoreError> {
        if message.body.trim().is_empty() || message.client_message_id.is_empty() {
            return Err(StoreError::new(
                ErrorCode::Invalid,
                "body must not be empty",
            ));
        }
        let mut world = lock(&self.world);
        let key = (message.sender_id, message.client_message_id.clone());
        if let Some((conversation, index)) = world.by_client_id.get(&key).copied() {
            if conversation != message.conversation_id {
                return Err(StoreError::new(
                    ErrorCode::Conflict,
                    "clientMessageId taken",
                ));
            }
            let stored = &world.conversations[&conversation].messages[index];
            return Ok(Committed {
                conversation_id: conversation,
                seq: index as i64 + 1,
                message: stored.clone(),
                created: false,
            });
        }
        let conversation = world
            .conversations
            .get_mut(&message.conversation_id)
            .filter(|c| c.members.contains(&message.sender_id))
            .ok_or_else(not_found)?;
        if let Err(wait) = self.limiter.check(message.sender_id) {
            return Err(StoreError {
                retry_after_ms: Some((wait.as_millis() as u64).max(1)),
                ..StoreError::new(ErrorCode::RateLimited, "sending too fast; retry later")
            });
        }
        let seq = conversation.messages.len() + 1;
        let json = Self::message_json(&message, seq)?;
        conversation.messages.push(json.clone());
        world
            .by_client_id
            .insert(key, (message.conversation_id, seq - 1));
        Ok(Committed {
            conversation_id: message.conversation_id,
            seq: seq as i64,
            message: json,
            created: true,
        })
    }

    async fn mark(
        &self,
        user: Uuid,
        conversation: Uuid,
        seq: i64,
        read: bool,
    ) -> Result<(i64, i64), StoreError> {
        let mut world = lock(&self.world);
        let c = world
            .conversations
            .get_mut(&conversation)
            .filter(|c| c.members.contains(&user))
            .ok_or_else(not_found)?;
        let seq = seq.min(c.messages.len() as i64);
        let marks = c.marks.entry(user).or_default();
        marks.0 = marks.0.max(seq);
        if read {
            marks.1 = marks.1.max(seq);
        }
        Ok(*marks)
    }

    async fn last_seen(&self, users: Vec<Uuid>) -> Result<Vec<(Uuid, Option<String>)>, StoreError> {
        let world = lock(&self.world);
        Ok(users
            .into_iter()
            .map(|u| (u, world.last_seen.get(&u).cloned()))
            .collect())
    }

    async fn set_last_seen(&self, user: Uuid, _at: SystemTime) -> Result<(), StoreError> {
        lock(&self.world).last_seen.insert(user, "seen".into());
        Ok(())
    }

    async fn history(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> Result<History, StoreError> {
        let world = lock(&self.world);
        let c = world
            .conversations
            .get(&conversation)
            .filter(|c| c.members.contains(&user))
            .ok_or_else(not_found)?;
        let after: Vec<&RawValue> = c
            .messages
            .iter()
            .skip(after_seq.max(0) as usize)
            .map(|m| &**m)
            .collect();
        let page = &after[..after.len().min(limit.max(0) as usize)];
        let messages = serde_json::value::to_raw_value(page)
            .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))?;
        Ok(History {
            messages,
            has_more: after.len() > page.len(),
        })
    }
}

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

/// Every text frame any client of a node received, in the order they arrived.
#[derive(Clone, Default)]
pub struct FrameLog {
    inner: Arc<LogInner>,
}

#[derive(Default)]
struct LogInner {
    frames: Mutex<Vec<(usize, String)>>,
    arrived: Notify,
}

impl FrameLog {
    fn push(&self, client: usize, text: String) {
        lock(&self.inner.frames).push((client, text));
        self.inner.arrived.notify_waiters();
    }

    /// The frames so far, each with the index of the client that got it.
    pub fn all(&self) -> Vec<(usize, String)> {
        lock(&self.inner.frames).clone()
    }

    /// Waits until `done` holds for the frames so far; panics after a few seconds.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[(usize, String)]) -> bool) {
        let waiting = async {
            loop {
                let notified = self.inner.arrived.notified();
                if done(&lock(&self.inner.frames)) {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(PATIENCE, waiting).await.is_err() {
            panic!("no {what} within {PATIENCE:?}; frames: {:#?}", self.all());
        }
    }
}

/// Stands in for a client's WebSocket: what its session writes goes to the log.
struct Recorder {
    client: usize,
    log: FrameLog,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<WsOut> for Recorder {
    type Result = ();

    fn handle(&mut self, msg: WsOut, _: &mut Context<Self>) {
        if let WsOut::Frames(frames) = msg {
            for frame in frames {
                if let Frame::Text(text) = frame {
                    self.log.push(self.client, text.to_string());
                }
            }
        }
    }
}

/// One node's chat layer on the doubles. Start it inside an actix system.
pub struct TestNode {
    /// The node's store.
    pub store: MemoryStore,
    /// What it asked of the other nodes.
    pub bridge: Arc<MemoryBridge>,
    /// Who is online elsewhere.
    pub directory: Arc<MemoryDirectory>,
    /// The namespace under test.
    pub chat: ChatNamespace<MemoryStore>,
    /// The node's rooms.
    pub rooms: Rooms,
    /// Every frame its clients received.
    pub log: FrameLog,
    engine: Engine,
    clients: AtomicU64,
}

impl TestNode {
    /// A node whose users may send at `limiter`'s rate.
    pub fn start(limiter: Limiter, timers: ChatTimers) -> TestNode {
        let store = MemoryStore::new(limiter);
        let bridge = Arc::new(MemoryBridge::default());
        let directory = Arc::new(MemoryDirectory::default());
        let rooms = Rooms::with_bridge(bridge.clone());
        let chat = ChatNamespace::new(ChatParts {
            store: store.clone(),
            rooms: rooms.clone(),
            directory: Some(directory.clone()),
            timers,
            on_acked: None,
        });
        let handler: Arc<dyn NamespaceHandler> = Arc::new(chat.clone());
        let engine = Engine::socket_io(EngineConfig::default(), vec![("/".into(), handler)]);
        TestNode {
            store,
            bridge,
            directory,
            chat,
            rooms,
            log: FrameLog::default(),
            engine,
            clients: AtomicU64::new(0),
        }
    }

    /// A client that connects with `token`; `Err` with the CONNECT_ERROR when refused.
    pub async fn connect(&self, token: &str) -> Result<TestClient, ConnectError> {
        let index = self.clients.fetch_add(1, Ordering::Relaxed) as usize;
        let recorder = Recorder {
            client: index,
            log: self.log.clone(),
        }
        .start();
        let socket = self.engine.detached_socket("/", recorder.recipient());
        self.chat
            .connect(socket.clone(), Some(json!({ "token": token })))
            .await?;
        self.chat.connected(&socket);
        Ok(TestClient {
            index,
            socket,
            chat: self.chat.clone(),
            next_ack: AtomicU64::new(0),
        })
    }
}

/// A connected client of a [`TestNode`].
pub struct TestClient {
    /// Its index in the node's frame log.
    pub index: usize,
    socket: Socket,
    chat: ChatNamespace<MemoryStore>,
    next_ack: AtomicU64,
}

impl TestClient {
    /// Sends `event` with `payload` and an ack id (returned), and waits for its handler.
    pub async fn emit(&self, event: &str, payload: Value) -> u64 {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let ack = Ack {
            session: self.socket.session().addr.clone(),
            nsp: "/".into(),
            id,
        };
        self.event(event, payload, Some(ack)).await;
        id
    }

    /// Sends `event` with `payload` and no ack, and waits for its handler.
    pub async fn emit_without_ack(&self, event: &str, payload: Value) {
        self.event(event, payload, None).await;
    }

    async fn event(&self, name: &str, payload: Value, ack: Option<Ack>) {
        let event = Event {
            name: name.to_string(),
            payload: Payload::json(vec![payload]),
            ack,
        };
        self.chat.event(self.socket.clone(), event).await;
    }

    /// The client leaves.
    pub fn disconnect(&self) {
        self.chat.disconnect(
            &self.socket,
            crate::engine::DisconnectReason::ClientNamespaceDisconnect,
        );
    }
}

/// Whether `frame` is the ack with `id`.
pub fn is_ack(frame: &str, id: u64) -> bool {
    frame
        .strip_prefix(&format!("43{id}"))
        .is_some_and(|rest| rest.starts_with('['))
}

/// Whether `frame` is the event `name`.
pub fn is_event(frame: &str, name: &str) -> bool {
    frame.starts_with(&format!("42[\"{name}\""))
}

/// The first argument of an ack or event frame.
pub fn first_arg(frame: &str) -> Value {
    let json = frame.trim_start_matches(|c: char| c.is_ascii_digit());
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(args)) if frame.starts_with("43") => {
            args.into_iter().next().unwrap_or(Value::Null)
        }
        Ok(Value::Array(args)) => args.into_iter().nth(1).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}
