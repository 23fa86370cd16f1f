//! Integration tests: the real server on port 0, each test with a PostgreSQL database of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod account;
mod auth;
mod blocks_reports;
#[path = "../common/mod.rs"]
mod common;
mod contacts;
mod conversations;
mod credentials;
mod floods;
mod helpers;
mod invites;
mod members;
mod messages;
mod migrations;
mod monitoring;
mod openapi;
mod ops;
mod origin;
mod rules;
mod search;
mod seed;
mod sockets;
mod text;
mod uploads;
mod users;
mod web;
mod workspaces;
