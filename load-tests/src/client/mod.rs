//! One virtual user: an Engine.IO v4 / Socket.IO v5 session over WebSocket that connects with
//! its token, answers pings, sends, edits and reacts when told to, and records acks and every
//! `message:new`, `message:updated` and `reaction:updated` it receives. It keeps the highest
//! rev it applied per conversation, as a client of the contract does, and repairs each jump
//! with `sync:changes`.

mod order;
mod polling;
mod scenario;
mod websocket;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use confab_protocol::engineio::Packet;
use confab_protocol::socketio::{self, PacketType};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::cli::Action;
use crate::stats::{Counters, Recorder};
use scenario::serve;
use websocket::{read_packet, send_packet, Socket};
use wire::{Ready, SESSION_READY};

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

/// Where and as whom a client connects.
pub struct ClientSpec {
    pub index: usize,
    pub url: String,
    pub token: String,
    /// Start on long-polling (handshake and CONNECT over HTTP, with this client), then upgrade
    /// to WebSocket, as the stock client does with its default transports.
    pub polling: Option<reqwest::Client>,
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
        let mut ws = match &spec.polling {
            Some(http) => {
                polling::open_and_upgrade(http, &ws_url, addr, spec.source, &spec.token).await?
            }
            None => websocket::open(&ws_url, addr, spec.source, &spec.token).await?,
        };
        let ready = session_ready(&mut ws).await?;
        anyhow::Ok((ws, ready))
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

/// Waits for `session:ready` on a session just opened, answering pings meanwhile.
async fn session_ready(ws: &mut Socket) -> anyhow::Result<Ready> {
    loop {
        let Some(packet) = read_packet(ws.next().await) else {
            anyhow::bail!("connection ended before session:ready");
        };
        match packet {
            Packet::Ping(data) => send_packet(ws, &Packet::Pong(data)).await?,
            Packet::Message(text) => {
                let header = socketio::decode_header(&text, 0)?;
                match header.kind {
                    PacketType::ConnectError => anyhow::bail!("connect refused: {text}"),
                    PacketType::Event if event_name(header.data) == Some(SESSION_READY) => {
                        let ready = serde_json::from_str::<(&str, Ready)>(header.data)
                            .map(|(_, ready)| ready)
                            .unwrap_or_default();
                        return Ok(ready);
                    }
                    _ => {}
                }
            }
            Packet::Close => anyhow::bail!("closed before session:ready"),
            _ => {}
        }
    }
}

/// The Socket.IO CONNECT to the main namespace with `token` in its auth payload.
fn connect_packet(token: &str) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Auth<'a> {
        token: &'a str,
    }
    Ok(socketio::encode_connect_with("/", &Auth { token })?)
}

/// The name of a one-argument event from the JSON text of its arguments array.
fn event_name(data: &str) -> Option<&str> {
    serde_json::from_str::<(&str, &RawValue)>(data)
        .ok()
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
