//! One virtual user: an Engine.IO v4 / Socket.IO v5 session over WebSocket that connects with
//! its token, answers pings, sends, edits and reacts when told to, and records acks and every
//! `message:new`, `message:updated` and `reaction:updated` it receives. It keeps the highest
//! rev it applied per conversation, as a client of the contract does, and repairs each jump
//! with `sync:changes`.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use confab_protocol::engineio::{Frame, Packet};
use confab_protocol::events::{
    MessageEdit, MessageSend, ReactionChange, SyncChanges, MESSAGE_NEW, MESSAGE_UPDATED,
};
use confab_protocol::socketio::{self, PacketType};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::cli::Action;
use crate::stats::{Counters, Recorder};

/// Longest wait for the handshake and `session:ready`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the scheduler tells a client.
#[derive(Debug)]
pub enum Command {
    /// Do `action` in `conversation`, where `members` are connected: send a message (its body
    /// carries the send time), edit the client's latest message (the new body too), or react
    /// to the latest message it saw. Without a message to edit or react to, it sends.
    Act {
        conversation: Arc<str>,
        action: Action,
        members: usize,
    },
    /// Leave.
    Close,
}

/// The emoji a client reacts with, in turn: added one by one, then removed, so that each
/// reaction is a change and a message never carries more than these.
const EMOJI: [&str; 10] = ["👍", "🎉", "😂", "❤️", "🔥", "👀", "🙏", "💯", "😮", "🚀"];

/// Where and as whom a client connects.
pub struct ClientSpec {
    pub index: usize,
    pub url: String,
    pub token: String,
    /// Start on long-polling (handshake and CONNECT over HTTP), then upgrade to WebSocket, as
    /// the stock client does with its default transports.
    pub polling_first: bool,
    pub source: Option<IpAddr>,
    /// Connected members of the client's group (the scheduler's expected deliveries).
    pub group_connected: Option<Arc<AtomicUsize>>,
}

/// The WebSocket URL of the Engine.IO endpoint under `base` (`http://host:port`).
pub fn socket_url(base: &str) -> anyhow::Result<(String, SocketAddr)> {
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("ws://"))
        .context("--url must be http://host:port (TLS is not supported)")?;
    let host = rest.split('/').next().unwrap_or(rest);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    Ok((
        format!("ws://{host}/socket.io/?EIO=4&transport=websocket"),
        addr,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivered {
    id: String,
    conversation_id: String,
    seq: u64,
    #[serde(default)]
    rev: u64,
    body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    message: Delivered,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReactionUpdated {
    conversation_id: String,
    message_id: String,
    rev: u64,
    user_id: String,
    emoji: String,
    added: bool,
    reactions: Box<RawValue>,
}

#[derive(Deserialize)]
struct AckError {
    code: String,
}

#[derive(Deserialize)]
struct Ack {
    ok: bool,
    error: Option<AckError>,
}

#[derive(Deserialize)]
struct RevOnly {
    rev: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangesAck {
    ok: bool,
    #[serde(default)]
    messages: Vec<RevOnly>,
    #[serde(default)]
    last_rev: u64,
    #[serde(default)]
    has_more: bool,
}

/// `session:ready`, as far as the client needs it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    user_id: String,
    conversations: Vec<ReadyConversation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadyConversation {
    conversation_id: String,
    #[serde(default)]
    last_rev: u64,
}

/// The revs a client applied in one conversation, as a client of the contract keeps them.
#[derive(Debug, Default)]
struct Revs {
    /// Every rev up to this one is applied.
    applied: u64,
    /// A `sync:changes` is on its way.
    repairing: bool,
    /// Revs that arrived during a repair, or ahead of the one expected next.
    waiting: BTreeSet<u64>,
}

/// What a rev tracker asks of its client.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Nothing,
    /// Ask `sync:changes` for everything after this rev.
    Repair(u64),
}

impl Revs {
    /// A live event of `rev`.
    fn live(&mut self, rev: u64, counters: &Counters) -> Next {
        if rev <= self.applied {
            return Next::Nothing;
        }
        self.waiting.insert(rev);
        if self.repairing {
            return Next::Nothing;
        }
        self.settle(counters)
    }

    /// A page of `sync:changes` that brought the state up to `top`.
    fn repaired(&mut self, top: u64, has_more: bool, counters: &Counters) -> Next {
        if top > self.applied {
            Counters::add(&counters.revs_applied, top - self.applied);
            self.applied = top;
        }
        if has_more {
            return Next::Repair(self.applied);
        }
        self.repairing = false;
        Counters::add(&counters.gaps_repaired, 1);
        self.settle(counters)
    }

    /// Applies the waiting revs that follow on; a jump starts a repair.
    fn settle(&mut self, counters: &Counters) -> Next {
        while let Some(&rev) = self.waiting.first() {
            if rev <= self.applied {
                self.waiting.pop_first();
            } else if rev == self.applied + 1 {
                self.waiting.pop_first();
                self.applied = rev;
                Counters::add(&counters.revs_applied, 1);
            } else {
                Counters::add(&counters.gaps_seen, 1);
                self.repairing = true;
                return Next::Repair(self.applied);
            }
        }
        Next::Nothing
    }
}

/// Which seqs a client has seen in one conversation (a bitset from the first one).
#[derive(Default)]
struct SeqSet {
    first: Option<u64>,
    bits: Vec<u64>,
    max: u64,
}

impl SeqSet {
    /// Records `seq`: `Err(true)` if seen before, `Err(false)` if it arrived after a later seq.
    fn insert(&mut self, seq: u64) -> Result<(), bool> {
        let first = *self.first.get_or_insert(seq);
        if seq < first {
            return Err(false);
        }
        let i = (seq - first) as usize;
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        let mask = 1u64 << (i % 64);
        if self.bits[i / 64] & mask != 0 {
            return Err(true);
        }
        self.bits[i / 64] |= mask;
        let in_order = seq >= self.max;
        self.max = self.max.max(seq);
        if in_order {
            Ok(())
        } else {
            Err(false)
        }
    }
}

/// Connects (returning once `session:ready` arrived) and then serves the session on its own
/// task until told to close or the server closes it.
pub async fn connect(
    spec: ClientSpec,
    ws_url: String,
    addr: SocketAddr,
    recorder: Arc<Recorder>,
) -> anyhow::Result<mpsc::UnboundedSender<Command>> {
    let started = Instant::now();
    let handshake = async {
        let mut ws = if spec.polling_first {
            let sid = polling_start(addr, spec.source, &spec.token).await?;
            let stream = tcp_connect(addr, spec.source).await?;
            let url = format!("{ws_url}&sid={sid}");
            let mut ws = ws_handshake(&url, stream)
                .await
                .context("WebSocket upgrade")?;
            send_packet(&mut ws, &Packet::Ping("probe".into())).await?;
            match read_packet(ws.next().await) {
                Some(Packet::Pong(probe)) if probe == "probe" => {}
                other => anyhow::bail!("expected 3probe, got {other:?}"),
            }
            send_packet(&mut ws, &Packet::Upgrade).await?;
            ws
        } else {
            let stream = tcp_connect(addr, spec.source).await?;
            let mut ws = ws_handshake(&ws_url, stream)
                .await
                .context("WebSocket handshake")?;
            // Engine.IO open, then the Socket.IO CONNECT with the token.
            match read_packet(ws.next().await) {
                Some(Packet::Open(_)) => {}
                other => anyhow::bail!("expected the Engine.IO open packet, got {other:?}"),
            }
            send_packet(
                &mut ws,
                &Packet::Message(connect_packet(&spec.token)?.into()),
            )
            .await?;
            ws
        };
        loop {
            let frame = ws.next().await;
            let Some(packet) = read_packet(frame) else {
                anyhow::bail!("connection ended before session:ready");
            };
            match packet {
                Packet::Ping(data) => send_packet(&mut ws, &Packet::Pong(data)).await?,
                Packet::Message(text) => {
                    let header = socketio::decode_header(&text, 0)?;
                    match header.kind {
                        PacketType::ConnectError => anyhow::bail!("connect refused: {text}"),
                        PacketType::Event if event_name(header.data) == Some("session:ready") => {
                            let ready = serde_json::from_str::<(&str, Ready)>(header.data)
                                .map(|(_, ready)| ready)
                                .unwrap_or_default();
                            return Ok((ws, ready));
                        }
                        _ => {}
                    }
                }
                Packet::Close => anyhow::bail!("closed before session:ready"),
                _ => {}
            }
        }
    };
    let (ws, ready) = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .context("no session:ready within 30 s")??;
    recorder.connect(spec.index, started.elapsed());
    Counters::add(&recorder.counters.connected, 1);
    if let Some(group) = &spec.group_connected {
        group.fetch_add(1, Ordering::Relaxed);
    }
    let (commands, inbox) = mpsc::unbounded_channel();
    tokio::spawn(serve(ws, spec, recorder, inbox, ready));
    Ok(commands)
}

/// The Socket.IO CONNECT to the main namespace with `token` in its auth payload.
fn connect_packet(token: &str) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Auth<'a> {
        token: &'a str,
    }
    Ok(socketio::encode_connect_with("/", &Auth { token })?)
}

/// Sends one Engine.IO packet as a text frame.
async fn send_packet<S>(ws: &mut WebSocketStream<S>, packet: &Packet) -> anyhow::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let text = packet
        .encode_text()
        .context("binary packets are not sent")?;
    ws.send(Message::Text(text.to_string().into())).await?;
    Ok(())
}

/// The Engine.IO packet of a WebSocket frame; `None` once the connection ended or failed.
fn read_packet(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Option<Packet> {
    match frame? {
        Ok(Message::Text(text)) => Packet::decode(text.as_str()).ok(),
        Ok(Message::Binary(data)) => Some(Packet::Binary(data)),
        Ok(Message::Close(_)) | Err(_) => None,
        Ok(_) => Some(Packet::Noop),
    }
}

/// The name of a one-argument event from the JSON text of its arguments array.
fn event_name(data: &str) -> Option<&str> {
    serde_json::from_str::<(&str, &RawValue)>(data)
        .ok()
        .map(|(name, _)| name)
}

/// A TCP connection to `addr`, from `source` when given.
/// The WebSocket handshake over `stream`, with a read buffer sized for chat frames: the library's
/// default (128 KiB) is zero-filled before every read, which at 10,000 connections costs more
/// CPU and memory than everything else the tool does.
async fn ws_handshake(url: &str, stream: TcpStream) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

async fn tcp_connect(addr: SocketAddr, source: Option<IpAddr>) -> anyhow::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let stream = socket.connect(addr).await.context("connecting")?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The long-polling start: the handshake GET, then the Socket.IO CONNECT in a POST, on one
/// keep-alive connection. Returns the session id; the replies wait in the session's outbox
/// and arrive over the WebSocket after the upgrade.
async fn polling_start(
    addr: SocketAddr,
    source: Option<IpAddr>,
    token: &str,
) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Open {
        sid: String,
    }
    let mut http = tokio::io::BufReader::new(tcp_connect(addr, source).await?);
    let path = "/socket.io/?EIO=4&transport=polling";
    let open = http_request(&mut http, addr, "GET", path, "").await?;
    let Ok(Packet::Open(open)) = Packet::decode(&open) else {
        anyhow::bail!("the handshake did not start with an open packet");
    };
    let sid = serde_json::from_str::<Open>(&open)?.sid;
    let connect = Frame::message(&connect_packet(token)?);
    let Frame::Text(connect) = connect else {
        anyhow::bail!("the CONNECT is text");
    };
    let posted = http_request(
        &mut http,
        addr,
        "POST",
        &format!("{path}&sid={sid}"),
        &connect,
    )
    .await?;
    anyhow::ensure!(posted == "ok", "the CONNECT POST was answered {posted:?}");
    Ok(sid)
}

/// One HTTP/1.1 request on a keep-alive connection; the body of a 200 answer.
async fn http_request(
    http: &mut tokio::io::BufReader<TcpStream>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    http.get_mut().write_all(request.as_bytes()).await?;
    let mut status = String::new();
    http.read_line(&mut status).await?;
    anyhow::ensure!(
        status.starts_with("HTTP/1.1 200"),
        "{method} answered {}",
        status.trim()
    );
    let mut length = 0;
    loop {
        let mut line = String::new();
        http.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse()?;
            }
        }
    }
    let mut answer = vec![0; length];
    http.read_exact(&mut answer).await?;
    Ok(String::from_utf8(answer)?)
}

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
                    return self.request("message:edit", &edit, Awaited::Change);
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
                    let event = if add {
                        "reaction:add"
                    } else {
                        "reaction:remove"
                    };
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
        self.request("message:send", &request, Awaited::Send(Instant::now()))
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
        self.request(
            "sync:changes",
            &sync,
            Awaited::Sync(conversation.to_string()),
        )
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
                        let Ok(message) = serde_json::from_str::<Delivered>(data.get()) else {
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
                            .entry(message.conversation_id.clone())
                            .or_default()
                            .insert(message.seq)
                        {
                            Ok(()) => {}
                            Err(true) => Counters::add(&counters.duplicates, 1),
                            Err(false) => Counters::add(&counters.out_of_order, 1),
                        }
                        self.latest
                            .insert(message.conversation_id.clone(), message.id.clone());
                        self.observe(&message.conversation_id, message.rev)
                    }
                    "message:sent" => {
                        let Ok(Sent { message }) = serde_json::from_str::<Sent>(data.get()) else {
                            return None;
                        };
                        self.own_latest
                            .insert(message.conversation_id.clone(), message.id.clone());
                        self.latest
                            .insert(message.conversation_id.clone(), message.id.clone());
                        self.observe(&message.conversation_id, message.rev)
                    }
                    MESSAGE_UPDATED => {
                        let Ok(message) = serde_json::from_str::<Delivered>(data.get()) else {
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
                    "reaction:updated" => {
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
                            reaction.message_id,
                            reaction.user_id,
                            reaction.emoji,
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
                            recorder.error(&error.map_or_else(|| "unknown".to_string(), |e| e.code))
                        }
                        Err(_) => recorder.error("bad_ack"),
                    },
                    Awaited::Change => match serde_json::from_str::<(Ack,)>(header.data) {
                        Ok((Ack { ok: true, .. },)) => Counters::add(&counters.changes_acked, 1),
                        Ok((Ack { error, .. },)) => {
                            recorder.error(&error.map_or_else(|| "unknown".to_string(), |e| e.code))
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

async fn serve<S>(
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
    use super::*;

    #[test]
    fn seq_sets_tell_duplicates_from_late_arrivals() {
        let mut s = SeqSet::default();
        assert_eq!(s.insert(10), Ok(()));
        assert_eq!(s.insert(11), Ok(()));
        assert_eq!(s.insert(11), Err(true));
        assert_eq!(s.insert(13), Ok(()));
        assert_eq!(s.insert(12), Err(false));
        assert_eq!(s.insert(12), Err(true));
        assert_eq!(s.insert(200), Ok(()));
        assert_eq!(s.insert(9), Err(false));
    }

    #[test]
    fn revs_apply_in_order_and_a_jump_is_repaired() {
        let counters = Counters::default();
        let mut revs = Revs {
            applied: 4,
            ..Revs::default()
        };
        assert_eq!(revs.live(5, &counters), Next::Nothing);
        assert_eq!(
            revs.live(5, &counters),
            Next::Nothing,
            "a repeat is ignored"
        );
        // 6 is missing: a repair from 5; what arrives meanwhile waits.
        assert_eq!(revs.live(7, &counters), Next::Repair(5));
        assert_eq!(revs.live(9, &counters), Next::Nothing);
        assert_eq!(Counters::get(&counters.gaps_seen), 1);
        // The page reaches 8: 9 follows on.
        assert_eq!(revs.repaired(8, false, &counters), Next::Nothing);
        assert_eq!(revs.applied, 9);
        assert_eq!(Counters::get(&counters.gaps_repaired), 1);
        assert_eq!(Counters::get(&counters.revs_applied), 5);
        // A page with more to come asks again from where it got.
        assert_eq!(revs.live(12, &counters), Next::Repair(9));
        assert_eq!(revs.repaired(10, true, &counters), Next::Repair(10));
        assert_eq!(revs.repaired(11, false, &counters), Next::Nothing);
        assert_eq!(revs.applied, 12);
        assert_eq!(Counters::get(&counters.gaps_repaired), 2);
    }

    #[test]
    fn socket_urls_point_at_the_engine() {
        let (url, addr) = socket_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            url,
            "ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(addr.port(), 8080);
        assert!(socket_url("https://example.com").is_err());
    }
}
