//! The rule of a send (the sender is a member, no block stands between the two people of a
//! DM, a client id is used once) as one table of cases, run against every path that stores a
//! message: `POST /api/conversations/{id}/messages`, `message:send` on a socket, the
//! group-commit writer's single and batch statements, and the full transaction.

use confab::messaging::{commit, SendRequest};
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
    confab::models::conversation::last_seqs(&mut conn, &[conversation])
        .await
        .unwrap()
        .first()
        .map_or(0, |(_, seq)| *seq)
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
        let ack: serde_json::Value = serde_json::from_str(&ack[2 + n.to_string().len()..]).unwrap();
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
        };
        let got = match commit(&state.pool, &state.writer, &request).await {
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
