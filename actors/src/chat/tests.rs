//! The chat namespace on the in-memory doubles (`crate::testing`): its real handlers, actors
//! and rooms, no PostgreSQL, no Redis.

use std::time::Duration;

use serde_json::json;

use crate::chat::{ChatStore, ChatTimers, EventBounds, Limiter};
use crate::testing::{first_arg, is_ack, is_event, BridgeCall, TestClient, TestNode};

fn node() -> TestNode {
    TestNode::start(Limiter::new(1000.0, 1000.0), ChatTimers::default())
}

fn send(conversation: uuid::Uuid, client_id: &str, body: &str) -> serde_json::Value {
    json!({ "conversationId": conversation, "clientMessageId": client_id, "body": body })
}

/// Alice and Bob in one conversation, each with a connected client.
struct Pair {
    alice: uuid::Uuid,
    conversation: uuid::Uuid,
    a: TestClient,
    b: TestClient,
}

impl Pair {
    async fn connect(node: &TestNode) -> Pair {
        let (alice, alice_token) = node.store.user();
        let (bob, bob_token) = node.store.user();
        let conversation = node.store.conversation(&[alice, bob]);
        let a = node.connect(&alice_token).await.unwrap();
        let b = node.connect(&bob_token).await.unwrap();
        Pair {
            alice,
            conversation,
            a,
            b,
        }
    }
}

/// The index in the log of the first frame of `client` that `is`.
fn position(frames: &[(usize, String)], client: usize, is: impl Fn(&str) -> bool) -> Option<usize> {
    frames.iter().position(|(c, f)| *c == client && is(f))
}

#[actix::test]
async fn a_send_is_acked_then_sent_to_its_socket_then_fanned_out() {
    let node = node();
    let Pair {
        conversation, a, b, ..
    } = Pair::connect(&node).await;
    let id = a
        .emit("message:send", send(conversation, "c1", " hi "))
        .await;
    node.log
        .wait_for("message:new", |f| {
            position(f, b.index, |f| is_event(f, "message:new")).is_some()
        })
        .await;
    let frames = node.log.all();
    let ack = position(&frames, a.index, |f| is_ack(f, id)).unwrap();
    let sent = position(&frames, a.index, |f| is_event(f, "message:sent")).unwrap();
    let new = position(&frames, b.index, |f| is_event(f, "message:new")).unwrap();
    assert!(ack < sent && sent < new, "{frames:#?}");
    let acked = first_arg(&frames[ack].1);
    assert_eq!(acked["ok"], true);
    assert_eq!(acked["message"]["seq"], 1);
    assert_eq!(acked["message"]["body"], "hi");
    assert_eq!(first_arg(&frames[sent].1)["clientMessageId"], "c1");
    assert_eq!(first_arg(&frames[new].1), acked["message"]);
    // The sender is not told its own message:new; the other nodes are, with its seq.
    assert_eq!(
        position(&frames, a.index, |f| is_event(f, "message:new")),
        None
    );
    assert!(node.bridge.calls().iter().any(|call| matches!(
        call,
        BridgeCall::Publish(c, frame, Some(1)) if *c == conversation && is_event(frame, "message:new")
    )));
}

#[actix::test]
async fn a_retried_send_returns_the_first_message_and_emits_no_second_message_new() {
    let node = node();
    let Pair {
        conversation, a, b, ..
    } = Pair::connect(&node).await;
    let first = a
        .emit("message:send", send(conversation, "same", "one"))
        .await;
    let retry = a
        .emit("message:send", send(conversation, "same", "one"))
        .await;
    // A later message reaches bob after anything the retry could have published (rooms hand
    // message:new out in seq order).
    a.emit("message:send", send(conversation, "other", "two"))
        .await;
    node.log
        .wait_for("the later message:new", |f| {
            f.iter().any(|(c, f)| {
                *c == b.index && is_event(f, "message:new") && first_arg(f)["seq"] == 2
            })
        })
        .await;
    let frames = node.log.all();
    let acked = |id| {
        let at = position(&frames, a.index, |f| is_ack(f, id)).unwrap();
        first_arg(&frames[at].1)
    };
    assert_eq!(acked(retry)["message"], acked(first)["message"]);
    let news: Vec<_> = frames
        .iter()
        .filter(|(c, f)| *c == b.index && is_event(f, "message:new"))
        .map(|(_, f)| first_arg(f)["seq"].clone())
        .collect();
    assert_eq!(news, [json!(1), json!(2)]);
    let sents = frames
        .iter()
        .filter(|(c, f)| *c == a.index && is_event(f, "message:sent"))
        .count();
    assert_eq!(sents, 3, "a retry is still told message:sent");
    assert_eq!(node.store.stored(conversation), 2);
}

#[actix::test]
async fn sends_over_the_rate_are_refused_with_a_wait_and_store_nothing() {
    let node = TestNode::start(Limiter::new(0.5, 2.0), ChatTimers::default());
    let (alice, alice_token) = node.store.user();
    let conversation = node.store.conversation(&[alice]);
    let a = node.connect(&alice_token).await.unwrap();
    let ids = [
        a.emit("message:send", send(conversation, "1", "x")).await,
        a.emit("message:send", send(conversation, "2", "x")).await,
        a.emit("message:send", send(conversation, "3", "x")).await,
    ];
    // An invalid send spends nothing, and is refused as invalid, not as too fast.
    let invalid = a.emit("message:send", send(conversation, "4", "  ")).await;
    a.emit_without_ack("message:send", send(conversation, "5", "x"))
        .await;
    node.log
        .wait_for("request:error", |f| {
            position(f, a.index, |f| is_event(f, "request:error")).is_some()
        })
        .await;
    let frames = node.log.all();
    let ack = |id| first_arg(&frames[position(&frames, a.index, |f| is_ack(f, id)).unwrap()].1);
    assert_eq!(ack(ids[0])["ok"], true);
    assert_eq!(ack(ids[1])["ok"], true);
    let refused = ack(ids[2]);
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["code"], "rate_limited");
    let wait = refused["error"]["retryAfterMs"].as_u64().unwrap();
    assert!((1..=2000).contains(&wait), "{wait}");
    assert_eq!(ack(invalid)["error"]["code"], "invalid");
    let error = position(&frames, a.index, |f| is_event(f, "request:error")).unwrap();
    let error = first_arg(&frames[error].1);
    assert_eq!(
        (error["event"].as_str(), error["code"].as_str()),
        (Some("message:send"), Some("rate_limited"))
    );
    assert!(
        error["retryAfterMs"].as_u64().is_some_and(|ms| ms >= 1),
        "{error}"
    );
    assert_eq!(node.store.stored(conversation), 2);
    // The send service counts its own refusals (the server's `Messaging`); the namespace
    // passing them on must not count them again.
    assert_eq!(node.publisher.stats().rate_limited_total(), 0);
}

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
async fn bad_events_get_invalid_and_other_sockets_hear_nothing() {
    let node = node();
    let Pair {
        conversation, a, b, ..
    } = Pair::connect(&node).await;
    let cases = [
        a.emit("message:sned", json!({})).await,
        a.emit("message:send", json!([1, 2])).await,
        a.emit(
            "message:send",
            json!({ "conversationId": conversation, "body": 5 }),
        )
        .await,
        a.emit(
            "sync:request",
            json!({ "conversationId": conversation, "afterSeq": -1 }),
        )
        .await,
        a.emit(
            "typing:start",
            json!({ "conversationId": uuid::Uuid::new_v4() }),
        )
        .await,
    ];
    let last = *cases.last().unwrap();
    node.log
        .wait_for("the last ack", |f| {
            position(f, a.index, |f| is_ack(f, last)).is_some()
        })
        .await;
    let frames = node.log.all();
    let codes: Vec<_> = cases
        .iter()
        .map(|id| {
            let at = position(&frames, a.index, |f| is_ack(f, *id)).unwrap();
            first_arg(&frames[at].1)["error"]["code"].clone()
        })
        .collect();
    assert_eq!(
        codes,
        ["invalid", "invalid", "invalid", "invalid", "not_found"].map(|c| json!(c))
    );
    let arrival = |f: &str| {
        f.starts_with('0') || is_event(f, "session:ready") || is_event(f, "presence:update")
    };
    let to_bob: Vec<_> = frames
        .iter()
        .filter(|(c, f)| *c == b.index && !arrival(f))
        .collect();
    assert!(to_bob.is_empty(), "{to_bob:?}");
    assert_eq!(node.store.stored(conversation), 0);
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

#[actix::test]
async fn a_socket_sending_faster_than_it_is_answered_is_told_to_wait() {
    let bounds = EventBounds {
        in_flight: 2,
        waiting: 3,
        ..EventBounds::default()
    };
    let node = TestNode::start_with(Limiter::new(1000.0, 1000.0), ChatTimers::default(), bounds);
    let Pair { a, .. } = Pair::connect(&node).await;
    let query = json!({ "userIds": [] });
    let ids =
        futures_util::future::join_all((0..10).map(|_| a.emit("presence:query", query.clone())))
            .await;
    node.log
        .wait_for("every ack", |f| {
            ids.iter()
                .all(|id| position(f, a.index, |f| is_ack(f, *id)).is_some())
        })
        .await;
    let frames = node.log.all();
    let acks: Vec<_> = ids
        .iter()
        .map(|id| first_arg(&frames[position(&frames, a.index, |f| is_ack(f, *id)).unwrap()].1))
        .collect();
    let busy: Vec<_> = acks.iter().filter(|ack| ack["ok"] == false).collect();
    // Two handled at once, three waiting their turn, the other five told to wait.
    assert_eq!(busy.len(), 5, "{acks:?}");
    for ack in busy {
        assert_eq!(ack["error"]["code"], "rate_limited");
        assert!(ack["error"]["retryAfterMs"].as_u64().is_some());
    }
    // Once they are done, the socket may send again.
    let later = a.emit("presence:query", query).await;
    node.log
        .wait_for("the later ack", |f| {
            position(f, a.index, |f| is_ack(f, later)).is_some()
        })
        .await;
    let frames = node.log.all();
    let at = position(&frames, a.index, |f| is_ack(f, later)).unwrap();
    assert_eq!(first_arg(&frames[at].1)["ok"], true);
}

#[actix::test]
async fn every_event_of_a_user_spends_one_budget_across_their_sockets() {
    let bounds = EventBounds {
        per_user_rate: 0.001,
        per_user_burst: 4.0,
        ..EventBounds::default()
    };
    let node = TestNode::start_with(Limiter::new(1000.0, 1000.0), ChatTimers::default(), bounds);
    let (_, alice_token) = node.store.user();
    let (_, bob_token) = node.store.user();
    let a = node.connect(&alice_token).await.unwrap();
    let second = node.connect(&alice_token).await.unwrap();
    let b = node.connect(&bob_token).await.unwrap();
    let query = json!({ "userIds": [] });
    // Four events of one kind or another from a's two sockets use the burst up...
    let mut ids = vec![
        (a.index, a.emit("presence:query", query.clone()).await),
        (
            second.index,
            second.emit("presence:query", query.clone()).await,
        ),
        (
            a.index,
            a.emit(
                "typing:stop",
                json!({ "conversationId": uuid::Uuid::nil() }),
            )
            .await,
        ),
        (
            second.index,
            second
                .emit(
                    "sync:request",
                    json!({ "conversationId": uuid::Uuid::nil(), "afterSeq": 0 }),
                )
                .await,
        ),
    ];
    // ...so the fifth, on either socket, is told when to retry; b's budget is its own.
    ids.push((
        second.index,
        second.emit("presence:query", query.clone()).await,
    ));
    let other = b.emit("presence:query", query).await;
    node.log
        .wait_for("every ack", |f| {
            ids.iter()
                .all(|(client, id)| position(f, *client, |f| is_ack(f, *id)).is_some())
                && position(f, b.index, |f| is_ack(f, other)).is_some()
        })
        .await;
    let frames = node.log.all();
    let ack = |client: usize, id: u64| {
        first_arg(&frames[position(&frames, client, |f| is_ack(f, id)).unwrap()].1)
    };
    for (client, id) in &ids[..4] {
        assert_ne!(ack(*client, *id)["error"]["code"], "rate_limited");
    }
    let (client, id) = ids[4];
    assert_eq!(ack(client, id)["error"]["code"], "rate_limited");
    assert!(ack(client, id)["error"]["retryAfterMs"].as_u64().unwrap() > 0);
    assert_eq!(ack(b.index, other)["ok"], true);
}
