//! The chat layer over the engine: the store trait that hides PostgreSQL, the publisher (the one
//! way out to the sockets) over room actors that fan one encoded frame out to their local
//! sockets, the per-user send limiter, and the namespace handler that speaks the contract's
//! events.

mod events;
mod expiry;
pub mod limiter;
pub mod namespace;
pub mod presence;
pub mod publisher;
mod rooms;
pub mod rules;
mod seen;
mod socket_state;
pub mod stats;
pub mod store;
pub mod time;

#[cfg(test)]
mod tests;

pub use limiter::Limiter;
pub use namespace::{AckObserver, ChatNamespace, ChatParts, ChatTimers, EventBounds};
pub use presence::PresenceDirectory;
pub use publisher::{PresenceMailbox, Publisher};
pub use rooms::RoomBridge;
#[cfg(any(test, feature = "testing"))]
pub use rooms::Rooms;
pub use stats::{ChatStats, PresenceTransition};
pub use store::{
    Change, ChangeRequest, Changed, Changes, ChatStore, Committed, Credentials, History, Marked,
    Membership, NewMessage, SessionStart, StoreError,
};
