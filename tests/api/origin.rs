//! The cookie-authenticated endpoints take the refresh cookie only from the node's own origin
//! (PROTOCOL.md §14): another origin, a sibling site or another port is `forbidden` and changes
//! nothing; the node's own pages and clients that are not browsers keep working.

use serde_json::json;

use crate::helpers::{assert_error, Resp, TestApp};

/// `POST path` with the refresh cookie `refresh` and `headers`.
async fn with_cookie_from(
    app: &TestApp,
    path: &str,
    refresh: &str,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .insert_header(("Cookie", format!("confab_refresh={refresh}")));
    for &(name, value) in headers {
        req = req.insert_header((name, value));
    }
    crate::helpers::read(req.send().await).await
}

/// The origin a page served by the node has: the URL the test reaches it at.
fn own_origin(app: &TestApp) -> String {
    app.base.trim_end_matches('/').to_string()
}

/// Another port of the same host: the same site for SameSite, another origin.
fn other_port(app: &TestApp) -> String {
    let (host, port) = app.base.rsplit_once(':').unwrap();
    let port: u16 = port.trim_end_matches('/').parse().unwrap();
    format!("{host}:{}", port.wrapping_add(1))
}

#[actix_web::test]
async fn refresh_with_the_cookie_from_another_origin_is_forbidden_and_uses_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other_port = other_port(&app);
    let refused: [&[(&str, &str)]; 6] = [
        &[("Origin", "https://evil.example")],
        &[("Origin", other_port.as_str())],
        &[("Origin", "null")],
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "same-site")],
        &[
            ("Sec-Fetch-Site", "same-site"),
            ("Origin", "http://127.0.0.1"),
        ],
    ];
    for headers in refused {
        let res = with_cookie_from(&app, "/api/auth/refresh", &alice.refresh, headers).await;
        assert_error(&res, 403, "forbidden");
        assert!(res.cookie("confab_refresh").is_none(), "{headers:?}");
    }
    // Nothing was used up: the token still refreshes from the node's own origin.
    let own = own_origin(&app);
    let res = with_cookie_from(
        &app,
        "/api/auth/refresh",
        &alice.refresh,
        &[("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    // And without any Origin (a client that is not a browser).
    let rotated = res.cookie("confab_refresh").unwrap();
    let res = with_cookie_from(&app, "/api/auth/refresh", &rotated, &[]).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

#[actix_web::test]
async fn logout_with_the_cookie_from_another_origin_is_forbidden_and_revokes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = with_cookie_from(
        &app,
        "/api/auth/logout",
        &alice.refresh,
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_error(&res, 403, "forbidden");
    assert_eq!(app.get("/api/me", &alice.token).await.status, 200);
    let own = own_origin(&app);
    let res = with_cookie_from(
        &app,
        "/api/auth/logout",
        &alice.refresh,
        &[("Origin", &own)],
    )
    .await;
    assert_eq!(res.status, 204);
    assert_error(&app.get("/api/me", &alice.token).await, 401, "unauthorized");
}

/// A client without cookies sends the token in the body: no cookie, no origin check (another
/// page cannot know the token).
#[actix_web::test]
async fn the_token_in_the_body_is_not_subject_to_the_origin_check() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = crate::helpers::read(
        app.client
            .post(format!("{}/api/auth/refresh", app.base))
            .insert_header(("Origin", "https://elsewhere.example"))
            .send_json(&json!({ "refreshToken": alice.refresh }))
            .await,
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

/// With `storage.public_url`, the node's origin is that one, scheme and port included.
#[actix_web::test]
async fn a_configured_public_url_names_the_nodes_origin() {
    let app =
        TestApp::spawn_with(|s| s.storage.public_url = "https://chat.example.com".into()).await;
    let alice = app.register("alice").await;
    let own = own_origin(&app);
    for origin in ["http://chat.example.com", own.as_str()] {
        let res = with_cookie_from(
            &app,
            "/api/auth/refresh",
            &alice.refresh,
            &[("Origin", origin)],
        )
        .await;
        assert_error(&res, 403, "forbidden");
    }
    let res = with_cookie_from(
        &app,
        "/api/auth/refresh",
        &alice.refresh,
        &[("Origin", "https://chat.example.com")],
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
