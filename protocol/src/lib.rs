//! Confab's wire contract, parsed once at the edge into typed values: the Engine.IO v4 and
//! Socket.IO v5 codec and the error codes of PROTOCOL.md. No actix types here, so the load
//! generator reuses it.

#![warn(missing_docs)]

pub mod engineio;
pub mod error_code;
pub mod events;
pub mod socketio;
pub mod text;

pub use error_code::ErrorCode;
