//! The contract's events on the main namespace: authentication on CONNECT, `session:ready`,
//! room subscriptions, `message:send` (commit, then ack, `message:sent` and `message:new`),
//! `sync:request`, typing, receipts, presence, and live membership changes. Failures become
//! `{ ok: false, error }` acks, or `request:error` without one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use actix::{Actor, Addr};

use super::presence::{
    Arrived, Departed, Membership as PresenceMembership, Online, PresenceActor, PresenceDirectory,
    SocketsOf, Typing, OFFLINE_GRACE, TYPING_TIMEOUT,
};
use super::store::{ChatStore, Membership, NewMessage, StoreError};
use super::{Limiter, Rooms};
use crate::engine::{Ack, ConnectError, DisconnectReason, Event, NamespaceHandler, Socket};
use crate::protocol::engineio::Frame;
use crate::protocol::socketio;
use crate::ErrorCode;

/// Most messages one `sync:request` returns.
const SYNC_MAX: i64 = 100;

/// The chat namespace handler. Cloning shares it.
pub struct ChatNamespace<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for ChatNamespace<S> {
    fn clone(&self) -> Self {
        ChatNamespace {
            inner: self.inner.clone(),
        }
    }
}

/// Told how long each socket send took from its event arriving to its ack being queued.
pub type AckObserver = Box<dyn Fn(std::time::Duration) + Send + Sync>;

struct Inner<S> {
    /// Sends between their request and their commit (a draining node waits for them).
    in_flight: std::sync::atomic::AtomicUsize,
    acked: std::sync::OnceLock<AckObserver>,
    store: Arc<S>,
    rooms: Rooms,
    limiter: Limiter,
    presence: Addr<PresenceActor>,
}

/// What the chat layer keeps on each socket.
struct SocketState {
    user: Uuid,
    memberships: Vec<Membership>,
    /// The conversations whose rooms this socket has joined.
    joined: Mutex<HashSet<Uuid>>,
}

impl<S: ChatStore> ChatNamespace<S> {
    /// A namespace over `store`. Starts the node's presence actor (call inside an actix system),
    /// which asks `directory`, when there is one, about users online on other nodes.
    pub fn new(
        store: S,
        rooms: Rooms,
        limiter: Limiter,
        directory: Option<Arc<dyn PresenceDirectory>>,
    ) -> Self {
        let store = Arc::new(store);
        let saver = store.clone();
        let went_offline: super::presence::WentOffline = Box::new(move |user, at| {
            let saver = saver.clone();
            async move {
                if let Err(err) = saver.set_last_seen(user, at).await {
                    log::warn!(user_id:% = user, cause = err.message.as_str(); "last seen not saved");
                }
            }
            .boxed_local()
        });
        let presence = PresenceActor::new(
            rooms.clone(),
            OFFLINE_GRACE,
            TYPING_TIMEOUT,
            went_offline,
            directory,
        )
        .start();
        ChatNamespace {
            inner: Arc::new(Inner {
                in_flight: Default::default(),
                acked: std::sync::OnceLock::new(),
                store,
                rooms,
                limiter,
                presence,
            }),
        }
    }

    /// Where the time from a socket send's arrival to its ack goes (set once, for metrics).
    pub fn on_acked(&self, observer: AckObserver) {
        let _ = self.inner.acked.set(observer);
    }

    /// Socket sends waiting for their commit.
    pub fn sends_in_flight(&self) -> usize {
        self.inner
            .in_flight
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The node's rooms (the HTTP API publishes through them too).
    pub fn rooms(&self) -> &Rooms {
        &self.inner.rooms
    }

    /// `user` joined `conversation` (described by `conversation_json`, the Conversation object):
    /// their sockets on every node subscribe to it, then hear `conversation:added`.
    pub async fn conversation_added(
        &self,
        user: Uuid,
        conversation: Uuid,
        conversation_json: &str,
    ) {
        self.added_here(user, conversation, conversation_json).await;
        if let Some(bridge) = self.inner.rooms.bridge() {
            let event = format!(
                "{{\"kind\":\"added\",\"conversationId\":\"{conversation}\",\"conversation\":{conversation_json}}}"
            );
            bridge.publish_user(user, event);
        }
    }

    /// `user` left `conversation`: their sockets on every node hear `conversation:removed` and
    /// leave it.
    pub async fn conversation_removed(&self, user: Uuid, conversation: Uuid) {
        self.removed_here(user, conversation).await;
        if let Some(bridge) = self.inner.rooms.bridge() {
            let event = format!("{{\"kind\":\"removed\",\"conversationId\":\"{conversation}\"}}");
            bridge.publish_user(user, event);
        }
    }

    /// `users` were online only on a node that died: stores when they were last seen (`at`) and
    /// tells their conversations they went offline, unless they are back by now.
    pub async fn users_gone(&self, users: Vec<Uuid>, at: std::time::SystemTime) {
        let online = self
            .inner
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
            let store = &self.inner.store;
            if let Err(err) = store.set_last_seen(user, at).await {
                log::warn!(user_id:% = user, cause = err.message.as_str(); "last seen not saved");
            }
            let Ok(memberships) = store.memberships(user).await else {
                continue;
            };
            self.inner
                .rooms
                .stats()
                .presence(super::PresenceTransition::Reaped);
            let update = super::presence::offline_update(user, at);
            let Ok(text) = socketio::encode_event_with("/", "presence:update", &update) else {
                continue;
            };
            let frame = Frame::message(&text);
            for membership in memberships {
                self.inner
                    .rooms
                    .publish(membership.conversation_id, frame.clone(), None);
            }
        }
    }

    /// Applies a membership event another node published for `user` to this node's sockets.
    pub async fn apply_remote(&self, user: Uuid, event: &str) {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Remote {
            kind: String,
            conversation_id: Uuid,
            conversation: Option<Box<serde_json::value::RawValue>>,
        }
        let Ok(remote) = serde_json::from_str::<Remote>(event) else {
            log::warn!("malformed membership event from another node");
            return;
        };
        match (remote.kind.as_str(), remote.conversation) {
            ("added", Some(json)) => {
                self.added_here(user, remote.conversation_id, json.get())
                    .await
            }
            ("removed", _) => self.removed_here(user, remote.conversation_id).await,
            _ => log::warn!("unknown membership event from another node"),
        }
    }

    async fn added_here(&self, user: Uuid, conversation: Uuid, conversation_json: &str) {
        let sockets = self
            .inner
            .presence
            .send(SocketsOf { user })
            .await
            .unwrap_or_default();
        let added = format!("{{\"conversation\":{conversation_json}}}");
        for socket in sockets {
            if let Some(state) = socket.data::<SocketState>() {
                if state.join(conversation) {
                    self.inner.rooms.join(conversation, socket.clone(), None);
                }
            }
            socket.emit_json("conversation:added", &added);
        }
        self.inner.presence.do_send(PresenceMembership {
            user,
            conversation,
            member: true,
        });
    }

    async fn removed_here(&self, user: Uuid, conversation: Uuid) {
        let sockets = self
            .inner
            .presence
            .send(SocketsOf { user })
            .await
            .unwrap_or_default();
        for socket in sockets {
            if let Some(state) = socket.data::<SocketState>() {
                if state.leave(conversation) {
                    self.inner.rooms.leave(conversation, socket.id());
                }
            }
            let _ = socket.emit(
                "conversation:removed",
                &json!({ "conversationId": conversation }),
            );
        }
        self.inner.presence.do_send(PresenceMembership {
            user,
            conversation,
            member: false,
        });
    }
}

impl SocketState {
    fn joined(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.joined.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a subscription; false when it already existed.
    fn join(&self, conversation: Uuid) -> bool {
        self.joined().insert(conversation)
    }

    /// Drops a subscription; false when there was none.
    fn leave(&self, conversation: Uuid) -> bool {
        self.joined().remove(&conversation)
    }

    fn is_member(&self, conversation: Uuid) -> bool {
        self.joined().contains(&conversation)
    }
}

/// The frame of `message:new` for a committed Message (JSON text), encoded once for all.
pub fn message_new_frame(message: &str) -> Frame {
    Frame::message(&socketio::encode_event_json("/", "message:new", message))
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
            .or_else(|| socket.session().query_param("token"))
            .map(str::to_string);
        let inner = self.inner.clone();
        async move {
            let token = token.ok_or_else(|| refuse(ErrorCode::Unauthorized))?;
            let user = inner.store.verify_token(&token).map_err(refuse)?;
            let memberships = inner
                .store
                .memberships(user)
                .await
                .map_err(|err| ConnectError {
                    message: err.code.as_str().into(),
                    data: Some(json!({ "code": err.code })),
                })?;
            socket.set_data(Arc::new(SocketState {
                user,
                memberships,
                joined: Mutex::new(HashSet::new()),
            }));
            Ok(())
        }
        .boxed_local()
    }

    fn connected(&self, socket: &Socket) {
        let Some(state) = socket.data::<SocketState>() else {
            return;
        };
        let conversations: Vec<Value> = state
            .memberships
            .iter()
            .map(|m| json!({ "conversationId": m.conversation_id, "lastSeq": m.last_seq, "lastReadSeq": m.last_read_seq }))
            .collect();
        let ready = json!({ "userId": state.user, "sessionId": socket.id(), "conversations": conversations });
        let _ = socket.emit("session:ready", &ready);
        for membership in &state.memberships {
            let conversation = membership.conversation_id;
            if state.join(conversation) {
                let last_seq = Some(membership.last_seq);
                self.inner
                    .rooms
                    .join(conversation, socket.clone(), last_seq);
            }
        }
        let conversations: Vec<Uuid> = state
            .memberships
            .iter()
            .map(|m| m.conversation_id)
            .collect();
        self.inner.presence.do_send(Arrived {
            user: state.user,
            socket: socket.clone(),
            conversations,
        });
    }

    fn disconnect(&self, socket: &Socket, _reason: DisconnectReason) {
        let Some(state) = socket.data::<SocketState>() else {
            return;
        };
        let joined = std::mem::take(&mut *state.joined());
        for conversation in joined {
            self.inner.rooms.leave(conversation, socket.id());
        }
        self.inner.presence.do_send(Departed {
            user: state.user,
            socket_id: socket.id().to_string(),
        });
    }

    fn event(&self, socket: Socket, event: Event) -> LocalBoxFuture<'static, ()> {
        let inner = self.inner.clone();
        async move {
            let received = std::time::Instant::now();
            let Some(state) = socket.data::<SocketState>() else {
                return;
            };
            let Event {
                name,
                payload,
                mut ack,
            } = event;
            inner.rooms.stats().event(&name);
            let result = match name.as_str() {
                "message:send" => {
                    let sent = send(&inner, &socket, &state, payload.args.first(), &mut ack).await;
                    if let (Ok(_), Some(observe)) = (&sent, inner.acked.get()) {
                        observe(received.elapsed());
                    }
                    sent
                }
                "sync:request" => sync(&inner, &state, payload.args.first()).await,
                "typing:start" | "typing:stop" => {
                    typing(&inner, &socket, &state, &name, payload.args.first())
                }
                "receipt:delivered" | "receipt:read" => {
                    receipt(&inner, &socket, &state, &name, payload.args.first()).await
                }
                "presence:query" => presence(&inner, payload.args.first()).await,
                _ => Err(StoreError::new(
                    ErrorCode::Invalid,
                    format!("unknown event {name:?}"),
                )),
            };
            respond(&socket, &name, ack, result);
        }
        .boxed_local()
    }
}

/// The first argument of an event as `T`; anything else is `invalid`.
fn parse<T: DeserializeOwned>(arg: Option<&Value>) -> Result<T, StoreError> {
    match arg {
        Some(value @ Value::Object(_)) => T::deserialize(value)
            .map_err(|err| StoreError::new(ErrorCode::Invalid, format!("invalid payload: {err}"))),
        _ => Err(StoreError::new(
            ErrorCode::Invalid,
            "the payload must be an object",
        )),
    }
}

fn conversation_id(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id).map_err(|_| StoreError::new(ErrorCode::NotFound, "conversation not found"))
}

/// Counts a send as in flight until dropped (also when its future is dropped mid-way).
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendPayload {
    conversation_id: String,
    client_message_id: String,
    body: String,
    #[serde(default)]
    attachment_ids: Vec<String>,
}

/// Commits; then, in the contract's order, acks (taking `ack`), tells the sending socket
/// `message:sent` and every other subscribed socket `message:new` (not again for a retry).
/// Returns the ack's JSON; a failure is left for the caller to answer.
async fn send<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    arg: Option<&Value>,
    ack: &mut Option<Ack>,
) -> Result<String, StoreError> {
    let payload: SendPayload = parse(arg)?;
    let conversation = conversation_id(&payload.conversation_id)?;
    if let Err(wait) = inner.limiter.check(state.user) {
        inner.rooms.stats().rate_limited();
        return Err(StoreError {
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
            ..StoreError::new(ErrorCode::RateLimited, "sending too fast; retry later")
        });
    }
    let in_flight = InFlight::enter(&inner.in_flight);
    let committed = inner
        .store
        .send(NewMessage {
            conversation_id: conversation,
            sender_id: state.user,
            client_message_id: payload.client_message_id.clone(),
            body: payload.body,
            attachment_ids: payload.attachment_ids,
        })
        .await;
    drop(in_flight);
    let committed = committed?;
    let acked = format!("{{\"ok\":true,\"message\":{}}}", committed.message);
    if let Some(ack) = ack.take() {
        ack.send_json(&acked);
    }
    let sent = format!(
        "{{\"clientMessageId\":{},\"message\":{}}}",
        Value::from(payload.client_message_id),
        committed.message
    );
    socket.emit_json("message:sent", &sent);
    if committed.created {
        // Let the sender's two frames reach its connection before the fan-out below takes this
        // thread: queued behind a room's worth of deliveries, the ack waited for all of them.
        tokio::task::yield_now().await;
        inner.rooms.publish_message(
            conversation,
            committed.seq,
            message_new_frame(&committed.message),
            Some(socket.id()),
        );
    }
    Ok(acked)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncPayload {
    conversation_id: String,
    after_seq: i64,
    limit: Option<i64>,
}

async fn sync<S: ChatStore>(
    inner: &Inner<S>,
    state: &SocketState,
    arg: Option<&Value>,
) -> Result<String, StoreError> {
    let payload: SyncPayload = parse(arg)?;
    let conversation = conversation_id(&payload.conversation_id)?;
    let limit = payload.limit.unwrap_or(SYNC_MAX);
    if payload.after_seq < 0 || !(1..=SYNC_MAX).contains(&limit) {
        return Err(StoreError::new(
            ErrorCode::Invalid,
            "afterSeq must be at least 0 and limit 1-100",
        ));
    }
    let history = inner
        .store
        .history(state.user, conversation, payload.after_seq, limit)
        .await?;
    Ok(format!(
        "{{\"ok\":true,\"messages\":{},\"hasMore\":{}}}",
        history.messages, history.has_more
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConversationPayload {
    conversation_id: String,
}

/// A conversation the socket is subscribed to; any other is `not_found`.
fn subscribed(state: &SocketState, id: &str) -> Result<Uuid, StoreError> {
    let conversation = conversation_id(id)?;
    if state.is_member(conversation) {
        Ok(conversation)
    } else {
        Err(StoreError::new(
            ErrorCode::NotFound,
            "conversation not found",
        ))
    }
}

fn typing<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    name: &str,
    arg: Option<&Value>,
) -> Result<String, StoreError> {
    let payload: ConversationPayload = parse(arg)?;
    let conversation = subscribed(state, &payload.conversation_id)?;
    inner.presence.do_send(Typing {
        user: state.user,
        conversation,
        typing: name == "typing:start",
        socket_id: socket.id().to_string(),
    });
    Ok("{\"ok\":true}".into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptPayload {
    conversation_id: String,
    seq: i64,
}

async fn receipt<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    name: &str,
    arg: Option<&Value>,
) -> Result<String, StoreError> {
    let payload: ReceiptPayload = parse(arg)?;
    let conversation = conversation_id(&payload.conversation_id)?;
    if payload.seq < 0 {
        return Err(StoreError::new(
            ErrorCode::Invalid,
            "seq must be at least 0",
        ));
    }
    let read = name == "receipt:read";
    let (delivered, read_seq) = inner
        .store
        .mark(state.user, conversation, payload.seq, read)
        .await?;
    let update = json!({
        "conversationId": conversation,
        "userId": state.user,
        "lastDeliveredSeq": delivered,
        "lastReadSeq": read_seq,
    });
    if let Ok(text) = socketio::encode_event_with("/", "receipt:updated", &update) {
        inner
            .rooms
            .publish(conversation, Frame::message(&text), Some(socket.id()));
    }
    Ok(format!(
        "{{\"ok\":true,\"lastDeliveredSeq\":{delivered},\"lastReadSeq\":{read_seq}}}"
    ))
}

/// Most users one `presence:query` may name.
const PRESENCE_MAX: usize = 200;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresencePayload {
    user_ids: Vec<String>,
}

async fn presence<S: ChatStore>(
    inner: &Inner<S>,
    arg: Option<&Value>,
) -> Result<String, StoreError> {
    let payload: PresencePayload = parse(arg)?;
    if payload.user_ids.len() > PRESENCE_MAX {
        return Err(StoreError::new(ErrorCode::Invalid, "at most 200 userIds"));
    }
    let users = payload
        .user_ids
        .iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|_| StoreError::new(ErrorCode::Invalid, "userIds must be user ids"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let online = inner
        .presence
        .send(Online {
            users: users.clone(),
        })
        .await
        .map_err(|_| StoreError::new(ErrorCode::Unavailable, "presence is unavailable"))?;
    let seen = inner.store.last_seen(users.clone()).await?;
    let presence: Vec<Value> = users
        .iter()
        .zip(online)
        .map(|(user, online)| {
            let last_seen = seen.iter().find(|(u, _)| u == user).and_then(|(_, at)| at.clone());
            json!({ "userId": user, "online": online, "lastSeenAt": if online { None } else { last_seen } })
        })
        .collect();
    Ok(json!({ "ok": true, "presence": presence }).to_string())
}

/// Acks the result; a failure without an ack becomes `request:error` on the socket.
fn respond(socket: &Socket, event: &str, ack: Option<Ack>, result: Result<String, StoreError>) {
    match (result, ack) {
        (Ok(json), Some(ack)) => ack.send_json(&json),
        (Ok(_), None) => {}
        (Err(err), ack) => {
            let mut error = json!({ "code": err.code, "message": err.message });
            if let Some(wait) = err.retry_after_ms {
                error["retryAfterMs"] = json!(wait);
            }
            match ack {
                Some(ack) => ack.send(&json!({ "ok": false, "error": error })),
                None => {
                    let _ = socket.emit(
                        "request:error",
                        &json!({ "event": event, "code": err.code, "message": err.message }),
                    );
                }
            }
        }
    }
}
