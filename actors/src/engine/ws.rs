//! The WebSocket transport: one actor per WebSocket, relaying frames between the client and its
//! `SessionActor`. This is the only file that uses `actix-web-actors`, so a move to `actix-ws`
//! touches nothing else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bytes::BytesMut;

use super::polling::Refusal;
use super::session::{SessionActor, WsAttach, WsGone, WsIn, WsOut};
use super::{DisconnectReason, Shared, TransportKind};
use crate::protocol::engineio::{Frame, Packet};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Answers a WebSocket request: a new session (no `sid`), or an upgrade probe for one.
pub(crate) async fn start(
    req: HttpRequest,
    body: web::Payload,
    shared: Arc<Shared>,
    sid: Option<String>,
) -> HttpResponse {
    let session = match sid {
        Some(sid) => match shared.find(&sid) {
            Some(session) => session,
            None => return Refusal::SessionIdUnknown.response(),
        },
        None if !shared.has_room() => return Refusal::Full.response(),
        None => shared.open(TransportKind::WebSocket, req.query_string()).1,
    };
    let transport = WsTransport {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        session,
        max_payload: shared.config.max_payload,
        fragments: None,
        gone: DisconnectReason::TransportClose,
    };
    ws::WsResponseBuilder::new(transport, &req, body)
        .frame_size(shared.config.max_payload)
        .start()
        .unwrap_or_else(|err| err.error_response())
}

struct WsTransport {
    id: u64,
    session: Addr<SessionActor>,
    max_payload: usize,
    /// A fragmented message being reassembled: (is text, bytes so far).
    fragments: Option<(bool, BytesMut)>,
    /// What the session is told when this WebSocket ends.
    gone: DisconnectReason,
}

impl WsTransport {
    fn deliver(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: bool, data: bytes::Bytes) {
        let packet = if text {
            match std::str::from_utf8(&data).ok().map(Packet::decode) {
                Some(Ok(packet)) => packet,
                _ => return self.fail(ctx, DisconnectReason::ParseError, ws::CloseCode::Protocol),
            }
        } else {
            Packet::Binary(data)
        };
        self.session.do_send(WsIn {
            id: self.id,
            packet,
        });
    }

    fn fail(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reason: DisconnectReason,
        code: ws::CloseCode,
    ) {
        self.gone = reason;
        ctx.close(Some(code.into()));
        ctx.stop();
    }
}

impl Actor for WsTransport {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let attach = WsAttach {
            id: self.id,
            ws: ctx.address().recipient(),
        };
        // Nothing from the client is handled until the session has taken this WebSocket.
        self.session
            .send(attach)
            .into_actor(self)
            .map(|accepted, _, ctx| {
                if !matches!(accepted, Ok(Ok(()))) {
                    ctx.close(Some(ws::CloseCode::Policy.into()));
                    ctx.stop();
                }
            })
            .wait(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.session.do_send(WsGone {
            id: self.id,
            reason: self.gone,
        });
    }
}

impl Handler<WsOut> for WsTransport {
    type Result = ();

    fn handle(&mut self, msg: WsOut, ctx: &mut Self::Context) {
        match msg {
            WsOut::Frames(frames) => {
                for frame in frames {
                    match frame {
                        Frame::Text(text) => ctx.text(text),
                        Frame::Binary(data) => ctx.binary(data),
                    }
                }
            }
            WsOut::Close(code) => {
                ctx.close(Some(
                    code.map_or(ws::CloseCode::Normal, ws::CloseCode::from)
                        .into(),
                ));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsTransport {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => self.deliver(ctx, true, text.into_bytes()),
            Ok(ws::Message::Binary(data)) => self.deliver(ctx, false, data),
            Ok(ws::Message::Continuation(item)) => self.continuation(ctx, item),
            Ok(ws::Message::Ping(data)) => ctx.pong(&data),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(ws::ProtocolError::Overflow) => {
                self.fail(ctx, DisconnectReason::TransportError, ws::CloseCode::Size)
            }
            Err(_) => self.fail(
                ctx,
                DisconnectReason::TransportError,
                ws::CloseCode::Protocol,
            ),
        }
    }
}

impl WsTransport {
    fn continuation(&mut self, ctx: &mut ws::WebsocketContext<Self>, item: Item) {
        let (first, data, last) = match item {
            Item::FirstText(data) => (Some(true), data, false),
            Item::FirstBinary(data) => (Some(false), data, false),
            Item::Continue(data) => (None, data, false),
            Item::Last(data) => (None, data, true),
        };
        if let Some(text) = first {
            if self.fragments.is_some() {
                return self.fail(
                    ctx,
                    DisconnectReason::TransportError,
                    ws::CloseCode::Protocol,
                );
            }
            self.fragments = Some((text, BytesMut::new()));
        }
        let Some((text, buffer)) = self.fragments.as_mut() else {
            return self.fail(
                ctx,
                DisconnectReason::TransportError,
                ws::CloseCode::Protocol,
            );
        };
        if buffer.len() + data.len() > self.max_payload {
            return self.fail(ctx, DisconnectReason::TransportError, ws::CloseCode::Size);
        }
        buffer.extend_from_slice(&data);
        let text = *text;
        if last {
            if let Some((_, buffer)) = self.fragments.take() {
                self.deliver(ctx, text, buffer.freeze());
            }
        }
    }
}
