//! Edits, deletes and reactions: validated, charged to the actor's sending rate, committed
//! (one call of the change's SQL function, which takes the next rev), then shown as the
//! Message after the change.

use std::sync::Arc;

use confab_actors::chat::{Change, ChangeRequest, Changed};
use serde_json::value::RawValue;

use super::view::{MessageView, ReactionView, Related};
use super::{validate, Messaging, SendError};
use crate::models::change::{self, Outcome};

impl Messaging {
    /// Validates and commits `request` under the contract's rules (PROTOCOL.md §5). Past the
    /// commit deadline, `Overdue`; a change that commits after that is published all the same.
    pub async fn change(&self, request: ChangeRequest) -> Result<Changed, SendError> {
        let this = self.clone();
        let publisher = self.inner.publisher.clone();
        let published = request.clone();
        self.within_deadline(
            async move { this.change_now(request).await },
            move |changed| {
                let _ = publisher.message_changed(&published, &changed, None);
            },
        )
        .await
    }

    async fn change_now(&self, request: ChangeRequest) -> Result<Changed, SendError> {
        let inner = &*self.inner;
        let message_id = validate::message_id(&request.message_id)?;
        let validated = match &request.change {
            Change::Edit { body } => Change::Edit {
                body: validate::body(body, &inner.limits)?,
            },
            Change::Delete => Change::Delete,
            Change::React { emoji, add } => Change::React {
                emoji: validate::emoji(emoji)?,
                add: *add,
            },
        };
        if let Err(wait) = inner.limiter.check(request.actor) {
            inner.publisher.stats().rate_limited();
            return Err(SendError::RateLimited(wait));
        }
        let (conversation, actor) = (request.conversation_id, request.actor);
        let mut conn = inner.pool.get().await?;
        let result = match &validated {
            Change::Edit { body } => {
                change::edit(&mut conn, conversation, actor, message_id, body).await?
            }
            Change::Delete => change::delete(&mut conn, conversation, actor, message_id).await?,
            Change::React { emoji, add } => {
                change::react(&mut conn, conversation, actor, message_id, emoji, *add).await?
            }
        };
        let refused = match (result.outcome, &validated) {
            (Outcome::Changed | Outcome::Unchanged, _) => None,
            (Outcome::NotFound, _) => Some(SendError::NotFound("message not found")),
            (Outcome::Forbidden, Change::Edit { .. }) => {
                Some(SendError::Forbidden("only the sender may edit a message"))
            }
            (Outcome::Forbidden, Change::Delete) => Some(SendError::Forbidden(
                "only the sender, or a group's owners and admins, may delete a message",
            )),
            (Outcome::Forbidden, Change::React { .. }) => Some(SendError::Blocked),
            (Outcome::Deleted, _) => Some(SendError::Conflict("the message is deleted")),
            (Outcome::TooMany, _) => Some(SendError::Conflict(
                "a message takes at most 20 distinct emoji",
            )),
            (Outcome::Unclaimed | Outcome::Gone, _) => Some(SendError::internal(
                "a change of a message returned a thumbnail's outcome",
            )),
        };
        if let Some(err) = refused {
            return Err(err);
        }
        self.changed(&mut conn, result).await
    }

    /// The Message after a change, as its function returned it.
    pub(super) async fn changed(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        result: change::Change,
    ) -> Result<Changed, SendError> {
        let (Some(message), Some(reactions)) = (result.message, result.reactions) else {
            return Err(SendError::internal("a change returned no message"));
        };
        let reaction_list: Vec<ReactionView> =
            serde_json::from_str(reactions.get()).map_err(SendError::internal)?;
        let mut related = Related {
            attachments: result.attachments,
            ..Related::default()
        };
        related.reactions.insert(message.id, reaction_list);
        related
            .load_replies(conn, std::slice::from_ref(&message))
            .await?;
        related.sign(&self.inner.signer).await;
        let view = MessageView::new(&message, &related);
        let json = serde_json::value::to_raw_value(&view).map_err(SendError::internal)?;
        Ok(Changed {
            conversation_id: message.conversation_id,
            message_id: message.id.to_string(),
            rev: result.rev.unwrap_or(message.rev),
            message: Arc::<RawValue>::from(json),
            reactions: Arc::<RawValue>::from(reactions),
            changed: result.outcome == Outcome::Changed,
        })
    }
}
