//! Confab: an actor-based real-time chat engine.
//!
//! This crate is the server: configuration, start-up, the HTTP API, authentication, the
//! PostgreSQL models and operations endpoints. The realtime core lives in `confab-actors`.

pub mod accounts;
pub mod allocator_trim;
pub mod attachments;
pub mod auth;
pub mod chat_store;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod invites;
pub mod logging;
pub mod messaging;
pub mod metrics;
pub mod models;
pub mod search;
pub mod seed;
pub mod server;
pub mod startup;
pub mod state;
pub mod storage;
