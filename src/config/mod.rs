//! Layered configuration: the built-in defaults, `config/default.toml`, `config/{CONFAB_ENV}.toml`,
//! then `CONFAB_<SECTION>__<KEY>` variables, then the conventional names (`DATABASE_URL`, ...).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

const BUILT_IN_DEFAULTS: &str = include_str!("../../config/default.toml");
const DEV_JWT_SECRET: &str = "confab-development-secret-do-not-use-in-production";

/// Conventional variable names, each mapped onto its configuration key. They win over everything.
const CONVENTIONAL_VARS: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("REDIS_URL", "redis.url"),
    ("CONFAB_BIND", "server.bind"),
    ("CONFAB_NODE_ID", "server.node_id"),
    ("JWT_SECRET", "auth.jwt_secret"),
    ("BCRYPT_COST", "auth.bcrypt_cost"),
    ("S3_ENDPOINT", "storage.s3_endpoint"),
    ("S3_PUBLIC_ENDPOINT", "storage.s3_public_endpoint"),
    ("S3_BUCKET", "storage.s3_bucket"),
    ("S3_REGION", "storage.s3_region"),
    ("S3_ACCESS_KEY", "storage.s3_access_key"),
    ("S3_SECRET_KEY", "storage.s3_secret_key"),
];

/// A value that must never reach a log line: `Debug` prints a placeholder.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `development`, `test` or `production` (from `CONFAB_ENV`).
    #[serde(skip)]
    pub environment: String,
    pub server: ServerSettings,
    pub metrics: MetricsSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub limits: Limits,
    pub chat: ChatSettings,
    pub engine: confab_actors::engine::EngineConfig,
    pub storage: StorageSettings,
}

/// Where attachments are kept, and their limits (PROTOCOL.md section 7, `POST /uploads`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// The local store's directory (used when no S3 bucket is configured).
    pub dir: PathBuf,
    /// The origin clients reach this node at, for the local store's URLs; empty:
    /// `http://` and the address the node listens on.
    pub public_url: String,
    /// The key of the local store's signed URLs; empty: derived from the JWT secret.
    pub signing_key: Secret,
    /// S3: the endpoint the node talks to (empty: AWS for `s3_region`), the one signed URLs
    /// name (what browsers reach; empty: the same), the bucket (non-empty selects S3), the
    /// region and the credentials.
    pub s3_endpoint: String,
    pub s3_public_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_access_key: Secret,
    pub s3_secret_key: Secret,
    /// Whether S3 upload URLs sign `If-None-Match: *`, so that the bucket stores an upload's
    /// bytes once and refuses any PUT after (off only for a service that rejects the header).
    pub s3_if_none_match: bool,
    pub max_upload_bytes: u64,
    /// Uploads of a user not yet part of a message.
    pub max_unclaimed_per_user: i64,
    pub max_side_px: u32,
    pub max_pixels: u64,
    /// How long an upload URL may be used.
    pub upload_url_ttl_secs: u64,
    /// Signed download URLs are valid for at least this long after they are made.
    pub download_url_ttl_secs: u64,
    /// A completed upload not attached to a message within this is removed.
    pub unclaimed_ttl_secs: u64,
    /// How often each node runs the cleanup job, and how many rows one batch takes.
    pub cleanup_interval_secs: u64,
    pub cleanup_batch: i64,
    /// Thumbnails made at once, how many more may wait, and how many of those one uploader's
    /// (the queue serves uploaders in turn).
    pub thumbnail_workers: usize,
    pub thumbnail_queue: usize,
    pub thumbnail_queue_per_user: usize,
    /// The longer side of a thumbnail.
    pub thumbnail_px: u32,
    /// A send, edit, delete, reaction or receipt not committed within this is answered
    /// `unavailable` (it may or may not have been stored).
    pub commit_deadline_ms: u64,
}

impl StorageSettings {
    /// How long a change may wait for its commit.
    pub fn commit_deadline(&self) -> Duration {
        Duration::from_millis(self.commit_deadline_ms)
    }

    /// Whether attachments go to S3 (a bucket is configured) rather than the local store.
    pub fn uses_s3(&self) -> bool {
        !self.s3_bucket.is_empty()
    }
}

/// The chat layer's timers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// A `typing:start` not renewed within this is followed by `typing:stop`.
    pub typing_timeout_ms: u64,
    /// A user's renewed `typing:start` reaches the others at most once per this.
    pub typing_relay_ms: u64,
    /// How many events of one socket are handled at once.
    pub max_events_in_flight: usize,
    /// How many more may wait their turn; past those, `rate_limited`.
    pub max_events_waiting: usize,
    /// Every event of a user on this node, per second, with bursts of `events_burst`.
    pub events_per_sec: f64,
    pub events_burst: f64,
    /// How long a user stays online after their last socket left.
    pub presence_grace_ms: u64,
    /// How often a node tells the cluster (Redis) it is alive; silent for three, it is dead.
    pub presence_heartbeat_ms: u64,
}

impl ChatSettings {
    pub fn timers(&self) -> confab_actors::chat::ChatTimers {
        confab_actors::chat::ChatTimers {
            typing_timeout: Duration::from_millis(self.typing_timeout_ms),
            offline_grace: Duration::from_millis(self.presence_grace_ms),
            typing_relay_every: Duration::from_millis(self.typing_relay_ms),
        }
    }

    pub fn event_bounds(&self) -> confab_actors::chat::EventBounds {
        confab_actors::chat::EventBounds {
            in_flight: self.max_events_in_flight,
            waiting: self.max_events_waiting,
            per_user_rate: self.events_per_sec,
            per_user_burst: self.events_burst,
            ..Default::default()
        }
    }

    pub fn presence_timing(&self) -> crate::cluster::presence::PresenceTiming {
        crate::cluster::presence::PresenceTiming {
            heartbeat: Duration::from_millis(self.presence_heartbeat_ms),
            retire_grace: Duration::from_millis(self.presence_grace_ms),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub node_id: String,
    pub trust_proxy_headers: bool,
    pub json_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    /// How long an idle HTTP/1 connection waits for its next request; behind a load
    /// balancer, longer than the balancer's own idle timeout.
    pub keep_alive_secs: u64,
    /// 0 means one worker per core.
    pub workers: usize,
    /// TCP_NODELAY on accepted connections.
    pub tcp_nodelay: bool,
    /// File descriptors kept from sessions, for operators and the API: the engine holds at
    /// most the process's open-file limit minus these.
    pub fd_reserve: usize,
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A listen address of its own, or empty for the main listener.
    pub bind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub pool_size: usize,
    pub pool_timeout_ms: u64,
    /// Group-commit writers for sends. They share a pool of as many connections of their own,
    /// beside the `pool_size` of the rest of the server.
    pub write_lanes: usize,
    /// Most sends one writer stores in one statement.
    pub write_batch_max: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Secret,
    /// The prefix of every Redis key and channel of this cluster; empty: `confab:` and the
    /// database name, so that clusters on different databases can share one Redis.
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub bcrypt_cost: u32,
    pub refresh_cookie_name: String,
    pub refresh_cookie_secure: bool,
    /// Failed logins are counted within this window.
    pub login_window_secs: u64,
    /// Failures of one account from one client address after which that address is refused
    /// for that account.
    pub login_max_failures_per_pair: u32,
    /// Failures from one client address, whatever the account, after which it is refused.
    pub login_max_failures_per_address: u32,
    /// Failures of one account, from every address, before its attempts are slowed down.
    pub login_account_free_failures: u32,
    /// The wait before the first slowed attempt, doubled for each further failure up to the
    /// most.
    pub login_account_delay_ms: u64,
    pub login_account_max_delay_ms: u64,
    /// Registration attempts per client address within `register_window_secs`.
    pub register_max_per_address: u32,
    pub register_window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub message_max_chars: usize,
    pub client_message_id_max_chars: usize,
    pub max_attachments: usize,
    pub group_max_members: usize,
    pub page_max: i64,
    pub send_rate_per_sec: f64,
    pub send_burst: f64,
    /// Searches per user and second, with bursts.
    pub search_per_sec: f64,
    pub search_burst: f64,
    /// Each search statement's time limit: past it the search is `too_broad`.
    pub search_statement_timeout_ms: u64,
    /// Database time a user's searches may take: milliseconds a second, in bursts of at most
    /// `search_db_burst_ms` (which holds at least one statement timeout).
    pub search_db_ms_per_sec: f64,
    pub search_db_burst_ms: f64,
    /// Members of a workspace.
    pub workspace_max_members: usize,
    /// Contact requests a user may send in 24 hours.
    pub contact_requests_per_day: i64,
    /// Workspaces a user may create in 24 hours.
    pub workspaces_per_day: i64,
    /// Invite look-ups and accepts per user and minute, in bursts as large (four times as
    /// many per client address).
    pub invite_lookups_per_min: f64,
}

impl Settings {
    /// Loads the configuration for `CONFAB_ENV` (default `development`) from the process environment.
    pub fn load() -> anyhow::Result<Settings> {
        let environment = std::env::var("CONFAB_ENV").unwrap_or_else(|_| "development".into());
        let dir = std::env::var("CONFAB_CONFIG_DIR")
            .map_or_else(|_| PathBuf::from("config"), PathBuf::from);
        Self::load_from(&environment, &dir, &std::env::vars().collect())
    }

    /// Loads the configuration for `environment` from `dir`, with `vars` as the environment.
    pub fn load_from(
        environment: &str,
        dir: &std::path::Path,
        vars: &HashMap<String, String>,
    ) -> anyhow::Result<Settings> {
        let mut builder = Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(
                Environment::with_prefix("CONFAB")
                    .prefix_separator("_")
                    .separator("__")
                    .source(Some(prefixed_vars(vars))),
            );
        for (name, key) in CONVENTIONAL_VARS {
            if let Some(value) = vars.get(*name) {
                builder = builder.set_override(*key, value.as_str())?;
            }
        }
        let mut settings: Settings = builder
            .build()?
            .try_deserialize()
            .context("invalid configuration")?;
        settings.environment = environment.to_string();
        settings.check()?;
        settings.resolve();
        Ok(settings)
    }

    /// Fills in what was left to the node to choose, once: a random node id, and the
    /// development JWT secret (with a warning) when none is configured.
    fn resolve(&mut self) {
        if self.server.node_id.is_empty() {
            self.server.node_id =
                format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        }
        if self.auth.jwt_secret.is_empty() {
            log::warn!(
                "JWT_SECRET is not set: using the built-in development secret. Never do this in production."
            );
            self.auth.jwt_secret = Secret::new(DEV_JWT_SECRET);
        }
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// The JWT signing secret (the development default when none was configured).
    pub fn jwt_secret(&self) -> &Secret {
        &self.auth.jwt_secret
    }

    /// The Redis URL, or `None` for a single node.
    pub fn redis_url(&self) -> Option<&str> {
        Some(self.redis.url.expose()).filter(|url| !url.is_empty())
    }

    /// The prefix of this cluster's Redis keys and channels.
    pub fn redis_namespace(&self) -> String {
        if !self.redis.namespace.is_empty() {
            return self.redis.namespace.clone();
        }
        match crate::db::split_database_name(self.database.url.expose()) {
            Ok((_, name)) => format!("confab:{name}"),
            Err(_) => "confab".into(),
        }
    }

    /// This node's id (random per process when none was configured).
    pub fn node_id(&self) -> &str {
        &self.server.node_id
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.is_production() && self.auth.jwt_secret.is_empty() {
            bail!("JWT_SECRET must be set when CONFAB_ENV=production");
        }
        if self.is_production() && self.auth.jwt_secret.expose().len() < 32 {
            bail!("JWT_SECRET must be at least 32 characters when CONFAB_ENV=production");
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            bail!("auth.bcrypt_cost must be between 4 and 31");
        }
        if self.database.pool_size == 0 {
            bail!("database.pool_size must be at least 1");
        }
        if self.database.write_lanes == 0 || self.database.write_lanes >= self.database.pool_size {
            bail!("database.write_lanes must be at least 1 and less than database.pool_size");
        }
        if !(1..=1000).contains(&self.database.write_batch_max) {
            bail!("database.write_batch_max must be 1..=1000");
        }
        let auth = &self.auth;
        if auth.login_max_failures_per_pair == 0
            || auth.login_max_failures_per_address == 0
            || auth.register_max_per_address == 0
        {
            bail!("auth.login_max_failures_per_pair, login_max_failures_per_address and register_max_per_address must be at least 1");
        }
        if auth.login_account_delay_ms > auth.login_account_max_delay_ms
            || auth.login_account_max_delay_ms > 60_000
        {
            bail!("auth.login_account_delay_ms must be at most login_account_max_delay_ms, itself at most 60000");
        }
        let engine = &self.engine;
        if engine.ping_interval_ms == 0 || engine.ping_timeout_ms == 0 || engine.max_payload < 1024
        {
            bail!("engine.ping_interval_ms and ping_timeout_ms must be positive and max_payload at least 1024");
        }
        if engine.max_buffered_packets == 0 || engine.max_sessions == 0 {
            bail!("engine.max_buffered_packets and engine.max_sessions must be at least 1");
        }
        if self.limits.invite_lookups_per_min < 1.0
            || self.limits.contact_requests_per_day < 1
            || self.limits.workspaces_per_day < 1
        {
            bail!("limits.invite_lookups_per_min, contact_requests_per_day and workspaces_per_day must be at least 1");
        }
        if self.limits.search_per_sec <= 0.0 || self.limits.search_burst < 1.0 {
            bail!("limits.search_per_sec must be positive and limits.search_burst at least 1");
        }
        let limits = &self.limits;
        if !(1..=60_000).contains(&limits.search_statement_timeout_ms)
            || limits.search_db_ms_per_sec <= 0.0
            || limits.search_db_burst_ms < limits.search_statement_timeout_ms as f64
        {
            bail!("limits.search_statement_timeout_ms must be 1..=60000, limits.search_db_ms_per_sec positive and limits.search_db_burst_ms at least the statement timeout");
        }
        if self.limits.send_rate_per_sec <= 0.0 || self.limits.send_burst < 1.0 {
            bail!("limits.send_rate_per_sec must be positive and limits.send_burst at least 1");
        }
        let chat = &self.chat;
        if chat.max_events_in_flight == 0 {
            bail!("chat.max_events_in_flight must be at least 1");
        }
        if chat.events_per_sec <= 0.0 || chat.events_burst < 1.0 {
            bail!("chat.events_per_sec must be positive and chat.events_burst at least 1");
        }
        if chat.typing_timeout_ms == 0 || chat.presence_heartbeat_ms == 0 {
            bail!("chat.typing_timeout_ms and chat.presence_heartbeat_ms must be positive");
        }
        let storage = &self.storage;
        if storage.max_upload_bytes == 0 || storage.max_unclaimed_per_user < 1 {
            bail!("storage.max_upload_bytes and storage.max_unclaimed_per_user must be positive");
        }
        if !(1..=604_800).contains(&storage.upload_url_ttl_secs)
            || !(60..=302_400).contains(&storage.download_url_ttl_secs)
        {
            bail!("storage.upload_url_ttl_secs must be 1..=604800 and download_url_ttl_secs 60..=302400 (signed URLs last at most 7 days)");
        }
        if !(100..=60_000).contains(&storage.commit_deadline_ms) {
            bail!("storage.commit_deadline_ms must be 100..=60000");
        }
        if storage.thumbnail_workers == 0
            || storage.thumbnail_px == 0
            || storage.thumbnail_queue_per_user == 0
            || storage.cleanup_batch < 1
        {
            bail!("storage.thumbnail_workers, thumbnail_px, thumbnail_queue_per_user and cleanup_batch must be positive");
        }
        if storage.uses_s3()
            && (storage.s3_access_key.is_empty() || storage.s3_secret_key.is_empty())
        {
            bail!("S3_ACCESS_KEY and S3_SECRET_KEY must be set with S3_BUCKET");
        }
        if self.limits.group_max_members < 2 || self.limits.page_max < 1 {
            bail!("limits.group_max_members must be at least 2 and limits.page_max at least 1");
        }
        Ok(())
    }
}

/// The `CONFAB_<SECTION>__<KEY>` variables. `Environment` would read the process environment
/// itself; handing them over explicitly keeps `load_from` testable.
fn prefixed_vars(vars: &HashMap<String, String>) -> config::Map<String, String> {
    vars.iter()
        .filter(|(name, _)| name.starts_with("CONFAB_") && name.contains("__"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests;
