//! Credentials end with the socket's: `session:expiring` 60 s before its access token expires,
//! and the session closed at expiry unless `auth:refresh` moved it. Closing the whole Engine.IO
//! session (not only the namespace) makes the stock client reconnect, asking its `auth`
//! function for a fresh token.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::events::emit;
use super::socket_state::SocketState;
use super::time::rfc3339_millis;
use crate::engine::Socket;
use crate::protocol::events::SessionExpiring;

/// How long before expiry the socket is warned.
pub const WARNING: Duration = Duration::from_secs(60);

/// `at` as the contract writes times.
pub fn timestamp(at: SystemTime) -> String {
    rfc3339_millis(at.duration_since(UNIX_EPOCH).unwrap_or_default())
}

async fn sleep_until(at: SystemTime) {
    if let Ok(wait) = at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
}

/// Warns, then closes the session at expiry; a refresh in between starts over with the new
/// expiry. Ends with the socket (aborted) or when it closes the session.
pub(super) async fn watch(socket: Socket, state: Arc<SocketState>) {
    loop {
        let expires_at = state.credentials().expires_at;
        sleep_until(expires_at.checked_sub(WARNING).unwrap_or(UNIX_EPOCH)).await;
        if state.credentials().expires_at != expires_at {
            continue;
        }
        if expires_at > SystemTime::now() {
            emit(
                &socket,
                &SessionExpiring {
                    expires_at: timestamp(expires_at),
                },
            );
        }
        sleep_until(expires_at).await;
        if state.credentials().expires_at == expires_at {
            log::debug!(user_id:% = state.user; "access token expired on a live socket");
            socket.session().close();
            return;
        }
    }
}
