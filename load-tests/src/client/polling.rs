//! The long-polling transport, as far as a client uses it before it upgrades.

use std::net::{IpAddr, SocketAddr};

use confab_protocol::engineio::{Frame, Packet};
use serde::Deserialize;
use tokio::net::TcpStream;

use super::connect_packet;
use super::websocket::tcp_connect;

/// The long-polling start: the handshake GET, then the Socket.IO CONNECT in a POST, on one
/// keep-alive connection. Returns the session id; the replies wait in the session's outbox
/// and arrive over the WebSocket after the upgrade.
pub(super) async fn polling_start(
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
