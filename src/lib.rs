//! Confab: an actor-based real-time chat engine.
//!
//! This crate is the server: configuration, start-up, the HTTP API, authentication, the
//! PostgreSQL models and operations endpoints. The realtime core lives in `confab-actors`.

pub mod attachments;
pub mod auth;
pub mod bridge;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine_metrics;
pub mod error;
pub mod http;
pub mod invites;
pub mod logging;
pub mod memory;
pub mod messaging;
pub mod metrics;
pub mod models;
pub mod presence;
pub mod search;
pub mod seed;
pub mod server;
pub mod startup;
pub mod state;
pub mod storage;
pub mod store;
pub mod writer;
