//! What the in-memory store keeps, and how a change the rules allowed is applied to a
//! message's JSON.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::chat::rules::{Kind, Reactions, Refusal, Role, Standing};
use crate::chat::{Change, StoreError};
use crate::ErrorCode;

#[derive(Default)]
pub(super) struct World {
    pub(super) tokens: HashMap<String, Uuid>,
    pub(super) conversations: HashMap<Uuid, Conversation>,
    pub(super) by_client_id: HashMap<(Uuid, String), (Uuid, usize)>,
    pub(super) last_seen: HashMap<Uuid, String>,
    /// Users who hide their presence.
    pub(super) hidden: std::collections::HashSet<Uuid>,
    /// (blocker, blocked).
    pub(super) blocks: std::collections::HashSet<(Uuid, Uuid)>,
}

pub(super) struct Conversation {
    pub(super) kind: Kind,
    pub(super) members: Vec<Uuid>,
    /// Roles other than `Member`.
    pub(super) roles: HashMap<Uuid, Role>,
    pub(super) messages: Vec<Arc<RawValue>>,
    /// The rev of the latest change.
    pub(super) last_rev: i64,
    /// Each member's (delivered, read) watermarks.
    pub(super) marks: HashMap<Uuid, (i64, i64)>,
}

impl Conversation {
    pub(super) fn new(kind: Kind, members: &[Uuid]) -> Conversation {
        Conversation {
            kind,
            members: members.to_vec(),
            roles: members
                .first()
                .map(|owner| (*owner, Role::Owner))
                .into_iter()
                .collect(),
            messages: Vec::new(),
            last_rev: 0,
            marks: HashMap::new(),
        }
    }
}

impl World {
    /// `actor`'s standing in `conversation`, as the rules take it.
    pub(super) fn standing(&self, conversation: Uuid, actor: Uuid) -> Option<Standing> {
        let c = self.conversations.get(&conversation)?;
        if !c.members.contains(&actor) {
            return None;
        }
        let blocked = |other: &Uuid| {
            self.blocks.contains(&(actor, *other)) || self.blocks.contains(&(*other, actor))
        };
        Some(Standing {
            kind: c.kind,
            role: c.roles.get(&actor).copied().unwrap_or(Role::Member),
            dm_blocked: c.kind == Kind::Dm && c.members.iter().any(|m| *m != actor && blocked(m)),
        })
    }
}

pub(super) const NO_MESSAGE: Refusal = Refusal {
    code: ErrorCode::NotFound,
    message: "message not found",
};

pub(super) fn refused(refusal: Refusal) -> StoreError {
    StoreError::new(refusal.code, refusal.message)
}

/// What the rules need to know of `message` (its JSON) for a reaction change of `emoji`.
pub(super) fn reactions_of(message: &serde_json::Value, actor: Uuid, emoji: &str) -> Reactions {
    let list = message["reactions"].as_array().cloned().unwrap_or_default();
    let entry = list.iter().find(|r| r["emoji"] == json!(emoji));
    Reactions {
        mine: entry.is_some_and(|r| {
            r["userIds"]
                .as_array()
                .is_some_and(|ids| ids.contains(&json!(actor)))
        }),
        present: entry.is_some(),
        distinct: list.len(),
    }
}

/// Applies `change` by `actor` to `message` (its JSON), which the rules allowed.
pub(super) fn apply(message: &mut serde_json::Value, actor: Uuid, change: &Change) {
    match change {
        Change::Edit { body } => message["body"] = json!(body.trim()),
        Change::Delete => {
            message["deleted"] = json!(true);
            message["body"] = json!("");
            message["reactions"] = json!([]);
        }
        Change::React { emoji, add } => {
            let Some(list) = message["reactions"].as_array_mut() else {
                return;
            };
            match list.iter().position(|r| r["emoji"] == json!(emoji)) {
                Some(i) if *add => {
                    if let Some(ids) = list[i]["userIds"].as_array_mut() {
                        ids.push(json!(actor));
                    }
                }
                None if *add => list.push(json!({ "emoji": emoji, "userIds": [actor] })),
                Some(i) => {
                    if let Some(ids) = list[i]["userIds"].as_array_mut() {
                        ids.retain(|id| *id != json!(actor));
                    }
                    list.retain(|r| r["userIds"].as_array().is_some_and(|ids| !ids.is_empty()));
                }
                None => {}
            }
        }
    }
}
