//! The wire protocols, parsed once at the edge into typed values. No actix types here, so the
//! load generator reuses the codec.

pub mod engineio;
pub mod socketio;
