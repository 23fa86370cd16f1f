//! `docs/asyncapi.yaml` against the code: the document is valid AsyncAPI 3 (checked by
//! `@asyncapi/parser` in `tests/js/asyncapi.test.mjs`), it names exactly the client events the
//! server decodes and the events it emits, and the code's typed payloads and acks, serialised
//! here, fit the document's schemas.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly where its setup does"
)]

mod common;

use chrono::{TimeZone, Utc};
use confab::http::views::{ContactRequestView, ConversationView, MemberView};
use confab::messaging::view::{MessageView, ReactionView, ReplyView};
use confab_actors::protocol::events::{
    self, Ack, AckError, ChangesAck, ClientEvent, ContactUpdated, ConversationAdded,
    ConversationRemoved, ConversationUpdated, HistoryAck, MessageAck, MessageSent, PresenceAck,
    PresenceEntry, PresenceUpdate, ReactionUpdated, ReadyEntry, ReceiptAck, ReceiptUpdated,
    RefreshAck, RequestError, ServerEvent, SessionExpiring, SessionReady, TypingStart, TypingStop,
};
use confab_actors::ErrorCode;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use uuid::Uuid;

const USER: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001);
const OTHER: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002);
const CONVERSATION: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0003);

fn value<T: Serialize>(payload: &T) -> Value {
    serde_json::to_value(payload).unwrap()
}

fn raw(value: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap()
}

/// A reply to a message, edited, with a reaction.
fn message() -> MessageView {
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    MessageView {
        id: "10342".into(),
        conversation_id: CONVERSATION,
        seq: 17,
        rev: 23,
        sender_id: USER,
        client_message_id: "c5b3".into(),
        body: "hello".into(),
        reply_to: Some(ReplyView {
            id: "10341".into(),
            seq: 16,
            sender_id: OTHER,
            excerpt: "hi".into(),
        }),
        attachments: vec![],
        reactions: vec![ReactionView {
            emoji: "👍".into(),
            user_ids: vec![OTHER],
        }],
        created_at: at,
        edited_at: Some(at),
        deleted: false,
    }
}

fn conversation() -> ConversationView {
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    ConversationView {
        id: CONVERSATION,
        kind: "group".into(),
        title: Some("Lunch".into()),
        workspace_id: None,
        visibility: "private",
        created_at: at,
        last_seq: 17,
        last_rev: 23,
        last_message_at: Some(at),
        members: vec![MemberView {
            user_id: USER,
            role: "owner".into(),
            last_delivered_seq: 17,
            last_read_seq: 16,
        }],
    }
}

/// One valid payload of every client event, each decoded by the server's own decoder.
fn client_samples() -> Vec<(String, Value)> {
    let c = CONVERSATION.to_string();
    let samples = [
        (
            "message:send",
            json!({ "conversationId": c, "clientMessageId": "c1", "body": "hi",
                    "attachmentIds": [USER], "replyToId": "41" }),
        ),
        (
            "sync:request",
            json!({ "conversationId": c, "afterSeq": 0, "limit": 50 }),
        ),
        ("typing:start", json!({ "conversationId": c })),
        ("typing:stop", json!({ "conversationId": c })),
        (
            "receipt:delivered",
            json!({ "conversationId": c, "seq": 3 }),
        ),
        ("receipt:read", json!({ "conversationId": c, "seq": 3 })),
        ("presence:query", json!({ "userIds": [USER, OTHER] })),
        ("auth:refresh", json!({ "token": "eyJ.token" })),
        (
            "message:edit",
            json!({ "conversationId": c, "messageId": "41", "body": "edited" }),
        ),
        (
            "message:delete",
            json!({ "conversationId": c, "messageId": "41" }),
        ),
        (
            "reaction:add",
            json!({ "conversationId": c, "messageId": "41", "emoji": "👍" }),
        ),
        (
            "reaction:remove",
            json!({ "conversationId": c, "messageId": "41", "emoji": "👍" }),
        ),
        (
            "sync:changes",
            json!({ "conversationId": c, "afterRev": 9, "limit": 500 }),
        ),
    ];
    for (name, payload) in &samples {
        let decoded = ClientEvent::decode(name, Some(payload)).unwrap();
        assert_eq!(decoded.name(), *name);
    }
    samples
        .into_iter()
        .map(|(name, payload)| (name.to_string(), payload))
        .collect()
}

/// Every event the server emits, as the code's typed values serialise it.
fn server_samples() -> Vec<(String, Value)> {
    let message = value(&message());
    let message_raw = raw(&message);
    let conversation_raw = raw(&value(&conversation()));
    let reactions = raw(&json!([{ "emoji": "👍", "userIds": [OTHER] }]));
    let contact_request = ContactRequestView {
        id: OTHER,
        from_user_id: OTHER,
        to_user_id: USER,
        status: "pending".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap(),
    };
    let seen = Some("2026-11-21T10:00:00.000Z".to_string());
    fn named<E: ServerEvent>(event: &E) -> (String, Value) {
        (E::NAME.to_string(), value(event))
    }
    vec![
        named(&SessionReady {
            user_id: USER,
            session_id: "aBc",
            conversations: vec![ReadyEntry {
                conversation_id: CONVERSATION,
                last_seq: 17,
                last_rev: 23,
                last_read_seq: 16,
            }],
        }),
        named(&SessionExpiring {
            expires_at: "2026-11-21T10:15:00.000Z".into(),
        }),
        named(&MessageSent {
            client_message_id: "c5b3",
            message: &message_raw,
        }),
        (events::MESSAGE_NEW.into(), message.clone()),
        (events::MESSAGE_UPDATED.into(), message.clone()),
        named(&ReactionUpdated {
            conversation_id: CONVERSATION,
            message_id: "10342",
            rev: 24,
            user_id: OTHER,
            emoji: "👍",
            added: true,
            reactions: &reactions,
        }),
        named(&TypingStart {
            conversation_id: CONVERSATION,
            user_id: OTHER,
        }),
        named(&TypingStop {
            conversation_id: CONVERSATION,
            user_id: OTHER,
        }),
        named(&ReceiptUpdated {
            conversation_id: CONVERSATION,
            user_id: OTHER,
            last_delivered_seq: 17,
            last_read_seq: 17,
        }),
        named(&PresenceUpdate {
            user_id: OTHER,
            online: false,
            last_seen_at: seen.clone(),
        }),
        named(&ConversationAdded {
            conversation: &conversation_raw,
        }),
        named(&ConversationRemoved {
            conversation_id: CONVERSATION,
        }),
        named(&ConversationUpdated {
            conversation_id: CONVERSATION,
            last_seq: 17,
            last_rev: 23,
        }),
        (events::CONTACT_REQUEST.into(), value(&contact_request)),
        named(&ContactUpdated {
            user_id: OTHER,
            contact: true,
        }),
        named(&RequestError {
            event: "message:send",
            code: ErrorCode::RateLimited,
            message: "slow down",
            retry_after_ms: Some(120),
        }),
    ]
}

/// The acks the server answers each client event with, as the code's typed values serialise
/// them; and an error ack for every one of them.
fn reply_samples() -> Vec<(String, Value)> {
    let message = raw(&value(&message()));
    let messages = raw(&json!([value(&message_view_tombstone())]));
    let ok_message = value(&Ack::ok(MessageAck { message: &message }));
    let receipt = value(&Ack::ok(ReceiptAck {
        last_delivered_seq: 17,
        last_read_seq: 16,
    }));
    let mut replies = vec![
        ("message:send", ok_message.clone()),
        ("message:edit", ok_message.clone()),
        ("message:delete", ok_message.clone()),
        ("reaction:add", ok_message.clone()),
        ("reaction:remove", ok_message),
        (
            "sync:request",
            value(&Ack::ok(HistoryAck {
                messages: &messages,
                has_more: false,
            })),
        ),
        (
            "sync:changes",
            value(&Ack::ok(ChangesAck {
                messages: &messages,
                last_rev: 30,
                has_more: true,
            })),
        ),
        ("typing:start", value(&Ack::ok(()))),
        ("typing:stop", value(&Ack::ok(()))),
        ("receipt:delivered", receipt.clone()),
        ("receipt:read", receipt),
        (
            "presence:query",
            value(&Ack::ok(PresenceAck {
                presence: vec![PresenceEntry {
                    user_id: OTHER,
                    online: true,
                    last_seen_at: None,
                }],
            })),
        ),
        (
            "auth:refresh",
            value(&Ack::ok(RefreshAck {
                expires_at: "2026-11-21T10:30:00.000Z".into(),
            })),
        ),
    ];
    for name in ClientEvent::NAMES {
        let error = AckError::new(ErrorCode::NotFound, "conversation not found", None);
        replies.push((name, value(&error)));
    }
    replies
        .into_iter()
        .map(|(name, payload)| (name.to_string(), payload))
        .collect()
}

fn message_view_tombstone() -> MessageView {
    MessageView {
        body: String::new(),
        reactions: vec![],
        deleted: true,
        ..message()
    }
}

#[actix_web::test]
async fn the_asyncapi_document_describes_the_events_of_the_code() {
    let client = client_samples();
    let server = server_samples();
    let names = |samples: &[(String, Value)]| -> Vec<String> {
        samples.iter().map(|(name, _)| name.clone()).collect()
    };
    // The samples cover every event of the code, each once.
    assert_eq!(names(&client), ClientEvent::NAMES);
    assert_eq!(names(&server), events::SERVER_EVENTS);

    let samples = json!({
        "clientEvents": ClientEvent::NAMES,
        "serverEvents": events::SERVER_EVENTS,
        "client": client,
        "server": server,
        "replies": reply_samples(),
    });
    let file = std::env::temp_dir().join(format!("confab-asyncapi-{}.json", std::process::id()));
    std::fs::write(&file, samples.to_string()).unwrap();
    let document = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/asyncapi.yaml");
    common::run_node_tests(
        &["asyncapi.test.mjs"],
        &[
            ("ASYNCAPI_DOCUMENT", document.to_str().unwrap()),
            ("ASYNCAPI_SAMPLES", file.to_str().unwrap()),
        ],
    )
    .await;
    std::fs::remove_file(&file).ok();
}
