//! Contacts (PROTOCOL.md v1.1 section 7): requests, accepted pairs, and the live
//! `contact:request` / `contact:updated` to both users' sockets on every node.

pub mod answer;
pub mod list;
pub mod remove;
pub mod request;
pub mod requests;

use serde_json::json;
use uuid::Uuid;

use crate::state::AppState;

/// `contact:updated` `{ userId, contact }` to each of the two users, naming the other.
pub async fn tell_both(state: &AppState, a: Uuid, b: Uuid, contact: bool) {
    for (to, other) in [(a, b), (b, a)] {
        let payload = json!({ "userId": other, "contact": contact });
        state.chat.tell_user(to, "contact:updated", &payload).await;
    }
}
