//! `AppState`: what every request handler shares, built once by `startup`.

use std::sync::Arc;

use confab_actors::chat::Publisher;
use confab_actors::engine::Engine;

use crate::attachments::Attachments;
use crate::auth::JwtKeys;
use crate::cluster::presence::RedisPresence;
use crate::config::Settings;
use crate::db::DbPool;
use crate::messaging::Messaging;
use crate::metrics::Metrics;

/// What every request handler shares.
pub struct AppState {
    pub settings: Settings,
    pub node_id: String,
    pub pool: DbPool,
    pub redis: Option<deadpool_redis::Pool>,
    pub jwt: JwtKeys,
    pub metrics: Metrics,
    /// The Socket.IO engine at `/socket.io/`.
    pub engine: Engine,
    /// The one way out to the sockets, on every node: what a handler changed, it publishes
    /// here after the commit.
    pub publisher: Publisher,
    /// This node's part of the cluster's presence, with Redis.
    pub presence: Option<Arc<RedisPresence>>,
    /// The send service, shared by sockets and HTTP.
    pub messaging: Messaging,
    /// Uploads and the attachments they become.
    pub attachments: Attachments,
    /// Invite codes and the guards on their use.
    pub invites: crate::invites::Invites,
    /// Each user's rate of searches.
    pub search_limiter: confab_actors::chat::Limiter,
    /// Each user's database time for searches, and a search statement's time limit.
    pub search_budget: crate::search::Budget,
    /// A bcrypt hash of a random password, checked when a login names no account, so that
    /// such a login takes as long as one with a wrong password.
    pub dummy_hash: String,
    /// Refusals that come in floods, logged once per burst with a count.
    pub floods: crate::logging::bursts::Floods,
}
