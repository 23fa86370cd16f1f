use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn a_sent_message_is_stored_with_the_next_seq() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    let res = app.send(&alice, &group, "c-1", "  hello  ").await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let m = &res.body;
    assert!(m["id"].as_str().unwrap().parse::<i64>().is_ok(), "{m}");
    assert_eq!(m["conversationId"], group.as_str());
    assert_eq!(m["seq"], 1);
    assert_eq!(m["senderId"], alice.id.as_str());
    assert_eq!(m["clientMessageId"], "c-1");
    assert_eq!(m["body"], "hello");
    assert_eq!(m["attachments"], json!([]));
    assert_eq!(m["editedAt"], serde_json::Value::Null);
    assert_eq!(m["deleted"], false);
    assert!(m["createdAt"].as_str().unwrap().ends_with('Z'));

    let second = app.send(&bob, &group, "c-1", "hi").await;
    assert_eq!(
        second.body["seq"], 2,
        "the same client id from another sender is another message"
    );
    let conversation = app
        .get(&format!("/api/conversations/{group}"), &alice.token)
        .await;
    assert_eq!(conversation.body["lastSeq"], 2);
    assert_eq!(conversation.body["lastMessageAt"], second.body["createdAt"]);
}

#[actix_web::test]
async fn the_same_client_message_id_twice_stores_one_message() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    let first = app.send(&alice, &group, "retry-me", "once").await;
    let again = app.send(&alice, &group, "retry-me", "once").await;
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.body, again.body);
    let history = app
        .get(&format!("/api/conversations/{group}/messages"), &bob.token)
        .await;
    assert_eq!(history.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/conversations/{group}"), &bob.token)
            .await
            .body["lastSeq"],
        1
    );

    // Concurrent retries of one send also store it once.
    let tries = join_all((0..10).map(|_| app.send(&alice, &group, "burst", "x"))).await;
    let ids: BTreeSet<String> = tries
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "{:?}",
        tries.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(
        app.get(&format!("/api/conversations/{group}"), &bob.token)
            .await
            .body["lastSeq"],
        2
    );

    // Reusing a client id in another conversation is a conflict, not a silent success.
    let other = app.group(&alice, "other", &[&bob]).await;
    assert_error(
        &app.send(&alice, &other, "retry-me", "once").await,
        409,
        "conflict",
    );
}

#[actix_web::test]
async fn fifty_concurrent_sends_take_seqs_1_to_50_without_gaps() {
    let app = TestApp::spawn().await;
    // Five senders, ten sends each: within every user's burst of 20.
    let mut senders = Vec::new();
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        senders.push(app.register(name).await);
    }
    let others: Vec<_> = senders[1..].iter().collect();
    let group = app.group(&senders[0], "team", &others).await;
    let (alice, app) = (&senders[0], &app);
    let sends = (0..50).map(|i| {
        let sender = &senders[i % 5];
        let (group, client_id) = (group.clone(), format!("c-{i}"));
        async move {
            app.send(sender, &group, &client_id, &format!("message {i}"))
                .await
        }
    });
    let results = join_all(sends).await;
    let mut seqs: Vec<i64> = results
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.body["seq"].as_i64().unwrap()
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());

    let history = app
        .get(
            &format!("/api/conversations/{group}/messages?afterSeq=0&limit=100"),
            &alice.token,
        )
        .await;
    let stored: Vec<i64> = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(stored, (1..=50).collect::<Vec<_>>());
    assert_eq!(history.body["hasMore"], false);
}

#[actix_web::test]
async fn history_pages_by_seq_in_both_directions() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "notes", &[]).await;
    for i in 1..=7 {
        assert_eq!(
            app.send(&alice, &group, &format!("c{i}"), &format!("m{i}"))
                .await
                .status,
            201
        );
    }
    let seqs = |query: &'static str| {
        let path = format!("/api/conversations/{group}/messages{query}");
        let app = &app;
        let token = alice.token.clone();
        async move {
            let res = app.get(&path, &token).await;
            assert_eq!(res.status, 200, "{query}: {:?}", res.body);
            let seqs: Vec<i64> = res.body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["seq"].as_i64().unwrap())
                .collect();
            (seqs, res.body["hasMore"].as_bool().unwrap())
        }
    };
    assert_eq!(seqs("").await, (vec![1, 2, 3, 4, 5, 6, 7], false));
    assert_eq!(seqs("?limit=3").await, (vec![5, 6, 7], true));
    assert_eq!(seqs("?beforeSeq=5&limit=3").await, (vec![2, 3, 4], true));
    assert_eq!(seqs("?beforeSeq=2&limit=3").await, (vec![1], false));
    assert_eq!(seqs("?afterSeq=0&limit=3").await, (vec![1, 2, 3], true));
    assert_eq!(seqs("?afterSeq=4&limit=3").await, (vec![5, 6, 7], false));
    assert_eq!(seqs("?afterSeq=7").await, (vec![], false));

    for bad in [
        "?beforeSeq=3&afterSeq=1",
        "?limit=0",
        "?limit=101",
        "?afterSeq=-1",
        "?beforeSeq=0",
        "?afterSeq=x",
    ] {
        let res = app
            .get(
                &format!("/api/conversations/{group}/messages{bad}"),
                &alice.token,
            )
            .await;
        assert_error(&res, 400, "invalid");
    }
}

#[actix_web::test]
async fn bad_sends_get_the_contract_error_and_store_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let eve = app.register("eve").await;
    let group = app.group(&alice, "team", &[]).await;
    let path = format!("/api/conversations/{group}/messages");
    let send = |body: serde_json::Value| app.post(&path, &alice.token, body);

    for body in [
        json!({ "clientMessageId": "a", "body": "   " }),
        json!({ "clientMessageId": "", "body": "x" }),
        json!({ "clientMessageId": "x".repeat(65), "body": "x" }),
        json!({ "clientMessageId": "a", "body": 5 }),
        json!({ "clientMessageId": 5, "body": "x" }),
        json!({ "body": "x" }),
        json!({ "clientMessageId": "a" }),
        json!({ "clientMessageId": "a", "body": "x", "attachmentIds": "nope" }),
        json!({ "clientMessageId": "a", "body": "x", "attachmentIds": ["nope"] }),
        json!({ "clientMessageId": "a", "body": "x", "conversationId": uuid::Uuid::new_v4() }),
        json!(["a", "x"]),
    ] {
        assert_error(&send(body).await, 400, "invalid");
    }
    assert_error(
        &app.raw(
            "POST",
            &path,
            Some(&alice.token),
            "application/json",
            "{not json",
        )
        .await,
        400,
        "invalid",
    );
    assert_error(
        &send(json!({ "clientMessageId": "a", "body": "é".repeat(10_001) })).await,
        413,
        "too_large",
    );
    let six: Vec<String> = (0..6).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    assert_error(
        &send(json!({ "clientMessageId": "a", "body": "x", "attachmentIds": six })).await,
        400,
        "invalid",
    );
    assert_error(
        &send(
            json!({ "clientMessageId": "a", "body": "x", "attachmentIds": [uuid::Uuid::new_v4()] }),
        )
        .await,
        400,
        "invalid",
    );
    let huge = json!({ "clientMessageId": "a", "body": "x".repeat(70_000) });
    assert_error(&send(huge).await, 413, "too_large");
    assert_error(
        &app.send(&eve, &group, "a", "intruder").await,
        404,
        "not_found",
    );
    assert_error(
        &app.send(&alice, "not-an-id", "a", "x").await,
        404,
        "not_found",
    );
    assert_error(
        &app.request(
            "POST",
            &path,
            None,
            Some(json!({ "clientMessageId": "a", "body": "x" })),
        )
        .await,
        401,
        "unauthorized",
    );

    let history = app.get(&path, &alice.token).await;
    assert_eq!(history.body["messages"], json!([]));
    assert_eq!(
        app.get(&format!("/api/conversations/{group}"), &alice.token)
            .await
            .body["lastSeq"],
        0
    );

    // The longest body allowed, counted in characters, is accepted.
    let longest = send(json!({ "clientMessageId": "a", "body": "é".repeat(10_000) })).await;
    assert_eq!(longest.status, 201, "{:?}", longest.body["error"]);
    assert_eq!(longest.body["seq"], 1);
    assert_error(&app.get(&path, &eve.token).await, 404, "not_found");
}

/// HTTP sends go through the same send service as socket sends, metrics included.
#[actix_web::test]
async fn http_sends_count_in_the_send_metrics() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "team", &[]).await;
    let metric = |text: &str, name: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let scrape = || async {
        let res = app.request("GET", "/metrics", None, None).await;
        res.body.as_str().unwrap_or_default().to_string()
    };
    let before = scrape().await;
    assert_eq!(app.send(&alice, &group, "m-1", "one").await.status, 201);
    assert_eq!(app.send(&alice, &group, "m-2", "two").await.status, 201);
    // A retry is timed but is not a new message.
    assert_eq!(app.send(&alice, &group, "m-2", "two").await.status, 201);
    let after = scrape().await;
    let grew = |name| metric(&after, name) - metric(&before, name);
    assert_eq!(grew("confab_messages_committed_total"), 2.0, "{after}");
    assert_eq!(grew("confab_send_commit_seconds_count"), 3.0, "{after}");
}

/// The group-commit statement: one statement stores a batch in order, and leaves out, without
/// failing the rest, every message its sender may not send.
#[actix_web::test]
async fn one_batch_statement_stores_allowed_sends_in_order_and_skips_the_rest() {
    use confab::models::message::{insert_batch_if_allowed, UnsequencedBatch};
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    let dm = app.dm_id(&alice, &carol).await;
    assert_eq!(app.send(&alice, &group, "before", "one").await.status, 201);
    app.post(
        &format!("/api/blocks/{}", alice.id),
        &carol.token,
        json!({}),
    )
    .await;
    let id = |u: &crate::helpers::TestUser| uuid::Uuid::parse_str(&u.id).unwrap();
    let (group_id, dm_id) = (
        uuid::Uuid::parse_str(&group).unwrap(),
        uuid::Uuid::parse_str(&dm).unwrap(),
    );
    let mut batch = UnsequencedBatch::default();
    for (conversation, sender, client_id) in [
        (group_id, id(&bob), "b-1"),
        (group_id, id(&carol), "not-a-member"),
        (group_id, id(&alice), "a-1"),
        (dm_id, id(&alice), "blocked"),
        (group_id, id(&alice), "before"),
        (group_id, id(&bob), "b-2"),
    ] {
        batch.conversation_ids.push(conversation);
        batch.sender_ids.push(sender);
        batch.client_message_ids.push(client_id.to_string());
        batch.bodies.push(format!("body of {client_id}"));
        batch.created_ats.push(chrono::Utc::now());
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let stored = insert_batch_if_allowed(&mut conn, &batch).await.unwrap();
    let mut got: Vec<(String, i64)> = stored
        .iter()
        .map(|m| (m.client_message_id.clone(), m.seq))
        .collect();
    got.sort_by_key(|(_, seq)| *seq);
    let expected = [("b-1", 2), ("a-1", 3), ("b-2", 4)];
    assert_eq!(got, expected.map(|(c, s)| (c.to_string(), s)));

    // The conversation's seq and the senders' read marks moved with it.
    let conversation = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    assert_eq!(conversation.body["lastSeq"], 4);
    let read: BTreeSet<(String, i64)> = conversation.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let user = m["userId"].as_str().unwrap().to_string();
            (user, m["lastReadSeq"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        read,
        BTreeSet::from([(alice.id.clone(), 3), (bob.id.clone(), 4)])
    );

    // A client id used twice in one batch fails the statement, and it stores nothing.
    let mut twice = UnsequencedBatch::default();
    for _ in 0..2 {
        twice.conversation_ids.push(group_id);
        twice.sender_ids.push(id(&bob));
        twice.client_message_ids.push("same".into());
        twice.bodies.push("x".into());
        twice.created_ats.push(chrono::Utc::now());
    }
    assert!(insert_batch_if_allowed(&mut conn, &twice).await.is_err());
    let conversation = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    assert_eq!(conversation.body["lastSeq"], 4);
}

/// Sends that reach the writer together are stored by one statement, and each still gets its
/// own answer, a repeated client id included.
#[actix_web::test]
async fn concurrent_sends_share_one_statement_and_each_gets_its_answer() {
    use confab::messaging::SendRequest;
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let group = app.group(&alice, "team", &[&bob]).await;
    let request = |i: usize| SendRequest {
        conversation_id: uuid::Uuid::parse_str(&group).unwrap(),
        sender_id: uuid::Uuid::parse_str(if i.is_multiple_of(2) {
            &alice.id
        } else {
            &bob.id
        })
        .unwrap(),
        // Sends 38 and 39 repeat the client ids of sends 0 and 1.
        client_message_id: format!("c-{}", if (38..40).contains(&i) { i - 38 } else { i }),
        body: format!("message {i}"),
        attachment_ids: Vec::new(),
        reply_to_id: None,
    };
    let requests: Vec<_> = (0..40).map(request).collect();
    let batches = &app.state.metrics.send_batch_size;
    let (count, sum) = (batches.get_sample_count(), batches.get_sample_sum());
    let state = &app.state;
    let results = join_all(requests.iter().map(|r| state.messaging.commit(r))).await;
    let sent: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    // The writer took all 40 in its first statement, which failed on the repeated ids; it then
    // stored them one by one, so the 38 distinct sends took seqs 1..=38.
    assert_eq!(batches.get_sample_count() - count, 1);
    assert_eq!(batches.get_sample_sum() - sum, 40.0);
    let mut seqs: Vec<i64> = sent[..38].iter().map(|s| s.message.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=38).collect::<Vec<_>>());
    for (repeat, first) in [(38, 0), (39, 1)] {
        assert_eq!(sent[repeat].message.id, sent[first].message.id);
        assert!(sent[first].created && !sent[repeat].created);
    }
    // Without repeats, one statement stores the whole batch.
    let requests: Vec<_> = (100..130).map(request).collect();
    let (count, sum) = (batches.get_sample_count(), batches.get_sample_sum());
    let results = join_all(requests.iter().map(|r| state.messaging.commit(r))).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|s| s.created)));
    assert_eq!(batches.get_sample_count() - count, 1);
    assert_eq!(batches.get_sample_sum() - sum, 30.0);
    let conversation = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    assert_eq!(conversation.body["lastSeq"], 68);
}

/// The writers' connections always run the generic plan of a prepared statement, and it stores
/// what the planned-each-time statement would: several executions of both of the writers'
/// statements on one connection (PostgreSQL would plan the first five afresh) keep the seqs
/// and the refusals right. The rest of the server's connections keep PostgreSQL's own choice.
#[actix_web::test]
async fn the_writers_connections_run_generic_plans_that_store_correctly() {
    use confab::models::message::{
        insert_batch_if_allowed, insert_if_allowed, Unsequenced, UnsequencedBatch,
    };
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        plan_cache_mode: String,
    }
    let app = TestApp::spawn().await;
    let url = app.state.settings.database.url.expose();
    let writers = confab::db::build_writer_pool(url, 1, std::time::Duration::from_secs(5)).unwrap();
    let mut conn = writers.get().await.unwrap();
    let show = || diesel::sql_query("SHOW plan_cache_mode");
    let mode = show().get_result::<Mode>(&mut conn).await.unwrap();
    assert_eq!(mode.plan_cache_mode, "force_generic_plan");
    let mut other = app.state.pool.get().await.unwrap();
    let mode = show().get_result::<Mode>(&mut other).await.unwrap();
    assert_eq!(mode.plan_cache_mode, "auto");

    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = uuid::Uuid::parse_str(&app.group(&alice, "team", &[&bob]).await).unwrap();
    let id = |u: &crate::helpers::TestUser| uuid::Uuid::parse_str(&u.id).unwrap();
    let mut expected = 0;
    for round in 0..7 {
        for (sender, allowed) in [(id(&alice), true), (id(&carol), false)] {
            let client_id = format!("one-{round}");
            let new = Unsequenced {
                conversation_id: group,
                sender_id: sender,
                client_message_id: &client_id,
                body: "hi",
                created_at: chrono::Utc::now(),
                reply_to_id: None,
            };
            let stored = insert_if_allowed(&mut conn, new).await.unwrap();
            if allowed {
                expected += 1;
            }
            assert_eq!(stored.map(|m| m.seq), allowed.then_some(expected));
        }
        let mut batch = UnsequencedBatch::default();
        for (sender, client_id) in [
            (id(&bob), format!("b-{round}")),
            (id(&carol), format!("c-{round}")),
            (id(&alice), format!("a-{round}")),
        ] {
            batch.conversation_ids.push(group);
            batch.sender_ids.push(sender);
            batch.client_message_ids.push(client_id);
            batch.bodies.push("hi".into());
            batch.created_ats.push(chrono::Utc::now());
        }
        let mut seqs: Vec<(i64, String)> = insert_batch_if_allowed(&mut conn, &batch)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.client_message_id))
            .collect();
        seqs.sort();
        let want = vec![
            (expected + 1, format!("b-{round}")),
            (expected + 2, format!("a-{round}")),
        ];
        assert_eq!(seqs, want);
        expected += 2;
    }
    let conversation = app
        .get(&format!("/api/conversations/{group}"), &bob.token)
        .await;
    assert_eq!(conversation.body["lastSeq"], expected);
}

/// The rule of a send (the sender is a member, no block stands between the two people of a
/// DM, a client id is used once) as one table of cases, run against every path that stores a
/// message: `POST /api/conversations/{id}/messages`, `message:send` on a socket, the
/// group-commit writer's single and batch statements, and the full transaction.
mod send_rule {
    use confab::messaging::SendRequest;
    use confab::models::message::{
        insert_batch_if_allowed, insert_if_allowed, Unsequenced, UnsequencedBatch,
    };
    use serde_json::json;
    use uuid::Uuid;

    use crate::common::{In, Ws};
    use crate::helpers::{TestApp, TestUser};

    /// What a case must come to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Outcome {
        /// Stored with this seq.
        Stored(i64),
        /// A retry: the message stored earlier with this seq is the answer; nothing new.
        Earlier(i64),
        /// Refused with this code.
        Refused(&'static str),
    }

    struct Case {
        what: &'static str,
        conversation: Uuid,
        sender: Uuid,
        sender_token: String,
        client_id: &'static str,
        outcome: Outcome,
    }

    /// Users, conversations and one earlier message, then the cases in the order they run.
    async fn cases(app: &TestApp) -> Vec<Case> {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let dave = app.register("dave").await;
        let group = app.group(&alice, "team", &[&bob]).await;
        let blocked_dm = app.dm_id(&alice, &dave).await;
        let open_dm = app.dm_id(&alice, &bob).await;
        assert_eq!(
            app.send(&alice, &group, "earlier", "first").await.status,
            201
        );
        let res = app
            .post(&format!("/api/blocks/{}", alice.id), &dave.token, json!({}))
            .await;
        assert!(res.status < 300, "{:?}", res.body);
        let id = |s: &str| Uuid::parse_str(s).unwrap();
        let case = |what, conversation: &str, sender: &TestUser, client_id, outcome| Case {
            what,
            conversation: id(conversation),
            sender: id(&sender.id),
            sender_token: sender.token.clone(),
            client_id,
            outcome,
        };
        vec![
            case("a member sends", &group, &bob, "b-1", Outcome::Stored(2)),
            case(
                "not a member",
                &group,
                &carol,
                "c-1",
                Outcome::Refused("not_found"),
            ),
            case(
                "a block in a DM",
                &blocked_dm,
                &alice,
                "a-1",
                Outcome::Refused("forbidden"),
            ),
            case(
                "the blocked side of it",
                &blocked_dm,
                &dave,
                "d-1",
                Outcome::Refused("forbidden"),
            ),
            case("a retry", &group, &alice, "earlier", Outcome::Earlier(1)),
            case(
                "its id in another conversation",
                &open_dm,
                &alice,
                "earlier",
                Outcome::Refused("conflict"),
            ),
            case(
                "no such conversation",
                &Uuid::new_v4().to_string(),
                &alice,
                "a-2",
                Outcome::Refused("not_found"),
            ),
            case(
                "a DM without a block",
                &open_dm,
                &bob,
                "b-2",
                Outcome::Stored(1),
            ),
            case(
                "the member again",
                &group,
                &alice,
                "a-3",
                Outcome::Stored(3),
            ),
        ]
    }

    /// What an answer (an HTTP response or a socket ack) says happened.
    fn outcome_of(
        ok: bool,
        message: &serde_json::Value,
        code: &serde_json::Value,
        before: i64,
    ) -> Outcome {
        if !ok {
            return Outcome::Refused(match code.as_str() {
                Some("not_found") => "not_found",
                Some("forbidden") => "forbidden",
                Some("conflict") => "conflict",
                other => panic!("unexpected code {other:?}"),
            });
        }
        let seq = message["seq"].as_i64().unwrap();
        if seq <= before {
            Outcome::Earlier(seq)
        } else {
            Outcome::Stored(seq)
        }
    }

    /// The conversation's last seq, read from the database.
    async fn last_seq(app: &TestApp, conversation: Uuid) -> i64 {
        let mut conn = app.state.pool.get().await.unwrap();
        confab::models::conversation::latest(&mut conn, &[conversation])
            .await
            .unwrap()
            .first()
            .map_or(0, |(_, seq, _)| *seq)
    }

    #[actix_web::test]
    async fn over_http() {
        let app = TestApp::spawn().await;
        for case in cases(&app).await {
            let before = last_seq(&app, case.conversation).await;
            let res = app
                .post(
                    &format!("/api/conversations/{}/messages", case.conversation),
                    &case.sender_token,
                    json!({ "clientMessageId": case.client_id, "body": case.what }),
                )
                .await;
            let ok = res.status == 201;
            let got = outcome_of(ok, &res.body, &res.body["error"]["code"], before);
            assert_eq!(got, case.outcome, "{}: {:?}", case.what, res.body);
        }
    }

    #[actix_web::test]
    async fn over_a_socket() {
        let app = TestApp::spawn().await;
        let ws_url = format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            app.base.replacen("http", "ws", 1)
        );
        for (n, case) in cases(&app).await.into_iter().enumerate() {
            let mut ws = Ws::connect(&ws_url).await.unwrap();
            ws.next().await; // open
            ws.text(&format!(r#"40{{"token":"{}"}}"#, case.sender_token))
                .await;
            wait_for(&mut ws, r#"42["session:ready""#).await;
            let before = last_seq(&app, case.conversation).await;
            let send = json!(["message:send", {
                "conversationId": case.conversation,
                "clientMessageId": case.client_id,
                "body": case.what,
            }]);
            ws.text(&format!("42{n}{send}")).await;
            let ack = wait_for(&mut ws, &format!("43{n}[")).await;
            let ack: serde_json::Value =
                serde_json::from_str(&ack[2 + n.to_string().len()..]).unwrap();
            let ack = &ack[0];
            let ok = ack["ok"] == true;
            let got = outcome_of(ok, &ack["message"], &ack["error"]["code"], before);
            assert_eq!(got, case.outcome, "{}: {ack}", case.what);
        }
    }

    #[actix_web::test]
    async fn through_the_full_transaction_and_the_writer() {
        let app = TestApp::spawn().await;
        let state = &app.state;
        for case in cases(&app).await {
            let before = last_seq(&app, case.conversation).await;
            let request = SendRequest {
                conversation_id: case.conversation,
                sender_id: case.sender,
                client_message_id: case.client_id.to_string(),
                body: case.what.to_string(),
                attachment_ids: Vec::new(),
                reply_to_id: None,
            };
            let got = match state.messaging.commit(&request).await {
                Ok(sent) if sent.created => Outcome::Stored(sent.message.seq),
                Ok(sent) => Outcome::Earlier(sent.message.seq),
                Err(err) => {
                    let code = confab::error::ApiError::from(err).code;
                    outcome_of(false, &json!(null), &json!(code.as_str()), before)
                }
            };
            assert_eq!(got, case.outcome, "{}", case.what);
        }
    }

    /// The writer's statements only decide: each case is stored, or leaves everything untouched.
    #[actix_web::test]
    async fn in_the_single_and_the_batch_statement() {
        for batched in [false, true] {
            let app = TestApp::spawn().await;
            let cases = cases(&app).await;
            let mut conn = app.state.pool.get().await.unwrap();
            let stored: Vec<Option<i64>> = if batched {
                let mut batch = UnsequencedBatch::default();
                for case in &cases {
                    batch.conversation_ids.push(case.conversation);
                    batch.sender_ids.push(case.sender);
                    batch.client_message_ids.push(case.client_id.to_string());
                    batch.bodies.push(case.what.to_string());
                    batch.created_ats.push(chrono::Utc::now());
                }
                let rows = insert_batch_if_allowed(&mut conn, &batch).await.unwrap();
                cases
                    .iter()
                    .map(|case| {
                        rows.iter()
                            .find(|m| {
                                m.sender_id == case.sender && m.client_message_id == case.client_id
                            })
                            .map(|m| m.seq)
                    })
                    .collect()
            } else {
                let mut stored = Vec::new();
                for case in &cases {
                    let new = Unsequenced {
                        conversation_id: case.conversation,
                        sender_id: case.sender,
                        client_message_id: case.client_id,
                        body: case.what,
                        created_at: chrono::Utc::now(),
                        reply_to_id: None,
                    };
                    stored.push(
                        insert_if_allowed(&mut conn, new)
                            .await
                            .unwrap()
                            .map(|m| m.seq),
                    );
                }
                stored
            };
            for (case, stored) in cases.iter().zip(stored) {
                let expected = match case.outcome {
                    Outcome::Stored(seq) => Some(seq),
                    Outcome::Earlier(_) | Outcome::Refused(_) => None,
                };
                assert_eq!(stored, expected, "{} (batched: {batched})", case.what);
            }
        }
    }

    /// The next text frame that starts with `prefix`.
    async fn wait_for(ws: &mut Ws, prefix: &str) -> String {
        loop {
            match ws.data().await {
                In::Text(text) if text.starts_with(prefix) => return text,
                In::Closed(code) => panic!("closed ({code:?}) before {prefix}"),
                _ => {}
            }
        }
    }
}
