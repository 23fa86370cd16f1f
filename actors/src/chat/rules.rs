//! The chat rules, stated once: who may send into a conversation, and who may edit, delete or
//! react to a message, given what the store knows at the moment of the change (the actor's
//! standing in the conversation and the message as it is). No I/O: a store gathers the facts
//! under its lock and asks here.
//!
//! The in-memory store applies these functions as they are. PostgreSQL applies the same rules
//! inside the statement that stores the change (the send's `ALLOWED` condition in
//! `models::message`, the change functions of migration `2026-12-01-000001_revisions`), so that
//! the check and the write see one snapshot under one lock, in one round trip. One table of
//! cases (`testing::rule_cases`) runs against both stores and keeps them in step.

use uuid::Uuid;

use crate::ErrorCode;

/// Distinct emoji one message may carry.
pub const MAX_DISTINCT_EMOJI: usize = 20;

/// A member's role in a group (a DM's two people are members).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Created the group, or inherited it.
    Owner,
    /// Made an admin by an owner.
    Admin,
    /// Anyone else.
    Member,
}

/// The kind of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Two people.
    Dm,
    /// A group (or a workspace's channel).
    Group,
}

/// The actor's standing in a conversation; `None` where a rule takes one is "not a member, or
/// no such conversation", which the contract does not tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The conversation's kind.
    pub kind: Kind,
    /// The actor's role in it.
    pub role: Role,
    /// A DM whose two people have a block between them, either way.
    pub dm_blocked: bool,
}

/// The message a change names, as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Who sent it.
    pub sender: Uuid,
    /// It is a tombstone.
    pub deleted: bool,
}

/// What the reactions of a message are now, as a reaction change sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reactions {
    /// The actor already reacted with this emoji.
    pub mine: bool,
    /// Someone reacted with this emoji.
    pub present: bool,
    /// Distinct emoji on the message.
    pub distinct: usize,
}

/// A change the rules allow: it changes the message, or it is a repeat that changes nothing
/// (acknowledged, published to no one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Store it with the conversation's next rev.
    Change,
    /// Nothing to do.
    Unchanged,
}

/// Why the rules refuse an action: its error code and a message safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The contract's code.
    pub code: ErrorCode,
    /// Why.
    pub message: &'static str,
}

const NOT_A_MEMBER: Refusal = Refusal {
    code: ErrorCode::NotFound,
    message: "conversation not found",
};
const NO_MESSAGE: Refusal = Refusal {
    code: ErrorCode::NotFound,
    message: "message not found",
};
const BLOCKED: Refusal = Refusal {
    code: ErrorCode::Forbidden,
    message: "a block stands between the two people of this conversation",
};
const TOMBSTONE: Refusal = Refusal {
    code: ErrorCode::Conflict,
    message: "the message is deleted",
};

/// A send into a conversation: members only, and no block between the two people of a DM.
pub fn send(standing: Option<Standing>) -> Result<(), Refusal> {
    let standing = standing.ok_or(NOT_A_MEMBER)?;
    if standing.dm_blocked {
        return Err(BLOCKED);
    }
    Ok(())
}

/// An edit: only the sender, no block in a DM, never a tombstone.
pub fn edit(
    actor: Uuid,
    standing: Option<Standing>,
    target: Option<Target>,
) -> Result<Allowed, Refusal> {
    let (standing, target) = found(standing, target)?;
    if target.sender != actor {
        return Err(Refusal {
            code: ErrorCode::Forbidden,
            message: "only the sender may edit a message",
        });
    }
    if standing.dm_blocked {
        return Err(BLOCKED);
    }
    if target.deleted {
        return Err(TOMBSTONE);
    }
    Ok(Allowed::Change)
}

/// A delete: the sender, or in a group an owner or admin; deleting a tombstone again changes
/// nothing. A block does not stop anyone deleting what they may.
pub fn delete(
    actor: Uuid,
    standing: Option<Standing>,
    target: Option<Target>,
) -> Result<Allowed, Refusal> {
    let (standing, target) = found(standing, target)?;
    let moderator =
        standing.kind == Kind::Group && matches!(standing.role, Role::Owner | Role::Admin);
    if target.sender != actor && !moderator {
        return Err(Refusal {
            code: ErrorCode::Forbidden,
            message: "only the sender, or a group's owners and admins, may delete a message",
        });
    }
    Ok(if target.deleted {
        Allowed::Unchanged
    } else {
        Allowed::Change
    })
}

/// A reaction added (`add`) or removed: any member, no block in a DM, never on a tombstone;
/// repeats change nothing; at most [`MAX_DISTINCT_EMOJI`] distinct emoji on a message.
pub fn react(
    standing: Option<Standing>,
    target: Option<Target>,
    add: bool,
    reactions: Reactions,
) -> Result<Allowed, Refusal> {
    let (standing, target) = found(standing, target)?;
    if standing.dm_blocked {
        return Err(BLOCKED);
    }
    if target.deleted {
        return Err(TOMBSTONE);
    }
    if add == reactions.mine {
        return Ok(Allowed::Unchanged);
    }
    if add && !reactions.present && reactions.distinct >= MAX_DISTINCT_EMOJI {
        return Err(Refusal {
            code: ErrorCode::Conflict,
            message: "a message takes at most 20 distinct emoji",
        });
    }
    Ok(Allowed::Change)
}

/// A change names a message of a conversation the actor is a member of.
fn found(
    standing: Option<Standing>,
    target: Option<Target>,
) -> Result<(Standing, Target), Refusal> {
    let standing = standing.ok_or(NO_MESSAGE)?;
    let target = target.ok_or(NO_MESSAGE)?;
    Ok((standing, target))
}
