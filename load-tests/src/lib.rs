//! `confab-load`: drives Confab with many Socket.IO clients over WebSocket and measures what
//! its users would feel. The protocol types come from the server's own codec
//! (`confab-protocol`).

pub mod cli;
pub mod client;
pub mod corpus;
pub mod http;
pub mod report;
pub mod run;
pub mod scenario;
pub mod search;
pub mod seed;
pub mod stats;
pub mod system;
pub mod uploads;
