//! Group commit for the common send: sends that arrive while a statement is running are stored
//! together by the next one, so that PostgreSQL runs one statement and one commit for many
//! messages. Sends are spread over `lanes` by conversation: the sends of one conversation
//! keep their order, and two lanes never lock the same conversation.

use std::collections::HashMap;
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};
use diesel::result::Error as DieselError;
use diesel::QueryResult;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::db::DbPool;
use crate::models::message::{self, Message, Unsequenced, UnsequencedBatch};

/// Sends waiting for a lane beyond this many are refused as if the database were down.
const QUEUE: usize = 4096;

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
}

impl MessageWriter {
    /// Starts `lanes` writers on the current runtime, each storing up to `max_batch` messages
    /// per statement. `batch_sizes` observes the size of every statement's batch.
    pub fn start(
        pool: DbPool,
        lanes: usize,
        max_batch: usize,
        batch_sizes: prometheus::Histogram,
    ) -> MessageWriter {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run_lane(
                    pool.clone(),
                    rx,
                    max_batch.max(1),
                    batch_sizes.clone(),
                ));
                tx
            })
            .collect();
        MessageWriter {
            lanes,
            hasher: Default::default(),
        }
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
            log::warn!("send queue full; refusing a send");
            return Err(DieselError::BrokenTransactionManager);
        }
        answer
            .await
            .unwrap_or(Err(DieselError::BrokenTransactionManager))
    }
}

async fn run_lane(
    pool: DbPool,
    mut jobs: mpsc::Receiver<Job>,
    max_batch: usize,
    batch_sizes: prometheus::Histogram,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        batch_sizes.observe(batch.len() as f64);
        store(&pool, std::mem::take(&mut batch)).await;
    }
}

/// Stores `jobs` and answers each.
async fn store(pool: &DbPool, jobs: Vec<Job>) {
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
    let mut conn = match pool.get().await {
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
        let _ = reply.send(message::insert_if_allowed(&mut conn, batch.get(i)).await);
    }
}
