//! `presence:query`: who of up to 200 users is online (on any node), and when the others were
//! last seen.

use uuid::Uuid;

use super::{ack_json, Reply};
use crate::chat::namespace::Inner;
use crate::chat::presence::Online;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, StoreError};
use crate::protocol::events::{PresenceAck, PresenceEntry, PresenceQuery};
use crate::ErrorCode;

/// Most users one `presence:query` may name.
const PRESENCE_MAX: usize = 200;

/// Users the caller may not see (no shared conversation, or they blocked the caller) read as
/// offline and never seen.
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
        .presence
        .send(Online {
            users: users.clone(),
        })
        .await
        .map_err(|_| StoreError::new(ErrorCode::Unavailable, "presence is unavailable"))?;
    let seen = inner.store.last_seen(state.user, users.clone()).await?;
    let presence = users
        .iter()
        .zip(online)
        .map(
            |(user, online)| match seen.iter().find(|(u, _)| u == user) {
                Some((_, last_seen)) => PresenceEntry {
                    user_id: *user,
                    online,
                    last_seen_at: if online { None } else { last_seen.clone() },
                },
                None => PresenceEntry {
                    user_id: *user,
                    online: false,
                    last_seen_at: None,
                },
            },
        )
        .collect();
    ack_json(PresenceAck { presence })
}
