//! Durability: the server is killed with SIGKILL in the middle of a stream of sends, edits,
//! reactions and deletes; after a restart every acknowledged message is in PostgreSQL exactly
//! once, with gapless seqs, every acknowledged change is there, and revs are gapless.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use common::Node;
use serde_json::{json, Value};

async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> Option<(u16, Value)> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut req = client.request(method.parse().unwrap(), format!("{base}/api{path}"));
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut res = req.send_json(&body).await.ok()?;
    let bytes = res.body().limit(16 << 20).await.ok()?;
    Some((
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// The Conversation object of `id`, as its member with `token` sees it.
async fn conversation_of(base: &str, token: &str, id: &str) -> Value {
    let path = format!("/conversations/{id}");
    let (status, conversation) = call(base, "GET", &path, Some(token), Value::Null)
        .await
        .unwrap();
    assert_eq!(status, 200, "{conversation}");
    conversation
}

#[actix_web::test]
async fn every_acknowledged_send_survives_sigkill_exactly_once() {
    let url = common::fresh_database_url();
    let _guard = common::DropDatabase(url.clone());
    let node = Node::start(&url, &[]).await;
    let (status, registered) = call(
        &node.base,
        "POST",
        "/auth/register",
        None,
        json!({ "email": "d@example.com", "username": "durable", "password": "correct horse battery" }),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let token = registered["accessToken"].as_str().unwrap().to_string();
    let (_, group) = call(
        &node.base,
        "POST",
        "/conversations",
        Some(&token),
        json!({ "kind": "group", "title": "d" }),
    )
    .await
    .unwrap();
    let conversation = group["id"].as_str().unwrap().to_string();

    // Four senders stream messages, editing each and reacting to it once it is acknowledged,
    // and deleting every fourth after that; the node is killed once 300 sends were
    // acknowledged.
    let acked: Rc<RefCell<BTreeMap<String, (String, i64)>>> = Rc::default();
    let attempted: Rc<RefCell<HashSet<String>>> = Rc::default();
    let edited: Rc<RefCell<HashSet<String>>> = Rc::default();
    let reacted: Rc<RefCell<HashSet<String>>> = Rc::default();
    let deleted: Rc<RefCell<HashSet<String>>> = Rc::default();
    let deleting: Rc<RefCell<HashSet<String>>> = Rc::default();
    let senders = (0..4).map(|sender| {
        let (base, token, conversation) = (node.base.clone(), token.clone(), conversation.clone());
        let (acked, attempted) = (acked.clone(), attempted.clone());
        let (edited, reacted, deleted) = (edited.clone(), reacted.clone(), deleted.clone());
        let deleting = deleting.clone();
        actix_web::rt::spawn(async move {
            for i in 0.. {
                let client_id = format!("s{sender}-{i}");
                attempted.borrow_mut().insert(client_id.clone());
                let body = json!({ "clientMessageId": client_id, "body": format!("message {i}") });
                let path = format!("/conversations/{conversation}/messages");
                match call(&base, "POST", &path, Some(&token), body).await {
                    Some((201, message)) => {
                        let id = message["id"].as_str().unwrap().to_string();
                        acked
                            .borrow_mut()
                            .insert(client_id, (id.clone(), message["seq"].as_i64().unwrap()));
                        let path = format!("/conversations/{conversation}/messages/{id}");
                        let body = json!({ "body": format!("edited {id}") });
                        match call(&base, "PATCH", &path, Some(&token), body).await {
                            Some((200, _)) => edited.borrow_mut().insert(id.clone()),
                            _ => break,
                        };
                        let reaction = format!("{path}/reactions/%F0%9F%91%8D");
                        match call(&base, "PUT", &reaction, Some(&token), Value::Null).await {
                            Some((200, _)) => reacted.borrow_mut().insert(id.clone()),
                            _ => break,
                        };
                        if i % 4 == 3 {
                            // A delete cut off by the kill may or may not have committed.
                            deleting.borrow_mut().insert(id.clone());
                            match call(&base, "DELETE", &path, Some(&token), Value::Null).await {
                                Some((200, _)) => deleted.borrow_mut().insert(id),
                                _ => break,
                            };
                        }
                    }
                    _ => break,
                }
            }
        })
    });
    let senders: Vec<_> = senders.collect();
    while acked.borrow().len() < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.kill();
    for sender in senders {
        let _ = sender.await;
    }
    let acked = acked.borrow().clone();
    assert!(acked.len() >= 300);

    // Restart on the same database and read everything back.
    let node = Node::start(&url, &[]).await;
    let mut stored: Vec<Value> = Vec::new();
    loop {
        let after = stored.last().map_or(0, |m| m["seq"].as_i64().unwrap());
        let path = format!("/conversations/{conversation}/messages?afterSeq={after}&limit=100");
        let (status, page) = call(&node.base, "GET", &path, Some(&token), Value::Null)
            .await
            .unwrap();
        assert_eq!(status, 200, "{page}");
        stored.extend(page["messages"].as_array().unwrap().iter().cloned());
        if !page["hasMore"].as_bool().unwrap() {
            break;
        }
    }
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "seqs have no gap"
    );
    let mut by_client: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for m in &stored {
        by_client
            .entry(m["clientMessageId"].as_str().unwrap().to_string())
            .or_default()
            .push((
                m["id"].as_str().unwrap().to_string(),
                m["seq"].as_i64().unwrap(),
            ));
    }
    for (client_id, first) in &acked {
        assert_eq!(
            by_client.get(client_id),
            Some(&vec![first.clone()]),
            "{client_id} stored once, as acked"
        );
    }
    // Every acknowledged edit, reaction and delete is there.
    let by_id: BTreeMap<&str, &Value> = stored
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m))
        .collect();
    let deleted = deleted.borrow().clone();
    for id in &deleted {
        let tombstone = by_id[id.as_str()];
        assert_eq!(tombstone["deleted"], true, "delete of {id} kept");
        assert_eq!(tombstone["body"], "");
        assert_eq!(tombstone["reactions"], json!([]));
    }
    // An unacknowledged delete that committed leaves a tombstone; otherwise the edit and the
    // reaction are there.
    let deleting = deleting.borrow().clone();
    let kept = |id: &str| !(deleting.contains(id) && by_id[id]["deleted"] == true);
    for m in stored.iter().filter(|m| m["deleted"] == true) {
        let id = m["id"].as_str().unwrap();
        assert!(deleting.contains(id), "{id} deleted, never asked to be");
    }
    for id in edited.borrow().difference(&deleted).filter(|id| kept(id)) {
        assert_eq!(
            by_id[id.as_str()]["body"],
            format!("edited {id}"),
            "edit of {id} kept"
        );
    }
    for id in reacted.borrow().difference(&deleted).filter(|id| kept(id)) {
        assert_eq!(
            by_id[id.as_str()]["reactions"],
            json!([{ "emoji": "👍", "userIds": [registered["user"]["id"]] }]),
            "reaction to {id} kept"
        );
    }
    // Revs are gapless: each committed change took exactly one, none twice. A tombstone was
    // edited and reacted to first (a delete is asked for only after both were acknowledged).
    let changes_stored: usize = stored
        .iter()
        .map(|m| {
            if m["deleted"] == true {
                3
            } else {
                usize::from(!m["editedAt"].is_null()) + usize::from(m["reactions"] != json!([]))
            }
        })
        .sum();
    let before_retries = conversation_of(&node.base, &token, &conversation).await;
    let last_rev = before_retries["lastRev"].as_i64().unwrap();
    assert_eq!(
        last_rev as usize,
        stored.len() + changes_stored,
        "one rev per committed change"
    );
    let revs: HashSet<i64> = stored.iter().map(|m| m["rev"].as_i64().unwrap()).collect();
    assert_eq!(revs.len(), stored.len(), "no rev held twice");
    assert!(revs.iter().all(|rev| (1..=last_rev).contains(rev)));

    // Anything stored was attempted; a retry of an unacknowledged send stores it at most once.
    let attempted = attempted.borrow().clone();
    assert!(by_client.keys().all(|id| attempted.contains(id)));
    let unacked: Vec<&String> = attempted
        .iter()
        .filter(|id| !acked.contains_key(*id))
        .collect();
    for client_id in &unacked {
        let body = json!({ "clientMessageId": client_id, "body": "retry" });
        let path = format!("/conversations/{conversation}/messages");
        let (status, _) = call(&node.base, "POST", &path, Some(&token), body)
            .await
            .unwrap();
        assert_eq!(status, 201);
        let (status, _) = call(
            &node.base,
            "POST",
            &path,
            Some(&token),
            json!({ "clientMessageId": client_id, "body": "again" }),
        )
        .await
        .unwrap();
        assert_eq!(status, 201);
    }
    let conversation_now = conversation_of(&node.base, &token, &conversation).await;
    let expected = by_client.len()
        + unacked
            .iter()
            .filter(|id| !by_client.contains_key(**id))
            .count();
    assert_eq!(
        conversation_now["lastSeq"].as_i64().unwrap(),
        expected as i64
    );
    println!(
        "acknowledged {} sends, {} edits, {} reactions, {} deletes before SIGKILL, {} stored, {} in flight retried; every acknowledged change found",
        acked.len(),
        edited.borrow().len(),
        reacted.borrow().len(),
        deleted.len(),
        stored.len(),
        unacked.len()
    );
    drop(node);
}
