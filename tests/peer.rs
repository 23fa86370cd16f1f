//! The Node.js peer (`load-tests/peers/node-socketio`, the socket.io + pg server the benchmarks
//! compare Confab with) on a fresh migrated database: the load tool connects two members of
//! one group and sends one message through it. The send must be acked ok, reach the other
//! member as `message:new`, and be stored once, with the conversation's next seq and rev.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::DropDatabase;
use confab_load::cli::{Mix, Scenario};
use confab_load::run::{run, RunOptions};
use confab_load::seed::Seed;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Bounds every wait of the test; a healthy run takes a second or two.
const LIMIT: Duration = Duration::from_secs(30);

/// The peer's process, killed when the test ends, passed or failed.
struct Peer {
    child: Child,
    base: String,
    /// Kept open: the peer must not meet a closed pipe if it logs again.
    _stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `server.mjs` on a free port against `database_url`; returns once it listens.
    async fn start(dir: &Path, database_url: &str) -> Peer {
        let port = common::free_port();
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("DATABASE_URL", database_url)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs (Node.js is a prerequisite)");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // The peer prints one line once it listens; reading it is the wait.
        let listening = actix_web::rt::task::spawn_blocking(move || {
            let mut stdout = stdout;
            let mut line = String::new();
            while stdout.read_line(&mut line).unwrap_or(0) > 0 {
                if line.contains("listening") {
                    return Some(stdout);
                }
                line.clear();
            }
            None
        });
        let stdout = tokio::time::timeout(LIMIT, listening)
            .await
            .expect("the peer listens within 30 s")
            .unwrap();
        let Some(stdout) = stdout else {
            let status = child.wait().unwrap();
            panic!("the peer exited ({status}) before it listened; its error is above");
        };
        Peer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _stdout: stdout,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    messages: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rev: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    last_seq: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    last_rev: i64,
}

#[actix_web::test]
async fn the_node_peer_acks_delivers_and_stores_a_send() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("load-tests/peers/node-socketio");
    assert!(
        dir.join("node_modules/socket.io").is_dir() && dir.join("node_modules/pg").is_dir(),
        "the Node.js peer's npm packages are missing: scripts/test.sh installs them, or run \
         `npm ci` in {}",
        dir.display()
    );
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    // `confab seed` creates and migrates the database, then seeds one group of two.
    let confab = Path::new(env!("CARGO_BIN_EXE_confab"));
    let seed = Seed::generate(confab, Some(&url), 2, 2)
        .await
        .expect("confab seed runs");
    assert_eq!(seed.groups.len(), 1);
    let peer = Peer::start(&dir, &url).await;

    // One message (1 a second for 1 s) from one of the two; one of them starts on
    // long-polling and upgrades, as the stock client does.
    let scenario = Scenario {
        name: "peer".into(),
        urls: vec![peer.base.clone()],
        users: 2,
        group_size: 2,
        rate: 1.0,
        duration: Duration::from_secs(1),
        ramp: 100.0,
        cycles: 0,
        mix: Mix::default(),
        storm: false,
    };
    let options = RunOptions {
        source_addrs: 1,
        polling_share: 0.5,
        server_pids: vec![peer.child.id()],
        plain: true,
    };
    let report = tokio::time::timeout(LIMIT, run(&scenario, &seed, &options))
        .await
        .expect("the run ends within 30 s")
        .expect("the run completes");
    println!("{}", report.table());
    assert_eq!(report.connected, 2);
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    assert_eq!((report.sent, report.acked), (1, 1), "the send acked ok");
    assert_eq!(
        (report.expected, report.delivered),
        (1, 1),
        "message:new reached the other member"
    );
    assert_eq!(report.duplicates, 0);

    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let stored: Stored = diesel::sql_query(
        "SELECT (SELECT count(*) FROM messages) AS messages, m.seq, m.rev, \
                c.last_seq, c.last_rev \
           FROM messages m JOIN conversations c ON c.id = m.conversation_id",
    )
    .get_result(&mut conn)
    .await
    .expect("one message is stored");
    assert_eq!(
        stored,
        Stored {
            messages: 1,
            seq: 1,
            rev: 1,
            last_seq: 1,
            last_rev: 1,
        }
    );
}
