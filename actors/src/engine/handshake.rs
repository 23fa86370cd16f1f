//! The WebSocket handshake, answered on a connection the HTTP/1 dispatcher handed over: the
//! Engine.IO query and the handshake are checked before a session is opened for it.

use std::io;
use std::sync::Arc;

use actix::Addr;
use actix_codec::{AsyncRead, AsyncWrite, Framed, FramedParts};
use actix_http::body::{self, BodySize};
use actix_http::h1::{self, Message};
use actix_http::{ConnectionType, HttpMessage as _, Request};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use futures_util::SinkExt as _;

use super::addresses::client_address;
use super::polling::{EngineQuery, Refusal};
use super::session::{CloseSession, SessionActor};
use super::{DisconnectReason, Shared, TransportKind};

/// Answers a WebSocket request; for a 101, returns the session it is for, the connection and
/// whatever the client sent after its request.
pub(super) async fn answer<T>(
    shared: &Arc<Shared>,
    req: Request,
    mut framed: Framed<T, h1::Codec>,
    answered: impl FnOnce(StatusCode),
) -> io::Result<Option<(Addr<SessionActor>, T, Option<Bytes>)>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let accepted = EngineQuery::parse(req.uri().query().unwrap_or(""), req.headers())
        .map_err(Declined::Engine)
        .and_then(|query| {
            // The handshake is checked before a session is opened for it.
            let handshake = actix_http::ws::handshake(req.head()).map_err(Declined::Handshake)?;
            let fresh = query.sid.is_none();
            let client = client_address(
                req.headers(),
                req.peer_addr(),
                shared.config.trust_proxy_headers,
            );
            let session = session_for(shared, query.sid, req.uri().query().unwrap_or(""), client)
                .map_err(Declined::Engine)?;
            Ok((handshake, session, fresh))
        });
    let (mut handshake, session, fresh) = match accepted {
        Ok(accepted) => accepted,
        Err(declined) => {
            let response = declined.response();
            let status = response.status();
            respond(&mut framed, response).await?;
            answered(status);
            return Ok(None);
        }
    };
    let switched = framed
        .send(Message::Item((
            handshake.finish().drop_body(),
            BodySize::None,
        )))
        .await;
    if let Err(err) = switched {
        // A session opened for this WebSocket would otherwise wait for it until it timed out.
        if fresh {
            session.do_send(CloseSession {
                reason: DisconnectReason::TransportError,
            });
        }
        return Err(err);
    }
    answered(StatusCode::SWITCHING_PROTOCOLS);
    // The dispatcher's buffers are dropped here; whatever the client sent after its request
    // is the start of its first frame.
    let FramedParts { io, read_buf, .. } = framed.into_parts();
    let early = (!read_buf.is_empty()).then(|| Bytes::copy_from_slice(&read_buf));
    Ok(Some((session, io, early)))
}

/// Writes `response` as the whole answer to `framed`'s request, then the connection closes.
pub async fn respond<T>(framed: &mut Framed<T, h1::Codec>, response: HttpResponse) -> io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (head, body) = response.into_parts();
    let body = body::to_bytes(body)
        .await
        .map_err(|_| io::Error::other("unreadable response body"))?;
    let mut head = actix_http::Response::from(head);
    head.head_mut().set_connection_type(ConnectionType::Close);
    framed
        .send(Message::Item((head, BodySize::Sized(body.len() as u64))))
        .await?;
    if !body.is_empty() {
        framed.send(Message::Chunk(Some(body))).await?;
    }
    framed.send(Message::Chunk(None)).await
}

/// Why a WebSocket request is not taken.
enum Declined {
    Engine(Refusal),
    Handshake(actix_http::ws::HandshakeError),
}

impl Declined {
    fn response(self) -> HttpResponse {
        match self {
            Declined::Engine(refusal) => refusal.response(),
            Declined::Handshake(err) => HttpResponse::from_error(actix_web::Error::from(err)),
        }
    }
}

/// The session a WebSocket request is for: the one named by `sid` (an upgrade), or a new one
/// opened with the request's `query`.
fn session_for(
    shared: &Arc<Shared>,
    sid: Option<String>,
    query: &str,
    client: Option<std::net::IpAddr>,
) -> Result<Addr<SessionActor>, Refusal> {
    match sid {
        Some(sid) => shared.find(&sid).ok_or(Refusal::SessionIdUnknown),
        None => {
            shared.admit(client)?;
            Ok(shared.open(TransportKind::WebSocket, query, client).1)
        }
    }
}
