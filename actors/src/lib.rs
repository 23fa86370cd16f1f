//! Confab's realtime core: the Engine.IO v4 / Socket.IO v5 codec and engine (session actor,
//! long-polling and WebSocket transports), and the error codes of the wire contract.

#![warn(missing_docs)]

pub mod chat;
pub mod engine;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub use confab_protocol as protocol;
pub use confab_protocol::{error_code, ErrorCode};
