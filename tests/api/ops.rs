use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn health_and_ready_answer_when_everything_is_up() {
    let app = TestApp::spawn().await;
    let health = app.request("GET", "/health", None, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let ready = app.request("GET", "/ready", None, None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["database"], "up");
    assert_eq!(ready.body["redis"], "not_configured");
}

#[actix_web::test]
async fn ready_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    assert_eq!(app.request("GET", "/ready", None, None).await.status, 200);
    crate::common::drop_database(&app.db_url).await.unwrap();
    let ready = app.request("GET", "/ready", None, None).await;
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body["database"], "down");
    // Liveness is unaffected.
    assert_eq!(app.request("GET", "/health", None, None).await.status, 200);
}

#[actix_web::test]
async fn ready_checks_redis_when_it_is_configured() {
    let up = TestApp::spawn_with(|s| {
        s.redis.url = confab::config::Secret::new("redis://127.0.0.1:6379")
    })
    .await;
    let ready = up.request("GET", "/ready", None, None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["redis"], "up");

    // Port 1 has nothing listening.
    let down =
        TestApp::spawn_with(|s| s.redis.url = confab::config::Secret::new("redis://127.0.0.1:1"))
            .await;
    let ready = down.request("GET", "/ready", None, None).await;
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body["redis"], "down");
    assert_eq!(ready.body["database"], "up");
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.get(
        &format!("/api/conversations/{}", uuid::Uuid::new_v4()),
        &alice.token,
    )
    .await;
    app.request("GET", "/health", None, None).await;
    // WebSocket requests never reach the middleware: the server counts them itself.
    let ws_base = app.base.replacen("http", "ws", 1);
    let ws_url = format!("{ws_base}/socket.io/?EIO=4&transport=websocket");
    let mut ws = crate::common::Ws::connect(&ws_url).await.unwrap();
    ws.next().await; // open
    let elsewhere = crate::common::Ws::connect(&format!("{ws_base}/chat")).await;
    assert_eq!(elsewhere.err(), Some(404));
    let res = app.client.get(format!("{}/metrics", app.base)).send().await;
    let mut res = res.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    for expected in [
        r#"confab_http_requests_total{method="GET",route="/health",status="200"} 1"#,
        r#"confab_http_requests_total{method="POST",route="/api/auth/register",status="201"} 1"#,
        r#"confab_http_requests_total{method="GET",route="/api/conversations/{id}",status="404"} 1"#,
        r#"confab_http_requests_total{method="GET",route="/socket.io/",status="101"} 1"#,
        r#"confab_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        "confab_http_request_duration_seconds_bucket",
        "confab_db_pool_connections ",
        "confab_db_pool_connections_in_use ",
        "confab_db_pool_connections_max 8",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

/// No client can add a metric series: invented methods and unknown paths share one label.
#[actix_web::test]
async fn metric_labels_stay_bounded_whatever_the_requests() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        app.request(&format!("XM{i}"), "/health", None, None).await;
        app.request("GET", &format!("/nothing-{i}"), None, None)
            .await;
    }
    let metrics = app.request("GET", "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_string();
    assert!(!text.contains("XM1"), "{text}");
    assert!(!text.contains("nothing-"), "{text}");
    let folded = text
        .lines()
        .find(|l| l.starts_with(r#"confab_http_requests_total{method="other",route="/health""#))
        .unwrap_or_else(|| panic!("no folded method in\n{text}"));
    assert!(folded.ends_with(" 20"), "{folded}");
    assert!(
        text.contains(
            r#"confab_http_requests_total{method="GET",route="unmatched",status="404"} 20"#
        ),
        "{text}"
    );
}

#[actix_web::test]
async fn unknown_routes_get_a_json_not_found() {
    let app = TestApp::spawn().await;
    assert_error(
        &app.request("GET", "/api/nothing-here", None, None).await,
        404,
        "not_found",
    );
    assert_error(
        &app.request("GET", "/nothing", None, None).await,
        404,
        "not_found",
    );
}

/// With `[metrics] bind`, `/metrics` is served there and only there.
#[actix_web::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let app = TestApp::spawn_with(|s| s.metrics.bind = "127.0.0.1:0".into()).await;
    let main = app.request("GET", "/metrics", None, None).await;
    assert_eq!(main.status, 404);
    let base = app.metrics_base.clone().unwrap();
    let mut res = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body = res.body().await.unwrap();
    assert!(
        String::from_utf8_lossy(&body).contains("confab_http_requests_total"),
        "{body:?}"
    );
    let mut other = app
        .client
        .get(format!("{base}/api/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let _ = other.body().await;
}

/// Every response says nosniff and no-referrer; API answers are never cached.
#[actix_web::test]
async fn responses_carry_security_headers() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for (path, token) in [
        ("/health", None),
        ("/api/me", Some(alice.token.as_str())),
        ("/api/nowhere", None),
    ] {
        let res = app.request("GET", path, token, None).await;
        assert_eq!(
            res.headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            res.headers.get("referrer-policy").unwrap(),
            "no-referrer",
            "{path}"
        );
        let cache = res
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string());
        if path.starts_with("/api") {
            assert_eq!(cache.as_deref(), Some("no-store"), "{path}");
        }
    }
}
