use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

async fn contacts(app: &TestApp, token: &str) -> Value {
    app.get("/api/contacts", token).await.body["contacts"].clone()
}

#[actix_web::test]
async fn requests_are_made_answered_and_listed() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let request = app
        .post(
            "/api/contacts/requests",
            &alice.token,
            json!({ "userId": bob.id }),
        )
        .await;
    assert_eq!(request.status, 201, "{:?}", request.body);
    assert_eq!(request.body["status"], "pending");
    assert_eq!(request.body["fromUserId"], alice.id.as_str());
    let id = request.body["id"].as_str().unwrap().to_string();
    // The open request, either way, is the answer to another.
    let again = app
        .post(
            "/api/contacts/requests",
            &alice.token,
            json!({ "userId": bob.id }),
        )
        .await;
    assert_eq!((again.status, again.body["id"].clone()), (200, json!(id)));
    let back = app
        .post(
            "/api/contacts/requests",
            &bob.token,
            json!({ "userId": alice.id }),
        )
        .await;
    assert_eq!((back.status, back.body["id"].clone()), (200, json!(id)));

    let incoming = app
        .get("/api/contacts/requests?direction=incoming", &bob.token)
        .await;
    assert_eq!(incoming.body["requests"][0]["id"], id.as_str());
    let outgoing = app
        .get("/api/contacts/requests?direction=outgoing", &alice.token)
        .await;
    assert_eq!(outgoing.body["requests"][0]["id"], id.as_str());
    assert_eq!(
        app.get("/api/contacts/requests?direction=outgoing", &bob.token)
            .await
            .body["requests"],
        json!([])
    );
    assert_error(
        &app.get("/api/contacts/requests?direction=sideways", &bob.token)
            .await,
        400,
        "invalid",
    );

    let accept = format!("/api/contacts/requests/{id}/accept");
    assert_error(
        &app.post(&accept, &alice.token, json!({})).await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post(&accept, &carol.token, json!({})).await,
        404,
        "not_found",
    );
    let accepted = app.post(&accept, &bob.token, json!({})).await;
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(
        app.post(&accept, &bob.token, json!({})).await.status,
        200,
        "accepting twice changes nothing"
    );
    assert_error(
        &app.post(
            &format!("/api/contacts/requests/{id}/decline"),
            &bob.token,
            json!({}),
        )
        .await,
        409,
        "conflict",
    );
    assert_eq!(contacts(&app, &alice.token).await[0]["id"], bob.id.as_str());
    assert_eq!(contacts(&app, &bob.token).await[0]["id"], alice.id.as_str());
    assert_error(
        &app.post(
            "/api/contacts/requests",
            &alice.token,
            json!({ "userId": bob.id }),
        )
        .await,
        409,
        "conflict",
    );

    assert_eq!(
        app.delete(&format!("/api/contacts/{}", alice.id), &bob.token)
            .await
            .status,
        204
    );
    assert_eq!(contacts(&app, &alice.token).await, json!([]));
    assert_error(
        &app.delete(&format!("/api/contacts/{}", alice.id), &bob.token)
            .await,
        404,
        "not_found",
    );

    // A declined request leaves no contact.
    let request = app
        .post(
            "/api/contacts/requests",
            &carol.token,
            json!({ "userId": alice.id }),
        )
        .await;
    let id = request.body["id"].as_str().unwrap();
    let declined = app
        .post(
            &format!("/api/contacts/requests/{id}/decline"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(declined.body["status"], "declined");
    assert_eq!(contacts(&app, &carol.token).await, json!([]));

    for body in [
        json!({ "userId": alice.id }),
        json!({ "userId": "nope" }),
        json!({}),
    ] {
        assert_error(
            &app.post("/api/contacts/requests", &alice.token, body).await,
            400,
            "invalid",
        );
    }
    assert_error(
        &app.post(
            "/api/contacts/requests",
            &alice.token,
            json!({ "userId": uuid::Uuid::new_v4() }),
        )
        .await,
        404,
        "not_found",
    );
}

#[actix_web::test]
async fn blocks_refuse_requests_either_way() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    assert_eq!(
        app.post(&format!("/api/blocks/{}", bob.id), &alice.token, json!({}))
            .await
            .status,
        204
    );
    for (from, to) in [(&alice, &bob), (&bob, &alice)] {
        assert_error(
            &app.post(
                "/api/contacts/requests",
                &from.token,
                json!({ "userId": to.id }),
            )
            .await,
            403,
            "forbidden",
        );
    }
}

#[actix_web::test]
async fn the_fifty_first_request_in_a_day_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut users = Vec::new();
    for n in 0..51 {
        users.push(app.register(&format!("friend{n}")).await);
    }
    let answers = futures_util::future::join_all(users.iter().map(|u| {
        app.post(
            "/api/contacts/requests",
            &alice.token,
            json!({ "userId": u.id }),
        )
    }))
    .await;
    let made = answers.iter().filter(|r| r.status == 201).count();
    let limited: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!((made, limited.len()), (50, 1));
    assert_error(limited[0], 429, "rate_limited");
    assert_eq!(
        app.get("/api/contacts/requests?direction=outgoing", &alice.token)
            .await
            .body["requests"]
            .as_array()
            .map(Vec::len),
        Some(50)
    );
}

#[actix_web::test]
async fn profiles_by_id_and_by_username_ignoring_case() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice_W").await;
    let bob = app.register("bob").await;
    let by_id = app
        .get(&format!("/api/users/{}", alice.id), &bob.token)
        .await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.body["username"], "Alice_W");
    assert!(by_id.body.get("email").is_none(), "{:?}", by_id.body);
    assert!(by_id.body.get("settings").is_none());
    let by_name = app.get("/api/users/by-username/alice_w", &bob.token).await;
    assert_eq!(by_name.body["id"], alice.id.as_str());
    for path in [
        format!("/api/users/{}", uuid::Uuid::new_v4()),
        "/api/users/not-a-uuid".to_string(),
        "/api/users/by-username/nobody".to_string(),
        "/api/users/by-username/a%00b".to_string(),
        format!("/api/users/by-username/{}", "a".repeat(65)),
    ] {
        assert_error(&app.get(&path, &bob.token).await, 404, "not_found");
    }
    let me = app.get("/api/me", &alice.token).await;
    assert_eq!(
        me.body["settings"]["dmFromContactsOnly"],
        Value::Bool(false)
    );
}
