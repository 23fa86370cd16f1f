//! Compatibility: the JavaScript tests in `tests/js` (the stock `socket.io-client`, and the
//! protocol behaviour the public Engine.IO / Socket.IO suites check, over raw WebSockets and
//! HTTP) run against the real engine, served here on a free port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

#[actix_web::test]
async fn protocol_suites_and_the_official_client_pass() {
    // The suites' values, with a short upgrade timeout so an abandoned probe is seen quickly.
    let server = common::Server::suite();
    let files = ["engineio.test.mjs", "socketio.test.mjs", "client.test.mjs"];
    common::run_node_tests(&files, &[("CONFAB_URL", &server.base)]).await;
}
