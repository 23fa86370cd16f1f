//! The one send service, used by `message:send` on sockets and by
//! `POST /api/conversations/{id}/messages`: it validates, applies the sender's sending rate,
//! commits (write-through), records the send's metrics, and publishes `message:new`. Its
//! errors convert into both boundaries' error types; the Message view lives here too.

mod change;
mod commit;
mod error;
pub mod group_commit;
mod thumbnail;
pub mod validate;
pub mod view;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_actors::chat::{Committed, Limiter, NewMessage, Publisher};
use serde_json::value::RawValue;

pub use commit::{commit, SendRequest, Sent};
pub use error::SendError;

use crate::config::Limits;
use crate::db::DbPool;
use crate::messaging::group_commit::MessageWriter;
use crate::metrics::SendMetrics;
use crate::storage::Signer;
use view::{MessageView, Related};

/// The send service. Cloning shares it.
#[derive(Clone)]
pub struct Messaging {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    writer: MessageWriter,
    limiter: Limiter,
    limits: Limits,
    metrics: SendMetrics,
    publisher: Publisher,
    signer: Signer,
    /// A send or change not committed within this is answered `unavailable` (overdue).
    deadline: Duration,
    /// Sends between their request and their commit (a draining node waits for them).
    in_flight: AtomicUsize,
}

/// What the service is built from.
pub struct MessagingParts {
    pub pool: DbPool,
    pub writer: MessageWriter,
    pub limiter: Limiter,
    pub limits: Limits,
    pub metrics: SendMetrics,
    /// Where committed messages and changes go out to the sockets.
    pub publisher: Publisher,
    /// Signs the URLs of the attachments messages show.
    pub signer: Signer,
    /// How long a send or change may wait for its commit (`storage.commit_deadline_ms`).
    pub deadline: Duration,
}

impl Messaging {
    pub fn new(parts: MessagingParts) -> Messaging {
        Messaging {
            inner: Arc::new(Inner {
                pool: parts.pool,
                writer: parts.writer,
                limiter: parts.limiter,
                limits: parts.limits,
                metrics: parts.metrics,
                publisher: parts.publisher,
                signer: parts.signer,
                deadline: parts.deadline,
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// Validates `message`, takes one token of its sender's sending rate, and commits it (or
    /// finds the message a retry with the same client id stored). Invalid sends spend nothing.
    ///
    /// Past the commit deadline the answer is `Overdue`; the send goes on by itself, and if it
    /// commits, `message:new` reaches every member's sockets (the sender's too) all the same.
    pub async fn send(&self, message: NewMessage) -> Result<Committed, SendError> {
        let this = self.clone();
        let publisher = self.inner.publisher.clone();
        self.within_deadline(
            async move { this.send_now(message).await },
            move |committed| publisher.message_new(&committed, None),
        )
        .await
    }

    /// Runs `work` to its end on a task of its own, and waits for it until the commit
    /// deadline; past it, `Overdue`. What `work` commits after its caller stopped waiting
    /// goes to `abandoned`, to be published all the same.
    async fn within_deadline<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, SendError>> + Send + 'static,
        abandoned: impl FnOnce(T) + Send + 'static,
    ) -> Result<T, SendError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if let Err(Ok(done)) = answer.send(work.await) {
                abandoned(done);
            }
        });
        match tokio::time::timeout(self.inner.deadline, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SendError::internal(
                "a commit's task ended without an answer",
            )),
            Err(_) => {
                self.inner.metrics.unavailable();
                if crate::logging::bursts::storage_unavailable().admit() {
                    log::warn!(deadline_ms = self.inner.deadline.as_millis() as u64; "a commit missed its deadline");
                }
                Err(SendError::Overdue)
            }
        }
    }

    async fn send_now(&self, message: NewMessage) -> Result<Committed, SendError> {
        let inner = &*self.inner;
        let attachment_ids = validate::attachment_ids(&message.attachment_ids, &inner.limits)?;
        let request = SendRequest {
            conversation_id: message.conversation_id,
            sender_id: message.sender_id,
            client_message_id: validate::client_message_id(
                &message.client_message_id,
                &inner.limits,
            )?,
            body: validate::new_body(&message.body, !attachment_ids.is_empty(), &inner.limits)?,
            attachment_ids,
            reply_to_id: validate::reply_to_id(message.reply_to_id.as_deref())?,
        };
        if let Err(wait) = inner.limiter.check(request.sender_id) {
            inner.publisher.stats().rate_limited();
            return Err(SendError::RateLimited(wait));
        }
        let started = Instant::now();
        let sent = {
            let _in_flight = InFlight::enter(&inner.in_flight);
            match commit(&inner.pool, &inner.writer, &request).await {
                Err(SendError::Unavailable) => {
                    inner.metrics.unavailable();
                    return Err(SendError::Unavailable);
                }
                sent => sent?,
            }
        };
        inner.metrics.observe(started.elapsed(), sent.created);
        let mut related = Related {
            attachments: sent.attachments,
            ..Related::default()
        };
        related.sign(&inner.signer).await;
        if sent.message.reply_to_id.is_some() {
            let mut conn = inner.pool.get().await?;
            related
                .load_replies(&mut conn, std::slice::from_ref(&sent.message))
                .await?;
        }
        let view = MessageView::new(&sent.message, &related);
        let json = serde_json::value::to_raw_value(&view).map_err(SendError::internal)?;
        Ok(Committed {
            conversation_id: sent.message.conversation_id,
            seq: sent.message.seq,
            rev: sent.message.rev,
            message: Arc::<RawValue>::from(json),
            created: sent.created,
        })
    }

    /// Commits an already validated `request` through the group commit, spending no sending
    /// rate ([`Messaging::send`] is the checked way in; tests drive the commit directly).
    pub async fn commit(&self, request: &SendRequest) -> Result<Sent, SendError> {
        commit(&self.inner.pool, &self.inner.writer, request).await
    }

    /// Takes one token of `user`'s sending rate for something that reaches their
    /// conversations' members as a send does (a presence setting turned off or on).
    pub fn spend(&self, user: uuid::Uuid) -> Result<(), SendError> {
        self.inner.limiter.check(user).map_err(|wait| {
            self.inner.publisher.stats().rate_limited();
            SendError::RateLimited(wait)
        })
    }

    /// Signs the URLs of attachments.
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    /// Sends waiting for their commit.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }
}

/// Counts a send as in flight until dropped (also when its future is dropped mid-way).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
