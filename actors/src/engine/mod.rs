//! The Engine.IO v4 / Socket.IO v5 engine: a `SessionActor` per session, fed by the
//! long-polling handlers and the WebSocket transport, with namespace handlers on top.
//!
//! ```ignore
//! let engine = Engine::socket_io(config, vec![("/".into(), Arc::new(MyHandler) as _)]);
//! App::new().service(engine.service("/socket.io/"))
//! ```

mod addresses;
mod config;
mod handshake;
mod polling;
mod session;
mod socket;
mod stats;
mod ws;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use actix::Addr;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;

pub use config::EngineConfig;
pub use handshake::respond;
pub use session::{SessionActor, WsOut};
pub use socket::{
    Ack, ConnectError, DisconnectReason, Event, NamespaceHandler, RawHandler, SessionHandle, Socket,
};
pub(crate) use stats::TransportKind;
pub use stats::{EngineStats, REASONS};

use session::CloseSession;

/// What the sessions of an engine speak on top of Engine.IO.
pub(crate) enum Role {
    /// Raw Engine.IO messages, handed to one handler.
    Raw(Arc<dyn RawHandler>),
    /// Socket.IO, with a handler per namespace.
    SocketIo(HashMap<String, Arc<dyn NamespaceHandler>>),
}

/// Each session by sid, with the client address it counts against.
type Sessions = HashMap<Arc<str>, (Addr<SessionActor>, Option<IpAddr>)>;

/// State shared by an engine's request handlers and sessions.
pub(crate) struct Shared {
    pub(crate) config: EngineConfig,
    pub(crate) role: Role,
    pub(crate) stats: EngineStats,
    sessions: Mutex<Sessions>,
    addresses: addresses::Addresses,
}

impl Shared {
    pub(crate) fn namespace(&self, nsp: &str) -> Option<Arc<dyn NamespaceHandler>> {
        match &self.role {
            Role::SocketIo(namespaces) => namespaces.get(nsp).cloned(),
            Role::Raw(_) => None,
        }
    }

    pub(crate) fn find(&self, sid: &str) -> Option<Addr<SessionActor>> {
        self.lock().get(sid).map(|(addr, _)| addr.clone())
    }

    /// Whether a new session from `client` may open: under `max_sessions` on this node (503
    /// otherwise), and under the per-address limits (429). Admitted, it counts against its
    /// address until [`Shared::remove`].
    pub(crate) fn admit(&self, client: Option<IpAddr>) -> Result<(), polling::Refusal> {
        if self.lock().len() >= self.config.max_sessions {
            return Err(polling::Refusal::Full);
        }
        match client {
            Some(addr) => self
                .addresses
                .admit(addr)
                .map_err(polling::Refusal::FromAddress),
            None => Ok(()),
        }
    }

    /// Starts and registers a new session opened with the handshake's `query` string, from
    /// `client` (admitted first).
    pub(crate) fn open(
        self: &Arc<Self>,
        kind: TransportKind,
        query: &str,
        client: Option<IpAddr>,
    ) -> (Arc<str>, Addr<SessionActor>) {
        let sid: Arc<str> = random_id().into();
        let actor = SessionActor::new(
            sid.clone(),
            self.clone(),
            kind == TransportKind::WebSocket,
            query.into(),
        );
        let addr = actix::Actor::start(actor);
        self.lock().insert(sid.clone(), (addr.clone(), client));
        self.stats.opened(kind);
        (sid, addr)
    }

    pub(crate) fn remove(&self, sid: &str) {
        let removed = self.lock().remove(sid);
        if let Some((_, Some(client))) = removed {
            self.addresses.release(client);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // A panic while holding the lock leaves the map intact: keep serving.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An engine mounted at one path. Cloning shares it.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    /// A Socket.IO engine serving `namespaces` (each `/name` with its handler).
    pub fn socket_io(
        config: EngineConfig,
        namespaces: Vec<(String, Arc<dyn NamespaceHandler>)>,
    ) -> Engine {
        Self::with_role(config, Role::SocketIo(namespaces.into_iter().collect()))
    }

    /// A raw Engine.IO engine: every message goes to `handler`.
    pub fn raw(config: EngineConfig, handler: Arc<dyn RawHandler>) -> Engine {
        Self::with_role(config, Role::Raw(handler))
    }

    fn with_role(config: EngineConfig, role: Role) -> Engine {
        let shared = Shared {
            addresses: addresses::Addresses::new(&config),
            config,
            role,
            stats: EngineStats::default(),
            sessions: Mutex::new(HashMap::new()),
        };
        Engine {
            shared: Arc::new(shared),
        }
    }

    /// The actix-web resource that serves the engine at `path` (e.g. `/socket.io/`), both
    /// transports, GET and POST.
    pub fn service(&self, path: &str) -> actix_web::Resource {
        let shared = web::Data::from(self.shared.clone());
        web::resource([path.to_string(), path.trim_end_matches('/').to_string()])
            .app_data(shared)
            .app_data(web::PayloadConfig::new(self.shared.config.max_payload + 1))
            .default_service(web::to(route))
    }

    /// Serves a WebSocket request to the engine that the HTTP/1 dispatcher handed over with its
    /// connection (`actix_http::HttpServiceBuilder::upgrade`), until the WebSocket ends. Unlike
    /// one served through [`Engine::service`], the connection keeps none of the dispatcher's
    /// buffers. `answered` is told the answer's status once it is written.
    pub async fn serve_websocket<T>(
        &self,
        req: actix_http::Request,
        framed: actix_codec::Framed<T, actix_http::h1::Codec>,
        answered: impl FnOnce(actix_web::http::StatusCode),
    ) -> std::io::Result<()>
    where
        T: actix_codec::AsyncRead + actix_codec::AsyncWrite + Unpin + 'static,
    {
        ws::serve(self.shared.clone(), req, framed, answered).await
    }

    /// The engine's limits.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The engine's counters.
    pub fn stats(&self) -> &EngineStats {
        &self.shared.stats
    }

    /// Sessions open on this node.
    pub fn session_count(&self) -> usize {
        self.shared.lock().len()
    }

    /// A socket on `nsp` of a session that writes to `sink` as if `sink` were its WebSocket,
    /// with no client behind it: for benchmarks of the fan-out path.
    #[doc(hidden)]
    pub fn detached_socket(&self, nsp: &str, sink: actix::Recipient<WsOut>) -> Socket {
        use actix::Actor as _;
        let sid: std::sync::Arc<str> = random_id().into();
        let query: std::sync::Arc<str> = "".into();
        let addr = SessionActor::new(sid.clone(), self.shared.clone(), true, query.clone()).start();
        addr.do_send(session::WsAttach { id: 1, ws: sink });
        let handle = SessionHandle { addr, sid, query };
        Socket::new(random_id(), nsp.into(), handle)
    }

    /// Closes every session (graceful shutdown): clients reconnect elsewhere.
    pub fn close_all(&self, reason: DisconnectReason) {
        let sessions: Vec<_> = self
            .shared
            .lock()
            .values()
            .map(|(addr, _)| addr.clone())
            .collect();
        for session in sessions {
            session.do_send(CloseSession { reason });
        }
    }
}

/// Every request to the engine's path: the Engine.IO query decides what it is.
async fn route(req: HttpRequest, body: web::Payload, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    let query = match polling::EngineQuery::parse(req.query_string(), req.headers()) {
        Ok(query) => query,
        Err(refusal) => return refusal.response(),
    };
    if query.websocket {
        // WebSockets are taken over from the HTTP/1 dispatcher before they reach an `App`
        // (`Engine::serve_websocket`); one that gets here came another way.
        return polling::Refusal::BadRequest.response();
    }
    polling::handle(req, body, shared, query).await
}

/// A random id of 20 URL-safe characters (120 bits), for sids and socket ids.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
