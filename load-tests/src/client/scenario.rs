//! What a connected client does: the sends, edits and reactions it is told to make, and what
//! it records of every ack and event it receives.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_protocol::engineio::Packet;
use confab_protocol::events::{MessageEdit, MessageSend, ReactionChange, SyncChanges};
use confab_protocol::socketio::{self, PacketType};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::order::{Next, Revs, SeqSet};
use super::websocket::{read_packet, send_packet, Socket};
use super::wire::{
    Ack, ChangesAck, Message, MessageSent, ReactionUpdated, Ready, MESSAGE_NEW, MESSAGE_SENT,
    MESSAGE_UPDATED, REACTION_UPDATED,
};
use super::{ClientSpec, Command};
use crate::cli::Action;
use crate::stats::{Counters, Recorder};

/// The emoji a client reacts with, in turn: added one by one, then removed, so that each
/// reaction is a change and a message never carries more than these.
const EMOJI: [&str; 10] = ["👍", "🎉", "😂", "❤️", "🔥", "👀", "🙏", "💯", "😮", "🚀"];

/// The events a client sends. The protocol crate lists their names only together
/// (`ClientEvent::NAMES`, which a test checks these against).
const MESSAGE_SEND: &str = "message:send";
const MESSAGE_EDIT: &str = "message:edit";
const REACTION_ADD: &str = "reaction:add";
const REACTION_REMOVE: &str = "reaction:remove";
const SYNC_CHANGES: &str = "sync:changes";

/// What an ack answers.
enum Awaited {
    Send(Instant),
    Change,
    /// A `sync:changes` page for the conversation.
    Sync(String),
}

/// A client's state while it is connected.
struct Client<'a> {
    spec: &'a ClientSpec,
    recorder: &'a Recorder,
    user_id: String,
    next_ack: u64,
    pending: HashMap<u64, Awaited>,
    seen: HashMap<String, SeqSet>,
    revs: HashMap<String, Revs>,
    /// The latest message the client sent, and the latest it saw, per conversation.
    own_latest: HashMap<String, String>,
    latest: HashMap<String, String>,
    /// How many reactions the client made to each message (which emoji comes next).
    reactions: HashMap<String, usize>,
    /// The reaction list of the latest `reaction:updated` heard (its rev and list).
    last_reactions: Option<(u64, String)>,
    sent: u64,
}

impl<'a> Client<'a> {
    /// A client that `session:ready` told who it is and the rev each conversation is at.
    fn new(spec: &'a ClientSpec, recorder: &'a Recorder, ready: Ready) -> Client<'a> {
        let revs = ready
            .conversations
            .into_iter()
            .map(|c| (c.conversation_id, Revs::at(c.last_rev)))
            .collect();
        Client {
            spec,
            recorder,
            user_id: ready.user_id,
            next_ack: 0,
            pending: HashMap::new(),
            seen: HashMap::new(),
            revs,
            own_latest: HashMap::new(),
            latest: HashMap::new(),
            reactions: HashMap::new(),
            last_reactions: None,
            sent: 0,
        }
    }

    /// The event packet of `event` with a new ack id, waiting for `awaited`.
    fn request<T: Serialize>(
        &mut self,
        event: &str,
        payload: &T,
        awaited: Awaited,
    ) -> Option<String> {
        self.next_ack += 1;
        let text = socketio::encode_event_with_ack("/", event, payload, self.next_ack).ok()?;
        self.pending.insert(self.next_ack, awaited);
        Some(text)
    }

    /// The packet that does `action`, counting what it sends and what it expects.
    fn act(&mut self, conversation: &str, action: Action, members: usize) -> Option<String> {
        let recorder = self.recorder;
        let counters = &recorder.counters;
        let now = recorder.now_micros().to_string();
        match action {
            Action::Edit => {
                if let Some(id) = self.own_latest.get(conversation).cloned() {
                    let edit = MessageEdit {
                        conversation_id: conversation.to_string(),
                        message_id: id,
                        body: now,
                    };
                    Counters::add(&counters.changes_sent, 1);
                    Counters::add(&counters.changes_expected, members as u64);
                    return self.request(MESSAGE_EDIT, &edit, Awaited::Change);
                }
            }
            Action::React => {
                if let Some(id) = self.latest.get(conversation).cloned() {
                    let n = self.reactions.entry(id.clone()).or_default();
                    let add = *n % (2 * EMOJI.len()) < EMOJI.len();
                    let emoji = EMOJI[*n % EMOJI.len()];
                    *n += 1;
                    recorder.reaction_sent((
                        id.clone(),
                        self.user_id.clone(),
                        emoji.to_string(),
                        add,
                    ));
                    let reaction = ReactionChange {
                        conversation_id: conversation.to_string(),
                        message_id: id,
                        emoji: emoji.to_string(),
                    };
                    Counters::add(&counters.changes_sent, 1);
                    Counters::add(&counters.changes_expected, members as u64);
                    let event = if add { REACTION_ADD } else { REACTION_REMOVE };
                    return self.request(event, &reaction, Awaited::Change);
                }
            }
            Action::Send => {}
        }
        self.sent += 1;
        let request = MessageSend {
            conversation_id: conversation.to_string(),
            client_message_id: format!("l{}-{}", self.spec.index, self.sent),
            body: now,
            attachment_ids: Vec::new(),
            reply_to_id: None,
        };
        Counters::add(&counters.sent, 1);
        Counters::add(&counters.expected, members.saturating_sub(1) as u64);
        self.request(MESSAGE_SEND, &request, Awaited::Send(Instant::now()))
    }

    /// A live change of `conversation` at `rev`; the `sync:changes` packet a jump asks for.
    fn observe(&mut self, conversation: &str, rev: u64) -> Option<String> {
        let recorder = self.recorder;
        let counters = &recorder.counters;
        let next = self
            .revs
            .entry(conversation.to_string())
            .or_default()
            .live(rev, counters);
        self.next(conversation, next)
    }

    fn next(&mut self, conversation: &str, next: Next) -> Option<String> {
        let Next::Repair(after) = next else {
            return None;
        };
        let sync = SyncChanges {
            conversation_id: conversation.to_string(),
            after_rev: after as i64,
            limit: None,
        };
        self.request(SYNC_CHANGES, &sync, Awaited::Sync(conversation.to_string()))
    }

    /// Handles one Socket.IO packet; what it asks to send back.
    fn handle(&mut self, packet: &str) -> Option<String> {
        let Ok(header) = socketio::decode_header(packet, 0) else {
            self.recorder.error("bad_packet");
            return None;
        };
        match header.kind {
            PacketType::Event => {
                let (name, data) = serde_json::from_str::<(&str, &RawValue)>(header.data).ok()?;
                self.event(name, data.get())
            }
            PacketType::Ack => {
                let awaited = header.id.and_then(|id| self.pending.remove(&id))?;
                self.ack(awaited, header.data)
            }
            _ => None,
        }
    }

    /// An event the client reads; the others are ignored.
    fn event(&mut self, name: &str, data: &str) -> Option<String> {
        let error = match name {
            MESSAGE_NEW => match serde_json::from_str(data) {
                Ok(message) => return self.message_new(message),
                Err(_) => "bad_message",
            },
            MESSAGE_SENT => match serde_json::from_str::<MessageSent>(data) {
                Ok(sent) => return self.message_sent(sent.message),
                Err(_) => return None,
            },
            MESSAGE_UPDATED => match serde_json::from_str(data) {
                Ok(message) => return self.message_updated(message),
                Err(_) => "bad_message",
            },
            REACTION_UPDATED => match serde_json::from_str(data) {
                Ok(reaction) => return self.reaction_updated(reaction),
                Err(_) => "bad_reaction",
            },
            _ => return None,
        };
        self.recorder.error(error);
        None
    }

    /// Another member's message: a delivery, timed by the send time in its body.
    fn message_new(&mut self, message: Message) -> Option<String> {
        let recorder = self.recorder;
        let counters = &recorder.counters;
        Counters::add(&counters.delivered, 1);
        if let Some(latency) = self.since(&message.body) {
            recorder.delivery(self.spec.index, latency);
        }
        let conversation = &message.conversation_id;
        let seqs = match self.seen.get_mut(conversation.as_ref()) {
            Some(seqs) => seqs,
            None => self.seen.entry(conversation.to_string()).or_default(),
        };
        match seqs.insert(message.seq) {
            Ok(()) => {}
            Err(true) => Counters::add(&counters.duplicates, 1),
            Err(false) => Counters::add(&counters.out_of_order, 1),
        }
        self.latest
            .insert(conversation.to_string(), message.id.to_string());
        self.observe(conversation, message.rev)
    }

    /// The client's own message, stored: the one it edits next.
    fn message_sent(&mut self, message: Message) -> Option<String> {
        let conversation = &message.conversation_id;
        self.own_latest
            .insert(conversation.to_string(), message.id.to_string());
        self.latest
            .insert(conversation.to_string(), message.id.to_string());
        self.observe(conversation, message.rev)
    }

    /// An edit: a change delivered, timed by the edit time in its new body.
    fn message_updated(&mut self, message: Message) -> Option<String> {
        Counters::add(&self.recorder.counters.changes_delivered, 1);
        if let Some(latency) = self.since(&message.body) {
            self.recorder.change(self.spec.index, latency);
        }
        self.observe(&message.conversation_id, message.rev)
    }

    /// A reaction: a change delivered, timed by the time the run recorded it was asked for.
    fn reaction_updated(&mut self, reaction: ReactionUpdated) -> Option<String> {
        let recorder = self.recorder;
        Counters::add(&recorder.counters.changes_delivered, 1);
        if self
            .last_reactions
            .as_ref()
            .is_none_or(|(rev, _)| *rev < reaction.rev)
        {
            self.last_reactions = Some((reaction.rev, reaction.reactions.get().to_string()));
        }
        let key = (
            reaction.message_id.into_owned(),
            reaction.user_id.into_owned(),
            reaction.emoji.into_owned(),
            reaction.added,
        );
        if let Some(sent_at) = recorder.reaction_sent_at(&key) {
            let latency = recorder.now_micros().saturating_sub(sent_at);
            recorder.change(self.spec.index, Duration::from_micros(latency));
        }
        self.observe(&reaction.conversation_id, reaction.rev)
    }

    /// The time since `body`, a send or edit time in microseconds of the run's clock.
    fn since(&self, body: &str) -> Option<Duration> {
        let sent_at = body.parse::<u64>().ok()?;
        let now = self.recorder.now_micros();
        Some(Duration::from_micros(now.saturating_sub(sent_at)))
    }

    /// The ack of a request (`data` is its arguments array).
    fn ack(&mut self, awaited: Awaited, data: &str) -> Option<String> {
        let recorder = self.recorder;
        let counters = &recorder.counters;
        let answered = match awaited {
            Awaited::Sync(conversation) => return self.sync_page(conversation, data),
            Awaited::Send(sent) => Some(sent),
            Awaited::Change => None,
        };
        match serde_json::from_str::<(Ack,)>(data) {
            Ok((Ack { ok: true, .. },)) => match answered {
                Some(sent) => {
                    Counters::add(&counters.acked, 1);
                    recorder.ack(self.spec.index, sent.elapsed());
                }
                None => Counters::add(&counters.changes_acked, 1),
            },
            Ok((Ack { error, .. },)) => {
                recorder.error(error.as_ref().map_or("unknown", |e| &e.code))
            }
            Err(_) => recorder.error("bad_ack"),
        }
        None
    }

    /// A page of `sync:changes` for `conversation`; the next request, while more follow.
    fn sync_page(&mut self, conversation: String, data: &str) -> Option<String> {
        let recorder = self.recorder;
        let Ok((page,)) = serde_json::from_str::<(ChangesAck,)>(data) else {
            recorder.error("bad_sync_ack");
            return None;
        };
        if !page.ok {
            recorder.error("sync_refused");
            return None;
        }
        let top = page
            .messages
            .iter()
            .map(|m| m.rev)
            .max()
            .unwrap_or(0)
            .max(if page.has_more { 0 } else { page.last_rev });
        let next = self.revs.entry(conversation.clone()).or_default().repaired(
            top,
            page.has_more,
            &recorder.counters,
        );
        self.next(&conversation, next)
    }
}

/// Serves a connected client until the scheduler or the server closes it: the scheduler's
/// commands become requests, the server's packets are handled, its pings answered.
pub(super) async fn serve(
    mut ws: Socket,
    spec: ClientSpec,
    recorder: Arc<Recorder>,
    mut inbox: mpsc::UnboundedReceiver<Command>,
    ready: Ready,
) {
    let counters = &recorder.counters;
    let mut client = Client::new(&spec, &recorder, ready);
    let closed_by_us = loop {
        let outgoing = tokio::select! {
            command = inbox.recv() => match command {
                Some(Command::Act { conversation, action, members }) => {
                    let text = client.act(&conversation, action, members);
                    Counters::add(&counters.actions_taken, 1);
                    match text {
                        Some(text) => Some(text),
                        None => break false,
                    }
                }
                Some(Command::Close) | None => break true,
            },
            frame = ws.next() => match read_packet(frame) {
                Some(Packet::Ping(data)) => {
                    if send_packet(&mut ws, &Packet::Pong(data)).await.is_err() {
                        break false;
                    }
                    None
                }
                Some(Packet::Message(text)) => client.handle(&text),
                Some(Packet::Close) | None => break false,
                Some(_) => None,
            },
        };
        if let Some(text) = outgoing {
            if send_packet(&mut ws, &Packet::Message(text.into()))
                .await
                .is_err()
            {
                break false;
            }
        }
    };
    // Before it counts as gone: the run reads the lists once every client has left.
    if let Some((_, list)) = client.last_reactions.take() {
        recorder.final_reactions(list);
    }
    if let Some(group) = &spec.group_connected {
        group.fetch_sub(1, Ordering::Relaxed);
    }
    Counters::sub(&counters.connected, 1);
    if closed_by_us {
        let _ = ws.close(None).await;
    } else {
        Counters::add(&counters.disconnects, 1);
    }
    for (_, awaited) in client.pending.drain() {
        match awaited {
            Awaited::Sync(_) => recorder.error("no_sync_ack"),
            _ => recorder.error("no_ack"),
        }
    }
}

#[cfg(test)]
mod tests {
    use confab_protocol::events::ClientEvent;

    use super::*;

    #[test]
    fn the_events_sent_are_the_protocols() {
        for name in [
            MESSAGE_SEND,
            MESSAGE_EDIT,
            REACTION_ADD,
            REACTION_REMOVE,
            SYNC_CHANGES,
        ] {
            assert!(ClientEvent::NAMES.contains(&name), "{name}");
        }
    }
}
