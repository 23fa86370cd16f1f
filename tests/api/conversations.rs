use serde_json::json;

use crate::helpers::{assert_error, TestApp};
use crate::sockets::{frame_starting, socket_of};

#[actix_web::test]
async fn a_dm_is_created_once_per_pair_whoever_opens_it() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let first = app.dm(&alice, &bob).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["kind"], "dm");
    assert_eq!(first.body["title"], serde_json::Value::Null);
    assert_eq!(first.body["lastSeq"], 0);
    assert_eq!(first.body["lastMessageAt"], serde_json::Value::Null);
    let mut members: Vec<&str> = first.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    members.sort();
    let mut expected = vec![alice.id.as_str(), bob.id.as_str()];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(first.body["members"][0]["lastReadSeq"], 0);
    assert_eq!(first.body["members"][0]["lastDeliveredSeq"], 0);

    let again = app.dm(&alice, &bob).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    let reverse = app.dm(&bob, &alice).await;
    assert_eq!(reverse.status, 200);
    assert_eq!(reverse.body["id"], first.body["id"]);
}

#[actix_web::test]
async fn a_dm_needs_another_existing_user() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_error(&app.dm(&alice, &alice).await, 400, "invalid");
    let ghost = json!({ "kind": "dm", "userId": uuid::Uuid::new_v4().to_string() });
    assert_error(
        &app.post("/api/conversations", &alice.token, ghost).await,
        404,
        "not_found",
    );
    for body in [
        json!({ "kind": "dm", "userId": "not-a-uuid" }),
        json!({ "kind": "dm" }),
        json!({ "kind": "channel", "userId": alice.id }),
        json!({ "userId": alice.id }),
        json!({ "kind": "dm", "userId": 12 }),
    ] {
        assert_error(
            &app.post("/api/conversations", &alice.token, body).await,
            400,
            "invalid",
        );
    }
}

#[actix_web::test]
async fn a_group_has_an_owner_and_members() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let res = app
        .post(
            "/api/conversations",
            &alice.token,
            json!({ "kind": "group", "title": "  Team  ", "memberIds": [bob.id, carol.id, bob.id, alice.id] }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["kind"], "group");
    assert_eq!(res.body["title"], "Team");
    let members = res.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    let role = |id: &str| members.iter().find(|m| m["userId"] == id).unwrap()["role"].clone();
    assert_eq!(role(&alice.id), "owner");
    assert_eq!(role(&bob.id), "member");
    assert_eq!(role(&carol.id), "member");
}

#[actix_web::test]
async fn group_input_is_checked() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for body in [
        json!({ "kind": "group", "memberIds": [] }),
        json!({ "kind": "group", "title": "   " }),
        json!({ "kind": "group", "title": "x".repeat(101) }),
        json!({ "kind": "group", "title": "t", "memberIds": ["nope"] }),
        json!({ "kind": "group", "title": "t", "memberIds": "nope" }),
    ] {
        assert_error(
            &app.post("/api/conversations", &alice.token, body).await,
            400,
            "invalid",
        );
    }
    let ghost = json!({ "kind": "group", "title": "t", "memberIds": [uuid::Uuid::new_v4()] });
    assert_error(
        &app.post("/api/conversations", &alice.token, ghost).await,
        404,
        "not_found",
    );
    // Nothing half-made was left behind.
    let list = app.get("/api/conversations", &alice.token).await;
    assert_eq!(list.body["conversations"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn a_group_holds_at_most_300_members() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let others = crate::seed::seed_users(&app, 300).await;
    let body = |n: usize| json!({ "kind": "group", "title": "big", "memberIds": others[..n] });
    let full = app
        .post("/api/conversations", &alice.token, body(299))
        .await;
    assert_eq!(full.status, 201, "{:?}", full.body);
    assert_eq!(full.body["members"].as_array().unwrap().len(), 300);
    assert_error(
        &app.post("/api/conversations", &alice.token, body(300))
            .await,
        409,
        "conflict",
    );
}

#[actix_web::test]
async fn a_non_member_gets_exactly_the_answer_for_a_missing_conversation() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let group = app.group(&alice, "private", &[&bob]).await;
    let ok = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["id"], group.as_str());
    assert_eq!(ok.body["members"].as_array().unwrap().len(), 2);

    let foreign = app
        .get(&format!("/api/conversations/{group}"), &eve.token)
        .await;
    let missing = app
        .get(
            &format!("/api/conversations/{}", uuid::Uuid::new_v4()),
            &eve.token,
        )
        .await;
    let malformed = app.get("/api/conversations/not-an-id", &eve.token).await;
    assert_error(&foreign, 404, "not_found");
    assert_eq!(foreign.body, missing.body);
    assert_eq!(foreign.body, malformed.body);
    assert_error(
        &app.request("GET", &format!("/api/conversations/{group}"), None, None)
            .await,
        401,
        "unauthorized",
    );
}

#[actix_web::test]
async fn the_list_is_paged_by_activity_with_last_message_and_unread_count() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let first = app.group(&alice, "first", &[&bob]).await;
    let second = app.group(&alice, "second", &[&bob]).await;
    let third = app.group(&alice, "third", &[&bob]).await;
    // Activity in the oldest moves it to the top.
    assert_eq!(app.send(&bob, &first, "m1", "one").await.status, 201);
    assert_eq!(app.send(&bob, &first, "m2", "two").await.status, 201);

    let page1 = app.get("/api/conversations?limit=2", &alice.token).await;
    assert_eq!(page1.status, 200, "{:?}", page1.body);
    let ids: Vec<&str> = page1.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), third.as_str()]);
    let top = &page1.body["conversations"][0];
    assert_eq!(top["lastMessage"]["body"], "two");
    assert_eq!(top["lastMessage"]["seq"], 2);
    assert_eq!(top["unreadCount"], 2);
    assert_eq!(top["lastSeq"], 2);
    assert_eq!(top["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        page1.body["conversations"][1]["lastMessage"],
        serde_json::Value::Null
    );
    assert_eq!(page1.body["conversations"][1]["unreadCount"], 0);

    let cursor = page1.body["nextCursor"].as_str().unwrap();
    let page2 = app
        .get(
            &format!("/api/conversations?limit=2&cursor={cursor}"),
            &alice.token,
        )
        .await;
    let ids: Vec<&str> = page2.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str()]);
    assert_eq!(page2.body["nextCursor"], serde_json::Value::Null);

    // The sender has nothing unread from their own messages.
    let bobs = app.get("/api/conversations", &bob.token).await;
    assert_eq!(bobs.body["conversations"][0]["unreadCount"], 0);

    assert_error(
        &app.get("/api/conversations?cursor=bogus", &alice.token)
            .await,
        400,
        "invalid",
    );
    assert_error(
        &app.get("/api/conversations?limit=101", &alice.token).await,
        400,
        "invalid",
    );
    assert_error(
        &app.request("GET", "/api/conversations", None, None).await,
        401,
        "unauthorized",
    );
}

/// `DELETE /api/conversations/{id}`: the owner deletes a group for everyone; members' sockets
/// get `conversation:removed` and leave its room; it is `not_found` from then on. Members,
/// admins of nothing and DMs are refused; reports about its messages keep the reported user.
#[actix_web::test]
async fn a_groups_owner_deletes_it_for_everyone() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let group = app.group(&alice, "doomed", &[&bob]).await;
    let sent = app.send(&bob, &group, "m1", "reported words").await;
    let message = sent.body["id"].as_str().unwrap().to_string();
    let report = app
        .post(
            "/api/reports",
            &alice.token,
            json!({ "messageId": message, "reason": "abuse" }),
        )
        .await;
    assert_eq!(report.status, 201);
    let mut bobs_socket = crate::sockets::socket_of(&app, &bob.token).await;

    assert_error(
        &app.delete(&format!("/api/conversations/{group}"), &bob.token)
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.delete(&format!("/api/conversations/{group}"), &eve.token)
            .await,
        404,
        "not_found",
    );
    let dm = app.dm_id(&alice, &bob).await;
    assert_error(
        &app.delete(&format!("/api/conversations/{dm}"), &alice.token)
            .await,
        403,
        "forbidden",
    );

    let gone = app
        .delete(&format!("/api/conversations/{group}"), &alice.token)
        .await;
    assert_eq!(gone.status, 204);
    let removed =
        crate::sockets::frame_starting(&mut bobs_socket, r#"42["conversation:removed""#).await;
    assert!(removed.contains(&group), "{removed}");
    for who in [&alice, &bob] {
        assert_error(
            &app.get(&format!("/api/conversations/{group}"), &who.token)
                .await,
            404,
            "not_found",
        );
    }
    let send = app.send(&alice, &group, "m2", "after").await;
    assert_error(&send, 404, "not_found");
    // Bob's socket left the room: a send there is not_found, not delivered.
    bobs_socket
        .text(&format!(
            r#"421["message:send",{{"conversationId":"{group}","clientMessageId":"s","body":"x"}}]"#
        ))
        .await;
    let ack = crate::sockets::frame_starting(&mut bobs_socket, "431[").await;
    assert!(ack.contains("not_found"), "{ack}");

    // The report stays, naming the sender of the message it was about.
    let mut conn = app.state.pool.get().await.unwrap();
    let reported: Vec<Option<uuid::Uuid>> = {
        use confab::db::schema::reports;
        use diesel::QueryDsl;
        use diesel_async::RunQueryDsl;
        reports::table
            .select(reports::reported_user_id)
            .load(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(
        reported,
        vec![Some(uuid::Uuid::parse_str(&bob.id).unwrap())]
    );
}

/// With `dmFromContactsOnly`, a stranger cannot put the user in a new group, not even a group
/// of two: nothing is made and nothing is told. A contact can.
#[actix_web::test]
async fn only_contacts_put_a_contacts_only_user_in_a_new_group() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.contacts_only(&bob).await;
    app.befriend(&carol, &bob).await;
    let mut on_bob = socket_of(&app, &bob.token).await;
    for members in [json!([bob.id]), json!([carol.id, bob.id])] {
        let res = app
            .post(
                "/api/conversations",
                &alice.token,
                json!({ "kind": "group", "title": "hi", "memberIds": members }),
            )
            .await;
        assert_error(&res, 403, "forbidden");
    }
    assert_eq!(app.conversation_ids(&alice).await, Vec::<String>::new());
    assert_eq!(app.conversation_ids(&carol).await, Vec::<String>::new());
    // Bob's first `conversation:added` is the group a contact made, after the refusals.
    let group = app.group(&carol, "friends", &[&bob]).await;
    let added = frame_starting(&mut on_bob, r#"42["conversation:added""#).await;
    assert!(added.contains(&group), "{added}");
    assert_eq!(app.conversation_ids(&bob).await, vec![group]);
    // Alice, once a contact, may too.
    app.befriend(&alice, &bob).await;
    app.group(&alice, "now", &[&bob]).await;
}
