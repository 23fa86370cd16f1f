//! Confab's realtime core: the error codes of the wire contract, shared by the HTTP and socket
//! boundaries. The Engine.IO/Socket.IO codec and the session, room and presence actors join it.

pub mod error_code;

pub use error_code::ErrorCode;
