//! Contacts (PROTOCOL.md v1.1 section 7): requests, accepted pairs, and the live
//! `contact:request` / `contact:updated` to both users' sockets on every node.

pub mod answer;
pub mod list;
pub mod remove;
pub mod request;
pub mod requests;

use confab_actors::protocol::events::{ContactUpdated, ServerEvent};
use uuid::Uuid;

use crate::state::AppState;

/// `contact:updated` `{ userId, contact }` to each of the two users, naming the other.
pub async fn tell_both(state: &AppState, a: Uuid, b: Uuid, contact: bool) {
    for (to, other) in [(a, b), (b, a)] {
        let updated = ContactUpdated {
            user_id: other,
            contact,
        };
        match serde_json::to_value(&updated) {
            Ok(payload) => {
                state
                    .publisher
                    .tell_user(to, ContactUpdated::NAME, &payload)
                    .await
            }
            Err(err) => log::error!(cause:% = err; "unserializable contact:updated"),
        }
    }
}
