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
use super::websocket::{read_packet, send_packet};
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

impl Client<'_> {
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
        let recorder = self.recorder;
        let counters = &recorder.counters;
        let Ok(header) = socketio::decode_header(packet, 0) else {
            recorder.error("bad_packet");
            return None;
        };
        match header.kind {
            PacketType::Event => {
                let (name, data) = serde_json::from_str::<(&str, &RawValue)>(header.data).ok()?;
                match name {
                    MESSAGE_NEW => {
                        let Ok(message) = serde_json::from_str::<Message>(data.get()) else {
                            recorder.error("bad_message");
                            return None;
                        };
                        Counters::add(&counters.delivered, 1);
                        if let Ok(sent_at) = message.body.parse::<u64>() {
                            let latency = recorder.now_micros().saturating_sub(sent_at);
                            recorder.delivery(self.spec.index, Duration::from_micros(latency));
                        }
                        match self
                            .seen
                            .entry(message.conversation_id.to_string())
                            .or_default()
                            .insert(message.seq)
                        {
                            Ok(()) => {}
                            Err(true) => Counters::add(&counters.duplicates, 1),
                            Err(false) => Counters::add(&counters.out_of_order, 1),
                        }
                        self.latest
                            .insert(message.conversation_id.to_string(), message.id.to_string());
                        self.observe(&message.conversation_id, message.rev)
                    }
                    MESSAGE_SENT => {
                        let Ok(MessageSent { message }) = serde_json::from_str(data.get()) else {
                            return None;
                        };
                        self.own_latest
                            .insert(message.conversation_id.to_string(), message.id.to_string());
                        self.latest
                            .insert(message.conversation_id.to_string(), message.id.to_string());
                        self.observe(&message.conversation_id, message.rev)
                    }
                    MESSAGE_UPDATED => {
                        let Ok(message) = serde_json::from_str::<Message>(data.get()) else {
                            recorder.error("bad_message");
                            return None;
                        };
                        Counters::add(&counters.changes_delivered, 1);
                        if let Ok(sent_at) = message.body.parse::<u64>() {
                            let latency = recorder.now_micros().saturating_sub(sent_at);
                            recorder.change(self.spec.index, Duration::from_micros(latency));
                        }
                        self.observe(&message.conversation_id, message.rev)
                    }
                    REACTION_UPDATED => {
                        let Ok(reaction) = serde_json::from_str::<ReactionUpdated>(data.get())
                        else {
                            recorder.error("bad_reaction");
                            return None;
                        };
                        Counters::add(&counters.changes_delivered, 1);
                        if self
                            .last_reactions
                            .as_ref()
                            .is_none_or(|(rev, _)| *rev < reaction.rev)
                        {
                            self.last_reactions =
                                Some((reaction.rev, reaction.reactions.get().to_string()));
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
                    _ => None,
                }
            }
            PacketType::Ack => {
                let awaited = header.id.and_then(|id| self.pending.remove(&id))?;
                match awaited {
                    Awaited::Send(sent) => match serde_json::from_str::<(Ack,)>(header.data) {
                        Ok((Ack { ok: true, .. },)) => {
                            Counters::add(&counters.acked, 1);
                            recorder.ack(self.spec.index, sent.elapsed());
                        }
                        Ok((Ack { error, .. },)) => {
                            recorder.error(error.as_ref().map_or("unknown", |e| &e.code))
                        }
                        Err(_) => recorder.error("bad_ack"),
                    },
                    Awaited::Change => match serde_json::from_str::<(Ack,)>(header.data) {
                        Ok((Ack { ok: true, .. },)) => Counters::add(&counters.changes_acked, 1),
                        Ok((Ack { error, .. },)) => {
                            recorder.error(error.as_ref().map_or("unknown", |e| &e.code))
                        }
                        Err(_) => recorder.error("bad_ack"),
                    },
                    Awaited::Sync(conversation) => {
                        let Ok((page,)) = serde_json::from_str::<(ChangesAck,)>(header.data) else {
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
                            counters,
                        );
                        return self.next(&conversation, next);
                    }
                }
                None
            }
            _ => None,
        }
    }
}

pub(super) async fn serve<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    spec: ClientSpec,
    recorder: Arc<Recorder>,
    mut inbox: mpsc::UnboundedReceiver<Command>,
    ready: Ready,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let counters = &recorder.counters;
    let mut client = Client {
        spec: &spec,
        recorder: &recorder,
        user_id: ready.user_id,
        next_ack: 0,
        pending: HashMap::new(),
        seen: HashMap::new(),
        revs: ready
            .conversations
            .into_iter()
            .map(|c| {
                let revs = Revs {
                    applied: c.last_rev,
                    ..Revs::default()
                };
                (c.conversation_id, revs)
            })
            .collect(),
        own_latest: HashMap::new(),
        latest: HashMap::new(),
        reactions: HashMap::new(),
        last_reactions: None,
        sent: 0,
    };
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
