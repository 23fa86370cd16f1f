//! Group commit for the common send: sends that arrive while a statement is running are stored
//! together by the next one, so that PostgreSQL runs one statement and one commit for many
//! messages. Sends are spread over `lanes` by conversation: the sends of one conversation
//! keep their order, and two lanes never lock the same conversation.
//!
//! A lane tells the publisher the revs it committed before it answers their sends, so that
//! the conversation's room waits for them (without a timer) before handing out any change
//! committed after them: every socket sees the changes in rev order.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use confab_actors::chat::Publisher;
use diesel::result::Error as DieselError;
use diesel::QueryResult;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::db::DbPool;
use crate::models::message::{self, Message, Unsequenced, UnsequencedBatch};

/// Sends waiting for the lanes, all together, beyond which a send is refused as if the
/// database were down: about a second of sends at 7,500 a second, so that a commit slow for a
/// moment delays sends rather than refusing them (the commit deadline bounds the wait).
const QUEUE: usize = 8192;

/// One send for a lane.
struct Job {
    conversation_id: Uuid,
    sender_id: Uuid,
    client_message_id: String,
    body: String,
    created_at: DateTime<Utc>,
    reply_to_id: Option<i64>,
    reply: oneshot::Sender<QueryResult<Option<Message>>>,
}

/// The handle to the lanes; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    lanes: Vec<mpsc::Sender<Job>>,
    hasher: std::collections::hash_map::RandomState,
    announcer: Announcer,
}

/// Where the lanes announce the revs they committed, once the publisher exists.
type Announcer = Arc<OnceLock<Publisher>>;

impl MessageWriter {
    /// Starts `lanes` writers on the current runtime, each storing up to `max_batch` messages
    /// per statement. `batch_sizes` observes the size of every statement's batch.
    pub fn start(
        pool: DbPool,
        lanes: usize,
        max_batch: usize,
        batch_sizes: prometheus::Histogram,
    ) -> MessageWriter {
        let announcer = Announcer::default();
        let lanes = lanes.max(1);
        let queue = QUEUE.div_ceil(lanes);
        let lanes = (0..lanes)
            .map(|_| {
                let (tx, rx) = mpsc::channel(queue);
                tokio::spawn(run_lane(
                    Lane {
                        pool: pool.clone(),
                        max_batch: max_batch.max(1),
                        batch_sizes: batch_sizes.clone(),
                        announcer: announcer.clone(),
                    },
                    rx,
                ));
                tx
            })
            .collect();
        MessageWriter {
            lanes,
            hasher: Default::default(),
            announcer,
        }
    }

    /// From now on, the lanes tell `publisher` the revs they commit before answering.
    pub fn announce_to(&self, publisher: Publisher) {
        let _ = self.announcer.set(publisher);
    }

    /// What `message::insert_if_allowed` does, batched with the sends around it.
    pub async fn insert_if_allowed(&self, new: Unsequenced<'_>) -> QueryResult<Option<Message>> {
        let lane = self.hasher.hash_one(new.conversation_id) as usize % self.lanes.len();
        let lane = &self.lanes[lane];
        let (reply, answer) = oneshot::channel();
        let job = Job {
            conversation_id: new.conversation_id,
            sender_id: new.sender_id,
            client_message_id: new.client_message_id.to_string(),
            body: new.body.to_string(),
            created_at: new.created_at,
            reply_to_id: new.reply_to_id,
            reply,
        };
        if lane.try_send(job).is_err() {
            if crate::logging::bursts::storage_unavailable().admit() {
                log::warn!("send queue full; refusing a send");
            }
            return Err(DieselError::BrokenTransactionManager);
        }
        answer
            .await
            .unwrap_or(Err(DieselError::BrokenTransactionManager))
    }
}

/// What one lane works with.
struct Lane {
    pool: DbPool,
    max_batch: usize,
    batch_sizes: prometheus::Histogram,
    announcer: Announcer,
}

impl Lane {
    /// Tells the publisher what was just stored, conversation by conversation, in rev order.
    fn announce<'a>(&self, stored: impl IntoIterator<Item = &'a Message>) {
        let Some(publisher) = self.announcer.get() else {
            return;
        };
        let mut revs: Vec<(Uuid, i64)> = stored
            .into_iter()
            .map(|m| (m.conversation_id, m.rev))
            .collect();
        revs.sort_unstable();
        for group in revs.chunk_by(|a, b| a.0 == b.0) {
            publisher.committed(group[0].0, group.iter().map(|(_, rev)| *rev).collect());
        }
    }
}

async fn run_lane(lane: Lane, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(lane.max_batch);
    while jobs.recv_many(&mut batch, lane.max_batch).await > 0 {
        lane.batch_sizes.observe(batch.len() as f64);
        store(&lane, std::mem::take(&mut batch)).await;
    }
}

/// Stores `jobs`, announces their revs and answers each.
async fn store(lane: &Lane, jobs: Vec<Job>) {
    let mut batch = UnsequencedBatch::default();
    let mut replies = Vec::with_capacity(jobs.len());
    for job in jobs {
        batch.conversation_ids.push(job.conversation_id);
        batch.sender_ids.push(job.sender_id);
        batch.client_message_ids.push(job.client_message_id);
        batch.bodies.push(job.body);
        batch.created_ats.push(job.created_at);
        batch.reply_to_ids.push(job.reply_to_id);
        replies.push(job.reply);
    }
    let mut conn = match lane.pool.get().await {
        Ok(conn) => conn,
        Err(err) => {
            log::debug!(cause:% = err; "no database connection for a batch of sends");
            for reply in replies {
                let _ = reply.send(Err(DieselError::BrokenTransactionManager));
            }
            return;
        }
    };
    if batch.len() > 1 {
        match message::insert_batch_if_allowed(&mut conn, &batch).await {
            Ok(stored) => {
                lane.announce(&stored);
                let mut stored: HashMap<(Uuid, String), Message> = stored
                    .into_iter()
                    .map(|m| ((m.sender_id, m.client_message_id.clone()), m))
                    .collect();
                let keys = batch.sender_ids.into_iter().zip(batch.client_message_ids);
                for (key, reply) in keys.zip(replies) {
                    let _ = reply.send(Ok(stored.remove(&key)));
                }
                return;
            }
            // Nothing was stored: each send gets its own statement and its own outcome
            // (a repeated client id, say, fails only the send that repeated it).
            Err(err) => {
                log::debug!(cause:% = err, sends = batch.len(); "batch failed; storing its sends one by one")
            }
        }
    }
    for (i, reply) in replies.into_iter().enumerate() {
        let stored = message::insert_if_allowed(&mut conn, batch.get(i)).await;
        if let Ok(Some(message)) = &stored {
            lane.announce([message]);
        }
        let _ = reply.send(stored);
    }
}
