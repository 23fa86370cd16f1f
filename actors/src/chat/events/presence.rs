//! `presence:query`: who of up to 200 users is online (on any node), and when the others were
//! last seen.

use std::collections::HashMap;
use std::time::Instant;

use uuid::Uuid;

use super::{ack_json, Reply};
use crate::chat::namespace::Inner;
use crate::chat::presence::Online;
use crate::chat::seen::Seen;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, StoreError};
use crate::protocol::events::{PresenceAck, PresenceEntry, PresenceQuery};
use crate::ErrorCode;

/// Most users one `presence:query` may name.
const PRESENCE_MAX: usize = 200;

/// Users the caller may not see (no shared conversation, or they blocked the caller) read as
/// offline and never seen. Online state comes from presence; whether a user is visible, and
/// their last-seen time, from storage once and then from the socket's memory of it
/// (`chat::seen`), so a client asking again about the same users costs no storage call.
pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    state: &SocketState,
    payload: PresenceQuery,
) -> Reply {
    if payload.user_ids.len() > PRESENCE_MAX {
        return Err(StoreError::new(ErrorCode::Invalid, "at most 200 userIds"));
    }
    let users = payload
        .user_ids
        .iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|_| StoreError::new(ErrorCode::Invalid, "userIds must be user ids"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let online = inner
        .publisher
        .presence
        .send(Online {
            users: users.clone(),
        })
        .await
        .map_err(|_| StoreError::new(ErrorCode::Unavailable, "presence is unavailable"))?;
    let now = Instant::now();
    let mut read: HashMap<Uuid, Seen> = HashMap::new();
    let missing: Vec<Uuid> = {
        let cache = state.seen();
        users
            .iter()
            .zip(&online)
            .filter(|(user, online)| {
                !state.is_blocked_by(**user) && cache.get(**user, **online, now).is_none()
            })
            .map(|(user, _)| *user)
            .collect()
    };
    if !missing.is_empty() {
        let found = inner.store.last_seen(state.user, missing.clone()).await?;
        let online_now: HashMap<Uuid, bool> = users.iter().copied().zip(online.clone()).collect();
        let mut cache = state.seen();
        for user in &missing {
            let online = online_now.get(user).copied().unwrap_or(false);
            let stored = found.iter().find(|(u, _)| u == user);
            let seen = Seen {
                visible: stored.is_some(),
                last_seen: stored.and_then(|(_, at)| at.clone()),
                online,
            };
            cache.put(*user, seen.clone(), now);
            read.insert(*user, seen);
        }
    }
    let cache = state.seen();
    let presence = users
        .iter()
        .zip(online)
        .map(|(user, online)| {
            let seen = if state.is_blocked_by(*user) {
                None
            } else {
                read.get(user).or_else(|| cache.get(*user, online, now))
            };
            match seen {
                Some(seen) if seen.visible => PresenceEntry {
                    user_id: *user,
                    online,
                    last_seen_at: if online { None } else { seen.last_seen.clone() },
                },
                _ => PresenceEntry {
                    user_id: *user,
                    online: false,
                    last_seen_at: None,
                },
            }
        })
        .collect();
    drop(cache);
    ack_json(PresenceAck { presence })
}
