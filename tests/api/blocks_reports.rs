use serde_json::json;

use crate::helpers::{assert_error, TestApp};

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
