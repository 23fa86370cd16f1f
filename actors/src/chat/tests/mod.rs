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

mod bounds;
mod presence;
mod sends;
