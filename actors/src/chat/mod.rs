//! The chat layer over the engine: the store trait that hides PostgreSQL, room actors that fan
//! one encoded frame out to their local sockets, the per-user send limiter, and the namespace
//! handler that speaks the contract's events.

pub mod limiter;
pub mod namespace;
pub mod presence;
pub mod rooms;
pub mod stats;
pub mod store;
pub mod time;

pub use limiter::Limiter;
pub use namespace::ChatNamespace;
pub use presence::PresenceDirectory;
pub use rooms::{RoomBridge, Rooms};
pub use stats::{ChatStats, PresenceTransition};
pub use store::{ChatStore, Committed, History, Membership, NewMessage, StoreError};
