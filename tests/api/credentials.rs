//! Credentials end with the session (PROTOCOL.md §5, `auth:refresh`): a socket is warned
//! before its access token expires and disconnected at expiry unless refreshed; logout and
//! a revoked family disconnect the family's sockets; a deleted account is refused everywhere.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::common::In;
use crate::helpers::{assert_error, TestApp};
use crate::sockets::{frame_starting, open_socket, socket_of};

fn ack_of(frame: &str, prefix: &str) -> Value {
    let ack: Value = serde_json::from_str(&frame[prefix.len()..]).unwrap();
    ack[0].clone()
}

/// Waits for the server to close the socket, answering pings meanwhile. The close looks like
/// a lost connection, so that every client reconnects by itself (with a fresh token): neither
/// an Engine.IO close packet (`1`) nor a Socket.IO DISCONNECT (`41`) comes first, either of
/// which python-socketio and rust_socketio take as the server ending the session for good.
async fn disconnected(ws: &mut crate::common::Ws) {
    loop {
        match ws.next().await {
            In::Closed(_) => return,
            In::Text(ping) if ping == "2" => ws.text("3").await,
            In::Text(frame) => assert!(
                frame != "1" && !frame.starts_with("41"),
                "a deliberate disconnect: {frame}"
            ),
            In::Binary(_) => {}
        }
    }
}

/// A token 2 s from expiry: `session:expiring` (due 60 s before expiry) comes at once, and the
/// session is closed at expiry.
#[actix_web::test]
async fn a_socket_is_warned_then_disconnected_when_its_token_expires() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let short = app
        .state
        .jwt
        .issue_access_for(alice.id.parse().unwrap(), Duration::from_secs(2));
    let mut ws = socket_of(&app, &short).await;
    let expiring = frame_starting(&mut ws, r#"42["session:expiring""#).await;
    let event: Value = serde_json::from_str(&expiring[2..]).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(event[1]["expiresAt"].as_str().unwrap()).unwrap();
    assert!(
        at > chrono::Utc::now() - chrono::Duration::seconds(1),
        "{event}"
    );
    disconnected(&mut ws).await;
    assert_eq!(app.state.engine.session_count(), 0);
}

/// `auth:refresh` with a new token of the same user moves the expiry: the socket outlives
/// its first token. Another user's token is `forbidden`, a bad one `unauthorized`.
#[actix_web::test]
async fn auth_refresh_keeps_a_live_socket_past_its_first_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let short = app
        .state
        .jwt
        .issue_access_for(alice.id.parse().unwrap(), Duration::from_secs(2));
    let mut ws = socket_of(&app, &short).await;
    frame_starting(&mut ws, r#"42["session:expiring""#).await;

    ws.text(&format!(
        r#"421["auth:refresh",{{"token":"{}"}}]"#,
        bob.token
    ))
    .await;
    let ack = ack_of(&frame_starting(&mut ws, "431[").await, "431");
    assert_eq!(ack["error"]["code"], "forbidden", "{ack}");
    ws.text(r#"422["auth:refresh",{"token":"garbage"}]"#).await;
    let ack = ack_of(&frame_starting(&mut ws, "432[").await, "432");
    assert_eq!(ack["error"]["code"], "unauthorized", "{ack}");

    ws.text(&format!(
        r#"423["auth:refresh",{{"token":"{}"}}]"#,
        alice.token
    ))
    .await;
    let ack = ack_of(&frame_starting(&mut ws, "433[").await, "433");
    assert_eq!(ack["ok"], true, "{ack}");
    let at = chrono::DateTime::parse_from_rfc3339(ack["expiresAt"].as_str().unwrap()).unwrap();
    assert!(
        at > chrono::Utc::now() + chrono::Duration::seconds(600),
        "{ack}"
    );

    // Past the first token's expiry, the socket still answers.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    ws.text(r#"424["presence:query",{"userIds":[]}]"#).await;
    let ack = ack_of(&frame_starting(&mut ws, "434[").await, "434");
    assert_eq!(ack["ok"], true, "{ack}");
}

async fn login(app: &TestApp, username: &str) -> (String, String) {
    let res = app
        .request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": username, "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    (
        res.body["accessToken"].as_str().unwrap().to_string(),
        res.cookie("confab_refresh").unwrap(),
    )
}

/// Logout disconnects the sockets of that login's family, and only those; the family's access
/// token no longer connects.
#[actix_web::test]
async fn logout_disconnects_the_sockets_of_its_family() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let (phone, phone_refresh) = login(&app, "alice").await;
    let (laptop, _) = login(&app, "alice").await;
    let mut on_phone = socket_of(&app, &phone).await;
    let mut on_laptop = socket_of(&app, &laptop).await;

    let res = app
        .with_cookie(
            "/api/auth/logout",
            &format!("confab_refresh={phone_refresh}"),
        )
        .await;
    assert_eq!(res.status, 204);
    disconnected(&mut on_phone).await;

    on_laptop
        .text(r#"421["presence:query",{"userIds":[]}]"#)
        .await;
    let ack = ack_of(&frame_starting(&mut on_laptop, "431[").await, "431");
    assert_eq!(ack["ok"], true, "{ack}");

    let mut again = open_socket(&app).await;
    again.text(&format!(r#"40{{"token":"{phone}"}}"#)).await;
    let refused = frame_starting(&mut again, "44").await;
    assert!(refused.contains("unauthorized"), "{refused}");
    assert_error(&app.get("/api/me", &phone).await, 401, "unauthorized");
    assert_eq!(app.get("/api/me", &laptop).await.status, 200);
}

/// A refresh token presented twice revokes its family, and the family's sockets end.
#[actix_web::test]
async fn a_reused_refresh_token_disconnects_its_family() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = socket_of(&app, &alice.token).await;
    let cookie = format!("confab_refresh={}", alice.refresh);
    assert_eq!(
        app.with_cookie("/api/auth/refresh", &cookie).await.status,
        200
    );
    assert_error(
        &app.with_cookie("/api/auth/refresh", &cookie).await,
        401,
        "unauthorized",
    );
    disconnected(&mut ws).await;
}

/// A deleted account's unexpired token is refused at CONNECT and on HTTP routes with 401.
#[actix_web::test]
async fn a_deleted_users_token_is_refused_everywhere() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(format!("DELETE FROM users WHERE id = '{}'", alice.id))
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let mut ws = open_socket(&app).await;
    ws.text(&format!(r#"40{{"token":"{}"}}"#, alice.token))
        .await;
    let refused = frame_starting(&mut ws, "44").await;
    assert!(refused.contains("unauthorized"), "{refused}");

    for (method, path, body) in [
        ("GET", "/api/me".to_string(), None),
        (
            "POST",
            "/api/conversations".to_string(),
            Some(json!({ "kind": "dm", "userId": bob.id })),
        ),
        ("POST", format!("/api/blocks/{}", bob.id), None),
        (
            "POST",
            "/api/reports".to_string(),
            Some(json!({ "userId": bob.id, "reason": "spam" })),
        ),
    ] {
        let res = app.request(method, &path, Some(&alice.token), body).await;
        assert_error(&res, 401, "unauthorized");
    }
}
