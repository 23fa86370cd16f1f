//! The node's parts, each built from the settings and the parts before it: storage,
//! object storage, the cluster, the realtime core, attachments.

use super::*;

/// The database pools and the group-commit writer; Redis's pool when configured.
pub(super) fn storage(settings: &Settings, metrics: &Metrics) -> anyhow::Result<Storage> {
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
pub(super) struct Objects {
    pub(super) signer: Signer,
    pub(super) local: Option<Arc<LocalStorage>>,
}

pub(super) fn objects(settings: &Settings, bound: std::net::SocketAddr) -> anyhow::Result<Objects> {
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
pub(super) fn attachments(
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
pub(super) fn cluster(
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
pub(super) fn realtime(
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
        deadline: settings.storage.commit_deadline(),
    });
    storage.writer.announce_to(publisher.clone());
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
        events: EventBounds {
            deadline: settings.storage.commit_deadline(),
            ..settings.chat.event_bounds()
        },
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
        Arc::new(move |missed| {
            actix_web::rt::spawn(announce_latest_seqs(pool.clone(), seqs_for.clone(), missed));
        }),
    );
    let chat = chat.clone();
    cluster.presence.start(Box::new(move |users, at| {
        let chat = chat.clone();
        actix_web::rt::spawn(async move { chat.users_gone(users, at).await });
    }));
}

/// The engine's limits: the client address as the HTTP API resolves it, and no more sessions
/// than the process's file limit leaves room for beside `fd_reserve` descriptors, kept for
/// `/health`, `/ready`, `/metrics`, the HTTP API, PostgreSQL and Redis.
pub(super) fn engine_config(settings: &Settings) -> confab_actors::engine::EngineConfig {
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

/// After the bridge missed traffic, tells the sessions of each conversation that may lack some
/// of it (here, or on the other nodes) its latest seq and rev (`conversation:updated`), so
/// clients repair gaps with `sync:request` and `sync:changes`. Rooms that have handed out the
/// latest rev already hear nothing.
async fn announce_latest_seqs(pool: DbPool, publisher: Publisher, missed: Missed) {
    let conversations = match &missed {
        Missed::Here(ids) | Missed::Elsewhere(ids) => ids,
    };
    let latest = match pool.get().await {
        Ok(mut conn) => crate::models::conversation::latest(&mut conn, conversations).await,
        Err(err) => {
            log::warn!(cause:% = err; "cannot read latest seqs after a bridge reconnect");
            return;
        }
    };
    for (id, last_seq, last_rev) in latest.unwrap_or_default() {
        let update = ConversationUpdated {
            conversation_id: id,
            last_seq,
            last_rev,
        };
        match missed {
            Missed::Here(_) => publisher.conversation_updated_here(&update),
            Missed::Elsewhere(_) => publisher.conversation_updated_elsewhere(&update),
        }
    }
}
