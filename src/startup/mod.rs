//! Start-up: prepare the database, then build the node from small parts (storage, cluster,
//! realtime, HTTP) and serve. Only this module sees all of them; nothing imports it.

mod parts;
mod serving;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use anyhow::Context;

use confab_actors::chat::{
    AckObserver, ChatNamespace, ChatParts, EventBounds, Limiter, PresenceDirectory, Publisher,
    RoomBridge,
};
use confab_actors::engine::{Engine, NamespaceHandler};
use confab_actors::protocol::events::ConversationUpdated;

use crate::attachments::cleanup::Cleanup;
use crate::attachments::metrics::UploadMetrics;
use crate::attachments::thumbnails::Thumbnails;
use crate::attachments::{AttachmentParts, Attachments};
use crate::auth::{password, refresh, JwtKeys};
use crate::chat_store::DbChatStore;
use crate::cluster::bridge::{BridgeMetrics, Missed, RedisBridge};
use crate::cluster::presence::RedisPresence;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::messaging::group_commit::MessageWriter;
use crate::messaging::{Messaging, MessagingParts};
use crate::metrics::engine::{ChatCollector, EngineCollector};
use crate::metrics::Metrics;
use crate::server::{Engines, UpgradeObserver};
use crate::state::AppState;
use crate::storage::{LocalStorage, S3Storage, Signer, Storage as ObjectStorage};
use parts::{attachments, cluster, objects, realtime, storage};
use serving::{http_server, metrics_server};

/// Where the Socket.IO engine is mounted.
const ENGINE_PATH: &str = "/socket.io/";

/// A server bound to its port, not yet running.
pub struct Application {
    server: Server,
    port: u16,
    /// `/metrics` on a listener of its own, when `[metrics] bind` names one.
    metrics: Option<(ServerHandle, u16)>,
    state: web::Data<AppState>,
}

/// PostgreSQL and Redis, connected.
struct Storage {
    pool: DbPool,
    writer: MessageWriter,
    redis: Option<deadpool_redis::Pool>,
}

/// This node's part of a cluster: present only with Redis.
struct Cluster {
    bridge: Arc<RedisBridge>,
    presence: Arc<RedisPresence>,
}

/// The realtime core on top of storage and the cluster.
struct Realtime {
    publisher: Publisher,
    messaging: Messaging,
    engine: Engine,
}

impl Application {
    /// Creates and migrates the database if needed, connects the pools and binds the port
    /// (`server.bind`; port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        db::prepare(settings.database.url.expose()).await?;
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("binding {}", settings.server.bind))?;
        let metrics = Metrics::new(settings.database.pool_size)?;
        let storage = storage(&settings, &metrics)?;
        let objects = objects(&settings, listener.local_addr()?)?;
        let cluster = cluster(&settings, &storage, &metrics)?;
        let jwt = JwtKeys::new(
            settings.jwt_secret(),
            Duration::from_secs(settings.auth.access_ttl_secs),
        );
        let realtime = realtime(
            &settings,
            &storage,
            cluster.as_ref(),
            &jwt,
            &metrics,
            objects.signer.clone(),
        )?;
        let attachments = attachments(&settings, &storage, &objects, &realtime, &metrics)?;
        let dummy_hash = password::hash(refresh::generate(), settings.auth.bcrypt_cost).await?;
        let limits = &settings.limits;
        let search_limiter = Limiter::new(limits.search_per_sec, limits.search_burst);
        let search_budget = crate::search::Budget::new(
            limits.search_db_ms_per_sec,
            limits.search_db_burst_ms,
            Duration::from_millis(limits.search_statement_timeout_ms),
        );
        let invites = crate::invites::Invites::new(
            settings.jwt_secret().expose().as_bytes(),
            limits.invite_lookups_per_min,
            &metrics,
        )?;
        let state = web::Data::new(AppState {
            attachments,
            search_limiter,
            search_budget,
            invites,
            node_id: settings.node_id().to_string(),
            jwt,
            metrics,
            engine: realtime.engine,
            publisher: realtime.publisher,
            messaging: realtime.messaging,
            presence: cluster.map(|c| c.presence),
            pool: storage.pool,
            redis: storage.redis,
            dummy_hash,
            floods: Default::default(),
            settings,
        });
        crate::auth::throttle::start_forgetting(state.pool.clone(), &state.settings.auth);
        let (server, port) = http_server(&state, listener)?;
        let metrics = metrics_server(&state)?;
        log::info!(
            node_id = state.node_id.as_str(),
            port = port,
            environment = state.settings.environment.as_str(),
            redis = state.redis.is_some(),
            storage = objects.signer.store.kind();
            "confab listening"
        );
        Ok(Application {
            server,
            port,
            metrics,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `/metrics` has one of its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM, or through its handle); the
    /// metrics listener stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some((metrics, _)) = self.metrics {
            metrics.stop(true).await;
        }
        served
    }
}

/// `confab serve`.
pub fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        actix_web::rt::spawn(drain_on_signal(app.handle(), app.state()));
        app.run_until_stopped().await?;
        log::info!("confab stopped");
        Ok(())
    })
}

/// On SIGTERM or SIGINT: stop accepting, let in-flight sends commit (bounded), close every
/// session so clients reconnect to another node, then stop within the shutdown timeout.
async fn drain_on_signal(server: ServerHandle, state: web::Data<AppState>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("cannot listen for signals; graceful drain disabled");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    log::info!(node_id = state.node_id.as_str(), sessions = state.engine.session_count(); "draining");
    let stopping = server.stop(true);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while state.messaging.in_flight() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    state
        .engine
        .close_all(confab_actors::engine::DisconnectReason::ServerShuttingDown);
    if let Some(presence) = &state.presence {
        presence.retire().await;
    }
    stopping.await;
}

/// `confab migrate`.
pub fn migrate(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(db::prepare(settings.database.url.expose()))
}
