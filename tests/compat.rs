//! Compatibility: the JavaScript tests in `tests/js` (the stock `socket.io-client`, and the
//! protocol behaviour the public Engine.IO / Socket.IO suites check, over raw WebSockets and
//! HTTP) run against the real engine, served here on a free port.

use std::path::Path;
use std::process::Command;

use actix_web::{App, HttpServer};
use confab_actors::engine::EngineConfig;

/// Installs the pinned npm packages the first time (or when the lock file changed).
fn npm_install(dir: &Path) {
    let installed = dir.join("node_modules/.package-lock.json");
    let lock = dir.join("package-lock.json");
    let fresh = match (installed.metadata(), lock.metadata()) {
        (Ok(a), Ok(b)) => a.modified().ok() >= b.modified().ok(),
        _ => false,
    };
    if !fresh {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .status()
            .expect("npm runs (Node.js and npm are prerequisites)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
}

#[actix_web::test]
async fn protocol_suites_and_the_official_client_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    npm_install(&dir);

    // The suites' values, with a short upgrade timeout so an abandoned probe is seen quickly.
    let config = EngineConfig {
        upgrade_timeout_ms: 1_000,
        ..confab::conformance::suite_config()
    };
    let (raw, io) = confab::conformance::engines(config);
    let server = HttpServer::new(move || {
        App::new()
            .service(raw.service("/engine.io/"))
            .service(io.service("/socket.io/"))
    })
    .workers(2)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
            .current_dir(&dir)
            .env("CONFAB_URL", format!("http://127.0.0.1:{port}"))
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    handle.stop(false).await;
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the JavaScript compatibility tests failed:\n{report}"
    );
    assert!(report.contains("ℹ fail 0"), "no test summary in:\n{report}");
}
