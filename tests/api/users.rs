use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn me_can_change_display_name_and_avatar() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let patch = |body| app.request("PATCH", "/api/me", Some(&alice.token), Some(body));

    let res =
        patch(json!({ "displayName": "  Alice L.  ", "avatarUrl": "https://cdn.example/a.png" }))
            .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["displayName"], "Alice L.");
    assert_eq!(res.body["avatarUrl"], "https://cdn.example/a.png");
    assert_eq!(res.body["email"], "alice@example.com");

    // Absent fields stay; null removes the avatar.
    let res = patch(json!({})).await;
    assert_eq!(res.body["avatarUrl"], "https://cdn.example/a.png");
    let res = patch(json!({ "avatarUrl": null })).await;
    assert_eq!(res.body["avatarUrl"], serde_json::Value::Null);
    assert_eq!(res.body["displayName"], "Alice L.");
    assert_eq!(
        app.get("/api/me", &alice.token).await.body["displayName"],
        "Alice L."
    );
}

#[actix_web::test]
async fn me_refuses_bad_profile_changes_and_keeps_the_old_profile() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for body in [
        json!({ "displayName": "" }),
        json!({ "displayName": "x".repeat(65) }),
        json!({ "displayName": 7 }),
        json!({ "avatarUrl": "javascript:alert(1)" }),
        json!({ "avatarUrl": format!("https://e.x/{}", "a".repeat(2050)) }),
        json!({ "email": "new@example.com" }),
        json!("just a string"),
    ] {
        let res = app
            .request("PATCH", "/api/me", Some(&alice.token), Some(body))
            .await;
        assert_error(&res, 400, "invalid");
    }
    let me = app.get("/api/me", &alice.token).await;
    assert_eq!(me.body["displayName"], "alice");
    assert_eq!(me.body["email"], "alice@example.com");
    assert_error(
        &app.request("PATCH", "/api/me", None, Some(json!({}))).await,
        401,
        "unauthorized",
    );
}

#[actix_web::test]
async fn user_search_matches_prefixes_of_username_and_display_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.register("alicia").await;
    let bob = app.register("bob").await;
    app.request(
        "PATCH",
        "/api/me",
        Some(&bob.token),
        Some(json!({ "displayName": "Alfred Bob" })),
    )
    .await;
    app.register("carol").await;

    let names = |res: &crate::helpers::Resp| -> Vec<String> {
        res.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    let res = app.get("/api/users/search?q=ALI", &alice.token).await;
    assert_eq!(res.status, 200);
    assert_eq!(names(&res), ["alice", "alicia"]);
    assert!(res.body["users"][0].get("email").is_none());
    assert_eq!(
        names(&app.get("/api/users/search?q=al", &alice.token).await),
        ["alice", "alicia", "bob"]
    );
    assert_eq!(
        names(
            &app.get("/api/users/search?q=al&limit=1", &alice.token)
                .await
        ),
        ["alice"]
    );
    // LIKE wildcards are plain characters here.
    assert!(names(&app.get("/api/users/search?q=%25", &alice.token).await).is_empty());
    assert!(names(&app.get("/api/users/search?q=_", &alice.token).await).is_empty());

    assert_error(
        &app.get("/api/users/search", &alice.token).await,
        400,
        "invalid",
    );
    assert_error(
        &app.get("/api/users/search?q=", &alice.token).await,
        400,
        "invalid",
    );
    assert_error(
        &app.get("/api/users/search?q=a&limit=0", &alice.token).await,
        400,
        "invalid",
    );
    assert_error(
        &app.get("/api/users/search?q=a&limit=51", &alice.token)
            .await,
        400,
        "invalid",
    );
    assert_error(
        &app.get("/api/users/search?q=a&limit=many", &alice.token)
            .await,
        400,
        "invalid",
    );
    assert_error(
        &app.request("GET", "/api/users/search?q=a", None, None)
            .await,
        401,
        "unauthorized",
    );
}

/// Turning presence off and on reaches every member of every conversation of the user: it
/// spends the sending rate (burst 20), and past it the setting is left as it was. Other
/// profile changes, and settings that do not change, spend nothing. The rate refills so slowly
/// here that the count does not depend on how fast the machine answers.
#[actix_web::test]
async fn presence_toggles_are_bounded_by_the_sending_rate() {
    let app = TestApp::spawn_with(|settings| settings.limits.send_rate_per_sec = 0.001).await;
    let alice = app.register("alice").await;
    let patch = |body: serde_json::Value| {
        let token = alice.token.clone();
        let app = &app;
        async move {
            app.request("PATCH", "/api/me", Some(&token), Some(body))
                .await
        }
    };
    let mut accepted = 0;
    let mut last = true;
    let mut refused = None;
    for i in 0..40 {
        let presence = i % 2 == 1;
        let res = patch(json!({ "settings": { "presence": presence } })).await;
        if res.status == 200 {
            accepted += 1;
            last = presence;
        } else {
            refused = Some(res);
            break;
        }
    }
    let refused = refused.expect("some toggle was refused");
    assert_error(&refused, 429, "rate_limited");
    assert_eq!(accepted, 20);
    let me = app.get("/api/me", &alice.token).await;
    assert_eq!(
        me.body["settings"]["presence"], last,
        "the refused toggle changed nothing"
    );
    // The same value again, and other changes, still go through.
    let same = patch(json!({ "settings": { "presence": last } })).await;
    assert_eq!(same.status, 200);
    let name =
        patch(json!({ "displayName": "Alice", "settings": { "readReceipts": false } })).await;
    assert_eq!(name.status, 200, "{:?}", name.body);
}
