//! Helpers shared by the engine test binaries: the conformance server on a free port, and small
//! HTTP and WebSocket clients that never drop a frame.

#![allow(dead_code)]

pub mod conformance;
pub mod s3;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::App;
use awc::ws::{Codec, Frame, Message};
use bytes::Bytes;
use confab_actors::engine::EngineConfig;
use futures_util::{SinkExt, StreamExt};

/// How long a test waits for an event before it fails. Generous: it only bounds how long a
/// failure takes, and CI shares its two cores with whatever else runs.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The conformance engines served on a free port: `/engine.io/` and `/socket.io/`.
pub struct Server {
    pub base: String,
    pub handle: ServerHandle,
    /// The raw echo engine at `/engine.io/` and the Socket.IO engine at `/socket.io/`.
    pub raw: confab_actors::engine::Engine,
    pub io: confab_actors::engine::Engine,
}

impl Server {
    pub fn start(config: EngineConfig) -> Server {
        let (raw, io) = conformance::engines(config);
        let engines = (raw.clone(), io.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = confab::server::Options {
            workers: 1,
            ..confab::server::Options::default()
        };
        let mounted = conformance::mounted(&raw, &io);
        let server = confab::server::serve(listener, &options, mounted, None, move || {
            App::new()
                .service(raw.service(conformance::RAW_PATH))
                .service(io.service(conformance::IO_PATH))
        })
        .unwrap();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Server {
            base: format!("http://127.0.0.1:{port}"),
            handle,
            raw: engines.0,
            io: engines.1,
        }
    }

    /// The suites' configuration, with a 1 s upgrade timeout.
    pub fn suite() -> Server {
        Self::start(EngineConfig {
            upgrade_timeout_ms: 1_000,
            ..conformance::suite_config()
        })
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base.replacen("http", "ws", 1), path_and_query)
    }

    /// GET → (status, body).
    pub async fn get(&self, path_and_query: &str) -> (u16, String) {
        let mut res = awc::Client::new()
            .get(self.url(path_and_query))
            .send()
            .await
            .unwrap();
        let body = res.body().limit(4 << 20).await.unwrap();
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    /// POST `body` → (status, body).
    pub async fn post(&self, path_and_query: &str, body: impl Into<Bytes>) -> (u16, String) {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .finish();
        let mut res = client
            .post(self.url(path_and_query))
            .send_body(body.into())
            .await
            .unwrap();
        let body = res.body().limit(4 << 20).await.unwrap();
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    /// A new long-polling session on `path`; returns its sid.
    pub async fn open_polling(&self, path: &str) -> String {
        let (status, body) = self.get(&format!("{path}?EIO=4&transport=polling")).await;
        assert_eq!(status, 200, "{body}");
        let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
        open["sid"].as_str().unwrap().to_string()
    }

    pub async fn poll(&self, path: &str, sid: &str) -> (u16, String) {
        self.get(&format!("{path}?EIO=4&transport=polling&sid={sid}"))
            .await
    }

    pub async fn push(&self, path: &str, sid: &str, body: &str) -> (u16, String) {
        self.post(
            &format!("{path}?EIO=4&transport=polling&sid={sid}"),
            body.to_string(),
        )
        .await
    }

    pub async fn ws(&self, path_and_query: &str) -> Ws {
        Ws::connect(&self.ws_url(path_and_query))
            .await
            .expect("WebSocket opens")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// What a WebSocket received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum In {
    Text(String),
    Binary(Vec<u8>),
    /// Closed, with the close code when one was sent.
    Closed(Option<u16>),
}

pub struct Ws {
    framed: actix_codec::Framed<awc::BoxedSocket, Codec>,
}

impl Ws {
    /// Opens a WebSocket; `Err(status)` when the server refuses the upgrade.
    pub async fn connect(url: &str) -> Result<Ws, u16> {
        let client = awc::Client::builder()
            .max_http_version(awc::http::Version::HTTP_11)
            .finish();
        match client.ws(url).max_frame_size(4 << 20).connect().await {
            Ok((_, framed)) => Ok(Ws { framed }),
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => Err(status.as_u16()),
            Err(err) => panic!("WebSocket to {url}: {err}"),
        }
    }

    pub async fn text(&mut self, text: &str) {
        self.framed
            .send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn binary(&mut self, data: &[u8]) {
        self.framed
            .send(Message::Binary(Bytes::copy_from_slice(data)))
            .await
            .unwrap();
    }

    /// The next frame. The bound only limits how long a failing test takes: on a machine whose
    /// cores are busy, work such as a thumbnail can take seconds in a debug build.
    pub async fn next(&mut self) -> In {
        let frame = tokio::time::timeout(PATIENCE, self.framed.next())
            .await
            .expect("a frame within the test's patience");
        match frame {
            Some(Ok(Frame::Text(text))) => In::Text(String::from_utf8(text.to_vec()).unwrap()),
            Some(Ok(Frame::Binary(data))) => In::Binary(data.to_vec()),
            Some(Ok(Frame::Close(reason))) => In::Closed(reason.map(|r| u16::from(r.code))),
            Some(Ok(Frame::Ping(_) | Frame::Pong(_) | Frame::Continuation(_))) => {
                Box::pin(self.next()).await
            }
            Some(Err(_)) | None => In::Closed(None),
        }
    }

    /// The next frame if it has already arrived, without waiting for one.
    pub fn arrived(&mut self) -> Option<In> {
        use futures_util::FutureExt as _;
        match self.framed.next().now_or_never()? {
            Some(Ok(Frame::Text(text))) => {
                Some(In::Text(String::from_utf8(text.to_vec()).unwrap()))
            }
            Some(Ok(Frame::Binary(data))) => Some(In::Binary(data.to_vec())),
            Some(Ok(Frame::Close(reason))) => Some(In::Closed(reason.map(|r| u16::from(r.code)))),
            Some(Ok(_)) => self.arrived(),
            Some(Err(_)) | None => Some(In::Closed(None)),
        }
    }

    /// The next frame that is not a server ping.
    pub async fn data(&mut self) -> In {
        loop {
            let frame = self.next().await;
            if frame != In::Text("2".into()) {
                return frame;
            }
        }
    }

    /// Waits for the server to close the socket (pings are skipped).
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let In::Closed(code) = self.next().await {
                return code;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.framed.send(Message::Close(None)).await;
    }
}

pub fn text(s: &str) -> In {
    In::Text(s.to_string())
}

/// Installs the pinned npm packages the first time (or when the lock file changed).
pub fn npm_install(dir: &Path) {
    // Tests of one binary run in parallel: one `npm ci` at a time, the others then find it done.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
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

/// The Python of the test suite's virtual environment (target/tools/venv, as scripts/test.sh
/// makes it), made or brought up to scripts/requirements.txt first when it is not.
pub fn python() -> std::path::PathBuf {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/tools/venv");
    let requirements = root.join("scripts/requirements.txt");
    let pinned = std::fs::read_to_string(&requirements).expect("scripts/requirements.txt");
    let frozen = Command::new(venv.join("bin/pip"))
        .args(["freeze", "--disable-pip-version-check"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let installed = pinned
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .all(|line| frozen.lines().any(|have| have == line.trim()));
    if !installed {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs (a prerequisite)");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .status()
            .expect("pip runs");
        assert!(
            status.success(),
            "pip install -r scripts/requirements.txt failed"
        );
    }
    venv.join("bin/python")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `confab` server process.
pub struct Node {
    child: Child,
    pub base: String,
}

impl Node {
    /// Starts the `confab` binary on a free port against `database_url`, with `env` added.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Node {
        Node::start_on(database_url, free_port(), env).await
    }

    /// Starts the `confab` binary on `port` (a node restarted where its clients left it).
    pub async fn start_on(database_url: &str, port: u16, env: &[(&str, &str)]) -> Node {
        let child = Command::new(env!("CARGO_BIN_EXE_confab"))
            .env("CONFAB_ENV", "test")
            .env(
                "CONFAB_CONFIG_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
            )
            .env("DATABASE_URL", database_url)
            .env("CONFAB_BIND", format!("127.0.0.1:{port}"))
            .env("CONFAB_LIMITS__SEND_RATE_PER_SEC", "100000")
            .env("CONFAB_LIMITS__SEND_BURST", "100000")
            .env(
                "CONFAB_STORAGE__DIR",
                std::env::temp_dir().join(format!("confab-node-{port}")),
            )
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("the server starts");
        let node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        assert!(
            healthy(&node.base, Duration::from_secs(15)).await,
            "the server did not come up"
        );
        node
    }

    /// SIGTERM, then waits (at most `limit`) for the process to exit; its exit status.
    pub async fn terminate(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The process id (for tests that signal the node themselves).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database name on the test PostgreSQL server (`DATABASE_URL`'s, or the local one).
/// Whether `{base}/health` answers 200 within `limit` (asked every 50 ms).
pub async fn healthy(base: &str, limit: Duration) -> bool {
    let client = awc::Client::new();
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(res) = client.get(format!("{base}/health")).send().await {
            if res.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub fn fresh_database_url() -> String {
    let name = format!("confab_test_{}", uuid::Uuid::new_v4().simple());
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    confab::db::with_database_name(&base, &name).unwrap()
}

/// Drops the database when the test ends, passed or failed.
pub struct DropDatabase(pub String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let url = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = rt.block_on(drop_database(&url));
        })
        .join();
    }
}

/// Runs `files` of tests/js with Node's test runner and `env`, off the async threads; panics
/// with the report unless every test passed. Returns the report.
pub async fn run_node_tests(files: &[&str], env: &[(&str, &str)]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    npm_install(&dir);
    let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
            // No JavaScript test may hang the suite.
            .arg("--test-timeout=300000")
            .args(&files)
            .current_dir(&dir)
            .envs(env)
            .output()
            .expect("node runs (Node.js is a prerequisite)")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "JavaScript tests failed:\n{report}"
    );
    assert!(report.contains("ℹ fail 0"), "no test summary in:\n{report}");
    report
}

/// Drops the database named in `url`, disconnecting its sessions.
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let (admin_url, name) = confab::db::split_database_name(url)?;
    let mut conn = AsyncPgConnection::establish(&admin_url).await?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}
