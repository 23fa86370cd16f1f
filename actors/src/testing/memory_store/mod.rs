//! An in-memory store with the real store's rules (`chat::rules`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::json;
use serde_json::value::RawValue;
use uuid::Uuid;

mod world;

use super::lock;
use crate::chat::rules::{self, Allowed, Kind, Role, Target};
use crate::chat::{
    Change, ChangeRequest, Changed, Changes, ChatStore, Committed, Credentials, History, Limiter,
    Marked, Membership, NewMessage, SessionStart, StoreError,
};
use crate::ErrorCode;
use world::{apply, reactions_of, refused, Conversation, World, NO_MESSAGE};

/// A store that keeps users, conversations and messages in memory. It applies the rules of
/// the real send (validation, membership, the sending rate, one message per client id), in
/// that order. Cloning shares it.
#[derive(Clone)]
pub struct MemoryStore {
    world: Arc<Mutex<World>>,
    limiter: Limiter,
    last_seen_reads: Arc<AtomicUsize>,
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

    /// `user` hides (`hidden`) or shows their presence.
    pub fn set_hidden(&self, user: Uuid, hidden: bool) {
        let mut world = lock(&self.world);
        if hidden {
            world.hidden.insert(user);
        } else {
            world.hidden.remove(&user);
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

    /// A new group of `members`, the first of them its owner.
    pub fn conversation(&self, members: &[Uuid]) -> Uuid {
        self.create(Kind::Group, members)
    }

    /// A new DM between `a` and `b`.
    pub fn dm(&self, a: Uuid, b: Uuid) -> Uuid {
        self.create(Kind::Dm, &[a, b])
    }

    fn create(&self, kind: Kind, members: &[Uuid]) -> Uuid {
        let id = Uuid::new_v4();
        lock(&self.world)
            .conversations
            .insert(id, Conversation::new(kind, members));
        id
    }

    /// Gives `user` `role` in `conversation`.
    pub fn set_role(&self, conversation: Uuid, user: Uuid, role: Role) {
        if let Some(c) = lock(&self.world).conversations.get_mut(&conversation) {
            c.roles.insert(user, role);
        }
    }

    /// `by` blocks `whom`.
    pub fn block(&self, by: Uuid, whom: Uuid) {
        lock(&self.world).blocks.insert((by, whom));
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

    fn message_json(
        message: &NewMessage,
        seq: usize,
        rev: i64,
    ) -> Result<Arc<RawValue>, StoreError> {
        let json = json!({
            "id": seq.to_string(),
            "conversationId": message.conversation_id,
            "seq": seq,
            "rev": rev,
            "reactions": [],
            "deleted": false,
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

fn to_raw(value: &serde_json::Value) -> Result<Arc<RawValue>, StoreError> {
    serde_json::value::to_raw_value(value)
        .map(Arc::from)
        .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))
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
            presence_visible: !lock(&self.world).hidden.contains(&credentials.user),
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
                last_rev: c.last_rev,
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
                rev: serde_json::from_str::<serde_json::Value>(stored.get())
                    .ok()
                    .and_then(|m| m["rev"].as_i64())
                    .unwrap_or(0),
                message: stored.clone(),
                created: false,
            });
        }
        rules::send(world.standing(message.conversation_id, message.sender_id)).map_err(refused)?;
        let conversation = world
            .conversations
            .get_mut(&message.conversation_id)
            .ok_or_else(not_found)?;
        if let Err(wait) = self.limiter.check(message.sender_id) {
            return Err(StoreError {
                retry_after_ms: Some((wait.as_millis() as u64).max(1)),
                ..StoreError::new(ErrorCode::RateLimited, "sending too fast; retry later")
            });
        }
        let seq = conversation.messages.len() + 1;
        conversation.last_rev += 1;
        let rev = conversation.last_rev;
        let json = Self::message_json(&message, seq, rev)?;
        conversation.messages.push(json.clone());
        world
            .by_client_id
            .insert(key, (message.conversation_id, seq - 1));
        Ok(Committed {
            conversation_id: message.conversation_id,
            seq: seq as i64,
            rev,
            message: json,
            created: true,
        })
    }

    async fn change(&self, request: ChangeRequest) -> Result<Changed, StoreError> {
        let mut world = lock(&self.world);
        let (conversation, actor) = (request.conversation_id, request.actor);
        let standing = world.standing(conversation, actor);
        let Some(c) = world.conversations.get_mut(&conversation) else {
            return Err(refused(NO_MESSAGE));
        };
        // Messages are numbered by seq here: message id `n` is the n-th message.
        let index = request
            .message_id
            .parse::<usize>()
            .ok()
            .filter(|seq| (1..=c.messages.len()).contains(seq))
            .map(|seq| seq - 1);
        let mut message: serde_json::Value = match index {
            Some(index) => serde_json::from_str(c.messages[index].get())
                .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))?,
            None => serde_json::Value::Null,
        };
        let target = index.map(|_| Target {
            sender: serde_json::from_value(message["senderId"].clone()).unwrap_or_default(),
            deleted: message["deleted"] == true,
        });
        let allowed = match &request.change {
            Change::Edit { .. } => rules::edit(actor, standing, target),
            Change::Delete => rules::delete(actor, standing, target),
            Change::React { emoji, add } => {
                rules::react(standing, target, *add, reactions_of(&message, actor, emoji))
            }
        }
        .map_err(refused)?;
        let Some(index) = index else {
            return Err(refused(NO_MESSAGE));
        };
        let changed = allowed == Allowed::Change;
        if changed {
            apply(&mut message, actor, &request.change);
            c.last_rev += 1;
            message["rev"] = json!(c.last_rev);
            c.messages[index] = to_raw(&message)?;
        }
        Ok(Changed {
            conversation_id: request.conversation_id,
            message_id: request.message_id,
            rev: message["rev"].as_i64().unwrap_or(0),
            reactions: to_raw(&message["reactions"])?,
            message: c.messages[index].clone(),
            changed,
        })
    }

    async fn changes(
        &self,
        user: Uuid,
        conversation: Uuid,
        after_rev: i64,
        limit: i64,
    ) -> Result<Changes, StoreError> {
        let world = lock(&self.world);
        let c = world
            .conversations
            .get(&conversation)
            .filter(|c| c.members.contains(&user))
            .ok_or_else(not_found)?;
        let rev_of = |m: &RawValue| {
            serde_json::from_str::<serde_json::Value>(m.get())
                .ok()
                .and_then(|v| v["rev"].as_i64())
                .unwrap_or(0)
        };
        let mut changed: Vec<&RawValue> = c
            .messages
            .iter()
            .map(|m| &**m)
            .filter(|m| rev_of(m) > after_rev)
            .collect();
        changed.sort_by_key(|m| rev_of(m));
        let page = &changed[..changed.len().min(limit.max(0) as usize)];
        Ok(Changes {
            messages: serde_json::value::to_raw_value(page)
                .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))?,
            last_rev: c.last_rev,
            has_more: changed.len() > page.len(),
        })
    }

    async fn mark(
        &self,
        user: Uuid,
        conversation: Uuid,
        seq: i64,
        read: bool,
    ) -> Result<Marked, StoreError> {
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
        Ok(Marked {
            delivered: marks.0,
            read: marks.1,
            shared: true,
        })
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
                || !world.hidden.contains(user)
                    && world
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

    async fn set_last_seen(&self, user: Uuid, _at: SystemTime) -> Result<bool, StoreError> {
        let mut world = lock(&self.world);
        world.last_seen.insert(user, "seen".into());
        Ok(!world.hidden.contains(&user))
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
