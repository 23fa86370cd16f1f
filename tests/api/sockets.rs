use std::path::Path;
use std::process::Command;

use crate::helpers::TestApp;

/// The chat contract over the stock `socket.io-client` (tests/js/chat), against the real
/// server and PostgreSQL.
#[actix_web::test]
async fn chat_events_pass_over_the_official_client() {
    let app = TestApp::spawn().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    crate::common::npm_install(&dir);
    let base = app.base.clone();
    let expired = app
        .state
        .jwt
        .issue_expired(uuid::Uuid::new_v4(), std::time::Duration::from_secs(60));
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .args([
                "--test",
                "--test-concurrency=1",
                "--test-reporter=spec",
                "chat/chat.test.mjs",
                "chat/live.test.mjs",
            ])
            .current_dir(&dir)
            .env("CONFAB_URL", base)
            .env("CONFAB_EXPIRED_TOKEN", expired)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the chat tests failed:\n{report}");
    assert!(report.contains("ℹ fail 0"), "no test summary in:\n{report}");
}
