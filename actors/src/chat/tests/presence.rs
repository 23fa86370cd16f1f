//! Rooms and presence: members joining and leaving, typing, receipts, `presence:query`.

use super::*;

#[actix::test]
async fn members_added_and_removed_join_and_leave_the_room_on_every_node() {
    let node = node();
    let (alice, alice_token) = node.store.user();
    let (bob, bob_token) = node.store.user();
    let conversation = node.store.conversation(&[alice]);
    let a = node.connect(&alice_token).await.unwrap();
    let b = node.connect(&bob_token).await.unwrap();
    node.store.set_member(conversation, bob, true);
    let view = serde_json::value::to_raw_value(&json!({ "id": conversation })).unwrap();
    node.publisher
        .conversation_added(bob, conversation, &view)
        .await;
    a.emit("message:send", send(conversation, "after-add", "hello bob"))
        .await;
    node.log
        .wait_for("message:new after the add", |f| {
            position(f, b.index, |f| is_event(f, "message:new")).is_some()
        })
        .await;
    let frames = node.log.all();
    let added = position(&frames, b.index, |f| is_event(f, "conversation:added")).unwrap();
    assert_eq!(
        first_arg(&frames[added].1)["conversation"]["id"],
        json!(conversation)
    );

    node.store.set_member(conversation, bob, false);
    node.publisher.conversation_removed(bob, conversation).await;
    // Bob's own sends are refused now; alice's next one reaches alice's room but not bob.
    let refused = b.emit("message:send", send(conversation, "b1", "x")).await;
    let marker = a
        .emit("message:send", send(conversation, "after-remove", "gone"))
        .await;
    node.log
        .wait_for("both acks", |f| {
            position(f, b.index, |f| is_ack(f, refused)).is_some()
                && position(f, a.index, |f| is_ack(f, marker)).is_some()
        })
        .await;
    let frames = node.log.all();
    assert!(position(&frames, b.index, |f| is_event(f, "conversation:removed")).is_some());
    let at = position(&frames, b.index, |f| is_ack(f, refused)).unwrap();
    assert_eq!(first_arg(&frames[at].1)["error"]["code"], "not_found");
    let news = frames
        .iter()
        .filter(|(c, f)| *c == b.index && is_event(f, "message:new"))
        .count();
    assert_eq!(news, 1);
    // Bob's sockets on other nodes are told both changes.
    let users: Vec<_> = node
        .bridge
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            BridgeCall::User(user, event) if user == bob => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(users.len(), 2);
    assert!(users[0].contains("\"kind\":\"added\"") && users[1].contains("\"kind\":\"removed\""));
}

#[actix::test]
async fn typing_is_relayed_and_stops_by_itself_after_the_configured_timeout() {
    let timers = ChatTimers {
        typing_timeout: Duration::from_millis(50),
        ..ChatTimers::default()
    };
    let node = TestNode::start(Limiter::new(10.0, 10.0), timers);
    let Pair {
        alice,
        conversation,
        a,
        b,
        ..
    } = Pair::connect(&node).await;
    a.emit("typing:start", json!({ "conversationId": conversation }))
        .await;
    node.log
        .wait_for("the server's typing:stop", |f| {
            position(f, b.index, |f| is_event(f, "typing:stop")).is_some()
        })
        .await;
    let frames = node.log.all();
    let start = position(&frames, b.index, |f| is_event(f, "typing:start")).unwrap();
    let stop = position(&frames, b.index, |f| is_event(f, "typing:stop")).unwrap();
    assert!(start < stop);
    let data = first_arg(&frames[stop].1);
    assert_eq!(
        data,
        json!({ "conversationId": conversation, "userId": alice })
    );
    assert_eq!(
        position(&frames, a.index, |f| is_event(f, "typing:start")),
        None
    );
}

#[actix::test]
async fn receipts_move_watermarks_and_presence_counts_other_nodes() {
    let node = node();
    let (alice, alice_token) = node.store.user();
    let (bob, bob_token) = node.store.user();
    let (carol, _) = node.store.user();
    let conversation = node.store.conversation(&[alice, bob]);
    // Presence answers for people one shares a conversation with.
    node.store.conversation(&[alice, carol]);
    let a = node.connect(&alice_token).await.unwrap();
    let b = node.connect(&bob_token).await.unwrap();
    a.emit("message:send", send(conversation, "m", "x")).await;
    let receipt = b
        .emit(
            "receipt:read",
            json!({ "conversationId": conversation, "seq": 9 }),
        )
        .await;
    node.directory.set_elsewhere(carol, true);
    let query = a
        .emit(
            "presence:query",
            json!({ "userIds": [bob, carol, uuid::Uuid::new_v4()] }),
        )
        .await;
    node.log
        .wait_for("receipt:updated and the presence ack", |f| {
            position(f, a.index, |f| is_event(f, "receipt:updated")).is_some()
                && position(f, a.index, |f| is_ack(f, query)).is_some()
        })
        .await;
    let frames = node.log.all();
    let at = position(&frames, b.index, |f| is_ack(f, receipt)).unwrap();
    let acked = first_arg(&frames[at].1);
    assert_eq!(
        (
            acked["lastDeliveredSeq"].as_i64(),
            acked["lastReadSeq"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let at = position(&frames, a.index, |f| is_event(f, "receipt:updated")).unwrap();
    assert_eq!(first_arg(&frames[at].1)["userId"], json!(bob));
    let at = position(&frames, a.index, |f| is_ack(f, query)).unwrap();
    let online: Vec<_> = first_arg(&frames[at].1)["presence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["online"].clone())
        .collect();
    assert_eq!(online, [json!(true), json!(true), json!(false)]);
    assert!(node.directory.told().contains(&(alice, true)));
}

/// `presence:query` reads storage once for users it has not asked about lately; asking
/// again is answered from memory, until the asker's conversations change. Blocks apply at once.
#[actix::test]
async fn asking_again_about_the_same_users_costs_no_storage_call() {
    let node = node();
    let (alice, alice_token) = node.store.user();
    let (bob, _) = node.store.user();
    let (carol, _) = node.store.user();
    node.store.conversation(&[alice, bob]);
    node.store
        .set_last_seen(carol, std::time::SystemTime::now())
        .await
        .unwrap();
    let a = node.connect(&alice_token).await.unwrap();
    let ask = || async {
        let id = a
            .emit("presence:query", json!({ "userIds": [bob, carol] }))
            .await;
        node.log
            .wait_for("the presence ack", |f| {
                position(f, a.index, |f| is_ack(f, id)).is_some()
            })
            .await;
        let frames = node.log.all();
        let at = position(&frames, a.index, |f| is_ack(f, id)).unwrap();
        first_arg(&frames[at].1)["presence"].clone()
    };
    let carol_seen = |presence: &serde_json::Value| presence[1]["lastSeenAt"].clone();
    let reads = node.store.last_seen_reads();
    let first = ask().await;
    assert_eq!(first[0]["userId"], json!(bob));
    assert_eq!(
        carol_seen(&first),
        json!(null),
        "carol shares nothing with alice"
    );
    assert_eq!(node.store.last_seen_reads(), reads + 1);
    assert_eq!(ask().await, first);
    assert_eq!(
        node.store.last_seen_reads(),
        reads + 1,
        "answered from memory"
    );

    // Alice and carol now share a conversation: alice's socket reads again.
    let shared = node.store.conversation(&[alice, carol]);
    let view = serde_json::value::to_raw_value(&json!({ "id": shared })).unwrap();
    node.publisher
        .conversation_added(alice, shared, &view)
        .await;
    let after_add = ask().await;
    assert_eq!(carol_seen(&after_add), json!("seen"));
    assert_eq!(node.store.last_seen_reads(), reads + 2);

    // Carol blocks alice: hidden at once, with no read.
    node.publisher.block_changed(carol, alice, true).await;
    let after_block = ask().await;
    assert_eq!(carol_seen(&after_block), json!(null));
    assert_eq!(after_block[1]["online"], json!(false));
    assert_eq!(node.store.last_seen_reads(), reads + 2);
}

#[actix::test]
async fn renewed_typing_reaches_the_others_once_per_period() {
    let node = node();
    let Pair {
        conversation, a, b, ..
    } = Pair::connect(&node).await;
    let typing = json!({ "conversationId": conversation });
    for _ in 0..5 {
        a.emit("typing:start", typing.clone()).await;
    }
    a.emit("typing:stop", typing).await;
    node.log
        .wait_for("typing:stop", |f| {
            position(f, b.index, |f| is_event(f, "typing:stop")).is_some()
        })
        .await;
    let starts = node
        .log
        .all()
        .iter()
        .filter(|(c, f)| *c == b.index && is_event(f, "typing:start"))
        .count();
    assert_eq!(starts, 1);
}
