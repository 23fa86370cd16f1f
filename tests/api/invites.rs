use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{assert_error, TestApp, TestUser};

async fn invite(app: &TestApp, owner: &TestUser, group: &str, body: serde_json::Value) -> String {
    let res = app
        .post(
            &format!("/api/conversations/{group}/invites"),
            &owner.token,
            body,
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let code = res.body["code"].as_str().unwrap().to_string();
    assert!(code.len() >= 22, "a code holds at least 128 bits: {code}");
    assert!(code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    code
}

#[actix_web::test]
async fn a_link_shows_its_group_admits_members_and_counts_uses() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = app.group(&alice, "book club", &[]).await;
    let code = invite(
        &app,
        &alice,
        &group,
        json!({ "maxUses": 5, "expiresInSecs": 3600 }),
    )
    .await;

    let shown = app.get(&format!("/api/invites/{code}"), &bob.token).await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["code"], code.as_str());
    assert_eq!(shown.body["conversation"]["id"], group.as_str());
    assert_eq!(shown.body["conversation"]["title"], "book club");
    assert_eq!(shown.body["conversation"]["memberCount"], 1);

    let accept = format!("/api/invites/{code}/accept");
    let joined = app.post(&accept, &bob.token, json!({})).await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["id"], group.as_str());
    assert_eq!(joined.body["members"].as_array().unwrap().len(), 2);
    // Already a member: the same answer, no use counted.
    assert_eq!(app.post(&accept, &bob.token, json!({})).await.status, 200);
    assert_eq!(app.post(&accept, &carol.token, json!({})).await.status, 200);

    let listed = app
        .get(&format!("/api/conversations/{group}/invites"), &alice.token)
        .await;
    assert_eq!(listed.status, 200);
    let invites = listed.body["invites"].as_array().unwrap();
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0]["code"], code.as_str());
    assert_eq!(invites[0]["uses"], 2);
    assert_eq!(invites[0]["maxUses"], 5);
    assert_eq!(invites[0]["conversationId"], group.as_str());
    assert_eq!(invites[0]["createdBy"], alice.id.as_str());

    // Only owners and admins make or see links.
    assert_error(
        &app.post(
            &format!("/api/conversations/{group}/invites"),
            &bob.token,
            json!({}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.get(&format!("/api/conversations/{group}/invites"), &bob.token)
            .await,
        403,
        "forbidden",
    );
}

#[actix_web::test]
async fn expired_revoked_used_up_and_unknown_links_are_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = app.group(&alice, "club", &[]).await;

    let once = invite(&app, &alice, &group, json!({ "maxUses": 1 })).await;
    assert_eq!(
        app.post(
            &format!("/api/invites/{once}/accept"),
            &bob.token,
            json!({})
        )
        .await
        .status,
        200
    );
    let revoked = invite(&app, &alice, &group, json!({})).await;
    // Someone outside the group cannot revoke it (it does not exist for them), nor a
    // plain member (bob joined by the first link).
    assert_error(
        &app.delete(&format!("/api/invites/{revoked}"), &carol.token)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&format!("/api/invites/{revoked}"), &bob.token)
            .await,
        403,
        "forbidden",
    );
    assert_eq!(
        app.delete(&format!("/api/invites/{revoked}"), &alice.token)
            .await
            .status,
        204
    );
    let expired = invite(&app, &alice, &group, json!({ "expiresInSecs": 60 })).await;
    diesel::sql_query("UPDATE invites SET expires_at = now() - interval '1 second'")
        .execute(&mut app.state.pool.get().await.unwrap())
        .await
        .unwrap();

    for code in [once, revoked, expired, "A".repeat(32), "short".to_string()] {
        assert_error(
            &app.get(&format!("/api/invites/{code}"), &carol.token).await,
            404,
            "not_found",
        );
        assert_error(
            &app.post(
                &format!("/api/invites/{code}/accept"),
                &carol.token,
                json!({}),
            )
            .await,
            404,
            "not_found",
        );
    }
    let members = app
        .get(&format!("/api/conversations/{group}"), &alice.token)
        .await;
    assert_eq!(
        members.body["members"].as_array().unwrap().len(),
        2,
        "only bob joined"
    );
    let listed = app
        .get(&format!("/api/conversations/{group}/invites"), &alice.token)
        .await;
    assert_eq!(
        listed.body["invites"].as_array().unwrap().len(),
        0,
        "{:?}",
        listed.body
    );

    // Bad bodies: each field's range, unknown fields, a DM.
    for body in [
        json!({ "expiresInSecs": 59 }),
        json!({ "expiresInSecs": 2_592_001 }),
        json!({ "maxUses": 0 }),
        json!({ "maxUses": 1001 }),
        json!({ "maxUses": "ten" }),
        json!({ "other": 1 }),
    ] {
        assert_error(
            &app.post(
                &format!("/api/conversations/{group}/invites"),
                &alice.token,
                body,
            )
            .await,
            400,
            "invalid",
        );
    }
    let direct = app.dm_id(&alice, &bob).await;
    assert_error(
        &app.post(
            &format!("/api/conversations/{direct}/invites"),
            &alice.token,
            json!({}),
        )
        .await,
        400,
        "invalid",
    );
}

#[actix_web::test]
async fn concurrent_accepts_of_a_ten_use_link_admit_exactly_ten() {
    let app = TestApp::spawn_with(|s| s.limits.invite_lookups_per_min = 1000.0).await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "popular", &[]).await;
    let code = invite(&app, &alice, &group, json!({ "maxUses": 10 })).await;
    let mut users = Vec::new();
    for n in 0..100 {
        users.push(app.register(&format!("guest{n}")).await);
    }
    let accept = format!("/api/invites/{code}/accept");
    let answers = futures_util::future::join_all(
        users.iter().map(|u| app.post(&accept, &u.token, json!({}))),
    )
    .await;
    let admitted = answers.iter().filter(|r| r.status == 200).count();
    let refused = answers.iter().filter(|r| r.status == 404).count();
    assert_eq!(
        (admitted, refused),
        (10, 90),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let members = app
        .get(&format!("/api/conversations/{group}"), &alice.token)
        .await;
    assert_eq!(members.body["members"].as_array().unwrap().len(), 11);
}

#[actix_web::test]
async fn a_full_group_refuses_an_accept() {
    let app = TestApp::spawn_with(|s| s.limits.group_max_members = 2).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = app.group(&alice, "pair", &[&bob]).await;
    let code = invite(&app, &alice, &group, json!({})).await;
    assert_error(
        &app.post(
            &format!("/api/invites/{code}/accept"),
            &carol.token,
            json!({}),
        )
        .await,
        409,
        "conflict",
    );
    let listed = app
        .get(&format!("/api/conversations/{group}/invites"), &alice.token)
        .await;
    assert_eq!(
        listed.body["invites"][0]["uses"], 0,
        "a refused accept uses nothing"
    );
}

#[actix_web::test]
async fn guessing_codes_is_rate_limited_counted_and_leaves_others_alone() {
    let app = TestApp::spawn_with(|s| s.limits.invite_lookups_per_min = 5.0).await;
    let mallory = app.register("mallory").await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "club", &[]).await;
    let code = invite(&app, &alice, &group, json!({})).await;
    let mut statuses = Vec::new();
    for n in 0..8 {
        let guess = format!("{:0>32}", n);
        statuses.push(
            app.get(&format!("/api/invites/{guess}"), &mallory.token)
                .await
                .status,
        );
    }
    assert_eq!(statuses, vec![404, 404, 404, 404, 404, 429, 429, 429]);
    let limited = app
        .get(&format!("/api/invites/{code}"), &mallory.token)
        .await;
    assert_error(&limited, 429, "rate_limited");
    // Another user is not slowed by mallory.
    let bob = app.register("bob").await;
    assert_eq!(
        app.get(&format!("/api/invites/{code}"), &bob.token)
            .await
            .status,
        200
    );

    let metrics = app.request("GET", "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("confab_invite_lookups_total{outcome=\"unknown\"} 5"),
        "{text}"
    );
    assert!(
        text.contains("confab_invite_lookups_total{outcome=\"rate_limited\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("confab_invite_lookups_total{outcome=\"found\"} 1"),
        "{text}"
    );
}

#[actix_web::test]
async fn codes_are_stored_hashed() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "club", &[]).await;
    let code = invite(&app, &alice, &group, json!({})).await;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        stored: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT encode(code_hash, 'escape') || encode(sealed_code, 'escape') || encode(code_hash, 'hex') \
         || encode(sealed_code, 'hex') || encode(sealed_code, 'base64') AS stored FROM invites",
    )
    .load(&mut app.state.pool.get().await.unwrap())
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        !rows[0].stored.contains(&code[..16]),
        "the stored row holds the code"
    );
}

/// A user blocked by a group's owner cannot join it by its links, an admin's too: no use is
/// counted and nobody is told. A block by another member does not close the group; lifting the
/// owner's block opens it again.
#[actix_web::test]
async fn a_user_blocked_by_the_owner_cannot_accept_the_groups_invites() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = app.group(&alice, "club", &[&carol]).await;
    // An admin's link: the owner's block holds for every link of the group.
    diesel::sql_query("UPDATE conversation_members SET role = 'admin' WHERE user_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(carol.id.parse::<uuid::Uuid>().unwrap())
        .execute(&mut app.state.pool.get().await.unwrap())
        .await
        .unwrap();
    let code = invite(&app, &carol, &group, json!({ "maxUses": 5 })).await;
    for blocker in [&alice, &carol] {
        let res = app
            .post(
                &format!("/api/blocks/{}", bob.id),
                &blocker.token,
                json!({}),
            )
            .await;
        assert_eq!(res.status, 204);
    }
    let accept = format!("/api/invites/{code}/accept");
    assert_error(
        &app.post(&accept, &bob.token, json!({})).await,
        403,
        "forbidden",
    );
    assert_eq!(app.conversation_ids(&bob).await, Vec::<String>::new());
    let listed = app
        .get(&format!("/api/conversations/{group}/invites"), &alice.token)
        .await;
    assert_eq!(listed.body["invites"][0]["uses"], 0, "{:?}", listed.body);

    let lifted = app
        .delete(&format!("/api/blocks/{}", bob.id), &alice.token)
        .await;
    assert_eq!(lifted.status, 204);
    let joined = app.post(&accept, &bob.token, json!({})).await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(app.conversation_ids(&bob).await, vec![group.clone()]);
}
