//! The long-polling transport, as far as a client uses it before it upgrades.

use std::net::SocketAddr;

use confab_protocol::engineio::{Frame, Packet};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::Deserialize;

use super::connect_packet;

/// The long-polling start: the handshake GET, then the Socket.IO CONNECT in a POST, with
/// `http` (whose connections leave from the client's source address). Returns the session id;
/// the replies wait in the session's outbox and arrive over the WebSocket after the upgrade.
pub(super) async fn polling_start(
    http: &Client,
    addr: SocketAddr,
    token: &str,
) -> anyhow::Result<String> {
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
