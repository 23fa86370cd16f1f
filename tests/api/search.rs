//! `GET /api/search` against the real database: the web-search syntax, prefixes, Unicode,
//! highlights in UTF-16 units, paging, membership, blocks, edits and deletes, bad input.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp, TestUser};

async fn search(app: &TestApp, user: &TestUser, query: &str) -> crate::helpers::Resp {
    app.get(&format!("/api/search?{query}"), &user.token).await
}

fn q(text: &str) -> String {
    format!("q={}", confab::storage::percent_encode(text))
}

/// The bodies found for `text`, newest first.
async fn bodies(app: &TestApp, user: &TestUser, text: &str) -> Vec<String> {
    let res = search(app, user, &q(text)).await;
    assert_eq!(res.status, 200, "{text}: {:?}", res.body);
    res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"]["body"].as_str().unwrap().to_string())
        .collect()
}

async fn say(app: &TestApp, user: &TestUser, conversation: &str, body: &str) -> Value {
    let res = app
        .send(user, conversation, &uuid::Uuid::new_v4().to_string(), body)
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    res.body
}

#[actix_web::test]
async fn words_phrases_exclusions_or_and_prefixes() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    for body in [
        "the deployment went fine",
        "release notes for the deploy",
        "draft release notes",
        "notes about the release",
        "nothing to see",
    ] {
        say(&app, &alice, &group, body).await;
    }
    assert_eq!(
        bodies(&app, &bob, "deploy").await,
        ["release notes for the deploy", "the deployment went fine"],
        "one word is also a prefix, newest first"
    );
    assert_eq!(
        bodies(&app, &bob, "\"release notes\"").await,
        ["draft release notes", "release notes for the deploy"]
    );
    assert_eq!(
        bodies(&app, &bob, "\"release notes\" -draft").await,
        ["release notes for the deploy"]
    );
    assert_eq!(
        bodies(&app, &bob, "nothing or deployment").await,
        ["nothing to see", "the deployment went fine"]
    );
    assert_eq!(
        bodies(&app, &bob, "release about").await,
        ["notes about the release"]
    );
    assert!(bodies(&app, &bob, "deploy went missing").await.is_empty());
    // Results carry the Message, a snippet and the matched words' ranges.
    let res = search(&app, &bob, &q("went")).await;
    let result = &res.body["results"][0];
    assert_eq!(result["snippet"], "the deployment went fine");
    assert_eq!(result["highlights"], json!([[15, 19]]));
    assert_eq!(result["message"]["conversationId"], group.as_str());
    assert!(result["message"]["seq"].is_number());
    assert_eq!(res.body["nextCursor"], Value::Null);
}

#[actix_web::test]
async fn unicode_is_found_word_for_word_and_highlighted_in_utf16_units() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    say(&app, &alice, &group, "🎉🎉 Un Café près de la gare").await;
    say(&app, &alice, &group, "Привет, МИР!").await;
    say(&app, &alice, &group, "東京タワー に 行った 😀").await;
    say(&app, &alice, &group, "un cafe sans accent").await;

    assert_eq!(
        bodies(&app, &alice, "café").await,
        ["🎉🎉 Un Café près de la gare"],
        "accents count"
    );
    assert_eq!(
        bodies(&app, &alice, "мир").await,
        ["Привет, МИР!"],
        "case folds in every script"
    );
    assert_eq!(
        bodies(&app, &alice, "東京").await,
        ["東京タワー に 行った 😀"],
        "a prefix of a CJK run"
    );
    assert_eq!(
        bodies(&app, &alice, "行った").await,
        ["東京タワー に 行った 😀"]
    );
    assert!(
        bodies(&app, &alice, "タワー").await.is_empty(),
        "CJK is split only on spaces"
    );

    let res = search(&app, &alice, &q("café or gare")).await;
    let result = &res.body["results"][0];
    let snippet = result["snippet"].as_str().unwrap();
    let units: Vec<u16> = snippet.encode_utf16().collect();
    let cut: Vec<String> = result["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (a, b) = (
                r[0].as_u64().unwrap() as usize,
                r[1].as_u64().unwrap() as usize,
            );
            String::from_utf16(&units[a..b]).unwrap()
        })
        .collect();
    assert_eq!(cut, ["Café", "gare"]);
    assert_eq!(
        result["highlights"][0],
        json!([8, 12]),
        "each emoji is two UTF-16 units"
    );
    let res = search(&app, &alice, &q("東京")).await;
    assert_eq!(res.body["results"][0]["highlights"], json!([[0, 5]]));
}

#[actix_web::test]
async fn pages_hold_every_match_once() {
    let app = TestApp::spawn_with(|settings| settings.limits.send_burst = 100.0).await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    for n in 0..23 {
        say(&app, &alice, &group, &format!("match number {n}")).await;
        say(&app, &alice, &group, &format!("other {n}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = format!("{}&limit=5", q("match"));
        if let Some(before) = &cursor {
            query.push_str(&format!("&beforeId={before}"));
        }
        let res = search(&app, &alice, &query).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let page = res.body["results"].as_array().unwrap();
        assert!(page.len() <= 5);
        seen.extend(
            page.iter()
                .map(|r| r["message"]["body"].as_str().unwrap().to_string()),
        );
        match res.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..23).rev().map(|n| format!("match number {n}")).collect();
    assert_eq!(seen, expected, "newest first, no duplicates, no holes");
}

#[actix_web::test]
async fn only_your_conversations_live_messages_and_unblocked_senders() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let ours = app.group(&alice, "ours", &[&bob, &carol]).await;
    let theirs = app.group(&carol, "theirs", &[]).await;
    let from_carol = say(&app, &carol, &ours, "secret plans from carol").await;
    say(&app, &carol, &theirs, "secret plans elsewhere").await;
    let mine = say(&app, &alice, &ours, "secret plans draft").await;
    let mut found: HashSet<String> = bodies(&app, &bob, "secret").await.into_iter().collect();
    assert_eq!(
        found,
        HashSet::from([
            "secret plans from carol".into(),
            "secret plans draft".into()
        ])
    );

    // One conversation; one you are not in is 404, as everywhere.
    let res = search(&app, &bob, &format!("{}&conversationId={ours}", q("plans"))).await;
    assert_eq!(res.body["results"].as_array().unwrap().len(), 2);
    assert_error(
        &search(
            &app,
            &bob,
            &format!("{}&conversationId={theirs}", q("plans")),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &search(&app, &bob, &format!("{}&conversationId=nope", q("plans"))).await,
        404,
        "not_found",
    );

    // Blocked senders vanish for the blocker.
    assert_eq!(
        app.post(&format!("/api/blocks/{}", carol.id), &bob.token, json!({}))
            .await
            .status,
        204
    );
    assert_eq!(bodies(&app, &bob, "secret").await, ["secret plans draft"]);
    assert_eq!(bodies(&app, &alice, "secret").await.len(), 2);

    // Edits are found by their new text at once; deletes vanish at once.
    let path = format!("/api/conversations/{ours}/messages");
    let edited = app
        .request(
            "PATCH",
            &format!("{path}/{}", mine["id"].as_str().unwrap()),
            Some(&alice.token),
            Some(json!({ "body": "final blueprint" })),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(bodies(&app, &alice, "blueprint").await, ["final blueprint"]);
    assert_eq!(
        bodies(&app, &alice, "secret").await,
        ["secret plans from carol"]
    );
    assert_eq!(
        app.delete(
            &format!("{path}/{}", from_carol["id"].as_str().unwrap()),
            &carol.token
        )
        .await
        .status,
        200
    );
    assert!(bodies(&app, &alice, "secret").await.is_empty());

    // A member who leaves stops finding the conversation's messages.
    assert_eq!(
        app.delete(
            &format!("/api/conversations/{ours}/members/{}", alice.id),
            &alice.token
        )
        .await
        .status,
        204
    );
    assert!(bodies(&app, &alice, "blueprint").await.is_empty());
    found = bodies(&app, &bob, "blueprint").await.into_iter().collect();
    assert_eq!(found.len(), 1);
}

#[actix_web::test]
async fn bad_searches_get_the_contract_error() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    say(
        &app,
        &alice,
        &group,
        "robert'); DROP TABLE messages;-- says hi",
    )
    .await;
    for bad in [
        String::new(),
        "q=".into(),
        q("   "),
        q(&"a".repeat(201)),
        q("- - -"),
        q("!!! ??? ..."),
        q("or"),
        format!("{}&beforeId=abc", q("hi")),
        format!("{}&beforeId=-5", q("hi")),
        format!("{}&limit=0", q("hi")),
        format!("{}&limit=51", q("hi")),
        format!("{}&limit=ten", q("hi")),
        "q=hi%00there".into(),
        "q=%ED%A0%80".into(),
    ] {
        assert_error(&search(&app, &alice, &bad).await, 400, "invalid");
    }
    // SQL syntax in q is only ever text to find.
    for text in [
        "robert'); DROP TABLE messages;--",
        "ab & cd | !ef <-> gh:*",
        "\\' OR 11=11 --",
        "messages",
    ] {
        assert_eq!(search(&app, &alice, &q(text)).await.status, 200, "{text}");
    }
    assert_eq!(
        bodies(&app, &alice, "robert").await.len(),
        1,
        "the table is there"
    );
    assert_eq!(
        app.request("GET", "/api/search?q=hi", None, None)
            .await
            .status,
        401
    );
}

/// Searches spend a per-user rate of their own: past it, 429 with `retryAfterMs`.
#[actix_web::test]
async fn searches_are_rate_limited_per_user() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.search_burst = 3.0;
        settings.limits.search_per_sec = 0.01;
    })
    .await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    for _ in 0..3 {
        assert_eq!(search(&app, &alice, &q("hi")).await.status, 200);
    }
    let refused = search(&app, &alice, &q("hi")).await;
    assert_error(&refused, 429, "rate_limited");
    assert!(refused.body["error"]["retryAfterMs"].as_u64().unwrap() > 0);
    assert_eq!(
        search(&app, &bob, &q("hi")).await.status,
        200,
        "another user is not affected"
    );
}

/// A word of one character alone begins or is too many words to look for: a search made
/// only of such words is `invalid`; one longer word is enough, and is a prefix of two or more
/// characters.
#[actix_web::test]
async fn words_of_one_character_alone_are_not_searched() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    say(&app, &alice, &group, "a bad day").await;
    for short in ["a", "b", "a b", "\"a b\"", "a -bad", "7 or 8", "東"] {
        let res = search(&app, &alice, &q(short)).await;
        assert_error(&res, 400, "invalid");
        assert!(
            res.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("2 or more characters"),
            "{short}: {:?}",
            res.body
        );
    }
    assert_eq!(bodies(&app, &alice, "ba").await, ["a bad day"]);
    assert_eq!(bodies(&app, &alice, "a bad").await, ["a bad day"]);
}

/// Fills `conversation` with `count` messages whose words all begin with `prefix`, then as
/// many newer ones that do not: any plan for a search of `prefix` reads thousands of rows.
async fn fill(app: &TestApp, conversation: &str, sender: &TestUser, prefix: &str, count: i64) {
    use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
    use diesel_async::RunQueryDsl;
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(
        "INSERT INTO messages (conversation_id, seq, rev, sender_id, client_message_id, body) \
         SELECT $1, g, g, $2, 'fill-' || g, CASE WHEN g <= $4 THEN $3 || g ELSE 'other' || g END \
         FROM generate_series(1, 2 * $4) AS g",
    )
    .bind::<SqlUuid, _>(conversation.parse::<uuid::Uuid>().unwrap())
    .bind::<SqlUuid, _>(sender.id.parse::<uuid::Uuid>().unwrap())
    .bind::<Text, _>(prefix)
    .bind::<BigInt, _>(count)
    .execute(&mut conn)
    .await
    .unwrap();
}

/// A search statement that runs past `limits.search_statement_timeout_ms` is cancelled by
/// PostgreSQL and answered `too_broad`, with a message saying to add words. (A 1 ms limit
/// against 20,000 matching messages behind 20,000 others: no plan answers that in time.)
#[actix_web::test]
async fn a_search_past_its_time_limit_is_too_broad() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.search_statement_timeout_ms = 1;
    })
    .await;
    let alice = app.register("alice").await;
    let group = app.group(&alice, "g", &[]).await;
    fill(&app, &group, &alice, "needle", 20_000).await;
    let res = search(&app, &alice, &q("needle")).await;
    assert_error(&res, 400, "too_broad");
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("add words"),
        "{:?}",
        res.body
    );
}

/// Each user's searches spend a budget of database time: a search reserves a whole statement
/// timeout and is charged what it took, so with a budget of exactly one timeout (refilling
/// next to never) the second search waits, `rate_limited` with `retryAfterMs`; another user
/// still searches.
#[actix_web::test]
async fn searches_spend_a_per_user_budget_of_database_time() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.search_statement_timeout_ms = 200;
        settings.limits.search_db_burst_ms = 200.0;
        settings.limits.search_db_ms_per_sec = 0.0001;
    })
    .await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    say(&app, &alice, &group, "hello there").await;
    assert_eq!(bodies(&app, &alice, "hello").await, ["hello there"]);
    let refused = search(&app, &alice, &q("hello")).await;
    assert_error(&refused, 429, "rate_limited");
    assert!(refused.body["error"]["retryAfterMs"].as_u64().unwrap() > 0);
    assert_eq!(bodies(&app, &bob, "hello").await, ["hello there"]);
}
