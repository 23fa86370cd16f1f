//! A node restarted under its clients: python-socketio (tests/python/chat_client.py) and the
//! stock JavaScript client (tests/js/tools/chat-client.mjs), both with default options, are in
//! a conversation when the node gets SIGTERM; it starts again on the same port, and both come
//! back by themselves and receive what is sent after the restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use common::{DropDatabase, Node, PATIENCE};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// A chat client process speaking the line protocol of tests/python/chat_client.py: events
/// as JSON lines on its stdout, commands as JSON lines on its stdin.
struct Client {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Value>,
}

impl Client {
    fn spawn(name: &'static str, mut command: Command) -> Client {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("the {name} client starts: {err}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, events) = mpsc::unbounded_channel();
        // A blocking reader of its own: the client writes whenever something happens to it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{name}: {line}");
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    if sender.send(event).is_err() {
                        break;
                    }
                }
            }
        });
        Client {
            name,
            child,
            stdin,
            events,
        }
    }

    /// The next event that `wanted` accepts (those before it are passed over).
    async fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let name = self.name;
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                match self.events.recv().await {
                    Some(event) if wanted(&event) => return event,
                    Some(_) => {}
                    None => panic!("the {name} client exited while waiting for {what}"),
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("the {name} client saw no {what} within {PATIENCE:?}"))
    }

    async fn event(&mut self, event: &str) -> Value {
        self.until(event, |e| e["event"] == event).await
    }

    /// Sends `body` to `conversation` and waits for the ack, which must be `ok`.
    async fn send(&mut self, conversation: &str, body: &str) {
        let command = json!({ "send": {
            "conversationId": conversation,
            "clientMessageId": uuid::Uuid::new_v4().to_string(),
            "body": body,
        }});
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let sent = self
            .until("the ack", |e| e["event"] == "sent" && e["body"] == body)
            .await;
        assert_eq!(sent["ok"], true, "{}: {sent}", self.name);
    }

    async fn receives(&mut self, body: &str) {
        self.until(body, |e| e["event"] == "message" && e["body"] == body)
            .await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers `username` at `base` → (user id, access token).
async fn register(base: &str, username: &str) -> (String, String) {
    let mut res = awc::Client::new()
        .post(format!("{base}/api/auth/register"))
        .send_json(&json!({ "email": format!("{username}@example.com"), "username": username, "password": "correct horse battery" }))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["user"]["id"].as_str().unwrap().to_string(),
        body["accessToken"].as_str().unwrap().to_string(),
    )
}

/// A direct conversation between the holder of `token` and `other` → its id.
async fn dm(base: &str, token: &str, other: &str) -> String {
    let mut res = awc::Client::new()
        .post(format!("{base}/api/conversations"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&json!({ "kind": "dm", "userId": other }))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// A graceful drain closes WebSockets as a lost connection (no Engine.IO close packet), so
/// clients that stop for good on `1`, as python-socketio does, reconnect like the stock one.
#[actix_web::test]
async fn python_and_javascript_clients_come_back_after_a_restart() {
    let url = common::fresh_database_url();
    let _guard = DropDatabase(url.clone());
    let port = common::free_port();
    let node = Node::start_on(&url, port, &[]).await;
    let (_, alice) = register(&node.base, "pyalice").await;
    let (bob_id, bob) = register(&node.base, "jsbob").await;
    let conversation = dm(&node.base, &alice, &bob_id).await;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut python = Command::new(common::python());
    python
        .arg(root.join("tests/python/chat_client.py"))
        .args([&node.base, &alice]);
    let mut python = Client::spawn("python", python);
    let js_dir = root.join("tests/js");
    common::npm_install(&js_dir);
    let mut javascript = Command::new("node");
    javascript
        .arg("tools/chat-client.mjs")
        .args([&node.base, &bob])
        .current_dir(&js_dir);
    let mut javascript = Client::spawn("javascript", javascript);

    // python-socketio upgrades before its connect returns: the drain closes a WebSocket.
    assert_eq!(python.event("ready").await["transport"], "websocket");
    javascript.event("ready").await;
    python.send(&conversation, "before, from python").await;
    javascript.receives("before, from python").await;
    javascript
        .send(&conversation, "before, from javascript")
        .await;
    python.receives("before, from javascript").await;

    let status = node
        .terminate(Duration::from_secs(30))
        .await
        .expect("the node exits within 30 s");
    assert!(status.success(), "{status:?}");
    python.event("disconnect").await;
    javascript.event("disconnect").await;

    let _node = Node::start_on(&url, port, &[]).await;
    python.event("ready").await;
    javascript.event("ready").await;
    python.send(&conversation, "after, from python").await;
    javascript.receives("after, from python").await;
    javascript
        .send(&conversation, "after, from javascript")
        .await;
    python.receives("after, from javascript").await;
}
