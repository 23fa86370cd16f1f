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
    Change, ChangeRequest, Changed, Changes, ChatStore, Committed, Credentials, History, Limiter,
    Marked, Membership, NewMessage, SessionStart, StoreError,
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
    /// Users who hide their presence.
    hidden: std::collections::HashSet<Uuid>,
}

#[derive(Default)]
struct Conversation {
    members: Vec<Uuid>,
    messages: Vec<Arc<RawValue>>,
    /// The rev of the latest change.
    last_rev: i64,
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

/// Applies `change` by `actor` to `message` (its JSON); whether anything changed.
fn apply(
    message: &mut serde_json::Value,
    actor: Uuid,
    change: &Change,
) -> Result<bool, StoreError> {
    let refused = |code, what: &str| Err(StoreError::new(code, what));
    if message["deleted"] == true && !matches!(change, Change::Delete) {
        return refused(ErrorCode::Conflict, "the message is deleted");
    }
    match change {
        Change::Edit { body } if message["senderId"] == json!(actor) => {
            message["body"] = json!(body.trim());
            Ok(true)
        }
        Change::Edit { .. } => refused(ErrorCode::Forbidden, "only the sender may edit"),
        Change::Delete if message["deleted"] == true => Ok(false),
        Change::Delete => {
            message["deleted"] = json!(true);
            message["body"] = json!("");
            message["reactions"] = json!([]);
            Ok(true)
        }
        Change::React { emoji, add } => {
            let Some(list) = message["reactions"].as_array_mut() else {
                return refused(ErrorCode::Internal, "no reactions");
            };
            let at = list.iter().position(|r| r["emoji"] == json!(emoji));
            let has = at.is_some_and(|i| {
                list[i]["userIds"]
                    .as_array()
                    .is_some_and(|ids| ids.contains(&json!(actor)))
            });
            match (add, at, has) {
                (true, _, true) | (false, _, false) => Ok(false),
                (true, Some(i), false) => {
                    if let Some(ids) = list[i]["userIds"].as_array_mut() {
                        ids.push(json!(actor));
                    }
                    Ok(true)
                }
                (true, None, false) => {
                    list.push(json!({ "emoji": emoji, "userIds": [actor] }));
                    Ok(true)
                }
                (false, Some(i), true) => {
                    if let Some(ids) = list[i]["userIds"].as_array_mut() {
                        ids.retain(|id| *id != json!(actor));
                    }
                    list.retain(|r| r["userIds"].as_array().is_some_and(|ids| !ids.is_empty()));
                    Ok(true)
                }
                (false, None, true) => Ok(false),
            }
        }
    }
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
        let c = world
            .conversations
            .get_mut(&request.conversation_id)
            .filter(|c| c.members.contains(&request.actor))
            .ok_or_else(not_found)?;
        let index = request
            .message_id
            .parse::<usize>()
            .ok()
            .filter(|seq| (1..=c.messages.len()).contains(seq))
            .ok_or_else(|| StoreError::new(ErrorCode::NotFound, "message not found"))?
            - 1;
        let mut message: serde_json::Value = serde_json::from_str(c.messages[index].get())
            .map_err(|err| StoreError::new(ErrorCode::Internal, err.to_string()))?;
        let changed = apply(&mut message, request.actor, &request.change)?;
        if changed {
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
