//! The HTTP long-polling transport: the handshake GET, long-poll GETs and packet POSTs, and the
//! Engine.IO query check shared with the WebSocket transport.

use std::sync::Arc;

use actix::Addr;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::addresses::{client_address, OverLimit};
use super::session::{CloseSession, Poll, PollAborted, PollRefused, Posted, SessionActor};
use super::{DisconnectReason, Shared, TransportKind};
use crate::protocol::engineio;

const TEXT: &str = "text/plain; charset=UTF-8";

/// The parsed `EIO`, `transport` and `sid` query parameters.
pub(crate) struct EngineQuery {
    pub websocket: bool,
    pub sid: Option<String>,
}

/// An Engine.IO error answer: HTTP 400 with `{"code":N,"message":"…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    TransportUnknown,
    SessionIdUnknown,
    BadHandshakeMethod,
    BadRequest,
    UnsupportedProtocolVersion,
    /// Not an Engine.IO code: the node holds as many sessions as it may.
    Full,
    /// Not an Engine.IO code: the client's address is over a per-address limit.
    FromAddress(super::addresses::OverLimit),
}

impl Refusal {
    pub fn response(self) -> HttpResponse {
        let (status, code, message) = match self {
            Refusal::TransportUnknown => (StatusCode::BAD_REQUEST, 0, "Transport unknown"),
            Refusal::SessionIdUnknown => (StatusCode::BAD_REQUEST, 1, "Session ID unknown"),
            Refusal::BadHandshakeMethod => (StatusCode::BAD_REQUEST, 2, "Bad handshake method"),
            Refusal::BadRequest => (StatusCode::BAD_REQUEST, 3, "Bad request"),
            Refusal::UnsupportedProtocolVersion => {
                (StatusCode::BAD_REQUEST, 5, "Unsupported protocol version")
            }
            Refusal::Full => (StatusCode::SERVICE_UNAVAILABLE, 3, "Server at capacity"),
            Refusal::FromAddress(OverLimit::Sessions) => (
                StatusCode::TOO_MANY_REQUESTS,
                3,
                "Too many sessions from this address",
            ),
            Refusal::FromAddress(OverLimit::Rate) => (
                StatusCode::TOO_MANY_REQUESTS,
                3,
                "Too many handshakes from this address",
            ),
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        response.json(json!({ "code": code, "message": message }))
    }
}

impl EngineQuery {
    /// The query of a request to the engine, given its query string and headers.
    pub fn parse(query: &str, headers: &HeaderMap) -> Result<EngineQuery, Refusal> {
        let mut eio = None;
        let mut transport = None;
        let mut sid = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "EIO" => eio = Some(value),
                "transport" => transport = Some(value),
                "sid" => sid = Some(value.into_owned()),
                _ => {}
            }
        }
        let websocket = match transport.as_deref() {
            Some("polling") => false,
            Some("websocket") => true,
            _ => return Err(Refusal::TransportUnknown),
        };
        if eio.as_deref() != Some("4") {
            return Err(Refusal::UnsupportedProtocolVersion);
        }
        let upgrade_requested = headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if websocket && !upgrade_requested {
            return Err(Refusal::BadRequest);
        }
        Ok(EngineQuery {
            websocket,
            sid: sid.filter(|s| !s.is_empty()),
        })
    }
}

fn text(body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok().content_type(TEXT).body(body)
}

pub(crate) async fn handle(
    req: HttpRequest,
    body: web::Payload,
    shared: Arc<Shared>,
    query: EngineQuery,
) -> HttpResponse {
    let Some(sid) = query.sid else {
        if req.method() != Method::GET {
            return Refusal::BadHandshakeMethod.response();
        }
        let client = client_address(
            req.headers(),
            req.peer_addr(),
            shared.config.trust_proxy_headers,
        );
        return handshake(shared, req.query_string(), client);
    };
    let Some(session) = shared.find(&sid) else {
        return Refusal::SessionIdUnknown.response();
    };
    match *req.method() {
        Method::GET => poll(session).await,
        Method::POST => post(session, body, &shared).await,
        _ => Refusal::BadRequest.response(),
    }
}

fn handshake(shared: Arc<Shared>, query: &str, client: Option<std::net::IpAddr>) -> HttpResponse {
    if let Err(refusal) = shared.admit(client) {
        return refusal.response();
    }
    let (sid, _) = shared.open(TransportKind::Polling, query, client);
    text(format!("0{}", shared.config.open_json(&sid, true)))
}

/// Tells the session if the client goes away while its GET is pending (actix drops the
/// handler's future when the connection closes).
struct PendingPoll {
    session: Addr<SessionActor>,
    answered: bool,
}

impl Drop for PendingPoll {
    fn drop(&mut self) {
        if !self.answered {
            self.session.do_send(PollAborted);
        }
    }
}

async fn poll(session: Addr<SessionActor>) -> HttpResponse {
    let (reply, answer) = tokio::sync::oneshot::channel();
    match session.send(Poll { reply }).await {
        Ok(Ok(())) => {}
        Ok(Err(PollRefused::WrongTransport | PollRefused::Duplicate | PollRefused::Expired)) => {
            return Refusal::BadRequest.response()
        }
        Err(_) => return Refusal::SessionIdUnknown.response(),
    }
    let mut pending = PendingPoll {
        session,
        answered: false,
    };
    let answer = answer.await;
    pending.answered = true;
    match answer {
        Ok(payload) => text(payload.into_bytes()),
        Err(_) => Refusal::SessionIdUnknown.response(),
    }
}

async fn post(session: Addr<SessionActor>, body: web::Payload, shared: &Shared) -> HttpResponse {
    let bytes = match body.to_bytes_limited(shared.config.max_payload).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return Refusal::BadRequest.response(),
        Err(_) => {
            return HttpResponse::PayloadTooLarge()
                .content_type(TEXT)
                .body("payload too large")
        }
    };
    let packets = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| engineio::decode_payload(text).ok());
    let Some(packets) = packets else {
        session.do_send(CloseSession {
            reason: DisconnectReason::ParseError,
        });
        return Refusal::BadRequest.response();
    };
    match session.send(Posted { packets }).await {
        Ok(Ok(())) => text("ok"),
        Ok(Err(())) => Refusal::BadRequest.response(),
        Err(_) => Refusal::SessionIdUnknown.response(),
    }
}
