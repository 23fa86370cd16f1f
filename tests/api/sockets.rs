use crate::helpers::TestApp;

/// The client library renews a live socket's credentials (tests/js/client/renew.test.mjs):
/// access tokens here last 61 s, so `session:expiring` comes a second after connecting, and
/// the socket must outlive the first token (about a minute, beside the other tests).
#[actix_web::test]
async fn the_client_library_renews_a_live_socket() {
    let app = TestApp::spawn_with(|settings| settings.auth.access_ttl_secs = 61).await;
    crate::common::run_node_tests(&["client/renew.test.mjs"], &[("CONFAB_URL", &app.base)]).await;
}

/// A busy conversation's changes reach every socket in rev order, acks included
/// (tests/js/chat/order.test.mjs).
#[actix_web::test]
async fn changes_reach_every_socket_in_rev_order() {
    let app = TestApp::spawn().await;
    crate::common::run_node_tests(&["chat/order.test.mjs"], &[("CONFAB_URL", &app.base)]).await;
}

/// The chat contract over the stock `socket.io-client` (tests/js/chat), against the real
/// server and PostgreSQL.
#[actix_web::test]
async fn chat_events_pass_over_the_official_client() {
    let app = TestApp::spawn().await;
    let expired = app
        .state
        .jwt
        .issue_expired(uuid::Uuid::new_v4(), std::time::Duration::from_secs(60));
    crate::common::run_node_tests(
        &[
            "chat/chat.test.mjs",
            "chat/live.test.mjs",
            "chat/changes.test.mjs",
            "chat/privacy.test.mjs",
            "chat/attachments.test.mjs",
            "chat/directory.test.mjs",
            "client/confab-client.test.mjs",
        ],
        &[
            ("CONFAB_URL", &app.base),
            ("CONFAB_EXPIRED_TOKEN", &expired),
        ],
    )
    .await;

    // The workload above shows in the metrics.
    let text = metrics_text(&app).await;
    for name in [
        "confab_messages_committed_total",
        "confab_send_commit_seconds_count",
        "confab_send_ack_seconds_count",
        "confab_socket_events_total{event=\"message:send\"}",
        "confab_socket_events_total{event=\"typing:start\"}",
        "confab_rate_limited_total",
        "confab_fanout_deliveries_total",
        "confab_engine_sessions_opened_total",
        "confab_engine_upgrades_total",
    ] {
        assert!(metric(&text, name) > 0.0, "{name} is 0");
    }
    assert!(text.contains("confab_room_actors "), "{text}");
    assert!(
        text.contains("confab_engine_sessions_closed_total{reason=\"slow consumer\"}"),
        "{text}"
    );
}

/// A socket send refused for its sending rate counts once in `confab_rate_limited_total` (the
/// send service counts it; the namespace that passes the refusal on does not count it again).
#[actix_web::test]
async fn a_rate_limited_socket_send_counts_once() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.send_rate_per_sec = 0.001;
        settings.limits.send_burst = 1.0;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let conversation = app.dm_id(&alice, &bob).await;
    let rate_limited = || async { metric(&metrics_text(&app).await, "confab_rate_limited_total ") };
    let mut ws = connected(&app, &alice.token).await;
    let before = rate_limited().await;
    for (n, client_id) in ["first", "second"].into_iter().enumerate() {
        let send = serde_json::json!(["message:send", {
            "conversationId": conversation,
            "clientMessageId": client_id,
            "body": client_id,
        }]);
        ws.text(&format!("42{n}{send}")).await;
        let ack = frame_starting(&mut ws, &format!("43{n}[")).await;
        let expected = if n == 0 {
            r#""ok":true"#
        } else {
            r#""code":"rate_limited""#
        };
        assert!(ack.contains(expected), "send {n}: {ack}");
    }
    assert_eq!(rate_limited().await - before, 1.0);
}

/// The node's `/metrics` page.
async fn metrics_text(app: &TestApp) -> String {
    let metrics = app.request("GET", "/metrics", None, None).await;
    metrics.body.as_str().unwrap_or_default().to_string()
}

/// The value of the first sample of `/metrics` text that starts with `name`.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
}

/// A WebSocket connected to the chat namespace with `token`, past `session:ready`.
async fn connected(app: &TestApp, token: &str) -> crate::common::Ws {
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        app.base.replacen("http", "ws", 1)
    );
    let mut ws = crate::common::Ws::connect(&ws_url).await.unwrap();
    ws.next().await; // open
    ws.text(&format!(r#"40{{"token":"{token}"}}"#)).await;
    frame_starting(&mut ws, r#"42["session:ready""#).await;
    ws
}

/// The next text frame that starts with `prefix` (other events in between are skipped).
pub async fn frame_starting(ws: &mut crate::common::Ws, prefix: &str) -> String {
    loop {
        match ws.data().await {
            crate::common::In::Text(text) if text.starts_with(prefix) => return text,
            crate::common::In::Closed(code) => panic!("closed ({code:?}) before {prefix}"),
            _ => {}
        }
    }
}

/// With storage gone, a send is answered `unavailable` (nothing acked as sent) and the socket
/// stays open.
#[actix_web::test]
async fn a_send_without_storage_is_unavailable() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    let mut ws = connected(&app, &alice.token).await;

    let send = |id: u32| {
        format!(
            r#"42{id}["message:send",{{"conversationId":"{group}","clientMessageId":"m{id}","body":"hi"}}]"#
        )
    };
    ws.text(&send(1)).await;
    frame_starting(&mut ws, r#"431[{"ok":true"#).await;

    crate::common::drop_database(&app.db_url).await.unwrap();
    ws.text(&send(2)).await;
    let ack = frame_starting(&mut ws, "432[").await;
    let ack: serde_json::Value = serde_json::from_str(&ack[3..]).unwrap();
    assert_eq!(ack[0]["ok"], false, "{ack}");
    assert_eq!(ack[0]["error"]["code"], "unavailable", "{ack}");
    // The connection carries on.
    ws.text(r#"42["presence:query",{"userIds":"bad"}]"#).await;
    frame_starting(&mut ws, r#"42["request:error""#).await;
}

/// A WebSocket connected to `/` with `token`, past `session:ready`.
pub async fn socket_of(app: &TestApp, token: &str) -> crate::common::Ws {
    let mut ws = open_socket(app).await;
    ws.text(&format!(r#"40{{"token":"{token}"}}"#)).await;
    frame_starting(&mut ws, r#"42["session:ready""#).await;
    ws
}

/// A WebSocket to `app`'s engine, past the open packet.
pub async fn open_socket(app: &TestApp) -> crate::common::Ws {
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        app.base.replacen("http", "ws", 1)
    );
    let mut ws = crate::common::Ws::connect(&ws_url).await.unwrap();
    ws.next().await; // open
    ws
}

/// A session whose CONNECT was refused is closed unless another CONNECT follows within the
/// connect timeout: no client keeps sessions it cannot use.
#[actix_web::test]
async fn a_refused_connect_closes_the_session_after_the_connect_timeout() {
    let app = TestApp::spawn_with(|s| s.engine.connect_timeout_ms = 300).await;
    let mut ws = open_socket(&app).await;
    ws.text(r#"40{"token":"not a token"}"#).await;
    let refused = frame_starting(&mut ws, "44").await;
    assert!(refused.contains("unauthorized"), "{refused}");
    ws.closed().await;
    assert_eq!(app.state.engine.session_count(), 0);

    // A second CONNECT in time, with a good token, keeps the session.
    let alice = app.register("alice").await;
    let mut ws = open_socket(&app).await;
    ws.text(r#"40{"token":"not a token"}"#).await;
    frame_starting(&mut ws, "44").await;
    ws.text(&format!(r#"40{{"token":"{}"}}"#, alice.token))
        .await;
    frame_starting(&mut ws, r#"42["session:ready""#).await;
    // Past the connect timeout, the session still answers.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    ws.text(r#"421["presence:query",{"userIds":[]}]"#).await;
    let ack = frame_starting(&mut ws, "431[").await;
    assert!(ack.contains(r#""ok":true"#), "{ack}");
}

/// A client that leaves its last namespace has its session closed after the connect timeout,
/// unless it connects again.
#[actix_web::test]
async fn leaving_the_last_namespace_closes_the_session() {
    let app = TestApp::spawn_with(|s| s.engine.connect_timeout_ms = 300).await;
    let alice = app.register("alice").await;
    let mut ws = open_socket(&app).await;
    ws.text(&format!(r#"40{{"token":"{}"}}"#, alice.token))
        .await;
    frame_starting(&mut ws, r#"42["session:ready""#).await;
    ws.text("41").await;
    ws.closed().await;
    assert_eq!(app.state.engine.session_count(), 0);
}

/// Sessions and handshakes are limited per client address, before any session exists: past
/// either limit the handshake gets 429, another address is not affected, and a closed session
/// gives its slot back.
#[actix_web::test]
async fn sessions_and_handshakes_are_limited_per_address() {
    let app = TestApp::spawn_with(|s| {
        s.server.trust_proxy_headers = true;
        s.engine.max_sessions_per_address = 3;
        s.engine.handshakes_per_sec_per_address = 0.001;
        s.engine.handshake_burst_per_address = 4.0;
    })
    .await;
    let handshake = |ip: &'static str| {
        let req = app
            .client
            .get(format!("{}/socket.io/?EIO=4&transport=polling", app.base))
            .insert_header(("X-Forwarded-For", ip));
        async move {
            let mut res = req.send().await.unwrap();
            let body = res.body().await.unwrap();
            let body = String::from_utf8_lossy(&body).into_owned();
            let sid = serde_json::from_str::<serde_json::Value>(body.get(1..).unwrap_or(""))
                .ok()
                .and_then(|open| open["sid"].as_str().map(str::to_string));
            (res.status().as_u16(), body, sid)
        }
    };
    // Closed by its client, then ended by the GET sent with the close: the slot is free.
    let close = |sid: String| {
        let polling = format!("{}/socket.io/?EIO=4&transport=polling&sid={sid}", app.base);
        let client = app.client.clone();
        async move {
            let close = client.post(&polling).send_body("1").await.unwrap();
            assert_eq!(close.status().as_u16(), 200);
            let mut ended = client.get(&polling).send().await.unwrap();
            assert_eq!(ended.body().await.unwrap(), "6");
        }
    };
    let mut sids = Vec::new();
    for _ in 0..3 {
        let (status, body, sid) = handshake("10.9.0.1").await;
        assert_eq!(status, 200, "{body}");
        sids.push(sid.unwrap());
    }
    let (refused, body, _) = handshake("10.9.0.1").await;
    assert_eq!(refused, 429, "{body}");
    assert!(body.contains("Too many sessions"), "{body}");
    assert_eq!(app.state.engine.session_count(), 3);
    assert_eq!(handshake("10.9.0.2").await.0, 200);

    close(sids.remove(0)).await;
    let (status, body, _) = handshake("10.9.0.1").await;
    assert_eq!(status, 200, "{body}");
    // Four handshakes made: the burst is spent, though a slot is free again.
    close(sids.remove(0)).await;
    let (rated, body, _) = handshake("10.9.0.1").await;
    assert_eq!(rated, 429, "{body}");
    assert!(body.contains("Too many handshakes"), "{body}");
    assert_eq!(handshake("10.9.0.3").await.0, 200);
}
