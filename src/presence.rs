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

/// The task that owns this node's entry: applies changes in order, heartbeats and reaps.
struct Worker {
    node_id: Arc<str>,
    keys: Arc<Keys>,
    pool: deadpool_redis::Pool,
    gone: GoneHandler,
    /// The users online here, to list again if Redis lost them.
    local: HashSet<Uuid>,
}

impl Worker {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        // A previous run of this node that did not retire left users behind.
        self.reap_if_listed(&self.node_id.clone()).await;
        let mut ticks = tokio::time::interval(self.keys.timing.heartbeat);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Online(user)) => {
                        self.local.insert(user);
                        self.list(&[user]).await;
                    }
                    Some(Command::Offline(user, reply)) => {
                        self.local.remove(&user);
                        let _ = reply.send(self.unlist(user).await);
                    }
                    Some(Command::Retire(done)) => {
                        self.retire().await;
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
                _ = ticks.tick() => {
                    self.heartbeat().await;
                    self.reap_dead().await;
                }
            }
        }
    }

    async fn conn(&self) -> Option<deadpool_redis::Connection> {
        match self.pool.get().await {
            Ok(conn) => Some(conn),
            Err(err) => {
                log::debug!(cause:% = err; "presence cannot reach Redis");
                None
            }
        }
    }

    /// Adds `users` to this node's set.
    async fn list(&self, users: &[Uuid]) {
        let Some(mut conn) = self.conn().await else {
            return;
        };
        let key = self.keys.users(&self.node_id);
        let mut pipe = redis::pipe();
        let add = pipe.cmd("SADD").arg(&key);
        for user in users {
            add.arg(user.to_string());
        }
        pipe.cmd("EXPIRE")
            .arg(&key)
            .arg(self.keys.timing.users_ttl().as_secs());
        let done: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        if let Err(err) = done {
            log::warn!(cause:% = err; "presence not recorded in Redis");
        }
    }

    /// Removes `user` from this node's set; then whether another live node lists them.
    /// Removing first means that of two nodes a user leaves at once, at least one finds them
    /// gone and announces it.
    async fn unlist(&self, user: Uuid) -> bool {
        let Some(mut conn) = self.conn().await else {
            return false;
        };
        let removed: redis::RedisResult<i64> = redis::cmd("SREM")
            .arg(self.keys.users(&self.node_id))
            .arg(user.to_string())
            .query_async(&mut conn)
            .await;
        if removed.is_err() {
            return false;
        }
        let Ok(nodes) = live_nodes(&mut conn, &self.keys).await else {
            return false;
        };
        let others: Vec<&str> = nodes
            .iter()
            .map(String::as_str)
            .filter(|n| *n != &*self.node_id)
            .collect();
        online_on(&mut conn, &self.keys, &others, &[user])
            .await
            .map(|online| online.first().copied().unwrap_or(false))
            .unwrap_or(false)
    }

    /// Sets this node's heartbeat score to `heartbeat` and its users' last-seen time to
    /// `seen` (both in ms); 1 when the node had no entry.
    async fn stamp(
        &self,
        conn: &mut deadpool_redis::Connection,
        heartbeat: u64,
        seen: u64,
    ) -> redis::RedisResult<i64> {
        let (added, _): (i64, i64) = redis::pipe()
            .cmd("ZADD")
            .arg(&self.keys.nodes)
            .arg(heartbeat)
            .arg(&*self.node_id)
            .cmd("HSET")
            .arg(&self.keys.last_seen)
            .arg(&*self.node_id)
            .arg(seen)
            .query_async(conn)
            .await?;
        Ok(added)
    }

    /// Refreshes this node's entry; lists its users again when the entry had gone missing.
    async fn heartbeat(&self) {
        let Some(mut conn) = self.conn().await else {
            return;
        };
        let now = now_ms();
        match self.stamp(&mut conn, now, now).await {
            Ok(1) if !self.local.is_empty() => {
                drop(conn);
                let users: Vec<Uuid> = self.local.iter().copied().collect();
                log::info!(users = users.len(); "presence entry was missing in Redis; listing users again");
                self.list(&users).await;
            }
            Ok(_) => {
                let _: redis::RedisResult<()> = redis::cmd("EXPIRE")
                    .arg(self.keys.users(&self.node_id))
                    .arg(self.keys.timing.users_ttl().as_secs())
                    .query_async(&mut conn)
                    .await;
            }
            Err(err) => log::warn!(cause:% = err; "presence heartbeat failed"),
        }
    }

    /// Reaps every node whose heartbeat is too old.
    async fn reap_dead(&self) {
        let Some(mut conn) = self.conn().await else {
            return;
        };
        let before = now_ms().saturating_sub(self.keys.timing.node_timeout().as_millis() as u64);
        let dead: redis::RedisResult<Vec<String>> = redis::cmd("ZRANGEBYSCORE")
            .arg(&self.keys.nodes)
            .arg("-inf")
            .arg(format!("({before}"))
            .query_async(&mut conn)
            .await;
        drop(conn);
        for node in dead.unwrap_or_default() {
            self.reap(&node).await;
        }
    }

    /// Reaps `node` (this node's own earlier run) if it is still listed.
    async fn reap_if_listed(&self, node: &str) {
        let Some(mut conn) = self.conn().await else {
            return;
        };
        let score: redis::RedisResult<Option<f64>> = redis::cmd("ZSCORE")
            .arg(&self.keys.nodes)
            .arg(node)
            .query_async(&mut conn)
            .await;
        drop(conn);
        if let Ok(Some(_)) = score {
            self.reap(node).await;
        }
    }

    /// Removes `node` (whoever removes it first does the rest), takes its users, and hands on
    /// those that no live node lists.
    async fn reap(&self, node: &str) {
        let Some(mut conn) = self.conn().await else {
            return;
        };
        let claimed: redis::RedisResult<i64> = redis::cmd("ZREM")
            .arg(&self.keys.nodes)
            .arg(node)
            .query_async(&mut conn)
            .await;
        if claimed != Ok(1) {
            return;
        }
        let key = self.keys.users(node);
        let taken: redis::RedisResult<(Vec<String>, Option<u64>, i64, i64)> = redis::pipe()
            .atomic()
            .cmd("SMEMBERS")
            .arg(&key)
            .cmd("HGET")
            .arg(&self.keys.last_seen)
            .arg(node)
            .cmd("DEL")
            .arg(&key)
            .cmd("HDEL")
            .arg(&self.keys.last_seen)
            .arg(node)
            .query_async(&mut conn)
            .await;
        let (users, at) = match taken {
            Ok((users, last_seen, _, _)) => (
                users
                    .iter()
                    .filter_map(|u| Uuid::parse_str(u).ok())
                    .collect::<Vec<_>>(),
                last_seen.map_or_else(SystemTime::now, |ms| UNIX_EPOCH + Duration::from_millis(ms)),
            ),
            Err(err) => {
                log::warn!(node_id = node, cause:% = err; "cannot read a dead node's users");
                return;
            }
        };
        let Ok(nodes) = live_nodes(&mut conn, &self.keys).await else {
            return;
        };
        let mut nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        if !nodes.contains(&&*self.node_id) {
            nodes.push(&self.node_id);
        }
        let Ok(online) = online_on(&mut conn, &self.keys, &nodes, &users).await else {
            return;
        };
        let gone: Vec<Uuid> = users
            .into_iter()
            .zip(online)
            .filter(|(_, online)| !online)
            .map(|(user, _)| user)
            .collect();
        log::warn!(node_id = node, users_offline = gone.len(); "reaped a node that stopped heartbeating");
        if gone.is_empty() {
            return;
        }
        (self.gone)(gone, at);
    }

    /// Backdates this node's heartbeat so it is reaped after the retire grace, records that its
    /// users were here until now, and stops heartbeating.
    async fn retire(&self) {
        let Some(mut conn) = self.conn().await else {
            return;
        };
        let now = now_ms();
        let timing = self.keys.timing;
        let backdated = (now + timing.retire_grace.as_millis() as u64)
            .saturating_sub(timing.node_timeout().as_millis() as u64);
        if let Err(err) = self.stamp(&mut conn, backdated, now).await {
            log::warn!(cause:% = err; "presence could not retire this node");
        }
    }
}
