//! Text the database cannot hold (NUL) and text UTF-8 cannot hold (unpaired surrogates) is
//! refused with `invalid` naming the field, over HTTP and on sockets; the socket stays open.

use serde_json::json;

use crate::helpers::{assert_error, TestApp};
use crate::sockets::{frame_starting, socket_of};

/// Each HTTP body field or query parameter with a NUL: 400 `invalid` naming it, nothing stored.
#[actix_web::test]
async fn nul_in_any_http_field_is_invalid_by_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let group = app.group(&alice, "g", &[&bob]).await;
    let messages = format!("/api/conversations/{group}/messages");
    let cases = [
        (
            "POST",
            messages.as_str(),
            json!({ "clientMessageId": "m1", "body": "a\0b" }),
            "body",
        ),
        (
            "POST",
            messages.as_str(),
            json!({ "clientMessageId": "m\0", "body": "hi" }),
            "clientMessageId",
        ),
        (
            "PATCH",
            "/api/me",
            json!({ "displayName": "A\0" }),
            "displayName",
        ),
        (
            "PATCH",
            "/api/me",
            json!({ "avatarUrl": "https://x/\0" }),
            "avatarUrl",
        ),
        (
            "POST",
            "/api/conversations",
            json!({ "kind": "group", "title": "t\0", "memberIds": [] }),
            "title",
        ),
        (
            "POST",
            "/api/conversations",
            json!({ "kind": "group", "title": "t", "memberIds": ["\0"] }),
            "memberIds[0]",
        ),
        (
            "POST",
            "/api/reports",
            json!({ "userId": bob.id, "reason": "spam\0" }),
            "reason",
        ),
    ];
    for (method, path, body, field) in cases {
        let res = app
            .request(method, path, Some(&alice.token), Some(body))
            .await;
        assert_error(&res, 400, "invalid");
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field} ")),
            "{field}: {message}"
        );
    }
    for (path, body, field) in [
        (
            "/api/auth/register",
            json!({ "email": "e\0@x.io", "username": "carol", "password": "correct horse battery" }),
            "email",
        ),
        (
            "/api/auth/login",
            json!({ "login": "alice\0", "password": "x" }),
            "login",
        ),
    ] {
        let res = app.request("POST", path, None, Some(body)).await;
        assert_error(&res, 400, "invalid");
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field} ")),
            "{field}: {message}"
        );
    }
    let res = app.get("/api/users/search?q=al%00", &alice.token).await;
    assert_error(&res, 400, "invalid");
    assert!(res.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("q "));

    let history = app.get(&messages, &alice.token).await;
    assert_eq!(history.body["messages"], json!([]), "nothing was stored");
}

/// A JSON body with a lone surrogate escape is `invalid` naming the field (not a parse error
/// of the whole body), and a well-formed pair is ordinary text.
#[actix_web::test]
async fn an_unpaired_surrogate_in_an_http_body_is_invalid_by_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    let path = format!("/api/conversations/{group}/messages");
    let cut = r#"{"clientMessageId":"m1","body":"cut \ud83d"}"#;
    let res = app
        .raw("POST", &path, Some(&alice.token), "application/json", cut)
        .await;
    assert_error(&res, 400, "invalid");
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("body "),
        "{:?}",
        res.body
    );
    let whole = r#"{"clientMessageId":"m2","body":"whole \ud83d\ude00"}"#;
    let res = app
        .raw("POST", &path, Some(&alice.token), "application/json", whole)
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["body"], "whole 😀");
}

/// On a socket, an unpaired surrogate or a NUL in any field of any event gets an `invalid` ack
/// naming it; the connection stays open and the next request is served.
#[actix_web::test]
async fn odd_text_on_a_socket_gets_an_invalid_ack_and_the_socket_stays() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    let mut ws = socket_of(&app, &alice.token).await;
    let cases = [
        (
            format!(
                r#"["message:send",{{"conversationId":"{group}","clientMessageId":"m1","body":"cut \ud83d"}}]"#
            ),
            "body",
        ),
        (
            format!(
                r#"["message:send",{{"conversationId":"{group}","clientMessageId":"\udc00","body":"hi"}}]"#
            ),
            "clientMessageId",
        ),
        (
            format!(
                r#"["message:send",{{"conversationId":"{group}","clientMessageId":"m1","body":"a\u0000"}}]"#
            ),
            "body",
        ),
        (
            r#"["typing:start",{"conversationId":"\ud83d"}]"#.to_string(),
            "conversationId",
        ),
        (
            r#"["presence:query",{"userIds":["\u0000"]}]"#.to_string(),
            "userIds[0]",
        ),
    ];
    for (id, (event, field)) in cases.iter().enumerate() {
        let prefix = format!("43{}", id + 1);
        ws.text(&format!("42{}{event}", id + 1)).await;
        let ack = frame_starting(&mut ws, &format!("{prefix}[")).await;
        let ack: serde_json::Value = serde_json::from_str(&ack[prefix.len()..]).unwrap();
        assert_eq!(ack[0]["ok"], false, "{ack}");
        assert_eq!(ack[0]["error"]["code"], "invalid", "{ack}");
        let message = ack[0]["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field} ")),
            "{field}: {message}"
        );
    }
    // Without an ack callback, the same is a request:error.
    ws.text(r#"42["typing:stop",{"conversationId":"\ud83d"}]"#)
        .await;
    let error = frame_starting(&mut ws, r#"42["request:error""#).await;
    assert!(error.contains(r#""code":"invalid""#), "{error}");
    ws.text(&format!(
        r#"4299["message:send",{{"conversationId":"{group}","clientMessageId":"ok","body":"fine"}}]"#
    ))
    .await;
    let ack = frame_starting(&mut ws, "4399[").await;
    assert!(ack.contains(r#""ok":true"#), "{ack}");
}
