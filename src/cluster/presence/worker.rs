//! The task that owns this node's entry in the cluster's presence: it applies this node's
//! changes in order, heartbeats, and reaps nodes that stopped heartbeating.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{live_nodes, now_ms, online_on, Command, GoneHandler, Keys};

/// The task that owns this node's entry: applies changes in order, heartbeats and reaps.
pub(super) struct Worker {
    pub(super) node_id: Arc<str>,
    pub(super) keys: Arc<Keys>,
    pub(super) pool: deadpool_redis::Pool,
    pub(super) gone: GoneHandler,
    /// The users online here, to list again if Redis lost them.
    pub(super) local: HashSet<Uuid>,
}

impl Worker {
    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
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
