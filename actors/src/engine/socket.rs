//! The API for the layer above: namespace handlers, the `Socket` handle, acks and reasons.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use actix::Addr;
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::Value;

use super::session::{CloseSession, Emit, SessionActor};
use crate::protocol::engineio::Frame;
use crate::protocol::socketio::{self, Payload};

/// Handles one namespace: decides on CONNECTs and receives the events of its sockets.
/// Futures run on the session's thread; each event is handled concurrently with the next.
pub trait NamespaceHandler: Send + Sync + 'static {
    /// Accept (`Ok`) or refuse (`Err`, sent as CONNECT_ERROR) a CONNECT carrying `auth`.
    fn connect(
        &self,
        socket: Socket,
        auth: Option<Value>,
    ) -> LocalBoxFuture<'static, Result<(), ConnectError>>;

    /// The CONNECT reply has been queued: what is emitted from here on follows it.
    fn connected(&self, _socket: &Socket) {}

    /// An event from a connected socket.
    fn event(&self, socket: Socket, event: Event) -> LocalBoxFuture<'static, ()>;

    /// The socket left the namespace (called once, also for sockets whose CONNECT was still
    /// being decided when the session closed).
    fn disconnect(&self, _socket: &Socket, _reason: DisconnectReason) {}
}

/// Handles a raw Engine.IO session (no Socket.IO on top): every message it receives.
pub trait RawHandler: Send + Sync + 'static {
    /// A message from the session's client.
    fn message(&self, session: &SessionHandle, frame: Frame);
}

/// A refused CONNECT: `{"message": message, "data": data}`.
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// The CONNECT_ERROR's message.
    pub message: String,
    /// Its data, when any.
    pub data: Option<Value>,
}

/// An event with its name, arguments and, when the client asked for one, its ack.
#[derive(Debug)]
pub struct Event {
    /// The event's name.
    pub name: String,
    /// Its arguments.
    pub payload: Payload,
    /// The ack the client asked for, if it did.
    pub ack: Option<Ack>,
}

/// Why a socket left its namespace; the names are the official server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed the connection or it broke.
    TransportClose,
    /// The transport failed (a duplicate poll, an aborted poll).
    TransportError,
    /// The client missed a pong deadline.
    PingTimeout,
    /// The client sent something that is not valid Engine.IO or Socket.IO.
    ParseError,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server removed the socket from its namespace.
    ServerNamespaceDisconnect,
    /// The client could not keep up with what it was sent.
    SlowConsumer,
    /// No namespace CONNECT arrived in time.
    ConnectTimeout,
    /// The node is shutting down.
    ServerShuttingDown,
    /// The server closed the whole session.
    ForcedClose,
}

impl DisconnectReason {
    /// The reason as the official server names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::SlowConsumer => "slow consumer",
            DisconnectReason::ConnectTimeout => "connect timeout",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ForcedClose => "forced close",
        }
    }
}

/// A handle to an Engine.IO session, for raw handlers.
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) addr: Addr<SessionActor>,
    pub(crate) sid: Arc<str>,
    pub(crate) query: Arc<str>,
}

impl SessionHandle {
    /// The Engine.IO session id.
    pub fn id(&self) -> &str {
        &self.sid
    }

    /// A parameter of the handshake request's query string, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// Sends frames in order, with nothing interleaved.
    pub fn send(&self, frames: Vec<Frame>) {
        self.addr.do_send(Emit { frames });
    }

    /// Closes the whole session: every namespace of it, and its transport.
    pub fn close(&self) {
        self.addr.do_send(CloseSession {
            reason: DisconnectReason::ForcedClose,
        });
    }
}

/// A socket: one namespace of one Engine.IO session. Cheap to clone; sending through a socket
/// whose session has closed does nothing.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    id: String,
    nsp: Arc<str>,
    session: SessionHandle,
    data: OnceLock<Arc<dyn Any + Send + Sync>>,
    /// Set once the handler has been told the socket is gone.
    released: AtomicBool,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id)
            .field("nsp", &self.inner.nsp)
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(id: String, nsp: Arc<str>, session: SessionHandle) -> Socket {
        let inner = SocketInner {
            id,
            nsp,
            session,
            data: OnceLock::new(),
            released: AtomicBool::new(false),
        };
        Socket {
            inner: Arc::new(inner),
        }
    }

    /// Marks a refused socket released: it never joined, so the handler hears nothing more.
    pub(crate) fn forget(&self) {
        self.inner.released.store(true, Ordering::Release);
    }

    /// Tells `handler` that the socket is gone, exactly once whoever calls first.
    pub(crate) fn release(&self, handler: &dyn NamespaceHandler, reason: DisconnectReason) {
        if !self.inner.released.swap(true, Ordering::AcqRel) {
            handler.disconnect(self, reason);
        }
    }

    /// The socket id sent to the client in the CONNECT reply (not the Engine.IO sid).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The namespace the socket is on.
    pub fn namespace(&self) -> &str {
        &self.inner.nsp
    }

    /// The Engine.IO session this socket rides on.
    pub fn session(&self) -> &SessionHandle {
        &self.inner.session
    }

    /// Emits `event` with one JSON argument.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), serde_json::Error> {
        let text = socketio::encode_event_with(&self.inner.nsp, event, data)?;
        self.send_frame(Frame::message(&text));
        Ok(())
    }

    /// Emits `event` with any arguments, binary attachments included.
    pub fn emit_payload(&self, event: &str, payload: Payload) {
        let text = socketio::encode_event(
            &self.inner.nsp,
            event,
            &payload.args,
            payload.binary.len(),
            None,
        );
        self.inner
            .session
            .send(with_attachments(&text, payload.binary));
    }

    /// Sends an already encoded frame (one encoding fanned out to many sockets).
    pub fn send_frame(&self, frame: Frame) {
        self.inner.session.send(vec![frame]);
    }

    /// Attaches the layer's own state to the socket, once (usually in `connect`).
    pub fn set_data<T: Any + Send + Sync>(&self, data: Arc<T>) -> bool {
        self.inner.data.set(data).is_ok()
    }

    /// The state attached with `set_data`, if it is a `T`.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.inner
            .data
            .get()
            .cloned()
            .and_then(|data| data.downcast::<T>().ok())
    }
}

/// The ack a client asked for with an event. Sending consumes it: an event is acked once.
#[derive(Debug)]
pub struct Ack {
    pub(crate) session: Addr<SessionActor>,
    pub(crate) nsp: Arc<str>,
    pub(crate) id: u64,
}

impl Ack {
    /// Acks with one JSON argument.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) {
        match serde_json::to_value(data) {
            Ok(value) => self.send_payload(Payload::json(vec![value])),
            Err(err) => log::error!(cause:% = err; "unserializable ack"),
        }
    }

    /// Acks with one argument that is already JSON text.
    pub fn send_json(self, json: &str) {
        let session = self.session.clone();
        let frame = self.frame_json(json);
        session.do_send(Emit {
            frames: vec![frame],
        });
    }

    /// The frame that acks with one argument that is already JSON text, to send with others
    /// through `SessionHandle::send` (the session of the event this ack answers).
    pub fn frame_json(self, json: &str) -> Frame {
        Frame::message(&socketio::encode_ack_json(&self.nsp, self.id, json))
    }

    /// Acks with any arguments, binary attachments included.
    pub fn send_payload(self, payload: Payload) {
        let text = socketio::encode_ack(&self.nsp, self.id, &payload.args, payload.binary.len());
        self.session.do_send(Emit {
            frames: with_attachments(&text, payload.binary),
        });
    }
}

/// A Socket.IO packet's frames: the text header, then each attachment as a binary frame.
pub(crate) fn with_attachments(text: &str, binary: Vec<bytes::Bytes>) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(1 + binary.len());
    frames.push(Frame::message(text));
    frames.extend(binary.into_iter().map(Frame::Binary));
    frames
}
