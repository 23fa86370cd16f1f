//! A server set up the way the public Engine.IO and Socket.IO protocol test suites expect
//! (see `confab::conformance`): a raw echo at `/engine.io/`, the suite's namespaces at
//! `/socket.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, connect
//! timeout 1,000 ms.
//!
//! `GET /stats` answers with the open sessions of each engine, for measurements.
//!
//! `cargo run --release --example conformance -- --port 3000`

#[path = "../tests/common/conformance.rs"]
mod conformance;

use actix_web::{web, App};
use clap::Parser;
use confab::server::Options;
use confab_actors::engine::Engine;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Override the suites' 300 ms ping interval (e.g. 25000 to measure idle sessions).
    #[arg(long)]
    ping_interval_ms: Option<u64>,
    /// Override the suites' 200 ms ping timeout.
    #[arg(long)]
    ping_timeout_ms: Option<u64>,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut config = conformance::suite_config();
    config.ping_interval_ms = args.ping_interval_ms.unwrap_or(config.ping_interval_ms);
    config.ping_timeout_ms = args.ping_timeout_ms.unwrap_or(config.ping_timeout_ms);
    let (raw, io) = conformance::engines(config);
    eprintln!("conformance server on http://{}:{}", args.host, args.port);
    let listener = std::net::TcpListener::bind((args.host.as_str(), args.port))?;
    let options = Options::default();
    let mounted = conformance::mounted(&raw, &io);
    confab::server::serve(listener, &options, mounted, None, move || {
        let engines = (raw.clone(), io.clone());
        App::new()
            .service(raw.service(conformance::RAW_PATH))
            .service(io.service(conformance::IO_PATH))
            .route("/stats", web::get().to(move || stats(engines.clone())))
    })?
    .await
}

async fn stats((raw, io): (Engine, Engine)) -> web::Json<serde_json::Value> {
    let describe = |engine: &Engine| {
        let stats = engine.stats();
        json!({
            "sessions": engine.session_count(),
            "polling": stats.polling_sessions(),
            "websocket": stats.websocket_sessions(),
            "opened": stats.sessions_opened(),
            "upgrades": stats.upgrades(),
        })
    };
    web::Json(json!({ "engine.io": describe(&raw), "socket.io": describe(&io) }))
}
