//! The contract's events on the main namespace: authentication on CONNECT, `session:ready`,
//! room subscriptions, `message:send` (commit, then ack, `message:sent` and `message:new`) and
//! `sync:request`. Failures become `{ ok: false, error }` acks, or `request:error` without one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

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

struct Inner<S> {
    store: S,
    rooms: Rooms,
    limiter: Limiter,
}

/// What the chat layer keeps on each socket.
struct SocketState {
    user: Uuid,
    memberships: Vec<Membership>,
    /// The conversations whose rooms this socket has joined.
    joined: Mutex<HashSet<Uuid>>,
}

impl<S: ChatStore> ChatNamespace<S> {
    pub fn new(store: S, rooms: Rooms, limiter: Limiter) -> Self {
        ChatNamespace {
            inner: Arc::new(Inner {
                store,
                rooms,
                limiter,
            }),
        }
    }

    /// The node's rooms (the HTTP API publishes through them too).
    pub fn rooms(&self) -> &Rooms {
        &self.inner.rooms
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
        let mut joined = state.joined.lock().unwrap_or_else(|p| p.into_inner());
        for membership in &state.memberships {
            if joined.insert(membership.conversation_id) {
                self.inner
                    .rooms
                    .join(membership.conversation_id, socket.clone());
            }
        }
    }

    fn disconnect(&self, socket: &Socket, _reason: DisconnectReason) {
        let Some(state) = socket.data::<SocketState>() else {
            return;
        };
        let joined = std::mem::take(&mut *state.joined.lock().unwrap_or_else(|p| p.into_inner()));
        for conversation in joined {
            self.inner.rooms.leave(conversation, socket.id());
        }
    }

    fn event(&self, socket: Socket, event: Event) -> LocalBoxFuture<'static, ()> {
        let inner = self.inner.clone();
        async move {
            let Some(state) = socket.data::<SocketState>() else {
                return;
            };
            let Event { name, payload, ack } = event;
            let result = match name.as_str() {
                "message:send" => send(&inner, &socket, &state, payload.args.first()).await,
                "sync:request" => sync(&inner, &state, payload.args.first()).await,
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendPayload {
    conversation_id: String,
    client_message_id: String,
    body: String,
    #[serde(default)]
    attachment_ids: Vec<String>,
}

/// Commits, then acks, tells the sending socket `message:sent` and every other subscribed
/// socket `message:new` (not again for a retry). Returns the ack's JSON.
async fn send<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    arg: Option<&Value>,
) -> Result<String, StoreError> {
    let payload: SendPayload = parse(arg)?;
    let conversation = conversation_id(&payload.conversation_id)?;
    if let Err(wait) = inner.limiter.check(state.user) {
        return Err(StoreError {
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
            ..StoreError::new(ErrorCode::RateLimited, "sending too fast; retry later")
        });
    }
    let committed = inner
        .store
        .send(NewMessage {
            conversation_id: conversation,
            sender_id: state.user,
            client_message_id: payload.client_message_id.clone(),
            body: payload.body,
            attachment_ids: payload.attachment_ids,
        })
        .await?;
    let sent = format!(
        "{{\"clientMessageId\":{},\"message\":{}}}",
        Value::from(payload.client_message_id),
        committed.message
    );
    socket.emit_json("message:sent", &sent);
    if committed.created {
        inner.rooms.publish(
            conversation,
            message_new_frame(&committed.message),
            Some(socket.id()),
        );
    }
    Ok(format!("{{\"ok\":true,\"message\":{}}}", committed.message))
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
