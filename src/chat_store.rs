//! The diesel implementation of the chat layer's store: identity from access tokens, the
//! same models as the HTTP API, and its send service.

use confab_actors::chat::{
    ChangeRequest, Changed, Changes, ChatStore, Committed, Credentials, History, Marked,
    Membership, NewMessage, SessionStart, StoreError,
};
use confab_actors::ErrorCode;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::{JwtKeys, TokenError};
use crate::db::DbPool;
use crate::error::ApiError;
use crate::messaging::view::{timestamp, MessageView};
use crate::messaging::Messaging;
use crate::models::message::SeqCursor;
use crate::models::{conversation, member, message, receipt, user};

pub struct DbChatStore {
    pub pool: DbPool,
    pub jwt: JwtKeys,
    pub messaging: Messaging,
}

impl From<ApiError> for StoreError {
    fn from(err: ApiError) -> Self {
        StoreError {
            code: err.code,
            message: err.message,
            retry_after_ms: err.retry_after.map(|d| d.as_millis() as u64),
        }
    }
}

/// A membership row (`member::memberships_of`) as the chat layer takes it.
fn membership(
    (conversation_id, last_seq, last_rev, last_read_seq): (Uuid, i64, i64, i64),
) -> Membership {
    Membership {
        conversation_id,
        last_seq,
        last_rev,
        last_read_seq,
    }
}

fn store_error(err: impl Into<ApiError>) -> StoreError {
    StoreError::from(err.into())
}

impl ChatStore for DbChatStore {
    fn verify_token(&self, token: &str) -> Result<Credentials, ErrorCode> {
        let access = self.jwt.verify(token).map_err(|err| match err {
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::Invalid => ErrorCode::Unauthorized,
        })?;
        let expires_at = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(u64::try_from(access.expires_at).unwrap_or(0));
        Ok(Credentials {
            user: access.user,
            family: access.family,
            expires_at,
        })
    }

    async fn open_session(
        &self,
        credentials: Credentials,
    ) -> Result<Option<SessionStart>, StoreError> {
        let conn = self.pool.get().await.map_err(store_error)?;
        // Both statements leave in one round trip (pipelined on the connection); the
        // memberships are dropped when the credentials no longer hold.
        let conn: &AsyncPgConnection = &conn;
        let (admitted, memberships) = futures_util::future::try_join(
            user::admit(conn, credentials.user, credentials.family),
            member::memberships_of(conn, credentials.user),
        )
        .await
        .map_err(store_error)?;
        let Some((presence_visible, blockers)) = admitted else {
            return Ok(None);
        };
        let memberships = memberships.into_iter().map(membership).collect();
        Ok(Some(SessionStart {
            memberships,
            blockers,
            presence_visible,
        }))
    }

    async fn credentials_hold(&self, credentials: Credentials) -> Result<bool, StoreError> {
        let mut conn = self.pool.get().await.map_err(store_error)?;
        user::credentials_hold(&mut conn, credentials.user, credentials.family)
            .await
            .map_err(store_error)
    }

    async fn memberships(&self, user: Uuid) -> Result<Vec<Membership>, StoreError> {
        let conn = self.pool.get().await.map_err(store_error)?;
        let rows = member::memberships_of(&conn, user)
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().map(membership).collect())
    }

    async fn send(&self, message: NewMessage) -> Result<Committed, StoreError> {
        Ok(self.messaging.send(message).await?)
    }

    async fn change(&self, request: ChangeRequest) -> Result<Changed, StoreError> {
        Ok(self.messaging.change(request).await?)
    }

    async fn changes(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_rev: i64,
        limit: i64,
    ) -> Result<Changes, StoreError> {
        let mut conn = self.pool.get().await.map_err(store_error)?;
        let Some((found, _)) = conversation::find_for_member(&mut conn, conversation, user)
            .await
            .map_err(store_error)?
        else {
            return Err(ApiError::conversation_not_found().into());
        };
        let (messages, has_more) = message::changed_after(&mut conn, found.id, after_rev, limit)
            .await
            .map_err(store_error)?;
        let (messages, last_rev) =
            views_json(&mut conn, self.messaging.signer(), &messages).await?;
        Ok(Changes {
            messages,
            last_rev: last_rev.max(found.last_rev),
            has_more,
        })
    }

    async fn mark(
        &self,
        user: Uuid,
        conversation: Uuid,
        seq: i64,
        read: bool,
    ) -> Result<Marked, StoreError> {
        let mut conn = self.pool.get().await.map_err(store_error)?;
        let advanced = receipt::advance(&mut conn, conversation, user, seq, read)
            .await
            .map_err(store_error)?
            .ok_or_else(|| StoreError::from(ApiError::conversation_not_found()))?;
        Ok(Marked {
            delivered: advanced.delivered,
            read: advanced.read,
            shared: advanced.shared,
        })
    }

    async fn last_seen(
        &self,
        viewer: Uuid,
        users: Vec<Uuid>,
    ) -> Result<Vec<(Uuid, Option<String>)>, StoreError> {
        let mut conn = self.pool.get().await.map_err(store_error)?;
        let rows = user::visible_last_seen_of(&mut conn, viewer, &users)
            .await
            .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, at)| (id, at.as_ref().map(timestamp)))
            .collect())
    }

    async fn set_last_seen(
        &self,
        user: Uuid,
        at: std::time::SystemTime,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.get().await.map_err(store_error)?;
        let at = chrono::DateTime::<chrono::Utc>::from(at);
        user::touch_last_seen(&mut conn, user, at)
            .await
            .map_err(store_error)
    }

    async fn history(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> Result<History, StoreError> {
        let mut conn = self.pool.get().await.map_err(store_error)?;
        if conversation::find_for_member(&mut conn, conversation, user)
            .await
            .map_err(store_error)?
            .is_none()
        {
            return Err(ApiError::conversation_not_found().into());
        }
        let (messages, has_more) =
            message::page(&mut conn, conversation, SeqCursor::After(after_seq), limit)
                .await
                .map_err(store_error)?;
        let (messages, _) = views_json(&mut conn, self.messaging.signer(), &messages).await?;
        Ok(History { messages, has_more })
    }
}

/// The Messages of `messages` as one JSON array, and the latest rev among them (0 for none).
async fn views_json(
    conn: &mut diesel_async::AsyncPgConnection,
    signer: &crate::storage::Signer,
    messages: &[crate::models::message::Message],
) -> Result<(Box<serde_json::value::RawValue>, i64), StoreError> {
    let views = MessageView::load_all(conn, signer, messages)
        .await
        .map_err(store_error)?;
    let latest = latest_rev(0, &views);
    let json = serde_json::value::to_raw_value(&views)
        .map_err(|e| StoreError::from(ApiError::internal(e)))?;
    Ok((json, latest))
}

/// The conversation's latest rev for a page of changes: read before the page, so a change
/// committed in between may be on the page with a later rev.
pub fn latest_rev(read_before: i64, page: &[MessageView]) -> i64 {
    page.iter().map(|m| m.rev).fold(read_before, i64::max)
}
