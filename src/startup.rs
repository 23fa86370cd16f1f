//! Start-up: prepare the database, build the shared state and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use anyhow::Context;

use confab_actors::chat::{ChatNamespace, Limiter, Rooms};
use confab_actors::engine::{Engine, NamespaceHandler};

use crate::auth::{password, refresh, JwtKeys};
use crate::bridge::{BridgeMetrics, RedisBridge};
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::engine_metrics::{ChatCollector, EngineCollector};
use crate::metrics::Metrics;
use crate::presence::RedisPresence;
use crate::server::{Engines, UpgradeObserver};
use crate::state::AppState;
use crate::store::DbChatStore;
use crate::writer::MessageWriter;

/// Where the Socket.IO engine is mounted.
const ENGINE_PATH: &str = "/socket.io/";

/// A server bound to its port, not yet running.
pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl Application {
    /// Creates and migrates the database if needed, connects the pools and binds the port
    /// (`server.bind`; port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        prepare_database(&settings).await?;
        let pool = db::build_pool(
            settings.database.url.expose(),
            settings.database.pool_size,
            Duration::from_millis(settings.database.pool_timeout_ms),
        )?;
        let redis = match settings.redis_url() {
            Some(url) => Some(redis_pool(url)?),
            None => None,
        };
        let dummy_hash = password::hash(refresh::generate(), settings.auth.bcrypt_cost).await?;
        let jwt = JwtKeys::new(
            &settings.jwt_secret(),
            Duration::from_secs(settings.auth.access_ttl_secs),
        );
        let node_id = settings.node_id();
        let metrics = Metrics::new(settings.database.pool_size)?;
        // With Redis, room traffic crosses to the other nodes through the bridge.
        let bridge = match (settings.redis_url(), &redis) {
            (Some(url), Some(pool)) => Some(RedisBridge::new(
                url,
                &node_id,
                &settings.redis_namespace(),
                pool.clone(),
                BridgeMetrics::new(&metrics)?,
            )?),
            _ => None,
        };
        let rooms = match &bridge {
            Some(bridge) => {
                let rooms = Rooms::with_bridge(bridge.clone());
                bridge.start(rooms.clone());
                rooms
            }
            None => Rooms::default(),
        };
        let limiter = Limiter::new(
            settings.limits.send_rate_per_sec,
            settings.limits.send_burst,
        );
        let writer = MessageWriter::start(
            db::build_writer_pool(
                settings.database.url.expose(),
                settings.database.write_lanes,
                Duration::from_millis(settings.database.pool_timeout_ms),
            )?,
            settings.database.write_lanes,
            settings.database.write_batch_max,
            metrics.send_batch_size.clone(),
        );
        let store = DbChatStore {
            pool: pool.clone(),
            writer: writer.clone(),
            jwt: jwt.clone(),
            limits: settings.limits.clone(),
            metrics: metrics.send.clone(),
        };
        // With Redis, who is online is known across the cluster.
        let presence = redis
            .as_ref()
            .map(|pool| RedisPresence::new(&node_id, &settings.redis_namespace(), pool.clone()));
        let directory = presence
            .clone()
            .map(|p| p as Arc<dyn confab_actors::chat::PresenceDirectory>);
        let chat = ChatNamespace::new(store, rooms.clone(), limiter.clone(), directory);
        let send_metrics = metrics.send.clone();
        chat.on_acked(Box::new(move |elapsed| send_metrics.acked(elapsed)));
        if let Some(presence) = &presence {
            let chat = chat.clone();
            presence.on_gone(Box::new(move |users, at| {
                let chat = chat.clone();
                actix_web::rt::spawn(async move { chat.users_gone(users, at).await });
            }));
            presence.start();
        }
        if let Some(bridge) = &bridge {
            let (pool, rooms) = (pool.clone(), rooms.clone());
            bridge.on_reconnect(Box::new(move |conversations| {
                actix_web::rt::spawn(announce_latest_seqs(
                    pool.clone(),
                    rooms.clone(),
                    conversations,
                ));
            }));
            let chat = chat.clone();
            bridge.on_user_event(Box::new(move |user, event| {
                let chat = chat.clone();
                actix_web::rt::spawn(async move { chat.apply_remote(user, &event).await });
            }));
        }
        let handler: Arc<dyn NamespaceHandler> = Arc::new(chat.clone());
        let engine = Engine::socket_io(settings.engine.clone(), vec![("/".into(), handler)]);
        metrics.register(Box::new(EngineCollector::new(engine.clone())?))?;
        crate::memory::start_trimming(engine.clone());
        metrics.register(Box::new(ChatCollector::new(rooms.clone())?))?;
        let state = web::Data::new(AppState {
            node_id,
            jwt,
            metrics,
            engine,
            rooms,
            chat,
            presence,
            limiter,
            pool,
            writer,
            redis,
            dummy_hash,
            settings,
        });

        let listener = TcpListener::bind(&state.settings.server.bind)
            .with_context(|| format!("binding {}", state.settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let app_state = state.clone();
        let json_limit = state.settings.server.json_limit_bytes;
        let options = crate::server::Options {
            workers: state.settings.server.workers,
            // Chat frames are small and should leave at once: without TCP_NODELAY, a frame
            // written while the previous one is unacknowledged waits for the client's delayed
            // ACK (~40 ms).
            tcp_nodelay: state.settings.server.tcp_nodelay,
            shutdown_timeout_secs: state.settings.server.shutdown_timeout_secs,
        };
        let engines = Engines::new([(ENGINE_PATH.to_string(), state.engine.clone())]);
        let observer_state = state.clone();
        let observer: UpgradeObserver =
            Arc::new(move |answered| crate::metrics::record(&observer_state, answered));
        // SIGTERM/SIGINT are handled by `drain`, which closes the sessions first.
        let server =
            crate::server::serve(listener, &options, engines, Some(observer), move || {
                App::new()
                    .app_data(app_state.clone())
                    .app_data(crate::http::json_config(json_limit))
                    .app_data(crate::http::query_config())
                    .app_data(crate::http::path_config())
                    .wrap(from_fn(crate::metrics::track))
                    .service(app_state.engine.service(ENGINE_PATH))
                    .configure(crate::http::routes)
                    .default_service(web::to(crate::http::not_found))
            })?;
        log::info!(
            node_id = state.node_id.as_str(),
            port = port,
            environment = state.settings.environment.as_str(),
            redis = state.redis.is_some();
            "confab listening"
        );
        Ok(Application {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM, or through its handle).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The Redis pool. Waits are bounded, so that an unreachable Redis slows nothing down for
/// longer than `REDIS_WAIT`: the bridge, presence and `/ready` all go through it.
fn redis_pool(url: &str) -> anyhow::Result<deadpool_redis::Pool> {
    const REDIS_WAIT: Duration = Duration::from_secs(2);
    let mut config = deadpool_redis::Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig {
        timeouts: deadpool_redis::Timeouts {
            wait: Some(REDIS_WAIT),
            create: Some(REDIS_WAIT),
            recycle: Some(REDIS_WAIT),
        },
        ..Default::default()
    });
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .context("building the Redis pool")
}

/// After the bridge missed traffic, tells the local sessions of each conversation its latest
/// seq (`conversation:updated`), so clients repair gaps with `sync:request`.
async fn announce_latest_seqs(pool: DbPool, rooms: Rooms, conversations: Vec<uuid::Uuid>) {
    let latest = match pool.get().await {
        Ok(mut conn) => crate::models::conversation::last_seqs(&mut conn, &conversations).await,
        Err(err) => {
            log::warn!(cause:% = err; "cannot read latest seqs after a bridge reconnect");
            return;
        }
    };
    for (id, last_seq) in latest.unwrap_or_default() {
        let update = serde_json::json!({ "conversationId": id, "lastSeq": last_seq });
        if let Ok(text) = confab_actors::protocol::socketio::encode_event_with(
            "/",
            "conversation:updated",
            &update,
        ) {
            rooms.deliver_local(
                id,
                confab_actors::protocol::engineio::Frame::message(&text),
                None,
                None,
            );
        }
    }
}

/// Creates the configured database if it is missing and applies pending migrations.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database.url.expose();
    db::ensure_database(url).await?;
    let applied = db::run_migrations(url).await?;
    if !applied.is_empty() {
        log::info!(migrations = applied.join(",").as_str(); "applied migrations");
    }
    Ok(())
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
    while state.chat.sends_in_flight() > 0 && std::time::Instant::now() < deadline {
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
    actix_web::rt::System::new().block_on(prepare_database(&settings))
}
