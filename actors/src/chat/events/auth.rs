//! `auth:refresh`: a new access token of the same user for the live socket, which moves its
//! expiry (and its refresh-token family) to the new token's.

use super::{ack_json, Reply};
use crate::chat::expiry::timestamp;
use crate::chat::namespace::Inner;
use crate::chat::socket_state::SocketState;
use crate::chat::store::{ChatStore, StoreError};
use crate::protocol::events::{AuthRefresh, RefreshAck};
use crate::ErrorCode;

pub(super) async fn handle<S: ChatStore>(
    inner: &Inner<S>,
    state: &SocketState,
    refresh: AuthRefresh,
) -> Reply {
    let unauthorized = |code| StoreError::new(code, "invalid or expired access token");
    let credentials = inner
        .store
        .verify_token(&refresh.token)
        .map_err(unauthorized)?;
    if credentials.user != state.user {
        return Err(StoreError::new(
            ErrorCode::Forbidden,
            "the token is another user's",
        ));
    }
    if !inner.store.credentials_hold(credentials).await? {
        return Err(unauthorized(ErrorCode::Unauthorized));
    }
    state.set_credentials(credentials);
    ack_json(RefreshAck {
        expires_at: timestamp(credentials.expires_at),
    })
}
