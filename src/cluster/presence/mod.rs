//! Presence across the nodes of a cluster, kept in Redis.
//!
//! Every node heartbeats its entry in the sorted set `{ns}:presence:nodes` (score: the time
//! of its last heartbeat, in ms) and keeps the set `{ns}:presence:node:{id}` of the users
//! online on it. A user is online while some live node lists them. A node whose heartbeat is
//! older than three heartbeats is dead: the first node to remove its entry reaps it, and its users
//! who are online nowhere else are stored as last seen at its last heartbeat and announced
//! offline. A node that drains on SIGTERM backdates its heartbeat so that it is reaped one grace
//! period later; a node that finds its own entry missing (Redis restarted, or it was reaped
//! while paused) lists its users again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use confab_actors::chat::PresenceDirectory;
use deadpool_redis::redis;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

mod worker;

use worker::Worker;

/// The Redis keys of one cluster's presence, under its namespace (`{ns}` below).
struct Keys {
    /// `{ns}:presence:nodes`: the live nodes, scored by their last heartbeat.
    nodes: String,
    /// `{ns}:presence:last_seen`: when each node was last known to have its users: its last
    /// heartbeat, or when it retired.
    last_seen: String,
    /// `{ns}:presence:node:`, followed by a node id: that node's users.
    node_prefix: String,
    timing: PresenceTiming,
}

impl Keys {
    fn new(namespace: &str, timing: PresenceTiming) -> Keys {
        Keys {
            timing,
            nodes: format!("{namespace}:presence:nodes"),
            last_seen: format!("{namespace}:presence:last_seen"),
            node_prefix: format!("{namespace}:presence:node:"),
        }
    }

    fn users(&self, node: &str) -> String {
        format!("{}{node}", self.node_prefix)
    }
}
/// The presence clock of a cluster: every node of it must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceTiming {
    /// How often a node refreshes its entry and looks for dead nodes.
    pub heartbeat: Duration,
    /// A retiring node is reaped this long after it closed its sessions, so its users have
    /// the same grace to reconnect elsewhere as anyone who disconnects.
    pub retire_grace: Duration,
}

impl PresenceTiming {
    /// A node not heard from for three heartbeats is dead: with a 5 s heartbeat, a dead node's
    /// users are announced offline between 15 and 20 s after its last one.
    fn node_timeout(&self) -> Duration {
        self.heartbeat * 3
    }

    /// The user sets expire unless refreshed, so nothing outlives a cluster that is gone.
    fn users_ttl(&self) -> Duration {
        (self.heartbeat * 12).max(Duration::from_secs(1))
    }
}

/// Called with users found online on no live node, and when they were last seen.
pub type GoneHandler = Box<dyn Fn(Vec<Uuid>, SystemTime) + Send + Sync>;

enum Command {
    Online(Uuid),
    Offline(Uuid, oneshot::Sender<bool>),
    Retire(oneshot::Sender<()>),
}

/// This node's part of the cluster's presence.
pub struct RedisPresence {
    node_id: Arc<str>,
    keys: Arc<Keys>,
    pool: deadpool_redis::Pool,
    commands: mpsc::UnboundedSender<Command>,
    pending: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl RedisPresence {
    /// This node's presence in the cluster whose keys are under `namespace`.
    pub fn new(
        node_id: &str,
        namespace: &str,
        timing: PresenceTiming,
        pool: deadpool_redis::Pool,
    ) -> Arc<Self> {
        let (commands, pending) = mpsc::unbounded_channel();
        Arc::new(RedisPresence {
            node_id: node_id.into(),
            keys: Arc::new(Keys::new(namespace, timing)),
            pool,
            commands,
            pending: std::sync::Mutex::new(Some(pending)),
        })
    }

    /// Starts the heartbeat task (inside the actix system); the users of dead nodes go to
    /// `gone`. The chat layer is built on this directory, so `gone` can reach it only now.
    pub fn start(&self, gone: GoneHandler) {
        let Some(commands) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        let worker = Worker {
            node_id: self.node_id.clone(),
            keys: self.keys.clone(),
            pool: self.pool.clone(),
            gone,
            local: HashSet::new(),
        };
        actix_web::rt::spawn(worker.run(commands));
    }

    /// Marks this node dead so another node reaps it at once (the node is draining). Resolves
    /// when Redis was told, or could not be.
    pub async fn retire(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Retire(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

impl PresenceDirectory for RedisPresence {
    fn online_here(&self, user: Uuid) {
        let _ = self.commands.send(Command::Online(user));
    }

    fn offline_here(&self, user: Uuid) -> BoxFuture<'static, bool> {
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.send(Command::Offline(user, reply)).is_ok();
        async move { sent && answer.await.unwrap_or(false) }.boxed()
    }

    fn online_elsewhere(&self, users: Vec<Uuid>) -> BoxFuture<'static, Vec<bool>> {
        let (pool, node_id, keys) = (self.pool.clone(), self.node_id.clone(), self.keys.clone());
        async move {
            let found = async {
                let mut conn = pool.get().await.ok()?;
                let nodes = live_nodes(&mut conn, &keys).await.ok()?;
                let others: Vec<&str> = nodes
                    .iter()
                    .map(String::as_str)
                    .filter(|n| *n != &*node_id)
                    .collect();
                online_on(&mut conn, &keys, &others, &users).await.ok()
            };
            let count = users.len();
            found.await.unwrap_or_else(|| vec![false; count])
        }
        .boxed()
    }
}

/// The nodes whose last heartbeat is recent enough.
async fn live_nodes(
    conn: &mut deadpool_redis::Connection,
    keys: &Keys,
) -> redis::RedisResult<Vec<String>> {
    let since = now_ms().saturating_sub(keys.timing.node_timeout().as_millis() as u64);
    redis::cmd("ZRANGEBYSCORE")
        .arg(&keys.nodes)
        .arg(since)
        .arg("+inf")
        .query_async(conn)
        .await
}

/// For each of `users`: whether one of `nodes` lists them.
async fn online_on(
    conn: &mut deadpool_redis::Connection,
    keys: &Keys,
    nodes: &[&str],
    users: &[Uuid],
) -> redis::RedisResult<Vec<bool>> {
    let mut online = vec![false; users.len()];
    if users.is_empty() {
        return Ok(online);
    }
    for node in nodes {
        let mut cmd = redis::cmd("SMISMEMBER");
        cmd.arg(keys.users(node));
        for user in users {
            cmd.arg(user.to_string());
        }
        let listed: Vec<bool> = cmd.query_async(conn).await?;
        for (online, listed) in online.iter_mut().zip(listed) {
            *online |= listed;
        }
    }
    Ok(online)
}
