//! A server set up the way the public Engine.IO and Socket.IO protocol test suites expect:
//!
//! - `/engine.io/`: raw Engine.IO, every text and binary message echoed back;
//! - `/socket.io/`: Socket.IO with namespaces `/` and `/custom`; on connect the server emits
//!   `auth` with the CONNECT payload (or `{}`), answers `message` with `message-back` and the
//!   same arguments (binary included), and acks `message-with-ack` with the same arguments.
//!
//! Handshake values: pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, connect
//! timeout 1,000 ms.
//!
//! `cargo run --release --example conformance -- --port 3000`

use std::sync::Arc;

use actix_web::{App, HttpServer};
use clap::Parser;
use confab_actors::engine::{
    ConnectError, Engine, EngineConfig, Event, NamespaceHandler, RawHandler, SessionHandle, Socket,
};
use confab_actors::protocol::engineio::Frame;
use futures_util::future::{ready, LocalBoxFuture};
use futures_util::FutureExt;
use serde_json::Value;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
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
            _ => {}
        }
        ready(()).boxed_local()
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        ping_interval_ms: 300,
        ping_timeout_ms: 200,
        max_payload: 1_000_000,
        connect_timeout_ms: 1_000,
        ..EngineConfig::default()
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let raw = Engine::raw(config(), Arc::new(Echo));
    let suite: Arc<dyn NamespaceHandler> = Arc::new(Suite);
    let io = Engine::socket_io(
        config(),
        vec![("/".into(), suite.clone()), ("/custom".into(), suite)],
    );
    eprintln!("conformance server on http://{}:{}", args.host, args.port);
    HttpServer::new(move || {
        App::new()
            .service(raw.service("/engine.io/"))
            .service(io.service("/socket.io/"))
    })
    .bind((args.host.as_str(), args.port))?
    .run()
    .await
}
