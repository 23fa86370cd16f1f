//! Confab's realtime core: the Engine.IO v4 / Socket.IO v5 codec and engine (session actor,
//! long-polling and WebSocket transports), and the error codes of the wire contract.

pub mod chat;
pub mod engine;
pub mod error_code;
pub mod protocol;

pub use error_code::ErrorCode;
