use serde_json::json;

use crate::helpers::{assert_error, TestApp};
use crate::sockets::{frame_starting, socket_of};

#[actix_web::test]
async fn a_block_stops_direct_messages_both_ways_until_lifted() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dm = app.dm_id(&alice, &bob).await;

    assert_eq!(
        app.post(&format!("/api/blocks/{}", bob.id), &alice.token, json!({}))
            .await
            .status,
        204
    );
    // Blocking twice is the same.
    assert_eq!(
        app.post(&format!("/api/blocks/{}", bob.id), &alice.token, json!({}))
            .await
            .status,
        204
    );
    assert_error(&app.send(&bob, &dm, "b1", "hi").await, 403, "forbidden");
    assert_error(&app.send(&alice, &dm, "a1", "hi").await, 403, "forbidden");
    assert_error(&app.dm(&carol, &carol).await, 400, "invalid");
    let fresh = app.register("dave").await;
    assert_eq!(
        app.post(
            &format!("/api/blocks/{}", alice.id),
            &fresh.token,
            json!({})
        )
        .await
        .status,
        204
    );
    assert_error(&app.dm(&alice, &fresh).await, 403, "forbidden");
    assert_eq!(
        app.get(&format!("/api/conversations/{dm}/messages"), &bob.token)
            .await
            .body["messages"],
        json!([])
    );

    assert_eq!(
        app.delete(&format!("/api/blocks/{}", bob.id), &alice.token)
            .await
            .status,
        204
    );
    assert_eq!(app.send(&bob, &dm, "b1", "hi again").await.status, 201);
    // Unblocking someone who is not blocked is the same 204.
    assert_eq!(
        app.delete(&format!("/api/blocks/{}", carol.id), &alice.token)
            .await
            .status,
        204
    );
}

#[actix_web::test]
async fn blocking_needs_another_existing_user() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_error(
        &app.post(
            &format!("/api/blocks/{}", alice.id),
            &alice.token,
            json!({}),
        )
        .await,
        400,
        "invalid",
    );
    assert_error(
        &app.post(
            &format!("/api/blocks/{}", uuid::Uuid::new_v4()),
            &alice.token,
            json!({}),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post("/api/blocks/not-an-id", &alice.token, json!({}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.request("POST", &format!("/api/blocks/{}", alice.id), None, None)
            .await,
        401,
        "unauthorized",
    );
}

#[actix_web::test]
async fn reports_of_users_and_of_visible_messages_are_stored() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    let message = app.send(&bob, &group, "m", "rude words").await.body["id"]
        .as_str()
        .unwrap()
        .to_string();

    let user_report = app
        .post(
            "/api/reports",
            &alice.token,
            json!({ "userId": bob.id, "reason": "spam" }),
        )
        .await;
    assert_eq!(user_report.status, 201, "{:?}", user_report.body);
    uuid::Uuid::parse_str(user_report.body["id"].as_str().unwrap()).unwrap();
    let message_report = app
        .post(
            "/api/reports",
            &alice.token,
            json!({ "messageId": message, "reason": "abuse" }),
        )
        .await;
    assert_eq!(message_report.status, 201);
    assert_ne!(message_report.body["id"], user_report.body["id"]);

    // A message in someone else's conversation cannot be reported (nor told apart from none).
    let foreign = app
        .post(
            "/api/reports",
            &eve.token,
            json!({ "messageId": message, "reason": "abuse" }),
        )
        .await;
    assert_error(&foreign, 404, "not_found");
    assert_error(
        &app.post(
            "/api/reports",
            &eve.token,
            json!({ "messageId": "999999", "reason": "x" }),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post(
            "/api/reports",
            &eve.token,
            json!({ "userId": uuid::Uuid::new_v4(), "reason": "x" }),
        )
        .await,
        404,
        "not_found",
    );
    for body in [
        json!({ "reason": "nothing named" }),
        json!({ "userId": bob.id, "reason": "  " }),
        json!({ "userId": bob.id, "reason": "x".repeat(1001) }),
        json!({ "userId": bob.id }),
        json!({ "messageId": "abc", "reason": "x" }),
        json!({ "messageId": 5, "reason": "x" }),
    ] {
        assert_error(
            &app.post("/api/reports", &alice.token, body).await,
            400,
            "invalid",
        );
    }
}

/// Someone who blocked you cannot be put in a group by you, at creation or later; a group
/// without them is fine.
#[actix_web::test]
async fn a_blocker_cannot_be_added_to_the_blocked_users_groups() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let block = app
        .post(&format!("/api/blocks/{}", bob.id), &alice.token, json!({}))
        .await;
    assert_eq!(block.status, 204);
    let res = app
        .post(
            "/api/conversations",
            &bob.token,
            json!({ "kind": "group", "title": "g", "memberIds": [carol.id, alice.id] }),
        )
        .await;
    assert_error(&res, 403, "forbidden");
    let group = app.group(&bob, "g", &[&carol]).await;
    let res = app
        .post(
            &format!("/api/conversations/{group}/members"),
            &bob.token,
            json!({ "userIds": [alice.id] }),
        )
        .await;
    assert_error(&res, 403, "forbidden");
    let members = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    assert_eq!(members.body["members"].as_array().unwrap().len(), 2);
    // The blocker may still bring the blocked user in: the block is theirs to keep.
    let res = app
        .post(
            "/api/conversations",
            &alice.token,
            json!({ "kind": "group", "title": "h", "memberIds": [bob.id] }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
}

/// The frames a socket receives up to (and with) the ack of a `presence:query` it sends now.
async fn frames_until_ack(ws: &mut crate::common::Ws, id: u32, users: &[&str]) -> Vec<String> {
    ws.text(&format!(
        r#"42{id}["presence:query",{{"userIds":{}}}]"#,
        json!(users)
    ))
    .await;
    let mut frames = Vec::new();
    loop {
        if let crate::common::In::Text(frame) = ws.data().await {
            let done = frame.starts_with(&format!("43{id}["));
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }
}

/// `presence:query` answers only for users who share a conversation with the caller and have
/// not blocked them; presence updates of a user do not reach those they blocked.
#[actix_web::test]
async fn presence_is_kept_from_strangers_and_from_those_blocked() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dave = app.register("dave").await;
    let stranger = app.register("stranger").await;
    app.group(&alice, "g", &[&bob, &dave]).await;
    let block = app
        .post(&format!("/api/blocks/{}", bob.id), &alice.token, json!({}))
        .await;
    assert_eq!(block.status, 204);

    let mut on_bob = socket_of(&app, &bob.token).await;
    let mut on_dave = socket_of(&app, &dave.token).await;
    let mut on_stranger = socket_of(&app, &stranger.token).await;
    let _on_alice = socket_of(&app, &alice.token).await;
    // Dave hears that Alice came online; in the same delivery, Bob would have.
    frame_starting(
        &mut on_dave,
        &format!(r#"42["presence:update",{{"userId":"{}""#, alice.id),
    )
    .await;
    let frames = frames_until_ack(&mut on_bob, 1, &[&alice.id, &dave.id]).await;
    assert!(
        !frames
            .iter()
            .any(|f| f.contains("presence:update") && f.contains(&alice.id)),
        "{frames:?}"
    );
    let ack: serde_json::Value = serde_json::from_str(&frames.last().unwrap()[3..]).unwrap();
    assert_eq!(
        ack[0]["presence"],
        json!([
            { "userId": alice.id, "online": false, "lastSeenAt": null },
            { "userId": dave.id, "online": true, "lastSeenAt": null },
        ])
    );
    let frames = frames_until_ack(&mut on_dave, 2, &[&alice.id]).await;
    let ack: serde_json::Value = serde_json::from_str(&frames.last().unwrap()[3..]).unwrap();
    assert_eq!(ack[0]["presence"][0]["online"], true, "{ack}");
    let frames = frames_until_ack(&mut on_stranger, 3, &[&alice.id]).await;
    let ack: serde_json::Value = serde_json::from_str(&frames.last().unwrap()[3..]).unwrap();
    assert_eq!(
        ack[0]["presence"],
        json!([{ "userId": alice.id, "online": false, "lastSeenAt": null }])
    );
}
