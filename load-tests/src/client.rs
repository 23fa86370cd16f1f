//! One virtual user: an Engine.IO v4 / Socket.IO v5 session over WebSocket that connects with
//! its token, answers pings, sends `message:send` when told to, and records acks and every
//! `message:new` it receives.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use confab_protocol::engineio::{Frame, Packet};
use confab_protocol::events::{MessageSend, MESSAGE_NEW};
use confab_protocol::socketio::{self, PacketType};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::stats::{Counters, Recorder};

/// Longest wait for the handshake and `session:ready`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the scheduler tells a client.
#[derive(Debug)]
pub enum Command {
    /// Send a message (its body carries the send time).
    Send { conversation: Arc<str> },
    /// Leave.
    Close,
}

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
    conversation_id: String,
    seq: u64,
    body: String,
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
                            return Ok(ws);
                        }
                        _ => {}
                    }
                }
                Packet::Close => anyhow::bail!("closed before session:ready"),
                _ => {}
            }
        }
    };
    let ws = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .context("no session:ready within 30 s")??;
    recorder.connect(spec.index, started.elapsed());
    Counters::add(&recorder.counters.connected, 1);
    if let Some(group) = &spec.group_connected {
        group.fetch_add(1, Ordering::Relaxed);
    }
    let (commands, inbox) = mpsc::unbounded_channel();
    tokio::spawn(serve(ws, spec, recorder, inbox));
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

async fn serve<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    spec: ClientSpec,
    recorder: Arc<Recorder>,
    mut inbox: mpsc::UnboundedReceiver<Command>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let counters = &recorder.counters;
    let mut next_ack: u64 = 0;
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut seen: HashMap<String, SeqSet> = HashMap::new();
    let mut sent = 0u64;
    let closed_by_us = loop {
        tokio::select! {
            command = inbox.recv() => match command {
                Some(Command::Send { conversation }) => {
                    sent += 1;
                    next_ack += 1;
                    let request = MessageSend {
                        conversation_id: conversation.to_string(),
                        client_message_id: format!("l{}-{}", spec.index, sent),
                        body: recorder.now_micros().to_string(),
                        attachment_ids: Vec::new(),
                        reply_to_id: None,
                    };
                    let Ok(text) = socketio::encode_event_with_ack("/", "message:send", &request, next_ack) else {
                        break false;
                    };
                    pending.insert(next_ack, Instant::now());
                    if send_packet(&mut ws, &Packet::Message(text.into())).await.is_err() {
                        break false;
                    }
                }
                Some(Command::Close) | None => break true,
            },
            frame = ws.next() => match read_packet(frame) {
                Some(Packet::Ping(data)) => {
                    if send_packet(&mut ws, &Packet::Pong(data)).await.is_err() {
                        break false;
                    }
                }
                Some(Packet::Message(text)) => {
                    handle_packet(&text, &spec, &recorder, &mut pending, &mut seen);
                }
                Some(Packet::Close) | None => break false,
                Some(_) => {}
            },
        }
    };
    if let Some(group) = &spec.group_connected {
        group.fetch_sub(1, Ordering::Relaxed);
    }
    Counters::sub(&counters.connected, 1);
    if closed_by_us {
        let _ = ws.close(None).await;
    } else {
        Counters::add(&counters.disconnects, 1);
    }
    for _ in pending.drain() {
        recorder.error("no_ack");
    }
}

fn handle_packet(
    packet: &str,
    spec: &ClientSpec,
    recorder: &Recorder,
    pending: &mut HashMap<u64, Instant>,
    seen: &mut HashMap<String, SeqSet>,
) {
    let counters = &recorder.counters;
    let Ok(header) = socketio::decode_header(packet, 0) else {
        recorder.error("bad_packet");
        return;
    };
    match header.kind {
        PacketType::Event => {
            let Ok((name, data)) = serde_json::from_str::<(&str, &RawValue)>(header.data) else {
                return;
            };
            if name != MESSAGE_NEW {
                return;
            }
            let Ok(message) = serde_json::from_str::<Delivered>(data.get()) else {
                recorder.error("bad_message");
                return;
            };
            Counters::add(&counters.delivered, 1);
            if let Ok(sent_at) = message.body.parse::<u64>() {
                let latency = recorder.now_micros().saturating_sub(sent_at);
                recorder.delivery(spec.index, Duration::from_micros(latency));
            }
            match seen
                .entry(message.conversation_id)
                .or_default()
                .insert(message.seq)
            {
                Ok(()) => {}
                Err(true) => Counters::add(&counters.duplicates, 1),
                Err(false) => Counters::add(&counters.out_of_order, 1),
            }
        }
        PacketType::Ack => {
            let Some(sent) = header.id.and_then(|id| pending.remove(&id)) else {
                return;
            };
            match serde_json::from_str::<(Ack,)>(header.data) {
                Ok((Ack { ok: true, .. },)) => {
                    Counters::add(&counters.acked, 1);
                    recorder.ack(spec.index, sent.elapsed());
                }
                Ok((Ack { error, .. },)) => {
                    recorder.error(&error.map_or_else(|| "unknown".to_string(), |e| e.code));
                }
                Err(_) => recorder.error("bad_ack"),
            }
        }
        _ => {}
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
