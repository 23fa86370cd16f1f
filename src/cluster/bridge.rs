//! The Redis bridge between nodes. Room traffic published on this node is sent to the room's
//! channel (`{ns}:room:{id}`, under the cluster's namespace) by one publisher task through the pool, in order; one dedicated
//! connection per node subscribes to the channels of the rooms that have local subscribers, and
//! hands what other nodes published to the local rooms. The bridge ignores its own publications,
//! reconnects with backoff and re-subscribes by itself.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use confab_actors::chat::{Publisher, RoomBridge};
use confab_actors::protocol::engineio::Frame;
use deadpool_redis::redis;
use futures_util::StreamExt;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Opts};
use tokio::sync::mpsc;
use uuid::Uuid;

/// The channels of one cluster, under its namespace (`{ns}` below).
struct Channels {
    /// `{ns}:room:`, followed by a conversation id.
    room_prefix: String,
    /// `{ns}:user:`, followed by a user id.
    user_prefix: String,
    /// `{ns}:user:*`: every node hears every user's membership events and applies those for
    /// its own sockets.
    user_pattern: String,
}

impl Channels {
    fn new(namespace: &str) -> Channels {
        Channels {
            room_prefix: format!("{namespace}:room:"),
            user_prefix: format!("{namespace}:user:"),
            user_pattern: format!("{namespace}:user:*"),
        }
    }

    fn room(&self, conversation: Uuid) -> String {
        format!("{}{conversation}", self.room_prefix)
    }
}
/// Publications waiting for Redis beyond this are dropped (clients repair gaps by seq and rev).
const PUBLISH_QUEUE: usize = 65_536;
/// Reconnection attempts: cheap against a Redis that refuses at once, and frequent enough that
/// sockets hear of what they missed soon after Redis is back.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

/// The bridge's metrics, registered in the node's registry.
#[derive(Clone)]
pub struct BridgeMetrics {
    pub published: IntCounter,
    pub publish_failures: IntCounter,
    pub received: IntCounter,
    pub reconnects: IntCounter,
    pub redis_up: IntGauge,
    pub latency: Histogram,
}

impl BridgeMetrics {
    pub fn new(registry: &crate::metrics::Metrics) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str| {
            IntCounter::with_opts(Opts::new(name, help).namespace("confab"))
        };
        let metrics = BridgeMetrics {
            published: counter("bridge_published_total", "Frames published to Redis")?,
            publish_failures: counter(
                "bridge_publish_failures_total",
                "Frames that could not be published",
            )?,
            received: counter("bridge_received_total", "Frames received from other nodes")?,
            reconnects: counter(
                "bridge_reconnects_total",
                "Times the subscriber connection was re-established",
            )?,
            redis_up: IntGauge::with_opts(
                Opts::new("redis_up", "1 while the bridge's subscriber is connected")
                    .namespace("confab"),
            )?,
            latency: Histogram::with_opts(
                HistogramOpts::new(
                    "bridge_delivery_seconds",
                    "Time from publication on one node to receipt on another",
                )
                .namespace("confab")
                .buckets(vec![
                    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                ]),
            )?,
        };
        registry.register(Box::new(metrics.published.clone()))?;
        registry.register(Box::new(metrics.publish_failures.clone()))?;
        registry.register(Box::new(metrics.received.clone()))?;
        registry.register(Box::new(metrics.reconnects.clone()))?;
        registry.register(Box::new(metrics.redis_up.clone()))?;
        registry.register(Box::new(metrics.latency.clone()))?;
        Ok(metrics)
    }
}

enum Subscription {
    Add(String),
    Remove(String),
}

pub struct RedisBridge {
    node_id: Arc<str>,
    channels: Arc<Channels>,
    publications: mpsc::Sender<(String, String)>,
    subscriptions: mpsc::UnboundedSender<Subscription>,
    metrics: BridgeMetrics,
    /// Parked until `start` hands them to the tasks.
    pending: std::sync::Mutex<Option<Pending>>,
}

/// Conversations whose traffic a node may have missed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missed {
    /// The subscriber reconnected: what was published meanwhile may not have reached these
    /// conversations' sockets here.
    Here(Vec<Uuid>),
    /// Publications of these conversations failed: the other nodes' sockets may lack them.
    Elsewhere(Vec<Uuid>),
}

/// Told of the traffic that may have been missed, to send repair hints.
pub type ReconnectHandler = Arc<dyn Fn(Missed) + Send + Sync>;

/// Conversations remembered as having lost publications, at most (beyond, the oldest failures
/// are not repaired by a hint; the clients' next change shows them the gap).
const MAX_FAILED: usize = 10_000;

struct Pending {
    client: redis::Client,
    pool: deadpool_redis::Pool,
    publications: mpsc::Receiver<(String, String)>,
    subscriptions: mpsc::UnboundedReceiver<Subscription>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

impl RedisBridge {
    /// A bridge for `node_id` in the cluster whose channels are under `namespace`; `start` it
    /// once the publisher exists.
    pub fn new(
        url: &str,
        node_id: &str,
        namespace: &str,
        pool: deadpool_redis::Pool,
        metrics: BridgeMetrics,
    ) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let (publish_tx, publish_rx) = mpsc::channel(PUBLISH_QUEUE);
        let (subscribe_tx, subscribe_rx) = mpsc::unbounded_channel();
        Ok(Arc::new(RedisBridge {
            node_id: node_id.into(),
            channels: Arc::new(Channels::new(namespace)),
            publications: publish_tx,
            subscriptions: subscribe_tx,
            metrics,
            pending: std::sync::Mutex::new(Some(Pending {
                client,
                pool,
                publications: publish_rx,
                subscriptions: subscribe_rx,
            })),
        }))
    }

    /// Starts the publisher and subscriber tasks: what other nodes publish goes to `local`
    /// for this node's sockets, and after a reconnect, `reconnected` hears which conversations
    /// may have missed traffic. (The publisher is built on the bridge, so it comes in here.)
    pub fn start(self: &Arc<Self>, local: Publisher, reconnected: ReconnectHandler) {
        let Some(pending) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        actix_web::rt::spawn(publisher(
            pending.pool,
            pending.publications,
            self.metrics.clone(),
            Failed {
                channels: self.channels.clone(),
                conversations: Default::default(),
                repair: reconnected.clone(),
            },
        ));
        actix_web::rt::spawn(subscriber(
            pending.client,
            Inbound {
                publisher: local,
                reconnected,
                node_id: self.node_id.clone(),
                channels: self.channels.clone(),
                metrics: self.metrics.clone(),
            },
            pending.subscriptions,
        ));
    }
}

impl RoomBridge for RedisBridge {
    fn subscribe(&self, conversation: Uuid) {
        let _ = self
            .subscriptions
            .send(Subscription::Add(self.channels.room(conversation)));
    }

    fn unsubscribe(&self, conversation: Uuid) {
        let _ = self
            .subscriptions
            .send(Subscription::Remove(self.channels.room(conversation)));
    }

    fn publish(&self, conversation: Uuid, frame: &Frame, rev: Option<i64>) {
        let Frame::Text(text) = frame else { return };
        self.send(self.channels.room(conversation), text, rev.map(Mark::Rev));
    }

    fn publish_about(&self, conversation: Uuid, frame: &Frame, about: Uuid) {
        let Frame::Text(text) = frame else { return };
        self.send(
            self.channels.room(conversation),
            text,
            Some(Mark::About(about)),
        );
    }

    fn publish_user(&self, user: Uuid, event: String) {
        self.send(format!("{}{user}", self.channels.user_prefix), &event, None);
    }

    fn publish_behind(&self, conversation: Uuid, frame: &Frame, last_rev: i64) {
        let Frame::Text(text) = frame else { return };
        self.send(
            self.channels.room(conversation),
            text,
            Some(Mark::Behind(last_rev)),
        );
    }
}

/// What a room publication carries beside its frame: a change's rev, or the user a presence
/// frame is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Rev(i64),
    About(Uuid),
    /// A repair hint: the conversation is at this rev.
    Behind(i64),
}

impl RedisBridge {
    /// Queues `body` for `channel` as "<node>\n<published at, ms>[:<rev>|@<user>|!<rev>]\n<body>":
    /// receivers skip their own publications, time the trip, keep changes in rev order, keep
    /// a user's presence from those they blocked, and pass a repair hint (`!`) only to rooms
    /// that are behind.
    fn send(&self, channel: String, body: &str, mark: Option<Mark>) {
        let payload = match mark {
            Some(Mark::Rev(rev)) => format!("{}\n{}:{}\n{}", self.node_id, now_ms(), rev, body),
            Some(Mark::About(user)) => {
                format!("{}\n{}@{}\n{}", self.node_id, now_ms(), user, body)
            }
            Some(Mark::Behind(rev)) => format!("{}\n{}!{}\n{}", self.node_id, now_ms(), rev, body),
            None => format!("{}\n{}\n{}", self.node_id, now_ms(), body),
        };
        if self.publications.try_send((channel, payload)).is_err() {
            self.metrics.publish_failures.inc();
        }
    }
}

/// What the subscriber needs to hand on what it receives.
struct Inbound {
    publisher: Publisher,
    channels: Arc<Channels>,
    reconnected: ReconnectHandler,
    node_id: Arc<str>,
    metrics: BridgeMetrics,
}

/// The conversations whose publications failed, until one publication succeeds again.
struct Failed {
    channels: Arc<Channels>,
    conversations: std::collections::HashSet<Uuid>,
    repair: ReconnectHandler,
}

impl Failed {
    fn record(&mut self, channel: &str) {
        let conversation = channel
            .strip_prefix(self.channels.room_prefix.as_str())
            .and_then(|id| Uuid::parse_str(id).ok());
        if let Some(conversation) = conversation {
            if self.conversations.len() < MAX_FAILED {
                self.conversations.insert(conversation);
            }
        }
    }

    /// Publishing works again: the other nodes hear where they may be behind.
    fn recovered(&mut self) {
        if !self.conversations.is_empty() {
            let missed = self.conversations.drain().collect();
            (self.repair)(Missed::Elsewhere(missed));
        }
    }
}

/// Publishes in order on one pooled connection, taking a new one after a failure; once
/// publishing works again, asks for repair hints for what failed meanwhile.
async fn publisher(
    pool: deadpool_redis::Pool,
    mut queue: mpsc::Receiver<(String, String)>,
    metrics: BridgeMetrics,
    mut failed: Failed,
) {
    let mut conn = None;
    while let Some((channel, payload)) = queue.recv().await {
        if conn.is_none() {
            conn = pool.get().await.ok();
        }
        let Some(c) = conn.as_mut() else {
            metrics.publish_failures.inc();
            failed.record(&channel);
            continue;
        };
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&payload)
            .query_async(c)
            .await;
        match sent {
            Ok(_) => {
                metrics.published.inc();
                failed.recovered();
            }
            Err(err) => {
                log::warn!(cause:% = err; "bridge publish failed");
                metrics.publish_failures.inc();
                failed.record(&channel);
                conn = None;
            }
        }
    }
}

/// Keeps one subscriber connection alive, subscribed to every room with local subscribers.
async fn subscriber(
    client: redis::Client,
    inbound: Inbound,
    mut changes: mpsc::UnboundedReceiver<Subscription>,
) {
    let metrics = &inbound.metrics;
    let mut backoff = BACKOFF_MIN;
    let mut connected_before = false;
    loop {
        match client.get_async_pubsub().await {
            Ok(pubsub) => {
                backoff = BACKOFF_MIN;
                if connected_before {
                    metrics.reconnects.inc();
                    log::info!("bridge reconnected to Redis");
                }
                connected_before = true;
                metrics.redis_up.set(1);
                let (mut sink, mut stream) = pubsub.split();
                // Pending changes are superseded by the rooms as they are now.
                while changes.try_recv().is_ok() {}
                let mut healthy = sink
                    .psubscribe(&inbound.channels.user_pattern)
                    .await
                    .is_ok();
                let conversations = inbound.publisher.subscribed();
                for conversation in &conversations {
                    healthy &= sink
                        .subscribe(inbound.channels.room(*conversation))
                        .await
                        .is_ok();
                }
                if healthy && metrics.reconnects.get() > 0 {
                    (inbound.reconnected)(Missed::Here(conversations));
                }
                while healthy {
                    tokio::select! {
                        change = changes.recv() => {
                            let done = match change {
                                Some(Subscription::Add(ch)) => sink.subscribe(ch).await,
                                Some(Subscription::Remove(ch)) => sink.unsubscribe(ch).await,
                                None => return,
                            };
                            healthy = done.is_ok();
                        }
                        message = stream.next() => match message {
                            Some(message) => deliver(&inbound, message),
                            None => healthy = false,
                        },
                    }
                }
                metrics.redis_up.set(0);
                log::warn!("bridge lost its Redis subscription; reconnecting");
            }
            Err(err) => {
                metrics.redis_up.set(0);
                log::warn!(cause:% = err, retry_ms = backoff.as_millis() as u64; "bridge cannot reach Redis");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn deliver(inbound: &Inbound, message: redis::Msg) {
    let Ok(payload) = message.get_payload::<String>() else {
        return;
    };
    let mut parts = payload.splitn(3, '\n');
    let (Some(origin), Some(sent_at), Some(body)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    if origin == &*inbound.node_id {
        return;
    }
    inbound.metrics.received.inc();
    let (sent_at, mark) = if let Some((at, rev)) = sent_at.split_once(':') {
        (at, rev.parse().ok().map(Mark::Rev))
    } else if let Some((at, user)) = sent_at.split_once('@') {
        (at, Uuid::parse_str(user).ok().map(Mark::About))
    } else if let Some((at, rev)) = sent_at.split_once('!') {
        (at, rev.parse().ok().map(Mark::Behind))
    } else {
        (sent_at, None)
    };
    if let Ok(sent_at) = sent_at.parse::<u128>() {
        inbound
            .metrics
            .latency
            .observe(now_ms().saturating_sub(sent_at) as f64 / 1000.0);
    }
    let channel = message.get_channel_name();
    if let Some(conversation) = channel
        .strip_prefix(inbound.channels.room_prefix.as_str())
        .and_then(|id| Uuid::parse_str(id).ok())
    {
        let publisher = &inbound.publisher;
        match mark {
            Some(Mark::Behind(last_rev)) => {
                publisher.behind_from_bridge(conversation, body, last_rev)
            }
            Some(Mark::Rev(rev)) => {
                publisher.deliver_from_bridge(conversation, body, Some(rev), None)
            }
            Some(Mark::About(user)) => {
                publisher.deliver_from_bridge(conversation, body, None, Some(user))
            }
            None => publisher.deliver_from_bridge(conversation, body, None, None),
        }
    } else if let Some(user) = channel
        .strip_prefix(inbound.channels.user_prefix.as_str())
        .and_then(|id| Uuid::parse_str(id).ok())
    {
        let (publisher, event) = (inbound.publisher.clone(), body.to_string());
        actix_web::rt::spawn(async move { publisher.apply_remote(user, &event).await });
    }
}
