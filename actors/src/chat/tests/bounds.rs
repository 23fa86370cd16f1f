//! Bad input and floods: invalid events, sockets and users over their event bounds.

use super::*;

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
