//! `AppState`: what every request handler shares, built once by `startup`.

use std::sync::Arc;

use confab_actors::chat::{ChatNamespace, Rooms};
use confab_actors::engine::Engine;

use crate::attachments::Attachments;
use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::db::DbPool;
use crate::messaging::Messaging;
use crate::metrics::Metrics;
use crate::presence::RedisPresence;
use crate::store::DbChatStore;
use crate::writer::MessageWriter;

/// What every request handler shares.
pub struct AppState {
    pub settings: Settings,
    pub node_id: String,
    pub pool: DbPool,
    /// Group commit for sends.
    pub writer: MessageWriter,
    pub redis: Option<deadpool_redis::Pool>,
    pub jwt: JwtKeys,
    pub metrics: Metrics,
    /// The Socket.IO engine at `/socket.io/`.
    pub engine: Engine,
    /// The conversation rooms of this node, for fan-out from the HTTP API too.
    pub rooms: Rooms,
    /// The chat namespace, told of membership changes made over HTTP.
    pub chat: ChatNamespace<DbChatStore>,
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
    /// A bcrypt hash of a random password, checked when a login names no account, so that
    /// such a login takes as long as one with a wrong password.
    pub dummy_hash: String,
}
