use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp, TestUser};

async fn workspace(app: &TestApp, owner: &TestUser, slug: &str, members: &[&TestUser]) -> String {
    let res = app
        .post(
            "/api/workspaces",
            &owner.token,
            json!({ "name": "Acme Inc", "slug": slug }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["role"], "owner");
    assert_eq!(res.body["slug"], slug);
    let id = res.body["id"].as_str().unwrap().to_string();
    if !members.is_empty() {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let added = app
            .post(
                &format!("/api/workspaces/{id}/members"),
                &owner.token,
                json!({ "userIds": ids }),
            )
            .await;
        assert_eq!(added.status, 200, "{:?}", added.body);
    }
    id
}

async fn channel(
    app: &TestApp,
    owner: &TestUser,
    space: &str,
    title: &str,
    visibility: &str,
) -> String {
    let res = app
        .post(
            "/api/conversations",
            &owner.token,
            json!({ "kind": "group", "title": title, "workspaceId": space, "visibility": visibility }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

fn titles(body: &Value) -> Vec<String> {
    body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn workspaces_are_made_listed_and_hidden_from_outsiders() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let space = workspace(&app, &alice, "acme", &[&bob]).await;

    assert_error(
        &app.post(
            "/api/workspaces",
            &eve.token,
            json!({ "name": "Other", "slug": "acme" }),
        )
        .await,
        409,
        "conflict",
    );
    for body in [
        json!({ "name": "", "slug": "fine-slug" }),
        json!({ "name": "x", "slug": "ab" }),
        json!({ "name": "x", "slug": "Upper" }),
        json!({ "name": "x", "slug": "sp ace" }),
        json!({ "name": "x".repeat(101), "slug": "long-name" }),
    ] {
        assert_error(
            &app.post("/api/workspaces", &eve.token, body).await,
            400,
            "invalid",
        );
    }

    let listed = app.get("/api/workspaces", &bob.token).await;
    assert_eq!(listed.body["workspaces"][0]["id"], space.as_str());
    assert_eq!(listed.body["workspaces"][0]["role"], "member");
    assert_eq!(
        app.get(&format!("/api/workspaces/{space}"), &bob.token)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/api/workspaces", &eve.token).await.body["workspaces"],
        json!([])
    );
    for path in [
        format!("/api/workspaces/{space}"),
        format!("/api/workspaces/{space}/channels"),
        format!("/api/users/search?q=b&workspaceId={space}"),
        "/api/workspaces/not-a-uuid".to_string(),
    ] {
        assert_error(&app.get(&path, &eve.token).await, 404, "not_found");
    }
    // Plain members do not manage the workspace.
    assert_error(
        &app.post(
            &format!("/api/workspaces/{space}/members"),
            &bob.token,
            json!({ "userIds": [eve.id] }),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post(
            &format!("/api/workspaces/{space}/invites"),
            &bob.token,
            json!({}),
        )
        .await,
        403,
        "forbidden",
    );

    // User search restricted to the workspace finds its members only.
    let found = app
        .get(
            &format!("/api/users/search?q=&workspaceId={space}"),
            &bob.token,
        )
        .await;
    assert_error(&found, 400, "invalid");
    let found = app
        .get(
            &format!("/api/users/search?q=e&workspaceId={space}"),
            &bob.token,
        )
        .await;
    assert_eq!(
        found.body["users"],
        json!([]),
        "eve is not in the workspace"
    );
    let found = app.get("/api/users/search?q=e", &bob.token).await;
    assert_eq!(found.body["users"][0]["id"], eve.id.as_str());
}

#[actix_web::test]
async fn public_channels_are_found_by_members_joined_and_never_seen_by_outsiders() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let space = workspace(&app, &alice, "acme", &[&bob]).await;
    let general = channel(&app, &alice, &space, "General", "public").await;
    channel(&app, &alice, &space, "design", "public").await;
    channel(&app, &alice, &space, "Deploys", "public").await;
    let secret = channel(&app, &alice, &space, "deals", "private").await;

    let all = app
        .get(&format!("/api/workspaces/{space}/channels"), &bob.token)
        .await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(titles(&all.body), vec!["Deploys", "design", "General"]);
    assert!(all.body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["memberCount"] == 1 && c["joined"] == false));
    let de = app
        .get(
            &format!("/api/workspaces/{space}/channels?q=DE"),
            &bob.token,
        )
        .await;
    assert_eq!(titles(&de.body), vec!["Deploys", "design"]);
    // Pages, with no duplicates or holes.
    let first = app
        .get(
            &format!("/api/workspaces/{space}/channels?limit=2"),
            &bob.token,
        )
        .await;
    assert_eq!(titles(&first.body), vec!["Deploys", "design"]);
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let second = app
        .get(
            &format!("/api/workspaces/{space}/channels?limit=2&cursor={cursor}"),
            &bob.token,
        )
        .await;
    assert_eq!(titles(&second.body), vec!["General"]);
    assert_eq!(second.body["nextCursor"], Value::Null);
    assert_error(
        &app.get(
            &format!("/api/workspaces/{space}/channels?cursor=garbage!"),
            &bob.token,
        )
        .await,
        400,
        "invalid",
    );
    assert_error(
        &app.get(
            &format!("/api/workspaces/{space}/channels?limit=101"),
            &bob.token,
        )
        .await,
        400,
        "invalid",
    );

    // Joining: a public channel of one's workspace only.
    let joined = app
        .post(
            &format!("/api/conversations/{general}/join"),
            &bob.token,
            json!({}),
        )
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["workspaceId"], space.as_str());
    assert_eq!(joined.body["visibility"], "public");
    let again = app
        .post(
            &format!("/api/conversations/{general}/join"),
            &bob.token,
            json!({}),
        )
        .await;
    assert_eq!(again.status, 200);
    let listed = app
        .get(
            &format!("/api/workspaces/{space}/channels?q=gen"),
            &bob.token,
        )
        .await;
    assert_eq!(listed.body["channels"][0]["memberCount"], 2);
    assert_eq!(listed.body["channels"][0]["joined"], true);
    for (who, id) in [(&bob, &secret), (&eve, &general)] {
        assert_error(
            &app.post(
                &format!("/api/conversations/{id}/join"),
                &who.token,
                json!({}),
            )
            .await,
            404,
            "not_found",
        );
    }
    assert_error(
        &app.get(&format!("/api/conversations/{general}"), &eve.token)
            .await,
        404,
        "not_found",
    );
}

#[actix_web::test]
async fn channels_take_only_workspace_members_and_only_workspaces_have_public_ones() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let space = workspace(&app, &alice, "acme", &[&bob]).await;
    let create = |body: Value| app.post("/api/conversations", &alice.token, body);
    assert_error(
        &create(json!({ "kind": "group", "title": "t", "visibility": "public" })).await,
        400,
        "invalid",
    );
    assert_error(
        &create(
            json!({ "kind": "group", "title": "t", "workspaceId": space, "visibility": "secret" }),
        )
        .await,
        400,
        "invalid",
    );
    assert_error(
        &create(
            json!({ "kind": "group", "title": "t", "workspaceId": space, "memberIds": [eve.id] }),
        )
        .await,
        400,
        "invalid",
    );
    let outsider = app
        .post(
            "/api/conversations",
            &eve.token,
            json!({ "kind": "group", "title": "t", "workspaceId": space }),
        )
        .await;
    assert_error(&outsider, 404, "not_found");
    let plain = app.group(&alice, "plain", &[]).await;
    let plain = app
        .get(&format!("/api/conversations/{plain}"), &alice.token)
        .await;
    assert_eq!(plain.body["workspaceId"], Value::Null);
    assert_eq!(plain.body["visibility"], "private");
    let private = channel(&app, &alice, &space, "team", "private").await;
    assert_error(
        &app.post(
            &format!("/api/conversations/{private}/members"),
            &alice.token,
            json!({ "userIds": [eve.id] }),
        )
        .await,
        400,
        "invalid",
    );
    assert_eq!(
        app.post(
            &format!("/api/conversations/{private}/members"),
            &alice.token,
            json!({ "userIds": [bob.id] })
        )
        .await
        .status,
        200
    );
}

#[actix_web::test]
async fn workspace_invites_join_the_workspace_and_leaving_hands_over_ownership() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let space = workspace(&app, &alice, "acme", &[]).await;
    let invite = app
        .post(
            &format!("/api/workspaces/{space}/invites"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(invite.status, 201, "{:?}", invite.body);
    assert_eq!(invite.body["workspaceId"], space.as_str());
    assert!(invite.body.get("conversationId").is_none());
    let code = invite.body["code"].as_str().unwrap();
    let shown = app.get(&format!("/api/invites/{code}"), &bob.token).await;
    assert_eq!(shown.body["workspace"]["id"], space.as_str());
    assert_eq!(shown.body["workspace"]["memberCount"], 1);
    let joined = app
        .post(
            &format!("/api/invites/{code}/accept"),
            &bob.token,
            json!({}),
        )
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["id"], space.as_str());
    assert_eq!(joined.body["role"], "member");
    assert_eq!(
        app.post(
            &format!("/api/invites/{code}/accept"),
            &carol.token,
            json!({})
        )
        .await
        .status,
        200
    );

    // Removing others: owners only for admins, never plain members; a non-member is 404.
    assert_error(
        &app.delete(
            &format!("/api/workspaces/{space}/members/{}", carol.id),
            &bob.token,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.delete(
            &format!("/api/workspaces/{space}/members/{}", uuid::Uuid::new_v4()),
            &alice.token,
        )
        .await,
        404,
        "not_found",
    );
    // The owner leaves: the longest-standing member owns it.
    assert_eq!(
        app.delete(
            &format!("/api/workspaces/{space}/members/{}", alice.id),
            &alice.token
        )
        .await
        .status,
        204
    );
    assert_error(
        &app.get(&format!("/api/workspaces/{space}"), &alice.token)
            .await,
        404,
        "not_found",
    );
    assert_eq!(
        app.get(&format!("/api/workspaces/{space}"), &bob.token)
            .await
            .body["role"],
        "owner"
    );
}

/// A user creates at most `limits.workspaces_per_day` workspaces a day, however many ask at
/// once (slug squatting): the rest get `rate_limited` with the time to wait and take no slug.
/// Another user is not affected.
#[actix_web::test]
async fn workspaces_per_day_are_capped_per_user() {
    let app = TestApp::spawn_with(|s| s.limits.workspaces_per_day = 3).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let app = &app;
    let token = alice.token.as_str();
    let attempts = (0..12).map(|i| async move {
        app.post(
            "/api/workspaces",
            token,
            json!({ "name": "Squat", "slug": format!("squat-{i}") }),
        )
        .await
    });
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    let created = statuses.iter().filter(|&&s| s == 201).count();
    assert_eq!(created, 3, "{statuses:?}");
    for refused in answers.iter().filter(|r| r.status != 201) {
        assert_error(refused, 429, "rate_limited");
        let wait = refused.body["error"]["retryAfterMs"].as_u64().unwrap();
        assert!(wait > 23 * 3_600_000 && wait <= 24 * 3_600_000, "{wait}");
    }
    let listed = app.get("/api/workspaces", &alice.token).await;
    assert_eq!(listed.body["workspaces"].as_array().unwrap().len(), 3);
    // A refused slug stays free for others.
    let refused_slug = (0..12)
        .map(|i| format!("squat-{i}"))
        .find(|slug| {
            !listed.body["workspaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["slug"] == slug.as_str())
        })
        .unwrap();
    workspace(app, &bob, &refused_slug, &[]).await;
}

/// In a workspace too, a member who takes conversations from contacts only is put in a
/// channel by contacts only; joining a public channel stays their own choice.
#[actix_web::test]
async fn a_contacts_only_member_joins_channels_by_choice_or_by_a_contact() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.contacts_only(&bob).await;
    app.befriend(&carol, &bob).await;
    let space = workspace(&app, &alice, "acme", &[&bob, &carol]).await;
    let res = app
        .post(
            "/api/conversations",
            &alice.token,
            json!({ "kind": "group", "title": "ops", "workspaceId": space, "memberIds": [bob.id] }),
        )
        .await;
    assert_error(&res, 403, "forbidden");
    let public = channel(&app, &alice, &space, "general", "public").await;
    let members = format!("/api/conversations/{public}/members");
    assert_error(
        &app.post(&members, &alice.token, json!({ "userIds": [bob.id] }))
            .await,
        403,
        "forbidden",
    );
    assert_eq!(app.conversation_ids(&bob).await, Vec::<String>::new());
    let joined = app
        .post(
            &format!("/api/conversations/{public}/join"),
            &bob.token,
            json!({}),
        )
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    let private = channel(&app, &carol, &space, "friends", "private").await;
    let added = app
        .post(
            &format!("/api/conversations/{private}/members"),
            &carol.token,
            json!({ "userIds": [bob.id] }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
}
