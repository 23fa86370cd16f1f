//! A thumbnail that appears after its message was sent changes the message: it takes the
//! conversation's next rev, and every member hears `message:updated` (so catch-up by rev
//! sees it too).

use uuid::Uuid;

use super::{Messaging, SendError};
use crate::models::change::{self, Outcome};

impl Messaging {
    /// Records the thumbnail stored as `key` for upload `id`; when a message holds the upload,
    /// publishes the message as it is now.
    pub async fn thumbnailed(&self, id: Uuid, key: &str) -> Result<Outcome, SendError> {
        let mut conn = self.inner.pool.get().await?;
        let result = change::thumbnailed(&mut conn, id, key).await?;
        let outcome = result.outcome;
        if outcome == Outcome::Changed {
            let changed = self.changed(&mut conn, result).await?;
            self.inner.publisher.message_updated(
                changed.conversation_id,
                changed.rev,
                &changed.message,
            );
        }
        Ok(outcome)
    }
}
