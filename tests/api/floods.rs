//! Floods from one client have a bounded effect: the node keeps answering `/health`, a
//! well-behaved client on another socket keeps getting its acks, and memory stays bounded.
//! Sizes here are small enough for the suite; the abuse benchmark runs them at full size.

use serde_json::Value;

use crate::common::In;
use crate::helpers::TestApp;
use crate::sockets::{frame_starting, open_socket, socket_of};

/// This process's resident memory (the server runs in it), in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

/// 4,000 `presence:query` sent at once on one socket: past its bounds they are told to wait
/// (`rate_limited` with `retryAfterMs`); a bystander's sends are acked throughout.
#[actix_web::test]
async fn an_event_flood_is_refused_and_leaves_others_served() {
    // The budget's burst of 100, with no refill worth counting however long the flood takes.
    let app = TestApp::spawn_with(|s| s.chat.events_per_sec = 0.001).await;
    let mallory = app.register("mallory").await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    let mut flood = socket_of(&app, &mallory.token).await;
    let mut bystander = socket_of(&app, &alice.token).await;
    let before = rss_mib();
    const FLOOD: u32 = 4_000;
    for id in 0..FLOOD {
        flood
            .text(&format!(
                r#"42{id}["presence:query",{{"userIds":["{}"]}}]"#,
                alice.id
            ))
            .await;
    }
    bystander
        .text(&format!(
            r#"421["message:send",{{"conversationId":"{group}","clientMessageId":"b","body":"hi"}}]"#
        ))
        .await;
    let ack = frame_starting(&mut bystander, "431[").await;
    assert!(ack.contains(r#""ok":true"#), "{ack}");
    assert_eq!(app.request("GET", "/health", None, None).await.status, 200);

    let (mut ok, mut limited) = (0, 0);
    while ok + limited < FLOOD {
        let In::Text(frame) = flood.data().await else {
            panic!("the flooding socket was closed")
        };
        if !frame.starts_with("43") {
            continue;
        }
        let start = frame.find('[').unwrap();
        let ack: Value = serde_json::from_str(&frame[start..]).unwrap();
        if ack[0]["ok"] == true {
            ok += 1;
        } else {
            assert_eq!(ack[0]["error"]["code"], "rate_limited", "{ack}");
            assert!(ack[0]["error"]["retryAfterMs"].as_u64().is_some(), "{ack}");
            limited += 1;
        }
    }
    // At most the burst of the user's event budget was served.
    assert!(ok <= 100, "{ok} served");
    assert!(limited >= FLOOD - 100, "{limited} refused");
    let grown = rss_mib().saturating_sub(before);
    assert!(grown < 200, "RSS grew by {grown} MiB");
}

/// 150 sockets (within one address's handshake burst) that each send one CONNECT with a bad token are all closed after the connect
/// timeout; the node keeps answering meanwhile.
#[actix_web::test]
async fn refused_connects_do_not_keep_sessions() {
    let app = TestApp::spawn_with(|s| s.engine.connect_timeout_ms = 500).await;
    let alice = app.register("alice").await;
    let mut sockets = Vec::new();
    for _ in 0..150 {
        let mut ws = open_socket(&app).await;
        ws.text(r#"40{"token":"not a token"}"#).await;
        sockets.push(ws);
    }
    let mut good = socket_of(&app, &alice.token).await;
    assert_eq!(app.request("GET", "/health", None, None).await.status, 200);
    for ws in &mut sockets {
        frame_starting(ws, "44").await;
        ws.closed().await;
    }
    // Only the good session is left, and it still answers.
    assert_eq!(app.state.engine.session_count(), 1);
    good.text(r#"421["presence:query",{"userIds":[]}]"#).await;
    let ack = frame_starting(&mut good, "431[").await;
    assert!(ack.contains(r#""ok":true"#), "{ack}");
}
