//! A server set up the way the public Engine.IO and Socket.IO protocol test suites expect
//! (see `confab::conformance`): a raw echo at `/engine.io/`, the suite's namespaces at
//! `/socket.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, connect
//! timeout 1,000 ms.
//!
//! `cargo run --release --example conformance -- --port 3000`

use actix_web::{App, HttpServer};
use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let (raw, io) = confab::conformance::engines(confab::conformance::suite_config());
    eprintln!("conformance server on http://{}:{}", args.host, args.port);
    HttpServer::new(move || {
        App::new()
            .service(raw.service("/engine.io/"))
            .service(io.service("/socket.io/"))
    })
    .bind((args.host.as_str(), args.port))?
    .run()
    .await
}
