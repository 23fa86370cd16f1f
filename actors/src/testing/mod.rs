//! Test doubles for the chat layer's ports, in the spirit of an in-memory adapter: a store, a
//! room bridge and a presence directory that keep everything in memory and record what they
//! were asked, and clients whose frames land in one shared log. With them the namespace runs
//! its real code, actors included, without PostgreSQL or Redis.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use tokio::sync::Notify;

mod memory_store;
mod ports;
pub mod rule_cases;

pub use memory_store::MemoryStore;
pub use ports::{BridgeCall, MemoryBridge, MemoryDirectory};

use crate::chat::{ChatNamespace, ChatParts, ChatTimers, EventBounds, Limiter, Publisher};
use crate::engine::{
    Ack, ConnectError, Engine, EngineConfig, Event, NamespaceHandler, Socket, WsOut,
};
use crate::protocol::engineio::Frame;
use crate::protocol::socketio::Payload;

/// How long a test waits for a frame before it fails (generous: it only bounds a failure).
const PATIENCE: Duration = Duration::from_secs(30);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    /// The node's way out to its sockets.
    pub publisher: Publisher,
    /// Every frame its clients received.
    pub log: FrameLog,
    engine: Engine,
    clients: AtomicU64,
}

impl TestNode {
    /// A node whose users may send at `limiter`'s rate.
    pub fn start(limiter: Limiter, timers: ChatTimers) -> TestNode {
        Self::start_with(limiter, timers, EventBounds::default())
    }

    /// A node whose sockets' events are bounded by `events`.
    pub fn start_with(limiter: Limiter, timers: ChatTimers, events: EventBounds) -> TestNode {
        let store = MemoryStore::new(limiter);
        let bridge = Arc::new(MemoryBridge::default());
        let directory = Arc::new(MemoryDirectory::default());
        let (publisher, presence) = Publisher::new(Some(bridge.clone()));
        let chat = ChatNamespace::new(ChatParts {
            store: store.clone(),
            publisher: publisher.clone(),
            presence,
            directory: Some(directory.clone()),
            timers,
            events,
            on_acked: None,
        });
        let handler: Arc<dyn NamespaceHandler> = Arc::new(chat.clone());
        let engine = Engine::socket_io(EngineConfig::default(), vec![("/".into(), handler)]);
        TestNode {
            store,
            bridge,
            directory,
            chat,
            publisher,
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
