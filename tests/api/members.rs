use serde_json::json;

use crate::helpers::{assert_error, TestApp};
use crate::sockets::{frame_starting, socket_of};

fn member_ids(body: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["userId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[actix_web::test]
async fn owners_add_members_and_plain_members_cannot() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    let path = format!("/api/conversations/{group}/members");

    let res = app
        .post(
            &path,
            &alice.token,
            json!({ "userIds": [carol.id, bob.id, carol.id] }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let mut expected = vec![alice.id.clone(), bob.id.clone(), carol.id.clone()];
    expected.sort();
    assert_eq!(member_ids(&res.body), expected);
    assert_eq!(
        app.get(&format!("/api/conversations/{group}"), &carol.token)
            .await
            .status,
        200
    );

    assert_error(
        &app.post(&path, &bob.token, json!({ "userIds": [dave.id] }))
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post(&path, &dave.token, json!({ "userIds": [dave.id] }))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post(
            &path,
            &alice.token,
            json!({ "userIds": [uuid::Uuid::new_v4()] }),
        )
        .await,
        404,
        "not_found",
    );
    for body in [
        json!({ "userIds": [] }),
        json!({ "userIds": ["x"] }),
        json!({}),
        json!({ "userIds": dave.id }),
    ] {
        assert_error(&app.post(&path, &alice.token, body).await, 400, "invalid");
    }
    assert_eq!(
        member_ids(
            &app.get(&format!("/api/conversations/{group}"), &alice.token)
                .await
                .body
        )
        .len(),
        3
    );
}

#[actix_web::test]
async fn a_dm_keeps_exactly_its_two_members() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dm = app.dm_id(&alice, &bob).await;
    let add = app
        .post(
            &format!("/api/conversations/{dm}/members"),
            &alice.token,
            json!({ "userIds": [carol.id] }),
        )
        .await;
    assert_error(&add, 400, "invalid");
    let leave = app
        .delete(
            &format!("/api/conversations/{dm}/members/{}", alice.id),
            &alice.token,
        )
        .await;
    assert_error(&leave, 400, "invalid");
}

#[actix_web::test]
async fn adding_past_300_members_conflicts_and_adds_nobody() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let others = crate::seed::seed_users(&app, 300).await;
    let create = app
        .post(
            "/api/conversations",
            &alice.token,
            json!({ "kind": "group", "title": "big", "memberIds": others[..298] }),
        )
        .await;
    let group = create.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/conversations/{group}/members");
    let over = app
        .post(&path, &alice.token, json!({ "userIds": others[298..300] }))
        .await;
    assert_error(&over, 409, "conflict");
    assert_eq!(
        member_ids(
            &app.get(&format!("/api/conversations/{group}"), &alice.token)
                .await
                .body
        )
        .len(),
        299
    );
    let fill = app
        .post(&path, &alice.token, json!({ "userIds": others[298..299] }))
        .await;
    assert_eq!(fill.status, 200);
    assert_eq!(member_ids(&fill.body).len(), 300);
}

#[actix_web::test]
async fn members_leave_and_owners_remove_others() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let eve = app.register("eve").await;
    let group = app.group(&alice, "team", &[&bob, &carol]).await;
    let remove = |who: &str| format!("/api/conversations/{group}/members/{who}");

    assert_error(
        &app.delete(&remove(&carol.id), &bob.token).await,
        403,
        "forbidden",
    );
    assert_error(
        &app.delete(&remove(&carol.id), &eve.token).await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&remove(&eve.id), &alice.token).await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&remove("not-an-id"), &alice.token).await,
        404,
        "not_found",
    );

    assert_eq!(
        app.delete(&remove(&carol.id), &alice.token).await.status,
        204
    );
    assert_error(
        &app.get(&format!("/api/conversations/{group}"), &carol.token)
            .await,
        404,
        "not_found",
    );

    assert_eq!(app.delete(&remove(&bob.id), &bob.token).await.status, 204);
    let left = app
        .get(&format!("/api/conversations/{group}"), &alice.token)
        .await;
    assert_eq!(member_ids(&left.body), vec![alice.id.clone()]);
}

#[actix_web::test]
async fn an_owner_who_leaves_hands_the_group_on() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    app.post(
        &format!("/api/conversations/{group}/members"),
        &alice.token,
        json!({ "userIds": [carol.id] }),
    )
    .await;
    let res = app
        .delete(
            &format!("/api/conversations/{group}/members/{}", alice.id),
            &alice.token,
        )
        .await;
    assert_eq!(res.status, 204);
    let view = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    let members = view.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let role = |id: &str| members.iter().find(|m| m["userId"] == id).unwrap()["role"].clone();
    // Bob joined before Carol, so Bob inherits.
    assert_eq!(role(&bob.id), "owner");
    assert_eq!(role(&carol.id), "member");
    // And can now manage the group.
    assert_eq!(
        app.delete(
            &format!("/api/conversations/{group}/members/{}", carol.id),
            &bob.token
        )
        .await
        .status,
        204
    );
}

/// With `dmFromContactsOnly`, a stranger cannot add the user to a group (nobody of the list
/// is added, nothing is told); an invite link stays open to them, and once they belong, a
/// repeated add changes nothing and is not refused.
#[actix_web::test]
async fn a_stranger_cannot_add_a_contacts_only_user() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    app.contacts_only(&bob).await;
    let group = app.group(&alice, "team", &[&carol]).await;
    let path = format!("/api/conversations/{group}/members");
    let mut on_bob = socket_of(&app, &bob.token).await;

    let res = app
        .post(&path, &alice.token, json!({ "userIds": [dave.id, bob.id] }))
        .await;
    assert_error(&res, 403, "forbidden");
    let now = app
        .get(&format!("/api/conversations/{group}"), &alice.token)
        .await;
    assert_eq!(member_ids(&now.body).len(), 2, "{:?}", now.body);
    assert_eq!(app.conversation_ids(&bob).await, Vec::<String>::new());

    // The user's own choice: an invite link.
    let invite = app
        .post(
            &format!("/api/conversations/{group}/invites"),
            &alice.token,
            json!({}),
        )
        .await;
    let code = invite.body["code"].as_str().unwrap();
    let joined = app
        .post(
            &format!("/api/invites/{code}/accept"),
            &bob.token,
            json!({}),
        )
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    // Bob's first `conversation:added` is this join, not the refused add.
    let added = frame_starting(&mut on_bob, r#"42["conversation:added""#).await;
    assert!(added.contains(&group), "{added}");
    let again = app
        .post(&path, &alice.token, json!({ "userIds": [bob.id, dave.id] }))
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(member_ids(&again.body).len(), 4);
}
