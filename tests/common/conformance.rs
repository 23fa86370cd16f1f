//! The server the public Engine.IO and Socket.IO protocol test suites expect, shared by the
//! `conformance` example and the compatibility tests (never part of the library):
//!
//! - a raw Engine.IO engine that echoes every text and binary message;
//! - a Socket.IO engine with namespaces `/` and `/custom` that emits `auth` with the CONNECT
//!   payload (or `{}`) on connect, answers `message` with `message-back` and the same arguments
//!   (binary included), and acks `message-with-ack` with the same arguments. Beyond the suites,
//!   `drop-connection` makes the server close the whole session (clients then reconnect).

use std::sync::Arc;

use confab_actors::engine::{
    ConnectError, Engine, EngineConfig, Event, NamespaceHandler, RawHandler, SessionHandle, Socket,
};
use confab_actors::protocol::engineio::Frame;
use futures_util::future::{ready, LocalBoxFuture};
use futures_util::FutureExt;
use serde_json::Value;

/// The suites' handshake values: pingInterval 300 ms, pingTimeout 200 ms, maxPayload
/// 1,000,000 bytes, connect timeout 1,000 ms.
pub fn suite_config() -> EngineConfig {
    EngineConfig {
        ping_interval_ms: 300,
        ping_timeout_ms: 200,
        max_payload: 1_000_000,
        connect_timeout_ms: 1_000,
        ..EngineConfig::default()
    }
}

/// Where the suites expect the raw echo engine.
pub const RAW_PATH: &str = "/engine.io/";
/// Where the suites expect the Socket.IO engine.
pub const IO_PATH: &str = "/socket.io/";

/// The engines of [`engines`] at their paths, for their WebSocket handover.
pub fn mounted(raw: &Engine, io: &Engine) -> confab::server::Engines {
    confab::server::Engines::new([
        (RAW_PATH.to_string(), raw.clone()),
        (IO_PATH.to_string(), io.clone()),
    ])
}

/// The raw echo engine (mount at `/engine.io/`) and the Socket.IO engine (at `/socket.io/`).
pub fn engines(config: EngineConfig) -> (Engine, Engine) {
    let raw = Engine::raw(config.clone(), Arc::new(Echo));
    let suite: Arc<dyn NamespaceHandler> = Arc::new(Suite);
    let io = Engine::socket_io(
        config,
        vec![("/".into(), suite.clone()), ("/custom".into(), suite)],
    );
    (raw, io)
}

/// Echoes every raw Engine.IO message.
struct Echo;

impl RawHandler for Echo {
    fn message(&self, session: &SessionHandle, frame: Frame) {
        session.send(vec![frame]);
    }
}

/// The namespace behaviour the Socket.IO suite tests.
struct Suite;

impl NamespaceHandler for Suite {
    fn connect(
        &self,
        socket: Socket,
        auth: Option<Value>,
    ) -> LocalBoxFuture<'static, Result<(), ConnectError>> {
        let auth = auth.unwrap_or_else(|| Value::Object(Default::default()));
        socket.set_data(Arc::new(auth));
        ready(Ok(())).boxed_local()
    }

    fn connected(&self, socket: &Socket) {
        if let Some(auth) = socket.data::<Value>() {
            let _ = socket.emit("auth", &*auth);
        }
    }

    fn event(&self, socket: Socket, event: Event) -> LocalBoxFuture<'static, ()> {
        match (event.name.as_str(), event.ack) {
            ("message", _) => socket.emit_payload("message-back", event.payload),
            ("message-with-ack", Some(ack)) => ack.send_payload(event.payload),
            ("drop-connection", _) => socket.session().close(),
            _ => {}
        }
        ready(()).boxed_local()
    }
}
