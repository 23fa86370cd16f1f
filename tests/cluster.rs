//! Two server processes sharing PostgreSQL and Redis behave like one server: the JavaScript
//! tests in tests/js/cluster put users on different nodes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use std::process::Command;

use common::{DropDatabase, Node};

/// A WebSocket to the node at `base`, connected with `token`, past `session:ready`.
async fn ready_socket(base: &str, token: &str) -> common::Ws {
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    );
    let mut ws = common::Ws::connect(&ws_url).await.unwrap();
    ws.next().await;
    ws.text(&format!(r#"40{{"token":"{token}"}}"#)).await;
    loop {
        if let common::In::Text(frame) = ws.data().await {
            if frame.starts_with(r#"42["session:ready""#) {
                return ws;
            }
        }
    }
}

/// Registers `username` at `base` → (user id, access token).
async fn register(base: &str, username: &str) -> (String, String) {
    let mut res = awc::Client::new()
        .post(format!("{base}/api/auth/register"))
        .send_json(&serde_json::json!({ "email": format!("{username}@example.com"), "username": username, "password": "correct horse battery" }))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    (
        body["user"]["id"].as_str().unwrap().to_string(),
        body["accessToken"].as_str().unwrap().to_string(),
    )
}

/// A request with `token` → (status, JSON body or null, headers).
async fn call(
    method: &str,
    url: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value, awc::http::header::HeaderMap) {
    let client = awc::Client::builder().disable_redirects().finish();
    let req = client
        .request(method.parse().unwrap(), url)
        .insert_header(("Authorization", format!("Bearer {token}")));
    let mut res = match body {
        Some(body) => req.send_json(&body).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = res.body().limit(16 << 20).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (res.status().as_u16(), json, res.headers().clone())
}

fn png(side: u32) -> Vec<u8> {
    let image = image::ImageBuffer::from_fn(side, side, |x, y| image::Rgb([x as u8, y as u8, 7u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// One message with two images crosses nodes: uploaded to S3 through node A, announced on
/// node B with both attachments in order, downloadable there, and found by B's API.
#[actix_web::test]
async fn attachments_cross_nodes() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let s3 = common::s3::S3Server::start();
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("S3_ENDPOINT", s3.endpoint.as_str()),
        ("S3_BUCKET", s3.bucket.as_str()),
        ("S3_ACCESS_KEY", s3.access_key.as_str()),
        ("S3_SECRET_KEY", s3.secret_key.as_str()),
    ];
    let a = Node::start(&url, &env).await;
    let b = Node::start(&url, &env).await;
    let (_, alice) = register(&a.base, "alice").await;
    let (bob_id, bob) = register(&b.base, "bob").await;
    let (status, group, _) = call(
        "POST",
        &format!("{}/api/conversations", a.base),
        &alice,
        Some(serde_json::json!({ "kind": "group", "title": "pics", "memberIds": [bob_id] })),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().unwrap().to_string();
    let mut ws = ready_socket(&b.base, &bob).await;
    let images = [png(50), png(70)];
    let mut ids = Vec::new();
    for image in &images {
        let (status, ticket, _) = call(
            "POST",
            &format!("{}/api/uploads", a.base),
            &alice,
            Some(serde_json::json!({ "contentType": "image/png", "size": image.len(), "name": "x.png" })),
        )
        .await;
        assert_eq!(status, 201, "{ticket}");
        // Every header the ticket names is signed (S3's If-None-Match among them).
        let mut put = awc::Client::new().put(ticket["uploadUrl"].as_str().unwrap());
        for (name, value) in ticket["headers"].as_object().unwrap() {
            put = put.insert_header((name.as_str(), value.as_str().unwrap()));
        }
        let res = put.send_body(image.clone()).await.unwrap();
        assert_eq!(res.status(), 200);
        let id = ticket["attachmentId"].as_str().unwrap().to_string();
        let (status, _, _) = call(
            "POST",
            &format!("{}/api/uploads/{id}/complete", a.base),
            &alice,
            None,
        )
        .await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    let (status, sent, _) = call(
        "POST",
        &format!("{}/api/conversations/{group}/messages", a.base),
        &alice,
        Some(serde_json::json!({ "clientMessageId": "two", "body": "two pics", "attachmentIds": ids })),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let new = loop {
        if let common::In::Text(frame) = ws.data().await {
            if let Some(rest) = frame.strip_prefix("42") {
                let event: serde_json::Value = serde_json::from_str(rest).unwrap();
                if event[0] == "message:new" {
                    break event[1].clone();
                }
            }
        }
    };
    let attachments = new["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2, "{new}");
    for (n, attachment) in attachments.iter().enumerate() {
        assert_eq!(attachment["id"], ids[n].as_str());
        let mut res = awc::Client::new()
            .get(attachment["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.body().limit(1 << 20).await.unwrap().to_vec(), images[n]);
        let (status, _, headers) = call(
            "GET",
            &format!("{}/api/attachments/{}", b.base, ids[n]),
            &bob,
            None,
        )
        .await;
        assert_eq!(status, 302);
        assert!(headers.get("location").is_some());
    }
    drop((a, b));
}

#[actix_web::test]
async fn two_nodes_deliver_across_the_redis_bridge() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let a = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let b = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    common::run_node_tests(
        &["cluster/cluster.test.mjs"],
        &[("CONFAB_URL", &a.base), ("CONFAB_URL_B", &b.base)],
    )
    .await;
    drop((a, b));
}

/// `kill -9` of a node mid-stream: its clients reconnect to the other node and, after sync,
/// hold every acknowledged message exactly once; its users who do not come back are reported
/// offline within 30 s.
#[actix_web::test]
async fn clients_of_a_killed_node_fail_over() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let a = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let b = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let pid = a.pid().to_string();
    common::run_node_tests(
        &["cluster/failover.test.mjs"],
        &[
            ("CONFAB_URL", &a.base),
            ("CONFAB_URL_B", &b.base),
            ("CONFAB_PID_A", &pid),
        ],
    )
    .await;
    drop((a, b));
}

/// Logout on one node closes that login's socket on the other node, through the bridge,
/// within the 5 s the contract allows (PROTOCOL.md §5).
#[actix_web::test]
async fn logout_on_one_node_closes_the_familys_socket_on_another() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let a = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let b = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let client = awc::Client::new();
    let mut res = client
        .post(format!("{}/api/auth/register", a.base))
        .send_json(&serde_json::json!({ "email": "l@example.com", "username": "leaver", "password": "correct horse battery" }))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let refresh = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("confab_refresh="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let body: serde_json::Value = res.json().await.unwrap();
    let token = body["accessToken"].as_str().unwrap().to_string();
    let mut ws = ready_socket(&b.base, &token).await;
    let res = client
        .post(format!("{}/api/auth/logout", a.base))
        .insert_header(("Cookie", format!("confab_refresh={refresh}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    closed_within_five_seconds(&mut ws).await;
    drop((a, b));
}

/// Answers pings until the server closes `ws`; fails past the 5 s the contract allows for a
/// socket on another node to close.
async fn closed_within_five_seconds(ws: &mut common::Ws) {
    let closed = async {
        loop {
            match ws.next().await {
                common::In::Closed(_) => return,
                common::In::Text(ping) if ping == "2" => ws.text("3").await,
                _ => {}
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), closed)
        .await
        .expect("the socket on the other node was closed within 5 s");
}

/// Deleting an account through one node closes its socket on another within the 5 s the
/// contract allows (PROTOCOL.md §14), whatever login opened it.
#[actix_web::test]
async fn deleting_an_account_on_one_node_closes_its_socket_on_another() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let a = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let b = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let (_, token) = register(&a.base, "leaving").await;
    let mut ws = ready_socket(&b.base, &token).await;
    let (status, body, _) = call(
        "DELETE",
        &format!("{}/api/me", a.base),
        &token,
        Some(serde_json::json!({ "password": "correct horse battery" })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    closed_within_five_seconds(&mut ws).await;
    drop((a, b));
}

/// Two nodes behind nginx running config/nginx-sticky.conf: default-transport and
/// long-polling clients keep their sessions; the same file without its `hash` line (round
/// robin) fails with "Session ID unknown", which shows the test can tell.
#[actix_web::test]
async fn nginx_keeps_sessions_on_one_node() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let a = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let b = Node::start(&url, &[("REDIS_URL", &redis)]).await;
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/nginx-sticky.conf"
    ))
    .unwrap();
    let hash = "        hash $remote_addr consistent;\n";
    assert!(
        shipped.contains(hash),
        "the shipped file hashes client addresses"
    );
    let sticky = Nginx::start(&shipped, &a, &b).await;
    let round_robin = Nginx::start(&shipped.replace(hash, ""), &a, &b).await;
    common::run_node_tests(
        &["cluster/nginx.test.mjs"],
        &[
            ("CONFAB_URL", &a.base),
            ("CONFAB_URL_B", &b.base),
            ("CONFAB_STICKY", &sticky.base),
            ("CONFAB_ROUND_ROBIN", &round_robin.base),
        ],
    )
    .await;
    drop((sticky, round_robin, a, b));
}

/// A private nginx (Debian's package) running `config` with its upstreams pointed at two
/// nodes and its listener on a free port, in a temporary prefix.
struct Nginx {
    child: std::process::Child,
    prefix: std::path::PathBuf,
    base: String,
}

impl Nginx {
    async fn start(config: &str, a: &Node, b: &Node) -> Nginx {
        let port = common::free_port();
        let upstream = |node: &Node| node.base.trim_start_matches("http://").to_string();
        let config = config
            .replace("127.0.0.1:8081", &upstream(a))
            .replace("127.0.0.1:8082", &upstream(b))
            .replace("listen 127.0.0.1:8080", &format!("listen 127.0.0.1:{port}"));
        let prefix =
            std::env::temp_dir().join(format!("confab-nginx-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&prefix).unwrap();
        // Workers may run as an unprivileged user; they write their temporary files here.
        std::fs::set_permissions(&prefix, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let file = prefix.join("nginx.conf");
        std::fs::write(&file, config).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&file)
            .arg("-p")
            .arg(&prefix)
            .args(["-g", "daemon off;"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("nginx runs (Debian's nginx-light package; .ci/run installs it)");
        let nginx = Nginx {
            child,
            prefix,
            base: format!("http://127.0.0.1:{port}"),
        };
        let up = common::healthy(&nginx.base, std::time::Duration::from_secs(5)).await;
        assert!(up, "nginx did not come up");
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops its workers too (SIGKILL would orphan them).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// SIGTERM: the node closes its sessions (clients reconnect elsewhere) and exits in time.
#[actix_web::test]
async fn sigterm_closes_sessions_and_exits() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let node = Node::start(&url, &[]).await;
    let mut res = awc::Client::new()
        .post(format!("{}/api/auth/register", node.base))
        .send_json(&serde_json::json!({ "email": "t@example.com", "username": "term", "password": "correct horse battery" }))
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let token = body["accessToken"].as_str().unwrap().to_string();
    let mut ws = ready_socket(&node.base, &token).await;
    let started = std::time::Instant::now();
    let exit = node.terminate(std::time::Duration::from_secs(30));
    let closed = async {
        // Closed as a lost connection, so that every client reconnects: no Engine.IO close
        // packet (`1`) and no Socket.IO DISCONNECT (`41`) first.
        loop {
            match ws.next().await {
                common::In::Closed(_) => return,
                common::In::Text(frame) => assert!(
                    frame != "1" && !frame.starts_with("41"),
                    "a deliberate disconnect: {frame}"
                ),
                common::In::Binary(_) => {}
            }
        }
    };
    let (status, ()) = tokio::join!(exit, closed);
    let status = status.expect("the node exited within 30 s");
    assert!(status.success(), "{status:?}");
    println!("drained and exited in {} ms", started.elapsed().as_millis());
}

/// SIGTERM while a client holds an idle keep-alive connection: the drain closes it at once,
/// rather than waiting out a keep-alive and a shutdown timeout of five minutes each.
#[actix_web::test]
async fn sigterm_closes_idle_keep_alive_connections_at_once() {
    use std::io::{Read, Write};
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let node = Node::start(
        &url,
        &[
            ("CONFAB_SERVER__KEEP_ALIVE_SECS", "300"),
            ("CONFAB_SERVER__SHUTDOWN_TIMEOUT_SECS", "300"),
        ],
    )
    .await;
    let mut idle = std::net::TcpStream::connect(node.base.trim_start_matches("http://")).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: confab\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        let n = idle.read(&mut chunk).unwrap();
        assert!(n > 0, "the connection closed before its response");
        response.extend_from_slice(&chunk[..n]);
        if let Some(at) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap();
    while response.len() < head_end + length {
        let n = idle.read(&mut chunk).unwrap();
        assert!(n > 0, "the connection closed inside its response");
        response.extend_from_slice(&chunk[..n]);
    }
    // The connection is idle now; the server must be the one to end it.
    let after = std::thread::spawn(move || {
        let mut rest = Vec::new();
        idle.read_to_end(&mut rest).map(|_| rest)
    });
    let status = node
        .terminate(std::time::Duration::from_secs(60))
        .await
        .expect("the node exited while an idle connection was open");
    assert!(status.success(), "{status:?}");
    let rest = after.join().unwrap().expect("the connection ended cleanly");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

/// Redis stopped and restarted under two nodes: sends keep committing, /ready reports the
/// outage, the bridge comes back by itself, sessions hear the latest seqs to repair the gap,
/// and cross-node delivery resumes without restarting a node.
#[actix_web::test]
async fn the_bridge_survives_a_redis_restart() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let _redis = PrivateRedis::start(&port);
    let redis_url = format!("redis://127.0.0.1:{port}");
    let a = Node::start(&url, &[("REDIS_URL", &redis_url)]).await;
    let b = Node::start(&url, &[("REDIS_URL", &redis_url)]).await;
    let env = [
        ("CONFAB_URL", a.base.as_str()),
        ("CONFAB_URL_B", b.base.as_str()),
        ("CONFAB_REDIS_PORT", port.as_str()),
    ];
    common::run_node_tests(&["cluster/redis-restart.test.mjs"], &env).await;
    drop((a, b));
}

/// PostgreSQL stopped mid-stream under two nodes (a private instance, never the machine's):
/// sends get `unavailable`, none is acked without being stored, and they succeed again after
/// the restart.
#[actix_web::test]
async fn sends_survive_a_postgres_outage() {
    let pg = PrivatePostgres::start();
    let url = format!("postgres://postgres@127.0.0.1:{}/confab_outage", pg.port);
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // Short pool waits keep each `unavailable` answer well inside the clients' ack timeout.
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("CONFAB_DATABASE__POOL_TIMEOUT_MS", "1000"),
    ];
    let a = Node::start(&url, &env).await;
    let b = Node::start(&url, &env).await;
    let stop = serde_json::to_string(&pg.ctl(&["-m", "fast", "-w", "stop"])).unwrap();
    let start = serde_json::to_string(&pg.start_command()).unwrap();
    common::run_node_tests(
        &["cluster/postgres-down.test.mjs"],
        &[
            ("CONFAB_URL", &a.base),
            ("CONFAB_URL_B", &b.base),
            ("CONFAB_PG_STOP", &stop),
            ("CONFAB_PG_START", &start),
        ],
    )
    .await;
    drop((a, b));
}

/// PostgreSQL frozen (every process of a private instance stopped) under a stream of sends:
/// each is answered `ok` or `unavailable` within the commit deadline and a second, events
/// queued behind it are `unavailable` too, and every acknowledged send is stored once after
/// the thaw.
#[actix_web::test]
async fn sends_are_answered_within_the_deadline_while_postgres_stalls() {
    let pg = PrivatePostgres::start();
    let url = format!("postgres://postgres@127.0.0.1:{}/confab_stall", pg.port);
    let deadline_ms = "2000";
    let env = [
        ("CONFAB_STORAGE__COMMIT_DEADLINE_MS", deadline_ms),
        ("CONFAB_DATABASE__POOL_TIMEOUT_MS", "1000"),
    ];
    let a = Node::start(&url, &env).await;
    let signal = |name: &str| {
        let pid_file = pg.dir.join("data/postmaster.pid");
        let script = format!(
            "pid=$(head -n 1 {}); kill -{name} $pid $(pgrep -P $pid)",
            pid_file.to_string_lossy()
        );
        serde_json::to_string(&["sh", "-c", &script]).unwrap()
    };
    common::run_node_tests(
        &["cluster/postgres-stall.test.mjs"],
        &[
            ("CONFAB_URL", &a.base),
            ("CONFAB_PG_FREEZE", &signal("STOP")),
            ("CONFAB_PG_THAW", &signal("CONT")),
            ("CONFAB_COMMIT_DEADLINE_MS", deadline_ms),
        ],
    )
    .await;
    drop(a);
}

/// A PostgreSQL server of the test's own, in a temporary directory, on a free port. As root,
/// it runs as the `postgres` user (PostgreSQL refuses root). Removed at the end.
struct PrivatePostgres {
    dir: std::path::PathBuf,
    port: u16,
    bin: std::path::PathBuf,
    as_postgres: bool,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let dir = std::env::temp_dir().join(format!("confab-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if as_postgres {
            let chown = Command::new("chown")
                .args(["postgres:postgres", &dir.to_string_lossy()])
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let pg = PrivatePostgres {
            port: common::free_port(),
            bin: postgres_bin_dir(),
            dir,
            as_postgres,
        };
        let data = pg.dir.join("data").to_string_lossy().into_owned();
        pg.run(&pg.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        ));
        pg.run(&pg.start_command());
        pg
    }

    /// `program` from PostgreSQL's bin directory with `args`, as the right user.
    fn tool(&self, program: &str, args: &[&str]) -> Vec<String> {
        let mut command = Vec::new();
        if self.as_postgres {
            command.extend(["runuser", "-u", "postgres", "--"].map(String::from));
        }
        command.push(self.bin.join(program).to_string_lossy().into_owned());
        command.extend(args.iter().map(|a| a.to_string()));
        command
    }

    fn ctl(&self, args: &[&str]) -> Vec<String> {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.tool("pg_ctl", &all)
    }

    fn start_command(&self) -> Vec<String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.to_string_lossy()
        );
        let log = self.dir.join("postgres.log").to_string_lossy().into_owned();
        self.ctl(&["-w", "-l", &log, "-o", &options, "start"])
    }

    fn run(&self, command: &[String]) {
        let output = Command::new(&command[0])
            .args(&command[1..])
            .output()
            .expect("PostgreSQL's tools run");
        assert!(
            output.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let command = self.ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = Command::new(&command[0]).args(&command[1..]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `initdb` and `pg_ctl` are: on the PATH, or Debian's /usr/lib/postgresql/<version>/bin.
fn postgres_bin_dir() -> std::path::PathBuf {
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
    {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !path.is_empty() {
            let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.into());
            return real.parent().unwrap().to_path_buf();
        }
    }
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server tools are installed")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("initdb is installed")
}

/// A redis-server of the test's own on `port` (never the machine's shared one); shut down at
/// the end, whoever (re)started it.
struct PrivateRedis(String);

impl PrivateRedis {
    fn start(port: &str) -> PrivateRedis {
        let status = Command::new("redis-server")
            .args([
                "--port",
                port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("redis-server runs");
        assert!(status.success());
        for _ in 0..100 {
            let ping = Command::new("redis-cli")
                .args(["-p", port, "ping"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&ping.stdout).trim() == "PONG" {
                return PrivateRedis(port.to_string());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the private redis-server did not start");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.0, "shutdown", "nosave"])
            .output();
    }
}
