//! Sends: the contract's order of ack, `message:sent` and `message:new`, retries, the sending rate.

use super::*;

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
    // The sender's frames are queued first, in the message's turn; which of two sessions
    // writes first is the scheduler's choice.
    assert!(ack < sent, "{frames:#?}");
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
