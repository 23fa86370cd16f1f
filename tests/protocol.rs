//! Every case of the public Engine.IO v4 and Socket.IO v5 protocol test suites, reproduced
//! against the conformance server over real HTTP requests and WebSockets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use std::time::Duration;

use common::{text, In, Server, Ws};

const EIO: &str = "/engine.io/";
const SIO: &str = "/socket.io/";
const WS: &str = "?EIO=4&transport=websocket";
const PING_INTERVAL: u64 = 300;
const PING_TIMEOUT: u64 = 200;

fn sleep(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(ms))
}

fn assert_open(body: &str, upgrades: serde_json::Value) {
    assert!(body.starts_with('0'), "{body}");
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let keys: Vec<&str> = open
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload"
        ]
    );
    assert!(open["sid"].is_string());
    assert_eq!(open["upgrades"], upgrades);
    assert_eq!(open["pingInterval"], PING_INTERVAL);
    assert_eq!(open["pingTimeout"], PING_TIMEOUT);
    assert_eq!(open["maxPayload"], 1_000_000);
    // Compact JSON, exactly as the official server writes it.
    assert!(!body.contains(' ') && !body.contains('\n'), "{body}");
}

// ---- Engine.IO: handshake ----

#[actix_web::test]
async fn polling_handshake_opens_a_session() {
    let server = Server::suite();
    for path in [EIO, SIO] {
        let (status, body) = server.get(&format!("{path}?EIO=4&transport=polling")).await;
        assert_eq!(status, 200);
        assert_open(&body, serde_json::json!(["websocket"]));
    }
}

#[actix_web::test]
async fn polling_handshake_refuses_a_bad_eio_transport_or_method() {
    let server = Server::suite();
    for (query, code) in [
        ("?transport=polling", 5),
        ("?EIO=abc&transport=polling", 5),
        ("?EIO=4", 0),
        ("?EIO=4&transport=abc", 0),
    ] {
        let (status, body) = server.get(&format!("{EIO}{query}")).await;
        assert_eq!(status, 400, "{query}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["code"], code, "{query}");
    }
    let (status, body) = server
        .post(&format!("{EIO}?EIO=4&transport=polling"), "")
        .await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"code":2,"message":"Bad handshake method"}"#)
    );
    let put = awc::Client::new()
        .put(server.url(&format!("{EIO}?EIO=4&transport=polling")))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 400);
}

#[actix_web::test]
async fn websocket_handshake_opens_a_session_without_upgrades() {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    let In::Text(open) = ws.next().await else {
        panic!("no open packet")
    };
    assert_open(&open, serde_json::json!([]));
    ws.close().await;
}

#[actix_web::test]
async fn websocket_handshake_refuses_a_bad_eio_or_transport() {
    let server = Server::suite();
    for query in [
        "?transport=websocket",
        "?EIO=abc&transport=websocket",
        "?EIO=4",
        "?EIO=4&transport=abc",
    ] {
        let refused = Ws::connect(&server.ws_url(&format!("{EIO}{query}")))
            .await
            .err();
        assert_eq!(refused, Some(400), "{query}");
    }
}

// ---- Engine.IO: messages ----

#[actix_web::test]
async fn polling_echoes_text_several_and_binary_packets() {
    let server = Server::suite();
    for payload in [
        "4hello",
        "4test1\x1e4test2\x1e4test3",
        "4hello\x1ebAQIDBA==",
    ] {
        let sid = server.open_polling(EIO).await;
        assert_eq!(server.push(EIO, &sid, payload).await, (200, "ok".into()));
        assert_eq!(server.poll(EIO, &sid).await, (200, payload.to_string()));
    }
}

#[actix_web::test]
async fn polling_session_closes_on_an_invalid_packet() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    assert_eq!(server.push(EIO, &sid, "abc").await.0, 400);
    assert_eq!(server.poll(EIO, &sid).await.0, 400);
}

#[actix_web::test]
async fn polling_session_closes_on_duplicate_polls() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let first = server.poll(EIO, &sid);
    let second = async {
        sleep(5).await;
        server
            .get(&format!("{EIO}?EIO=4&transport=polling&sid={sid}&t=burst"))
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first, (200, "1".into()));
    assert_eq!(second.0, 400);
    assert_eq!(server.poll(EIO, &sid).await.0, 400);
}

#[actix_web::test]
async fn polling_session_closes_when_a_poll_is_cancelled() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let cancelled = tokio::time::timeout(Duration::from_millis(20), server.poll(EIO, &sid)).await;
    assert!(cancelled.is_err(), "the poll was pending");
    sleep(50).await;
    assert_eq!(server.poll(EIO, &sid).await.0, 400);
}

#[actix_web::test]
async fn polling_refuses_a_post_over_max_payload() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let big = format!("4{}", "x".repeat(1_000_001));
    assert_eq!(server.push(EIO, &sid, &big).await.0, 413);
}

#[actix_web::test]
async fn websocket_echoes_text_and_binary() {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    ws.next().await;
    ws.text("4hello").await;
    assert_eq!(ws.data().await, text("4hello"));
    ws.binary(&[1, 2, 3, 4]).await;
    assert_eq!(ws.data().await, In::Binary(vec![1, 2, 3, 4]));
    ws.close().await;
}

#[actix_web::test]
async fn websocket_closes_on_an_invalid_packet_or_an_oversized_message() {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    ws.next().await;
    ws.text("abc").await;
    ws.closed().await;

    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    ws.next().await;
    ws.text(&format!("4{}", "x".repeat(1_000_001))).await;
    assert_eq!(ws.closed().await, Some(1009));
}

// ---- Engine.IO: heartbeat ----

#[actix_web::test]
async fn polling_heartbeat_pings_and_takes_pongs() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    for _ in 0..3 {
        assert_eq!(server.poll(EIO, &sid).await, (200, "2".into()));
        assert_eq!(server.push(EIO, &sid, "3").await.0, 200);
    }
}

#[actix_web::test]
async fn polling_session_closes_on_ping_timeout() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    sleep(PING_INTERVAL + PING_TIMEOUT + 150).await;
    assert_eq!(server.poll(EIO, &sid).await.0, 400);
}

#[actix_web::test]
async fn websocket_heartbeat_pings_and_takes_pongs() {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    ws.next().await;
    for _ in 0..3 {
        assert_eq!(ws.next().await, text("2"));
        ws.text("3").await;
    }
    ws.close().await;
}

/// The unanswered ping is followed by the close itself: no Engine.IO close packet (`1`), which
/// clients such as python-socketio take as the server ending the session for good.
#[actix_web::test]
async fn websocket_closes_on_ping_timeout() {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    assert!(matches!(ws.next().await, In::Text(open) if open.starts_with('0')));
    assert_eq!(ws.next().await, text("2"));
    assert!(matches!(ws.next().await, In::Closed(_)));
}

// ---- Engine.IO: close ----

#[actix_web::test]
async fn polling_close_ends_the_pending_poll_with_a_noop() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let pull = server.poll(EIO, &sid);
    let close = async {
        sleep(5).await;
        server.push(EIO, &sid, "1").await
    };
    let (pull, _) = tokio::join!(pull, close);
    assert_eq!(pull, (200, "6".into()));
    assert_eq!(server.poll(EIO, &sid).await.0, 400);
}

#[actix_web::test]
async fn websocket_close_closes_the_socket() {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    ws.next().await;
    ws.text("1").await;
    ws.closed().await;
}

// ---- Engine.IO: upgrade ----

async fn probe(server: &Server, sid: &str) -> Ws {
    let mut ws = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
    ws.text("2probe").await;
    assert_eq!(ws.next().await, text("3probe"));
    ws
}

/// Completes the upgrade; the echo of a marker proves the server has switched.
async fn upgrade(server: &Server, sid: &str) -> Ws {
    let mut ws = probe(server, sid).await;
    ws.text("5").await;
    ws.text("4switched").await;
    assert_eq!(ws.data().await, text("4switched"));
    ws
}

#[actix_web::test]
async fn upgrade_from_polling_to_websocket() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let mut ws = probe(&server, &sid).await;
    assert_eq!(server.poll(EIO, &sid).await, (200, "6".into()));
    ws.text("5").await;
    ws.text("4hello").await;
    assert_eq!(ws.data().await, text("4hello"));
    ws.close().await;
}

/// `2probe` and `5` sent together, then a GET: the GET is refused, and `3probe` has arrived
/// before that refusal. The public suite reads the WebSocket only once the GET is answered, so
/// a `3probe` arriving later is taken for the echo it waits for next. Replayed, since the
/// answer could be overtaken only now and then.
#[actix_web::test]
async fn the_probe_is_answered_before_a_poll_behind_the_upgrade_is_refused() {
    let server = Server::suite();
    // Upgrades side by side keep the server's threads busy, as a loaded machine would.
    let replays = (0..8).map(|lane| {
        let server = &server;
        async move {
            for replay in 0..50 {
                let sid = server.open_polling(EIO).await;
                let mut ws = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
                ws.text("2probe").await;
                ws.text("5").await;
                assert_eq!(server.poll(EIO, &sid).await.0, 400);
                let answer = ws.arrived();
                assert_eq!(answer, Some(text("3probe")), "lane {lane}, replay {replay}");
                ws.text("4hello").await;
                assert_eq!(ws.data().await, text("4hello"));
                ws.close().await;
            }
        }
    });
    futures_util::future::join_all(replays).await;
}

#[actix_web::test]
async fn after_an_upgrade_http_requests_are_refused() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let mut ws = upgrade(&server, &sid).await;
    assert_eq!(server.poll(EIO, &sid).await.0, 400);
    ws.text("4hello").await;
    assert_eq!(ws.data().await, text("4hello"));
    ws.close().await;
}

#[actix_web::test]
async fn after_an_upgrade_a_second_websocket_is_closed() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let mut ws = upgrade(&server, &sid).await;
    let mut second = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
    second.closed().await;
    ws.text("4hello").await;
    assert_eq!(ws.data().await, text("4hello"));
    ws.close().await;
}

/// `2probe` and `5` sent together, then a second WebSocket with the sid: it is closed, and
/// `3probe` has arrived before it closed. The public suite reads the probe only once the second
/// WebSocket has closed, so a `3probe` arriving later is taken for the echo it waits for next.
/// Replayed side by side, since the second WebSocket overtakes `2probe` only now and then.
#[actix_web::test]
async fn the_probe_is_answered_before_a_second_websocket_is_closed() {
    let server = Server::suite();
    let replays = (0..8).map(|lane| {
        let server = &server;
        async move {
            for replay in 0..25 {
                let sid = server.open_polling(EIO).await;
                let mut ws = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
                ws.text("2probe").await;
                ws.text("5").await;
                let mut second = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
                second.closed().await;
                let answer = ws.arrived();
                assert_eq!(answer, Some(text("3probe")), "lane {lane}, replay {replay}");
                ws.text("4hello").await;
                assert_eq!(ws.data().await, text("4hello"));
                ws.close().await;
            }
        }
    });
    futures_util::future::join_all(replays).await;
}

#[actix_web::test]
async fn a_pending_poll_ends_when_the_probe_arrives_and_queued_packets_move_to_the_websocket() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let pending = server.poll(EIO, &sid);
    let upgrade = async {
        sleep(20).await;
        let ws = probe(&server, &sid).await;
        assert_eq!(server.push(EIO, &sid, "4queued").await.0, 200);
        ws
    };
    // As a client does, the upgrade completes once the pending poll has ended.
    let (pending, mut ws) = tokio::join!(pending, upgrade);
    assert_eq!(pending, (200, "6".into()));
    ws.text("5").await;
    assert_eq!(ws.data().await, text("4queued"));
    ws.close().await;
}

#[actix_web::test]
async fn an_abandoned_probe_is_dropped_and_the_session_stays_on_polling() {
    let server = Server::suite();
    let sid = server.open_polling(EIO).await;
    let mut ws = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
    let keep_alive = async {
        // Answer pings over polling until the probe is gone (upgrade timeout: 1 s).
        for _ in 0..8 {
            let (status, body) = server.poll(EIO, &sid).await;
            assert_eq!(status, 200);
            if body == "2" {
                server.push(EIO, &sid, "3").await;
            }
        }
    };
    let (_, code) = tokio::join!(keep_alive, ws.closed());
    let _ = code;
    assert_eq!(server.push(EIO, &sid, "4still-here").await.0, 200);
    let (_, body) = server.poll(EIO, &sid).await;
    assert!(body.contains("4still-here"), "{body}");
}

// ---- Socket.IO ----

async fn sio() -> (Server, Ws) {
    let server = Server::suite();
    let mut ws = server.ws(&format!("{SIO}{WS}")).await;
    ws.next().await;
    (server, ws)
}

/// A session connected to the main namespace, past the `auth` event.
async fn connected() -> (Server, Ws) {
    let (server, mut ws) = sio().await;
    ws.text("40").await;
    let In::Text(reply) = ws.data().await else {
        panic!()
    };
    assert!(reply.starts_with("40{"), "{reply}");
    assert_eq!(ws.data().await, text(r#"42["auth",{}]"#));
    (server, ws)
}

#[actix_web::test]
async fn connect_to_namespaces_with_and_without_payloads() {
    for (send, prefix, auth) in [
        ("40", "40", r#"42["auth",{}]"#),
        (
            r#"40{"token":"123"}"#,
            "40",
            r#"42["auth",{"token":"123"}]"#,
        ),
        ("40/custom,", "40/custom,", r#"42/custom,["auth",{}]"#),
        ("40/custom", "40/custom,", r#"42/custom,["auth",{}]"#),
        (
            r#"40/custom,{"token":"abc"}"#,
            "40/custom,",
            r#"42/custom,["auth",{"token":"abc"}]"#,
        ),
    ] {
        let (_server, mut ws) = sio().await;
        ws.text(send).await;
        let In::Text(reply) = ws.data().await else {
            panic!()
        };
        assert!(reply.starts_with(prefix), "{send}: {reply}");
        let handshake: serde_json::Value = serde_json::from_str(&reply[prefix.len()..]).unwrap();
        assert_eq!(
            handshake.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["sid"]
        );
        assert!(handshake["sid"].is_string());
        assert_eq!(ws.data().await, text(auth), "{send}");
        ws.close().await;
    }
}

#[actix_web::test]
async fn an_unknown_namespace_is_refused_exactly() {
    let (_server, mut ws) = sio().await;
    ws.text("40/random").await;
    assert_eq!(
        ws.data().await,
        text(r#"44/random,{"message":"Invalid namespace"}"#)
    );
}

#[actix_web::test]
async fn an_invalid_handshake_closes_the_connection() {
    let (_server, mut ws) = sio().await;
    ws.text("4abc").await;
    ws.closed().await;
}

#[actix_web::test]
async fn a_session_without_connect_is_closed_after_the_connect_timeout() {
    let (_server, mut ws) = sio().await;
    let started = std::time::Instant::now();
    let code = loop {
        match ws.next().await {
            In::Text(ping) if ping == "2" => ws.text("3").await,
            // Closed without an Engine.IO close packet, as the official server does.
            In::Closed(code) => break code,
            other => panic!("unexpected {other:?}"),
        }
    };
    let _ = code;
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// A drain (what SIGTERM does) closes a connected WebSocket as a lost connection: neither an
/// Engine.IO close packet (`1`) nor a Socket.IO DISCONNECT (`41`) comes first, either of which
/// python-socketio and rust_socketio take as the server ending the session for good.
#[actix_web::test]
async fn a_drain_closes_websockets_without_a_close_packet() {
    let (server, mut ws) = connected().await;
    server
        .io
        .close_all(confab_actors::engine::DisconnectReason::ServerShuttingDown);
    assert_eq!(ws.data().await, In::Closed(Some(1000)));
}

#[actix_web::test]
async fn leaving_the_main_namespace_keeps_the_session() {
    let (_server, mut ws) = connected().await;
    ws.text("41").await;
    ws.text("40").await;
    let In::Text(reply) = ws.data().await else {
        panic!()
    };
    assert!(reply.starts_with("40{"), "{reply}");
}

#[actix_web::test]
async fn connect_then_leave_a_custom_namespace() {
    let (_server, mut ws) = connected().await;
    ws.text("40/custom").await;
    let In::Text(reply) = ws.data().await else {
        panic!()
    };
    assert!(reply.starts_with("40/custom,"));
    assert_eq!(ws.data().await, text(r#"42/custom,["auth",{}]"#));
    ws.text("41/custom").await;
    ws.text(r#"42["message","message to main namespace"]"#)
        .await;
    assert_eq!(
        ws.data().await,
        text(r#"42["message-back","message to main namespace"]"#)
    );
}

#[actix_web::test]
async fn plain_text_and_binary_events_and_acks() {
    let (_server, mut ws) = connected().await;
    ws.text(r#"42["message",1,"2",{"3":[true]}]"#).await;
    assert_eq!(
        ws.data().await,
        text(r#"42["message-back",1,"2",{"3":[true]}]"#)
    );

    ws.text(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    ws.binary(&[1, 2, 3]).await;
    ws.binary(&[4, 5, 6]).await;
    assert_eq!(
        ws.data().await,
        text(r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    );
    assert_eq!(ws.data().await, In::Binary(vec![1, 2, 3]));
    assert_eq!(ws.data().await, In::Binary(vec![4, 5, 6]));

    ws.text(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    assert_eq!(ws.data().await, text(r#"43456[1,"2",{"3":[false]}]"#));

    ws.text(r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#).await;
    ws.binary(&[1, 2, 3]).await;
    ws.binary(&[4, 5, 6]).await;
    assert_eq!(
        ws.data().await,
        text(r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    );
    assert_eq!(ws.data().await, In::Binary(vec![1, 2, 3]));
    assert_eq!(ws.data().await, In::Binary(vec![4, 5, 6]));
}

#[actix_web::test]
async fn malformed_packets_close_that_connection_only() {
    for packet in [
        "4abc",
        "42{}",
        r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
        r#"45["message"]"#,
        r#"4511-["message"]"#,
        r#"44{"message":"no"}"#,
    ] {
        let (server, mut ws) = connected().await;
        let mut bystander = server.ws(&format!("{SIO}{WS}")).await;
        bystander.next().await;
        bystander.text("40").await;
        bystander.data().await;
        bystander.data().await;
        ws.text(packet).await;
        ws.closed().await;
        bystander.text(r#"42["message","fine"]"#).await;
        assert_eq!(
            bystander.data().await,
            text(r#"42["message-back","fine"]"#),
            "after {packet}"
        );
    }
}

#[actix_web::test]
async fn the_engine_counts_sessions_upgrades_packets_and_reasons() {
    use confab_actors::engine::DisconnectReason;
    let server = Server::suite();
    let stats = server.raw.stats();
    let sid = server.open_polling(EIO).await;
    assert_eq!(
        (stats.polling_sessions(), stats.websocket_sessions()),
        (1, 0)
    );
    let mut ws = probe(&server, &sid).await;
    ws.text("5").await;
    ws.text("4hello").await;
    assert_eq!(ws.data().await, text("4hello"));
    assert_eq!(
        (
            stats.polling_sessions(),
            stats.websocket_sessions(),
            stats.upgrades()
        ),
        (0, 1, 1)
    );
    ws.text("1").await;
    ws.closed().await;
    assert_eq!(stats.websocket_sessions(), 0);
    assert_eq!(stats.closed_with(DisconnectReason::TransportClose), 1);
    assert_eq!(server.raw.session_count(), 0);
    let mut ws = server.ws(&format!("{EIO}{WS}")).await;
    ws.closed().await;
    assert_eq!(stats.closed_with(DisconnectReason::PingTimeout), 1);
    assert!(
        stats.packets_received() >= 2,
        "{}",
        stats.packets_received()
    );
    assert!(stats.packets_sent() >= 4, "{}", stats.packets_sent());
    assert_eq!(stats.sessions_opened(), 2);
}

// ---- The WebSocket handover (not from the suites) ----
//
// The HTTP/1 dispatcher hands a WebSocket request over with its connection, and the engine
// answers it on the bare connection: these check what the dispatcher would otherwise have done.

/// Writes `bytes` to a new connection to `server` in one write, and reads until the server
/// closes it or `until` holds for what arrived.
async fn exchange(server: &Server, bytes: &[u8], until: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = server.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(bytes).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !until(&got) {
        let n = tokio::time::timeout(Duration::from_secs(3), conn.read(&mut buf))
            .await
            .expect("an answer within 3 s")
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn upgrade_request(path_and_query: &str) -> String {
    format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// The text frames (unmasked, each under 126 bytes) that follow the HTTP head in `bytes`.
fn text_frames(bytes: &[u8]) -> Vec<String> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut rest = &bytes[head_end..];
    let mut frames = Vec::new();
    while rest.len() >= 2 && rest.len() >= 2 + usize::from(rest[1]) {
        assert_eq!(rest[0], 0x81, "a final text frame");
        let len = usize::from(rest[1]);
        frames.push(String::from_utf8(rest[2..2 + len].to_vec()).unwrap());
        rest = &rest[2 + len..];
    }
    frames
}

#[actix_web::test]
async fn a_websocket_request_elsewhere_is_not_found_and_its_connection_closed() {
    let server = Server::suite();
    let answer = exchange(&server, upgrade_request("/chat?EIO=4").as_bytes(), |_| {
        false
    })
    .await;
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(
        answer.ends_with(r#""code":"not_found","message":"no such endpoint"}}"#),
        "{answer}"
    );
    assert_eq!(server.raw.session_count() + server.io.session_count(), 0);
}

#[actix_web::test]
async fn a_refused_websocket_request_opens_no_session() {
    let server = Server::suite();
    let mut request = upgrade_request(&format!("{EIO}{WS}"));
    request = request.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    let answer = exchange(&server, request.as_bytes(), |_| false).await;
    let answer = String::from_utf8(answer).unwrap();
    // RFC 6455: 426, naming the version the server speaks.
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("sec-websocket-version: 13\r\n"), "{answer}");
    assert_eq!(server.raw.stats().sessions_opened(), 0);
}

#[actix_web::test]
async fn frames_sent_along_with_the_websocket_request_are_read() {
    let server = Server::suite();
    let mut bytes = upgrade_request(&format!("{EIO}{WS}")).into_bytes();
    // "4hello", masked with a zero key, in the same write as the request.
    bytes.extend_from_slice(&[0x81, 0x86, 0, 0, 0, 0]);
    bytes.extend_from_slice(b"4hello");
    let answer = exchange(&server, &bytes, |got| {
        got.windows(6).any(|w| w == b"4hello")
    })
    .await;
    assert!(answer.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    let frames = text_frames(&answer);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_open(&frames[0], serde_json::json!([]));
    assert_eq!(frames[1], "4hello");
}

#[actix_web::test]
async fn a_websocket_client_that_stops_reading_is_dropped_as_a_slow_consumer() {
    use confab_actors::engine::{DisconnectReason, EngineConfig};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = Server::start(EngineConfig {
        ping_interval_ms: 25_000,
        ping_timeout_ms: 20_000,
        max_buffered_bytes: 64 * 1024,
        ..common::conformance::suite_config()
    });
    // A small receive buffer, so that the echoes back up on the server soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let addr = server.base.trim_start_matches("http://").parse().unwrap();
    let mut conn = socket.connect(addr).await.unwrap();
    let request = upgrade_request(&format!("{EIO}{WS}"));
    conn.write_all(request.as_bytes()).await.unwrap();
    // 150 messages of 60,000 bytes (9 MB), each echoed, and none of the echoes read. A server
    // that stopped reading too would block this; the reads below then fail the test.
    let mut frame = vec![0x81, 0xFE, 0xEA, 0x60, 0, 0, 0, 0, b'4'];
    frame.resize(frame.len() + 59_999, b'x');
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        for _ in 0..150 {
            if conn.write_all(&frame).await.is_err() {
                break; // dropped already
            }
        }
    })
    .await;
    // The server ends the connection once the session is closed; what it had sent before is
    // read to the end.
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("the server ends the connection");
        if !matches!(read, Ok(n) if n > 0) {
            break;
        }
    }
    let stats = server.raw.stats();
    assert_eq!(stats.closed_with(DisconnectReason::SlowConsumer), 1);
    assert_eq!(server.raw.session_count(), 0);
}

// ---- Races: the suites' timing cases, 50 times in a row with a core kept busy ----

/// Keeps one core busy until dropped, so that timers and tasks run late as on a loaded node.
struct Busy(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Busy {
    fn start() -> Busy {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            let mut x = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        Busy(stop)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

const RACE_RUNS: usize = 50;

/// A GET exactly `pingInterval + pingTimeout` after the handshake finds the session closed,
/// however late the server's timers fire: the deadline is kept on one clock.
#[actix_web::test]
async fn race_a_poll_at_the_pong_deadline_finds_the_session_closed() {
    let _busy = Busy::start();
    let server = Server::suite();
    // Ten sessions at a time, each timed on its own: more timers due at once, more lateness.
    for _ in 0..RACE_RUNS / 10 {
        let runs = (0..10).map(|_| async {
            let sid = server.open_polling(EIO).await;
            sleep(PING_INTERVAL + PING_TIMEOUT).await;
            server.poll(EIO, &sid).await.0
        });
        let statuses = futures_util::future::join_all(runs).await;
        assert!(statuses.iter().all(|&s| s == 400), "{statuses:?}");
    }
}

/// After `2probe` and `5` were sent over the WebSocket, a GET with the same sid is refused,
/// whichever the server reads first.
#[actix_web::test]
async fn race_a_poll_sent_after_the_upgrade_is_refused() {
    let _busy = Busy::start();
    let server = Server::suite();
    for run in 0..RACE_RUNS {
        let sid = server.open_polling(EIO).await;
        let mut ws = server.ws(&format!("{EIO}{WS}&sid={sid}")).await;
        ws.text("2probe").await;
        ws.text("5").await;
        assert_eq!(server.poll(EIO, &sid).await.0, 400, "run {run}");
        assert_eq!(ws.data().await, text("3probe"), "run {run}");
        ws.text("4hello").await;
        assert_eq!(ws.data().await, text("4hello"), "run {run}");
        ws.close().await;
    }
}

/// A GET and a POST of `1` sent together: the GET ends with a noop, then the session is gone.
#[actix_web::test]
async fn race_a_poll_sent_with_the_close_ends_with_a_noop() {
    let _busy = Busy::start();
    let server = Server::suite();
    for run in 0..RACE_RUNS {
        let sid = server.open_polling(EIO).await;
        let (pull, close) = tokio::join!(server.poll(EIO, &sid), server.push(EIO, &sid, "1"));
        assert_eq!(pull, (200, "6".into()), "run {run}");
        assert_eq!(close.0, 200, "run {run}");
        assert_eq!(server.poll(EIO, &sid).await.0, 400, "run {run}");
    }
}

// ---- Bounds on half-received binary packets ----

/// Attachments adding up to more than `maxPayload` close the session, each one accepted alone.
#[actix_web::test]
async fn binary_attachments_over_max_payload_close_the_session() {
    let (_server, mut ws) = connected().await;
    ws.text(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    let half = vec![7u8; 600_000];
    ws.binary(&half).await;
    ws.binary(&half).await;
    assert_eq!(ws.closed().await, Some(1002));
}

/// A binary packet whose attachments never come expires with the connect timeout (1 s here),
/// even on a connected session that keeps answering pings.
#[actix_web::test]
async fn an_incomplete_binary_packet_expires() {
    let (_server, mut ws) = connected().await;
    ws.text(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    ws.binary(&[1, 2, 3]).await;
    // Pongs keep the heartbeat alive (a ping timeout would close without a code).
    loop {
        match ws.next().await {
            In::Text(ping) if ping == "2" => ws.text("3").await,
            In::Closed(code) => {
                assert_eq!(code, Some(1002));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
