//! One handler per client event, and what they share: decoding once at the edge, the reply
//! (an ack, or `request:error` when the client asked for none) and small checks.

mod auth;
mod change;
mod changes;
mod presence;
mod receipt;
mod send;
mod sync;
mod typing;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use super::namespace::Inner;
use super::socket_state::SocketState;
use super::store::{Change, ChatStore, StoreError};
use crate::engine::{Ack, Event, Socket};
use crate::protocol::engineio::Frame;
use crate::protocol::events::{
    self, AckError, ClientEvent, ReactionChange, RequestError, ServerEvent,
};
use crate::ErrorCode;

/// How long a socket with too many events waiting is asked to wait.
const BUSY_RETRY_MS: u64 = 100;

/// How long a client is asked to wait when storage is unavailable or missed the deadline.
const STALLED_RETRY_MS: u64 = 1000;

/// The answer to an event that storage could not serve within the deadline: it may or may
/// not have been stored, and a send retried with the same client id is safe.
fn overdue() -> StoreError {
    StoreError {
        retry_after_ms: Some(STALLED_RETRY_MS),
        ..StoreError::new(
            ErrorCode::Unavailable,
            "storage did not answer in time; it may or may not have been stored, and a retry with the same clientMessageId is safe",
        )
    }
}

/// What a handler answers: the ack's JSON, or why the request failed. A handler that acked
/// on its own (a send, in its order with `message:sent`) answers `None`.
type Reply = Result<Option<String>, StoreError>;

/// Decodes `event`, runs its handler and answers it.
pub(super) async fn handle<S: ChatStore>(inner: Arc<Inner<S>>, socket: Socket, event: Event) {
    let received = std::time::Instant::now();
    let Some(state) = socket.data::<SocketState>() else {
        return;
    };
    let Event {
        name,
        payload,
        mut ack,
    } = event;
    inner.publisher.stats().event(&name);
    if let Err(wait) = inner.event_budget.check(state.user) {
        inner.publisher.stats().rate_limited();
        let over = StoreError {
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
            ..StoreError::new(ErrorCode::RateLimited, "too many events; retry later")
        };
        return respond(&socket, &name, ack, Err(over));
    }
    // The commit deadline counts from the event's arrival: waiting for its turn behind a
    // stalled database is part of it.
    let deadline = tokio::time::Instant::from_std(received) + inner.events.deadline;
    let _handling =
        match tokio::time::timeout_at(deadline, state.handle(inner.events.waiting)).await {
            Ok(Some(permit)) => permit,
            // Too many waiting behind a stalled database: that is the database, not the client.
            Ok(None) if inner.stalled.load(Ordering::Acquire) => {
                return respond(&socket, &name, ack, Err(overdue()));
            }
            Ok(None) => {
                inner.publisher.stats().rate_limited();
                let busy = StoreError {
                    retry_after_ms: Some(BUSY_RETRY_MS),
                    ..StoreError::new(
                        ErrorCode::RateLimited,
                        "too many requests at once; retry later",
                    )
                };
                return respond(&socket, &name, ack, Err(busy));
            }
            Err(_) => {
                inner.stalled.store(true, Ordering::Release);
                return respond(&socket, &name, ack, Err(overdue()));
            }
        };
    let reply = match ClientEvent::decode(&name, payload.args.first()) {
        Ok(event) => {
            let stored = touches_storage(&event);
            // Cancelling a handler is safe: each awaits only its store call, and the store
            // finishes (and publishes) a commit whose caller stopped waiting.
            let handled = dispatch(&inner, &socket, &state, event, &mut ack, received);
            match tokio::time::timeout_at(deadline, handled).await {
                Ok(Err(mut err)) if err.code == ErrorCode::Unavailable => {
                    inner.stalled.store(true, Ordering::Release);
                    err.retry_after_ms.get_or_insert(STALLED_RETRY_MS);
                    Err(err)
                }
                Ok(reply) => {
                    if stored && reply.is_ok() {
                        inner.stalled.store(false, Ordering::Release);
                    }
                    reply
                }
                Err(_) => {
                    inner.stalled.store(true, Ordering::Release);
                    Err(overdue())
                }
            }
        }
        Err(err) => Err(StoreError::new(ErrorCode::Invalid, err.to_string())),
    };
    respond(&socket, &name, ack, reply);
}

/// Whether handling `event` waits for storage (typing never does).
fn touches_storage(event: &ClientEvent) -> bool {
    !matches!(
        event,
        ClientEvent::TypingStart(_) | ClientEvent::TypingStop(_)
    )
}

async fn dispatch<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    event: ClientEvent,
    ack: &mut Option<Ack>,
    received: std::time::Instant,
) -> Reply {
    match event {
        ClientEvent::MessageSend(send) => {
            send::handle(inner, socket, state, send, ack).await?;
            if let Some(observe) = &inner.on_acked {
                observe(received.elapsed());
            }
            Ok(None)
        }
        ClientEvent::SyncRequest(request) => sync::handle(inner, state, request).await,
        ClientEvent::TypingStart(typing) => typing::handle(inner, socket, state, typing, true),
        ClientEvent::TypingStop(typing) => typing::handle(inner, socket, state, typing, false),
        ClientEvent::ReceiptDelivered(receipt) => {
            receipt::handle(inner, socket, state, receipt, false).await
        }
        ClientEvent::ReceiptRead(receipt) => {
            receipt::handle(inner, socket, state, receipt, true).await
        }
        ClientEvent::PresenceQuery(query) => presence::handle(inner, state, query).await,
        ClientEvent::AuthRefresh(refresh) => auth::handle(inner, state, refresh).await,
        ClientEvent::MessageEdit(edit) => {
            let body = edit.body;
            change::handle(
                inner,
                socket,
                state,
                ack,
                &edit.conversation_id,
                edit.message_id,
                Change::Edit { body },
            )
            .await
        }
        ClientEvent::MessageDelete(delete) => {
            change::handle(
                inner,
                socket,
                state,
                ack,
                &delete.conversation_id,
                delete.message_id,
                Change::Delete,
            )
            .await
        }
        ClientEvent::ReactionAdd(reaction) => {
            react(inner, socket, state, ack, reaction, true).await
        }
        ClientEvent::ReactionRemove(reaction) => {
            react(inner, socket, state, ack, reaction, false).await
        }
        ClientEvent::SyncChanges(request) => changes::handle(inner, state, request).await,
    }
}

async fn react<S: ChatStore>(
    inner: &Inner<S>,
    socket: &Socket,
    state: &SocketState,
    ack: &mut Option<Ack>,
    reaction: ReactionChange,
    add: bool,
) -> Reply {
    let change = Change::React {
        emoji: reaction.emoji,
        add,
    };
    change::handle(
        inner,
        socket,
        state,
        ack,
        &reaction.conversation_id,
        reaction.message_id,
        change,
    )
    .await
}

/// Acks the result; a failure without an ack becomes `request:error` on the socket.
fn respond(socket: &Socket, event: &str, ack: Option<Ack>, reply: Reply) {
    match (reply, ack) {
        (Ok(Some(json)), Some(ack)) => ack.send_json(&json),
        (Ok(_), _) => {}
        (Err(err), Some(ack)) => {
            let body = AckError::new(err.code, &err.message, err.retry_after_ms);
            match serde_json::to_string(&body) {
                Ok(json) => ack.send_json(&json),
                Err(cause) => log::error!(cause:% = cause; "unserializable ack"),
            }
        }
        (Err(err), None) => emit(
            socket,
            &RequestError {
                event,
                code: err.code,
                message: &err.message,
                retry_after_ms: err.retry_after_ms,
            },
        ),
    }
}

/// Emits a server event to one socket.
pub(super) fn emit<E: ServerEvent>(socket: &Socket, event: &E) {
    match frame(socket.namespace(), event) {
        Ok(frame) => socket.send_frame(frame),
        Err(err) => {
            log::error!(event = E::NAME, cause = err.message.as_str(); "unserializable event")
        }
    }
}

/// The frame of a server event on `nsp`.
pub(super) fn frame<E: ServerEvent>(nsp: &str, event: &E) -> Result<Frame, StoreError> {
    events::encode(nsp, event)
        .map(|text| Frame::message(&text))
        .map_err(internal)
}

/// The JSON of a successful ack with `body`'s fields.
fn ack_json<T: Serialize>(body: T) -> Reply {
    serde_json::to_string(&events::Ack::ok(body))
        .map(Some)
        .map_err(internal)
}

pub(super) fn internal(err: serde_json::Error) -> StoreError {
    StoreError::new(ErrorCode::Internal, format!("unserializable reply: {err}"))
}

/// A conversation id from the client; one that is not even an id names no conversation.
fn conversation_id(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id).map_err(|_| StoreError::new(ErrorCode::NotFound, "conversation not found"))
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
