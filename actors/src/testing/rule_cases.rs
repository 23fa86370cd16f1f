//! One table of cases for the chat rules (`chat::rules`), run against every store: the
//! in-memory one here, PostgreSQL through the server's HTTP API in the server's tests. Each
//! case builds its own small world through [`RuleWorld`], so a store only says how to make
//! users, conversations, blocks and messages, and how to act.

use crate::chat::Change;
use crate::ErrorCode;

/// Where the message of a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A group owned by the owner, with the admin, the sender and the member.
    Group,
    /// A DM between the sender and the member.
    Dm,
    /// The same DM after the member blocked the sender.
    BlockedDm,
}

/// Who acts, by their relation to the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Sent it.
    Sender,
    /// Another member (in a DM, the other person; in a blocked DM, the blocker).
    Member,
    /// The group's owner.
    Owner,
    /// An admin of the group.
    Admin,
    /// Not a member.
    Outsider,
}

/// What the actor does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Sends a new message to the place.
    Send,
    /// Edits the message.
    Edit,
    /// Deletes it.
    Delete,
    /// Reacts with 👍.
    React,
    /// Takes back a 👍.
    Unreact,
}

/// The message before the actor acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// As sent.
    Sent,
    /// Deleted by its sender.
    Tombstone,
    /// The actor reacted 👍 to it.
    Reacted,
    /// It carries as many distinct emoji as it may, 👍 not among them.
    FullOfEmoji,
}

/// What a case must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Stored (a new message, or a change with the next rev).
    Done,
    /// Acknowledged, nothing changed.
    Unchanged,
    /// Refused with this code.
    Refused(ErrorCode),
}

/// One case of the table.
#[derive(Debug, Clone, Copy)]
pub struct RuleCase {
    /// Where.
    pub place: Place,
    /// Who acts.
    pub who: Who,
    /// Doing what.
    pub act: Act,
    /// To a message in which state.
    pub before: Before,
    /// With which outcome.
    pub expect: Expect,
}

const fn case(place: Place, who: Who, act: Act, before: Before, expect: Expect) -> RuleCase {
    RuleCase {
        place,
        who,
        act,
        before,
        expect,
    }
}

use Act::*;
use Before::*;
use Expect::*;
use Place::*;
use Who::*;

const NOT_FOUND: Expect = Refused(ErrorCode::NotFound);
const FORBIDDEN: Expect = Refused(ErrorCode::Forbidden);
const CONFLICT: Expect = Refused(ErrorCode::Conflict);

/// The rules, case by case.
pub const RULE_CASES: &[RuleCase] = &[
    // Sends: members, and no block between the two people of a DM.
    case(Group, Member, Send, Sent, Done),
    case(Group, Outsider, Send, Sent, NOT_FOUND),
    case(Dm, Member, Send, Sent, Done),
    case(BlockedDm, Sender, Send, Sent, FORBIDDEN),
    case(BlockedDm, Member, Send, Sent, FORBIDDEN),
    // Edits: the sender only, not across a block, never a tombstone.
    case(Group, Sender, Edit, Sent, Done),
    case(Dm, Sender, Edit, Sent, Done),
    case(Group, Member, Edit, Sent, FORBIDDEN),
    case(Group, Owner, Edit, Sent, FORBIDDEN),
    case(Group, Outsider, Edit, Sent, NOT_FOUND),
    case(Group, Sender, Edit, Tombstone, CONFLICT),
    case(BlockedDm, Sender, Edit, Sent, FORBIDDEN),
    // Deletes: the sender, or a group's owner or admin; again is nothing; a block is no bar.
    case(Group, Sender, Delete, Sent, Done),
    case(Group, Owner, Delete, Sent, Done),
    case(Group, Admin, Delete, Sent, Done),
    case(Group, Member, Delete, Sent, FORBIDDEN),
    case(Group, Outsider, Delete, Sent, NOT_FOUND),
    case(Group, Sender, Delete, Tombstone, Unchanged),
    case(Group, Member, Delete, Tombstone, FORBIDDEN),
    case(Dm, Member, Delete, Sent, FORBIDDEN),
    case(BlockedDm, Sender, Delete, Sent, Done),
    // Reactions: any member, not across a block, not on a tombstone, at most 20 emoji;
    // repeats are nothing.
    case(Group, Member, React, Sent, Done),
    case(Dm, Member, React, Sent, Done),
    case(Group, Outsider, React, Sent, NOT_FOUND),
    case(Group, Member, React, Tombstone, CONFLICT),
    case(Group, Member, React, Reacted, Unchanged),
    case(Group, Member, React, FullOfEmoji, CONFLICT),
    case(BlockedDm, Member, React, Sent, FORBIDDEN),
    case(BlockedDm, Sender, React, Sent, FORBIDDEN),
    case(Group, Member, Unreact, Reacted, Done),
    case(Group, Member, Unreact, Sent, Unchanged),
    case(Group, Sender, Unreact, FullOfEmoji, Unchanged),
];

/// Twenty distinct emoji, none of them 👍.
pub const EMOJI: [&str; 20] = [
    "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗",
    "😙", "😚", "🙂", "🤗",
];

/// What a store under test offers the table: building a world and acting in it.
#[allow(async_fn_in_trait)]
pub trait RuleWorld {
    /// A user.
    type User;
    /// A conversation's id.
    type Conversation: Copy;
    /// A message's id.
    type Message: Clone;

    /// A new user.
    async fn user(&mut self) -> Self::User;
    /// A new group of `owner` and `members`.
    async fn group(&mut self, owner: &Self::User, members: &[&Self::User]) -> Self::Conversation;
    /// A new DM between `a` and `b`.
    async fn dm(&mut self, a: &Self::User, b: &Self::User) -> Self::Conversation;
    /// Makes `user` an admin of `group`.
    async fn make_admin(&mut self, group: Self::Conversation, user: &Self::User);
    /// `by` blocks `whom`.
    async fn block(&mut self, by: &Self::User, whom: &Self::User);
    /// `by` sends a message to `conversation`: its id, or the refusal's code.
    async fn send(
        &mut self,
        conversation: Self::Conversation,
        by: &Self::User,
    ) -> Result<Self::Message, ErrorCode>;
    /// `by` changes `message`: whether it changed, or the refusal's code.
    async fn change(
        &mut self,
        conversation: Self::Conversation,
        message: &Self::Message,
        by: &Self::User,
        change: Change,
    ) -> Result<bool, ErrorCode>;
}

/// Runs every case, each in a world of its own; panics naming the first case that fails.
pub async fn check_rules<W: RuleWorld>(world: &mut W) {
    for case in RULE_CASES {
        assert_eq!(run(world, case).await, case.expect, "{case:?}");
    }
}

async fn run<W: RuleWorld>(world: &mut W, case: &RuleCase) -> Expect {
    let owner = world.user().await;
    let admin = world.user().await;
    let sender = world.user().await;
    let member = world.user().await;
    let outsider = world.user().await;
    let conversation = match case.place {
        Group => {
            let group = world.group(&owner, &[&admin, &sender, &member]).await;
            world.make_admin(group, &admin).await;
            group
        }
        Dm | BlockedDm => world.dm(&sender, &member).await,
    };
    let actor = match case.who {
        Sender => &sender,
        Member => &member,
        Owner => &owner,
        Admin => &admin,
        Outsider => &outsider,
    };
    let Ok(message) = world.send(conversation, &sender).await else {
        panic!("{case:?}: the sender's first message was refused");
    };
    let react = |emoji: &str, add| Change::React {
        emoji: emoji.into(),
        add,
    };
    let prepared = match case.before {
        Sent => Ok(true),
        Tombstone => {
            world
                .change(conversation, &message, &sender, Change::Delete)
                .await
        }
        Reacted => {
            world
                .change(conversation, &message, actor, react("👍", true))
                .await
        }
        FullOfEmoji => {
            let mut all = Ok(true);
            for emoji in EMOJI {
                all = all.and(
                    world
                        .change(conversation, &message, &sender, react(emoji, true))
                        .await,
                );
            }
            all
        }
    };
    assert_eq!(prepared, Ok(true), "{case:?}: preparing the message");
    if case.place == BlockedDm {
        world.block(&member, &sender).await;
    }
    let outcome = match case.act {
        Send => world.send(conversation, actor).await.map(|_| true),
        Edit => {
            let edit = Change::Edit {
                body: "edited".into(),
            };
            world.change(conversation, &message, actor, edit).await
        }
        Delete => {
            world
                .change(conversation, &message, actor, Change::Delete)
                .await
        }
        React => {
            world
                .change(conversation, &message, actor, react("👍", true))
                .await
        }
        Unreact => {
            world
                .change(conversation, &message, actor, react("👍", false))
                .await
        }
    };
    match outcome {
        Ok(true) => Done,
        Ok(false) => Unchanged,
        Err(code) => Refused(code),
    }
}

/// The table against the in-memory store (its message ids are seqs).
#[cfg(test)]
mod in_memory {
    use super::*;
    use crate::chat::rules::Role;
    use crate::chat::{ChangeRequest, ChatStore, Limiter, NewMessage};
    use crate::testing::MemoryStore;
    use uuid::Uuid;

    struct World {
        store: MemoryStore,
        sent: usize,
    }

    impl RuleWorld for World {
        type User = Uuid;
        type Conversation = Uuid;
        type Message = String;

        async fn user(&mut self) -> Uuid {
            self.store.user().0
        }

        async fn group(&mut self, owner: &Uuid, members: &[&Uuid]) -> Uuid {
            let all: Vec<Uuid> = std::iter::once(*owner)
                .chain(members.iter().map(|m| **m))
                .collect();
            self.store.conversation(&all)
        }

        async fn dm(&mut self, a: &Uuid, b: &Uuid) -> Uuid {
            self.store.dm(*a, *b)
        }

        async fn make_admin(&mut self, group: Uuid, user: &Uuid) {
            self.store.set_role(group, *user, Role::Admin);
        }

        async fn block(&mut self, by: &Uuid, whom: &Uuid) {
            self.store.block(*by, *whom);
        }

        async fn send(&mut self, conversation: Uuid, by: &Uuid) -> Result<String, ErrorCode> {
            self.sent += 1;
            let message = NewMessage {
                conversation_id: conversation,
                sender_id: *by,
                client_message_id: format!("case-{}", self.sent),
                body: "hello".into(),
                attachment_ids: Vec::new(),
                reply_to_id: None,
            };
            let committed = self.store.send(message).await.map_err(|e| e.code)?;
            Ok(committed.seq.to_string())
        }

        async fn change(
            &mut self,
            conversation: Uuid,
            message: &String,
            by: &Uuid,
            change: Change,
        ) -> Result<bool, ErrorCode> {
            let request = ChangeRequest {
                conversation_id: conversation,
                actor: *by,
                message_id: message.clone(),
                change,
            };
            let changed = self.store.change(request).await.map_err(|e| e.code)?;
            Ok(changed.changed)
        }
    }

    #[actix::test]
    async fn the_rule_table_holds() {
        let mut world = World {
            store: MemoryStore::new(Limiter::new(1e6, 1e6)),
            sent: 0,
        };
        check_rules(&mut world).await;
    }
}
