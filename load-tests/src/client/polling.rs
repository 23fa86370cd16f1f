//! The long-polling transport, as far as a client uses it before it upgrades.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use confab_protocol::engineio::{Frame, Packet};
use futures_util::StreamExt;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::Deserialize;

use super::connect_packet;
use super::websocket::{read_packet, send_packet, tcp_connect, ws_handshake, Socket};

/// A session opened on long-polling with `http` (the handshake and the CONNECT with `token`),
/// then upgraded to a WebSocket from `source`, as the stock client does with its default
/// transports: the probe, its answer, and the upgrade packet.
pub(super) async fn open_and_upgrade(
    http: &Client,
    ws_url: &str,
    addr: SocketAddr,
    source: Option<IpAddr>,
    token: &str,
) -> anyhow::Result<Socket> {
    let sid = polling_start(http, addr, token).await?;
    let stream = tcp_connect(addr, source).await?;
    let mut ws = ws_handshake(&format!("{ws_url}&sid={sid}"), stream)
        .await
        .context("WebSocket upgrade")?;
    send_packet(&mut ws, &Packet::Ping("probe".into())).await?;
    match read_packet(ws.next().await) {
        Some(Packet::Pong(probe)) if probe == "probe" => {}
        other => anyhow::bail!("expected 3probe, got {other:?}"),
    }
    send_packet(&mut ws, &Packet::Upgrade).await?;
    Ok(ws)
}

/// The long-polling start: the handshake GET, then the Socket.IO CONNECT in a POST, with
/// `http` (whose connections leave from the client's source address). Returns the session id;
/// the replies wait in the session's outbox and arrive over the WebSocket after the upgrade.
async fn polling_start(http: &Client, addr: SocketAddr, token: &str) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Open {
        sid: String,
    }
    let url = format!("http://{addr}/socket.io/?EIO=4&transport=polling");
    let open = body_of_200(http.get(&url), "the handshake GET").await?;
    let Ok(Packet::Open(open)) = Packet::decode(&open) else {
        anyhow::bail!("the handshake did not start with an open packet");
    };
    let sid = serde_json::from_str::<Open>(&open)?.sid;
    let connect = Frame::message(&connect_packet(token)?);
    let Frame::Text(connect) = connect else {
        anyhow::bail!("the CONNECT is text");
    };
    let post = http
        .post(format!("{url}&sid={sid}"))
        .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(connect.to_string());
    let posted = body_of_200(post, "the CONNECT POST").await?;
    anyhow::ensure!(posted == "ok", "the CONNECT POST was answered {posted:?}");
    Ok(sid)
}

/// The body of the answer to `request`, which must be a 200.
async fn body_of_200(request: RequestBuilder, what: &str) -> anyhow::Result<String> {
    let response = request.send().await?;
    let status = response.status();
    anyhow::ensure!(status == StatusCode::OK, "{what} answered {status}");
    Ok(response.text().await?)
}
