//! Start-up: prepare the database, then build the node from small parts (storage, cluster,
//! realtime, HTTP) and serve. Only this module sees all of them; nothing imports it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use anyhow::Context;

use confab_actors::chat::{
    AckObserver, ChatNamespace, ChatParts, Limiter, PresenceDirectory, Publisher, RoomBridge,
};
use confab_actors::engine::{Engine, NamespaceHandler};
use confab_actors::protocol::events::ConversationUpdated;

use crate::attachments::cleanup::Cleanup;
use crate::attachments::metrics::UploadMetrics;
use crate::attachments::thumbnails::Thumbnails;
use crate::attachments::{AttachmentParts, Attachments};
use crate::auth::{password, refresh, JwtKeys};
use crate::chat_store::DbChatStore;
use crate::cluster::bridge::{BridgeMetrics, RedisBridge};
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
        let invites = crate::invites::Invites::new(
            settings.jwt_secret().expose().as_bytes(),
            limits.invite_lookups_per_min,
            &metrics,
        )?;
        let state = web::Data::new(AppState {
            attachments,
            search_limiter,
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
            settings,
        });
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

/// The database pools and the group-commit writer; Redis's pool when configured.
fn storage(settings: &Settings, metrics: &Metrics) -> anyhow::Result<Storage> {
    let database = &settings.database;
    let timeout = Duration::from_millis(database.pool_timeout_ms);
    let pool = db::build_pool(database.url.expose(), database.pool_size, timeout)?;
    let writers = db::build_writer_pool(database.url.expose(), database.write_lanes, timeout)?;
    let writer = MessageWriter::start(
        writers,
        database.write_lanes,
        database.write_batch_max,
        metrics.send_batch_size.clone(),
    );
    let redis = settings.redis_url().map(redis_pool).transpose()?;
    Ok(Storage {
        pool,
        writer,
        redis,
    })
}

/// Where attachments are kept: S3 when a bucket is configured, else the local store.
struct Objects {
    signer: Signer,
    local: Option<Arc<LocalStorage>>,
}

fn objects(settings: &Settings, bound: std::net::SocketAddr) -> anyhow::Result<Objects> {
    let config = &settings.storage;
    let ttl = Duration::from_secs(config.download_url_ttl_secs);
    if config.uses_s3() {
        let store: ObjectStorage = Arc::new(S3Storage::new(config)?);
        return Ok(Objects {
            signer: Signer { store, ttl },
            local: None,
        });
    }
    let base = if config.public_url.is_empty() {
        if bound.ip().is_unspecified() {
            log::warn!("storage.public_url is not set and the node listens on every address: the local store's download URLs name 127.0.0.1");
            format!("http://127.0.0.1:{}", bound.port())
        } else {
            format!("http://{bound}")
        }
    } else {
        config.public_url.clone()
    };
    let key = if config.signing_key.is_empty() {
        use hmac::Mac;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(settings.jwt_secret().expose().as_bytes())
                .context("deriving the storage key")?;
        mac.update(b"confab local storage URLs");
        mac.finalize().into_bytes().to_vec()
    } else {
        config.signing_key.expose().as_bytes().to_vec()
    };
    let local = Arc::new(
        LocalStorage::new(&config.dir, &base, &key)
            .with_context(|| format!("opening the local store at {}", config.dir.display()))?,
    );
    Ok(Objects {
        signer: Signer {
            store: local.clone(),
            ttl,
        },
        local: Some(local),
    })
}

/// The upload service, its thumbnail workers and its cleanup job (both started here).
fn attachments(
    settings: &Settings,
    storage: &Storage,
    objects: &Objects,
    realtime: &Realtime,
    metrics: &Metrics,
) -> anyhow::Result<Attachments> {
    let config = &settings.storage;
    let upload_metrics = UploadMetrics::new(metrics)?;
    let store = objects.signer.store.clone();
    let thumbnails = Thumbnails::start(
        storage.pool.clone(),
        store.clone(),
        realtime.messaging.clone(),
        config,
        upload_metrics.clone(),
    )
    .context("starting the thumbnail threads")?;
    let cleanup = Cleanup {
        pool: storage.pool.clone(),
        store,
        settings: config.clone(),
        metrics: upload_metrics.clone(),
        thumbnails: thumbnails.clone(),
    };
    cleanup.clone().start();
    Ok(Attachments::new(AttachmentParts {
        cleanup,
        pool: storage.pool.clone(),
        signer: objects.signer.clone(),
        local: objects.local.clone(),
        settings: config.clone(),
        metrics: upload_metrics,
        thumbnails,
    }))
}

/// With Redis, the bridge that carries room traffic to the other nodes and this node's
/// presence in the cluster. Their tasks start once the realtime core exists.
fn cluster(
    settings: &Settings,
    storage: &Storage,
    metrics: &Metrics,
) -> anyhow::Result<Option<Cluster>> {
    let (Some(url), Some(pool)) = (settings.redis_url(), &storage.redis) else {
        return Ok(None);
    };
    let namespace = settings.redis_namespace();
    let node_id = settings.node_id();
    let bridge = RedisBridge::new(
        url,
        node_id,
        &namespace,
        pool.clone(),
        BridgeMetrics::new(metrics)?,
    )?;
    let timing = settings.chat.presence_timing();
    let presence = RedisPresence::new(node_id, &namespace, timing, pool.clone());
    Ok(Some(Cluster { bridge, presence }))
}

/// The publisher, the send service, the chat namespace and the Socket.IO engine; then the
/// cluster's tasks, which hand what they receive to the chat layer.
fn realtime(
    settings: &Settings,
    storage: &Storage,
    cluster: Option<&Cluster>,
    jwt: &JwtKeys,
    metrics: &Metrics,
    signer: Signer,
) -> anyhow::Result<Realtime> {
    let (publisher, presence) =
        Publisher::new(cluster.map(|c| c.bridge.clone() as Arc<dyn RoomBridge>));
    let limits = &settings.limits;
    let messaging = Messaging::new(MessagingParts {
        pool: storage.pool.clone(),
        writer: storage.writer.clone(),
        limiter: Limiter::new(limits.send_rate_per_sec, limits.send_burst),
        limits: limits.clone(),
        metrics: metrics.send.clone(),
        publisher: publisher.clone(),
        signer,
    });
    let send_metrics = metrics.send.clone();
    let on_acked: AckObserver = Box::new(move |elapsed| send_metrics.acked(elapsed));
    let chat = ChatNamespace::new(ChatParts {
        store: DbChatStore {
            pool: storage.pool.clone(),
            jwt: jwt.clone(),
            messaging: messaging.clone(),
        },
        publisher: publisher.clone(),
        presence,
        directory: cluster.map(|c| c.presence.clone() as Arc<dyn PresenceDirectory>),
        timers: settings.chat.timers(),
        events: settings.chat.event_bounds(),
        on_acked: Some(on_acked),
    });
    if let Some(cluster) = cluster {
        start_cluster(cluster, &publisher, &chat, &storage.pool);
    }
    let handler: Arc<dyn NamespaceHandler> = Arc::new(chat.clone());
    let engine = Engine::socket_io(engine_config(settings), vec![("/".into(), handler)]);
    metrics.register(Box::new(EngineCollector::new(engine.clone())?))?;
    metrics.register(Box::new(ChatCollector::new(publisher.clone())?))?;
    crate::allocator_trim::start_trimming(engine.clone());
    Ok(Realtime {
        publisher,
        messaging,
        engine,
    })
}

/// Starts the bridge's and the presence's tasks, now that what they hand on to exists.
fn start_cluster(
    cluster: &Cluster,
    publisher: &Publisher,
    chat: &ChatNamespace<DbChatStore>,
    pool: &DbPool,
) {
    let (pool, seqs_for) = (pool.clone(), publisher.clone());
    cluster.bridge.start(
        publisher.clone(),
        Box::new(move |conversations| {
            actix_web::rt::spawn(announce_latest_seqs(
                pool.clone(),
                seqs_for.clone(),
                conversations,
            ));
        }),
    );
    let chat = chat.clone();
    cluster.presence.start(Box::new(move |users, at| {
        let chat = chat.clone();
        actix_web::rt::spawn(async move { chat.users_gone(users, at).await });
    }));
}

/// Binds the port and builds the HTTP server: the actix-web `App` and the engine's
/// WebSocket handover on one service per worker.
fn http_server(
    state: &web::Data<AppState>,
    listener: TcpListener,
) -> anyhow::Result<(Server, u16)> {
    let server_settings = &state.settings.server;
    let port = listener.local_addr()?.port();
    let json_limit = server_settings.json_limit_bytes;
    let options = crate::server::Options {
        workers: server_settings.workers,
        // Chat frames are small and should leave at once: without TCP_NODELAY, a frame
        // written while the previous one is unacknowledged waits for the client's delayed
        // ACK (~40 ms).
        tcp_nodelay: server_settings.tcp_nodelay,
        shutdown_timeout_secs: server_settings.shutdown_timeout_secs,
        keep_alive: Duration::from_secs(server_settings.keep_alive_secs),
    };
    let engines = Engines::new([(ENGINE_PATH.to_string(), state.engine.clone())]);
    let observer_state = state.clone();
    let observer: UpgradeObserver =
        Arc::new(move |answered| crate::metrics::record(&observer_state.metrics, answered));
    let app_state = state.clone();
    let metrics_here = state.settings.metrics.bind.is_empty();
    let csp = web::Data::new(crate::http::headers::Csp::new(
        state.attachments.foreign_origin().as_deref(),
    )?);
    let described = web::Data::new(crate::http::openapi::Served::new(
        &crate::http::description(),
    )?);
    // SIGTERM/SIGINT are handled by `drain`, which closes the sessions first.
    let server = crate::server::serve(listener, &options, engines, Some(observer), move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(csp.clone())
            .app_data(described.clone())
            .app_data(crate::http::json_config(json_limit))
            .app_data(crate::http::query_config())
            .app_data(crate::http::path_config())
            .wrap(from_fn(crate::http::track))
            .wrap(from_fn(crate::http::headers::secure))
            .service(app_state.engine.service(ENGINE_PATH))
            .configure(|cfg| crate::http::routes(cfg, metrics_here))
            .default_service(web::to(crate::http::not_found))
    })?;
    Ok((server, port))
}

/// The engine's limits: the client address as the HTTP API resolves it, and no more sessions
/// than the process's file limit leaves room for beside `fd_reserve` descriptors, kept for
/// `/health`, `/ready`, `/metrics`, the HTTP API, PostgreSQL and Redis.
fn engine_config(settings: &Settings) -> confab_actors::engine::EngineConfig {
    let mut config = settings.engine.clone();
    config.trust_proxy_headers = settings.server.trust_proxy_headers;
    if let Some(limit) = open_files_limit() {
        let room = limit.saturating_sub(settings.server.fd_reserve).max(1);
        if room < config.max_sessions {
            log::info!(max_sessions = room, open_files_limit = limit; "sessions capped by the file limit");
            config.max_sessions = room;
        }
    }
    config
}

/// The soft limit on open files of this process, from `/proc/self/limits`.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// `/metrics` alone on `[metrics] bind`, one worker, when it names an address; started here.
fn metrics_server(state: &web::Data<AppState>) -> anyhow::Result<Option<(ServerHandle, u16)>> {
    let bind = &state.settings.metrics.bind;
    if bind.is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(bind).with_context(|| format!("binding metrics {bind}"))?;
    let port = listener.local_addr()?.port();
    let app_state = state.clone();
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(from_fn(crate::http::headers::secure))
            .route(
                "/metrics",
                web::get().to(crate::http::ops::metrics::metrics),
            )
            .default_service(web::to(crate::http::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    log::info!(port = port; "metrics listening");
    Ok(Some((handle, port)))
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
/// seq and rev (`conversation:updated`), so clients repair gaps with `sync:request` and
/// `sync:changes`.
async fn announce_latest_seqs(pool: DbPool, publisher: Publisher, conversations: Vec<uuid::Uuid>) {
    let latest = match pool.get().await {
        Ok(mut conn) => crate::models::conversation::latest(&mut conn, &conversations).await,
        Err(err) => {
            log::warn!(cause:% = err; "cannot read latest seqs after a bridge reconnect");
            return;
        }
    };
    for (id, last_seq, last_rev) in latest.unwrap_or_default() {
        publisher.conversation_updated_here(&ConversationUpdated {
            conversation_id: id,
            last_seq,
            last_rev,
        });
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
