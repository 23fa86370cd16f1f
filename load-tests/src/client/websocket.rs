//! The WebSocket transport: a TCP connection from a chosen source address, the handshake, a
//! session opened over it, and Engine.IO packets as text frames.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use confab_protocol::engineio::Packet;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::connect_packet;

/// A client's WebSocket.
pub(super) type Socket = WebSocketStream<TcpStream>;

/// A session opened over WebSocket from the start: the Engine.IO open packet, then the
/// Socket.IO CONNECT with `token`.
pub(super) async fn open(
    ws_url: &str,
    addr: SocketAddr,
    source: Option<IpAddr>,
    token: &str,
) -> anyhow::Result<Socket> {
    let stream = tcp_connect(addr, source).await?;
    let mut ws = ws_handshake(ws_url, stream)
        .await
        .context("WebSocket handshake")?;
    match read_packet(ws.next().await) {
        Some(Packet::Open(_)) => {}
        other => anyhow::bail!("expected the Engine.IO open packet, got {other:?}"),
    }
    send_packet(&mut ws, &Packet::Message(connect_packet(token)?.into())).await?;
    Ok(ws)
}

/// Sends one Engine.IO packet as a text frame.
pub(super) async fn send_packet<S>(
    ws: &mut WebSocketStream<S>,
    packet: &Packet,
) -> anyhow::Result<()>
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
pub(super) fn read_packet(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Option<Packet> {
    match frame? {
        Ok(Message::Text(text)) => Packet::decode(text.as_str()).ok(),
        Ok(Message::Binary(data)) => Some(Packet::Binary(data)),
        Ok(Message::Close(_)) | Err(_) => None,
        Ok(_) => Some(Packet::Noop),
    }
}

/// The WebSocket handshake over `stream`, with a read buffer sized for chat frames: the library's
/// default (128 KiB) is zero-filled before every read, which at 10,000 connections costs more
/// CPU and memory than everything else the tool does.
pub(super) async fn ws_handshake(url: &str, stream: TcpStream) -> anyhow::Result<Socket> {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// A TCP connection to `addr`, from `source` when given.
pub(super) async fn tcp_connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
) -> anyhow::Result<TcpStream> {
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
