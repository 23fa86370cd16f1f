//! Account deletion (`DELETE /api/me`, PROTOCOL.md §14): the password is asked again; the
//! account's messages stay as tombstones with their sender, whose profile answers
//! `{ id, deleted: true }`; memberships, contacts and uploads go; every socket disconnects;
//! the username is reserved for 30 days.

use chrono::Utc;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::common::In;
use crate::helpers::{assert_error, TestApp, TestUser};
use crate::sockets::{frame_starting, open_socket, socket_of};
use crate::uploads::{png, upload};

const PASSWORD: &str = "correct horse battery";

async fn delete_me(app: &TestApp, user: &TestUser, body: Option<Value>) -> crate::helpers::Resp {
    app.request("DELETE", "/api/me", Some(&user.token), body)
        .await
}

async fn login(app: &TestApp, login: &str) -> crate::helpers::Resp {
    app.request(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({ "login": login, "password": PASSWORD })),
    )
    .await
}

/// Waits for the server to close the socket, answering pings meanwhile.
async fn disconnected(ws: &mut crate::common::Ws) {
    loop {
        match ws.next().await {
            In::Closed(_) => return,
            In::Text(ping) if ping == "2" => ws.text("3").await,
            _ => {}
        }
    }
}

/// Files under the local store's directory, by name.
fn stored_objects(app: &TestApp) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&app.state.settings.storage.dir) else {
        return names;
    };
    for dir in dirs.filter_map(|d| d.ok()) {
        if dir.file_name() == ".incoming" {
            continue;
        }
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            names.push(file.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

/// A wrong or missing password deletes nothing: `forbidden` / `invalid`, and the account,
/// its token and its login keep working.
#[actix_web::test]
async fn a_wrong_password_deletes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_error(
        &delete_me(&app, &alice, Some(json!({ "password": "wrong password" }))).await,
        403,
        "forbidden",
    );
    for body in [
        None,
        Some(json!({})),
        Some(json!({ "password": "" })),
        Some(json!({ "password": 5 })),
    ] {
        assert_error(&delete_me(&app, &alice, body).await, 400, "invalid");
    }
    assert_error(
        &app.request(
            "DELETE",
            "/api/me",
            None,
            Some(json!({ "password": PASSWORD })),
        )
        .await,
        401,
        "unauthorized",
    );
    assert_eq!(app.get("/api/me", &alice.token).await.status, 200);
    assert_eq!(login(&app, "alice").await.status, 200);
    let profile = app
        .get(&format!("/api/users/{}", alice.id), &alice.token)
        .await;
    assert_eq!(profile.body["username"], "alice");
}

/// Deletion attempts count like failed logins: past five wrong passwords in the window, even
/// the right one is `rate_limited`, and the account stays.
#[actix_web::test]
async fn deletion_attempts_are_rate_limited() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for _ in 0..5 {
        assert_error(
            &delete_me(&app, &alice, Some(json!({ "password": "wrong password" }))).await,
            403,
            "forbidden",
        );
    }
    let limited = delete_me(&app, &alice, Some(json!({ "password": PASSWORD }))).await;
    assert_error(&limited, 429, "rate_limited");
    assert!(limited.body["error"]["retryAfterMs"].as_u64().unwrap() > 0);
    assert_eq!(app.get("/api/me", &alice.token).await.status, 200);
}

/// The account is gone and what it wrote stays as tombstones: its profile answers
/// `{ id, deleted: true }`, its messages are deleted with their `senderId`, the other members
/// hear `conversation:updated`, the group it owned passes on and stays usable, contacts and
/// memberships are gone, its credentials and login no longer work.
#[actix_web::test]
async fn a_deleted_account_leaves_tombstones_and_a_usable_group() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let dm = app.dm_id(&alice, &bob).await;
    let group = app.group(&alice, "alice's", &[&bob, &carol]).await;
    for (conversation, id) in [(&dm, "d1"), (&group, "g1"), (&group, "g2")] {
        assert_eq!(
            app.send(&alice, conversation, id, "hello").await.status,
            201
        );
    }
    assert_eq!(app.send(&bob, &group, "b1", "hi").await.status, 201);
    let asked = app
        .post(
            "/api/contacts/requests",
            &alice.token,
            json!({ "userId": bob.id }),
        )
        .await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let accept = format!(
        "/api/contacts/requests/{}/accept",
        asked.body["id"].as_str().unwrap()
    );
    assert_eq!(app.post(&accept, &bob.token, json!({})).await.status, 200);
    let mut bob_ws = socket_of(&app, &bob.token).await;

    let res = delete_me(&app, &alice, Some(json!({ "password": PASSWORD }))).await;
    assert_eq!(res.status, 204, "{:?}", res.body);

    // Bob hears of both conversations, with the revs that the tombstones took.
    let mut updated = std::collections::HashMap::new();
    while updated.len() < 2 {
        let frame = frame_starting(&mut bob_ws, r#"42["conversation:updated""#).await;
        let event: Value = serde_json::from_str(&frame[2..]).unwrap();
        let update = &event[1];
        updated.insert(
            update["conversationId"].as_str().unwrap().to_string(),
            update["lastRev"].as_i64().unwrap(),
        );
    }
    assert_eq!(updated[&dm], 2, "one send and one tombstone");
    assert_eq!(updated[&group], 5, "three sends and two tombstones");

    let profile = app
        .get(&format!("/api/users/{}", alice.id), &bob.token)
        .await;
    assert_eq!(profile.status, 200);
    assert_eq!(profile.body, json!({ "id": alice.id, "deleted": true }));
    assert_error(
        &app.get("/api/users/by-username/alice", &bob.token).await,
        404,
        "not_found",
    );
    let searched = app.get("/api/users/search?q=ali", &bob.token).await;
    assert_eq!(searched.body["users"], json!([]));

    for conversation in [&dm, &group] {
        let history = app
            .get(
                &format!("/api/conversations/{conversation}/messages?afterSeq=0"),
                &bob.token,
            )
            .await;
        for message in history.body["messages"].as_array().unwrap() {
            if message["senderId"] == alice.id.as_str() {
                assert_eq!(message["deleted"], true, "{message}");
                assert_eq!(message["body"], "", "{message}");
            } else {
                assert_eq!(message["body"], "hi", "{message}");
            }
        }
    }

    // The group lost its owner and has another; it stays usable.
    let got = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    let members = got.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members.iter().all(|m| m["userId"] != alice.id.as_str()));
    let owners: Vec<&Value> = members.iter().filter(|m| m["role"] == "owner").collect();
    assert_eq!(owners.len(), 1, "{members:?}");
    let heir = if owners[0]["userId"] == bob.id.as_str() {
        &bob
    } else {
        &carol
    };
    let added = app
        .post(
            &format!("/api/conversations/{group}/members"),
            &heir.token,
            json!({ "userIds": [dave.id] }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(app.send(&bob, &group, "b2", "still here").await.status, 201);

    let contacts = app.get("/api/contacts", &bob.token).await;
    assert_eq!(contacts.body["contacts"], json!([]));
    // Nobody can reach the account any more.
    assert_error(
        &app.post(
            "/api/conversations",
            &bob.token,
            json!({ "kind": "dm", "userId": alice.id }),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post(
            &format!("/api/conversations/{group}/members"),
            &heir.token,
            json!({ "userIds": [alice.id] }),
        )
        .await,
        404,
        "not_found",
    );

    assert_error(&app.get("/api/me", &alice.token).await, 401, "unauthorized");
    assert_error(&login(&app, "alice").await, 401, "unauthorized");
    assert_error(&login(&app, "alice@example.com").await, 401, "unauthorized");
    let refreshed = app
        .request(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({ "refreshToken": alice.refresh })),
        )
        .await;
    assert_error(&refreshed, 401, "unauthorized");
    // A second deletion with the old token: the credentials are gone.
    assert_error(
        &delete_me(&app, &alice, Some(json!({ "password": PASSWORD }))).await,
        401,
        "unauthorized",
    );
}

/// Every socket of the account disconnects, whichever login opened it, and its token connects
/// no more: a removed user's socket cannot go on answering `typing:start` with `ok`.
#[actix_web::test]
async fn deleting_the_account_disconnects_every_socket() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dm = app.dm_id(&alice, &bob).await;
    let second = login(&app, "alice").await;
    let second_token = second.body["accessToken"].as_str().unwrap().to_string();
    let mut first_ws = socket_of(&app, &alice.token).await;
    let mut second_ws = socket_of(&app, &second_token).await;
    first_ws
        .text(&format!(
            r#"421["typing:start",{{"conversationId":"{dm}"}}]"#
        ))
        .await;
    let ack = frame_starting(&mut first_ws, "431[").await;
    assert!(ack.contains(r#""ok":true"#), "{ack}");

    let res = delete_me(&app, &alice, Some(json!({ "password": PASSWORD }))).await;
    assert_eq!(res.status, 204, "{:?}", res.body);
    disconnected(&mut first_ws).await;
    disconnected(&mut second_ws).await;

    let mut again = open_socket(&app).await;
    again
        .text(&format!(r#"40{{"token":"{}"}}"#, alice.token))
        .await;
    let refused = frame_starting(&mut again, "44").await;
    assert!(refused.contains("unauthorized"), "{refused}");
}

/// The deleted account's uploads go: one never sent is removed at once, one sent in a message
/// is released with its tombstone, and the cleanup job removes both objects from storage.
/// (No thumbnails are made here, so that none can appear behind the cleanup's back.)
#[actix_web::test]
async fn a_deleted_accounts_uploads_are_removed_from_storage() {
    let app = TestApp::spawn_with(|s| s.storage.thumbnail_queue = 0).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dm = app.dm_id(&alice, &bob).await;
    let unsent = upload(&app, &alice, png(6, 6), "image/png", "unsent.png").await;
    let sent = upload(&app, &alice, png(7, 7), "image/png", "sent.png").await;
    let res = app
        .post(
            &format!("/api/conversations/{dm}/messages"),
            &alice.token,
            json!({ "clientMessageId": "a", "body": "", "attachmentIds": [sent["id"]] }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    // The objects are kept under the keys their uploads were sealed at.
    let keys: Vec<String> = {
        use confab::db::schema::attachments;
        use diesel::{ExpressionMethods, QueryDsl};
        let ids = [&unsent["id"], &sent["id"]]
            .map(|id| uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap());
        let mut conn = app.state.pool.get().await.unwrap();
        attachments::table
            .filter(attachments::id.eq_any(ids))
            .select(attachments::storage_key)
            .load(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(keys.len(), 2);
    let stored = |app: &TestApp| {
        stored_objects(app)
            .into_iter()
            .filter(|name| keys.iter().any(|key| key == name))
            .count()
    };
    assert_eq!(stored(&app), 2);

    let res = delete_me(&app, &alice, Some(json!({ "password": PASSWORD }))).await;
    assert_eq!(res.status, 204, "{:?}", res.body);
    app.state
        .attachments
        .cleanup()
        .run(Utc::now())
        .await
        .unwrap();
    assert_eq!(stored(&app), 0, "{:?}", stored_objects(&app));
    let history = app
        .get(
            &format!("/api/conversations/{dm}/messages?afterSeq=0"),
            &bob.token,
        )
        .await;
    assert_eq!(history.body["messages"][0]["attachments"], json!([]));
}

/// The username stays reserved for 30 days, then anyone may take it; the email is free at once.
#[actix_web::test]
async fn the_username_is_free_again_after_thirty_days() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = delete_me(&app, &alice, Some(json!({ "password": PASSWORD }))).await;
    assert_eq!(res.status, 204, "{:?}", res.body);
    let register = |email: &str, username: &str| {
        app.request(
            "POST",
            "/api/auth/register",
            None,
            Some(json!({ "email": email, "username": username, "password": PASSWORD })),
        )
    };
    assert_error(&register("new@example.com", "ALICE").await, 409, "conflict");
    // The email is not reserved.
    let reused = register("alice@example.com", "alice2").await;
    assert_eq!(reused.status, 201, "{:?}", reused.body);

    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(format!(
        "UPDATE users SET deleted_at = now() - interval '29 days' WHERE id = '{}'",
        alice.id
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_error(&register("new@example.com", "alice").await, 409, "conflict");
    diesel::sql_query(format!(
        "UPDATE users SET deleted_at = now() - interval '31 days' WHERE id = '{}'",
        alice.id
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let taken = register("new@example.com", "alice").await;
    assert_eq!(taken.status, 201, "{:?}", taken.body);
    assert_ne!(taken.body["user"]["id"], alice.id.as_str());
    // The old account still answers as deleted under its id.
    let token = taken.body["accessToken"].as_str().unwrap();
    let old = app.get(&format!("/api/users/{}", alice.id), token).await;
    assert_eq!(old.body, json!({ "id": alice.id, "deleted": true }));
}
