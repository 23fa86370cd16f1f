//! Compatibility: the JavaScript tests in `tests/js` (the stock `socket.io-client`, and the
//! protocol behaviour the public Engine.IO / Socket.IO suites check, over raw WebSockets and
//! HTTP) run against the real engine, served here on a free port.

mod common;

use std::path::Path;
use std::process::Command;

#[actix_web::test]
async fn protocol_suites_and_the_official_client_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    common::npm_install(&dir);

    // The suites' values, with a short upgrade timeout so an abandoned probe is seen quickly.
    let server = common::Server::suite();
    let base = server.base.clone();

    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
            .args(["engineio.test.mjs", "socketio.test.mjs", "client.test.mjs"])
            .current_dir(&dir)
            .env("CONFAB_URL", base)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    drop(server);
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the JavaScript compatibility tests failed:\n{report}"
    );
    assert!(report.contains("ℹ fail 0"), "no test summary in:\n{report}");
}
