//! An in-memory store with the real send's rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::json;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::lock;
use crate::chat::{
    ChatStore, Committed, Credentials, History, Limiter, Membership, NewMessage, SessionStart,
    StoreError,
};
use crate::ErrorCode;

/// A store that keeps users, conversations and messages in memory. It applies the rules of
/// the real send (validation, membership, the sending rate, one message per client id), in
/// that order. Cloning shares it.
#[derive(Clone)]
pub struct MemoryStore {
    world: Arc<Mutex<World>>,
    limiter: Limiter,
    last_seen_reads: Arc<AtomicUsize>,
}

#[derive(Default)]
struct World {
    tokens: HashMap<String, Uuid>,
    conversations: HashMap<Uuid, Conversation>,
    by_client_id: HashMap<(Uuid, String), (Uuid, usize)>,
    last_seen: HashMap<Uuid, String>,
}

#[derive(Default)]
struct Conversation {
    members: Vec<Uuid>,
    messages: Vec<Arc<RawValue>>,
    /// Each member's (delivered, read) watermarks.
    marks: HashMap<Uuid, (i64, i64)>,
}

impl MemoryStore {
    /// An empty store whose sends spend tokens of `limiter`.
    pub fn new(limiter: Limiter) -> MemoryStore {
        MemoryStore {
            world: Arc::default(),
            limiter,
            last_seen_reads: Arc::default(),
        }
    }

    /// How many times last-seen times were read.
    pub fn last_seen_reads(&self) -> usize {
        self.last_seen_reads.load(Ordering::Relaxed)
    }

    /// A new user, and the token that signs them in.
    pub fn user(&self) -> (Uuid, String) {
        let user = Uuid::new_v4();
        let token = format!("token-{user}");
        lock(&self.world).tokens.insert(token.clone(), user);
        (user, token)
    }

    /// A new conversation of `members`.
    pub fn conversation(&self, members: &[Uuid]) -> Uuid {
        let id = Uuid::new_v4();
        let conversation = Conversation {
            members: members.to_vec(),
            ..Default::default()
        };
        lock(&self.world).conversations.insert(id, conversation);
        id
    }

    /// Makes `user` a member of `conversation` (or no longer one).
    pub fn set_member(&self, conversation: Uuid, user: Uuid, member: bool) {
        let mut world = lock(&self.world);
        if let Some(c) = world.conversations.get_mut(&conversation) {
            c.members.retain(|m| *m != user);
            if member {
                c.members.push(user);
            }
        }
    }

    /// How many messages `conversation` holds.
    pub fn stored(&self, conversation: Uuid) -> usize {
        lock(&self.world)
            .conversations
            .get(&conversation)
            .map_or(0, |c| c.messages.len())
    }

    fn message_json(message: &NewMessage, seq: usize) -> Result<Arc<RawValue>, StoreError> {
        let json = json!({
            "id": seq.to_string(),
            "conversationId": message.conversation_id,
            "seq": seq,
            "senderId": message.sender_id,
            "clientMessageId": message.client_message_id,
            "body": message.body.trim(),
        });
        serde_json::value::to_raw_value(&json)
            .map(Arc::from)
            .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))
    }
}

fn not_found() -> StoreError {
    StoreError::new(ErrorCode::NotFound, "conversation not found")
}

impl ChatStore for MemoryStore {
    fn verify_token(&self, token: &str) -> Result<Credentials, ErrorCode> {
        let user = lock(&self.world)
            .tokens
            .get(token)
            .copied()
            .ok_or(ErrorCode::Unauthorized)?;
        Ok(Credentials {
            user,
            family: None,
            expires_at: std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
        })
    }

    async fn open_session(
        &self,
        credentials: Credentials,
    ) -> Result<Option<SessionStart>, StoreError> {
        if !self.credentials_hold(credentials).await? {
            return Ok(None);
        }
        Ok(Some(SessionStart {
            memberships: self.memberships(credentials.user).await?,
            blockers: Vec::new(),
        }))
    }

    async fn credentials_hold(&self, credentials: Credentials) -> Result<bool, StoreError> {
        Ok(lock(&self.world)
            .tokens
            .values()
            .any(|u| *u == credentials.user))
    }

    async fn memberships(&self, user: Uuid) -> Result<Vec<Membership>, StoreError> {
        let world = lock(&self.world);
        Ok(world
            .conversations
            .iter()
            .filter(|(_, c)| c.members.contains(&user))
            .map(|(id, c)| Membership {
                conversation_id: *id,
                last_seq: c.messages.len() as i64,
                last_read_seq: c.marks.get(&user).map_or(0, |m| m.1),
            })
            .collect())
    }

    async fn send(&self, message: NewMessage) -> Result<Committed, StoreError> {
        if message.body.trim().is_empty() || message.client_message_id.is_empty() {
            return Err(StoreError::new(
                ErrorCode::Invalid,
                "body must not be empty",
            ));
        }
        let mut world = lock(&self.world);
        let key = (message.sender_id, message.client_message_id.clone());
        if let Some((conversation, index)) = world.by_client_id.get(&key).copied() {
            if conversation != message.conversation_id {
                return Err(StoreError::new(
                    ErrorCode::Conflict,
                    "clientMessageId taken",
                ));
            }
            let stored = &world.conversations[&conversation].messages[index];
            return Ok(Committed {
                conversation_id: conversation,
                seq: index as i64 + 1,
                message: stored.clone(),
                created: false,
            });
        }
        let conversation = world
            .conversations
            .get_mut(&message.conversation_id)
            .filter(|c| c.members.contains(&message.sender_id))
            .ok_or_else(not_found)?;
        if let Err(wait) = self.limiter.check(message.sender_id) {
            return Err(StoreError {
                retry_after_ms: Some((wait.as_millis() as u64).max(1)),
                ..StoreError::new(ErrorCode::RateLimited, "sending too fast; retry later")
            });
        }
        let seq = conversation.messages.len() + 1;
        let json = Self::message_json(&message, seq)?;
        conversation.messages.push(json.clone());
        world
            .by_client_id
            .insert(key, (message.conversation_id, seq - 1));
        Ok(Committed {
            conversation_id: message.conversation_id,
            seq: seq as i64,
            message: json,
            created: true,
        })
    }

    async fn mark(
        &self,
        user: Uuid,
        conversation: Uuid,
        seq: i64,
        read: bool,
    ) -> Result<(i64, i64), StoreError> {
        let mut world = lock(&self.world);
        let c = world
            .conversations
            .get_mut(&conversation)
            .filter(|c| c.members.contains(&user))
            .ok_or_else(not_found)?;
        let seq = seq.min(c.messages.len() as i64);
        let marks = c.marks.entry(user).or_default();
        marks.0 = marks.0.max(seq);
        if read {
            marks.1 = marks.1.max(seq);
        }
        Ok(*marks)
    }

    async fn last_seen(
        &self,
        viewer: Uuid,
        users: Vec<Uuid>,
    ) -> Result<Vec<(Uuid, Option<String>)>, StoreError> {
        self.last_seen_reads.fetch_add(1, Ordering::Relaxed);
        let world = lock(&self.world);
        let shares = |user: &Uuid| {
            *user == viewer
                || world
                    .conversations
                    .values()
                    .any(|c| c.members.contains(&viewer) && c.members.contains(user))
        };
        Ok(users
            .into_iter()
            .filter(shares)
            .map(|u| (u, world.last_seen.get(&u).cloned()))
            .collect())
    }

    async fn set_last_seen(&self, user: Uuid, _at: SystemTime) -> Result<(), StoreError> {
        lock(&self.world).last_seen.insert(user, "seen".into());
        Ok(())
    }

    async fn history(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> Result<History, StoreError> {
        let world = lock(&self.world);
        let c = world
            .conversations
            .get(&conversation)
            .filter(|c| c.members.contains(&user))
            .ok_or_else(not_found)?;
        let after: Vec<&RawValue> = c
            .messages
            .iter()
            .skip(after_seq.max(0) as usize)
            .map(|m| &**m)
            .collect();
        let page = &after[..after.len().min(limit.max(0) as usize)];
        let messages = serde_json::value::to_raw_value(page)
            .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))?;
        Ok(History {
            messages,
            has_more: after.len() > page.len(),
        })
    }
}
