//! The WebSocket transport: one actor per WebSocket, relaying frames between the client and its
//! `SessionActor`. This is the only file that uses `actix-web-actors`, so a move to `actix-ws`
//! touches nothing else.
//!
//! A WebSocket arrives as an upgrade handed over by the HTTP/1 dispatcher
//! (`HttpService::upgrade`, [`serve`]): the handshake is answered and the frames then go over
//! the bare connection, read into a buffer on the stack, so the dispatcher's buffers (8 KiB
//! each) and task end with the handshake.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix::prelude::*;
use actix_codec::{AsyncRead, AsyncWrite, Framed, ReadBuf};
use actix_http::error::PayloadError;
use actix_http::h1;
use actix_http::ws::Item;
use actix_http::Request;
use actix_web::http::StatusCode;
use actix_web_actors::ws;
use bytes::{Buf as _, Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::AsyncWriteExt as _;

use super::handshake;
use super::session::{Attached, CloseSession, SessionActor, WsAttach, WsGone, WsIn, WsOut};
use super::{DisconnectReason, EngineConfig, Shared};
use crate::protocol::engineio::{Frame, Packet};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The most a WebSocket reads from its connection at once.
const READ_CHUNK: usize = 4096;

/// Serves a WebSocket request that the HTTP/1 dispatcher handed over with its connection:
/// answers it (telling `answered` the status once the answer is written), then, for a 101,
/// starts relaying frames until the WebSocket ends. Otherwise the connection is closed.
pub(crate) async fn serve<T>(
    shared: Arc<Shared>,
    req: Request,
    framed: Framed<T, h1::Codec>,
    answered: impl FnOnce(StatusCode),
) -> io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
{
    // The relay runs as a task of its own, on this thread: the dispatcher's task, and the few
    // KiB that answering took, end here rather than living as long as the WebSocket.
    if let Some((session, io, early)) = handshake::answer(&shared, req, framed, answered).await? {
        let transport = WsTransport::new(session, &shared);
        actix::spawn(async move { relay(transport, io, early, &shared.config).await });
    }
    Ok(())
}

/// Runs `transport` on the bare connection `io` until the WebSocket ends. Frames keep being
/// taken from the transport while the client is slow to read them; past `max_buffered` bytes
/// waiting for the connection, the client is dropped as a slow consumer.
async fn relay<T>(transport: WsTransport, io: T, early: Option<Bytes>, config: &EngineConfig)
where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let session = transport.session.clone();
    let (reader, writer) = tokio::io::split(io);
    let incoming = Incoming { early, reader };
    let codec = actix_http::ws::Codec::new().max_size(config.max_payload);
    let outgoing = pin!(ws::WebsocketContext::with_codec(transport, incoming, codec));
    let mut outbox = Outbox {
        outgoing,
        writer,
        waiting: VecDeque::new(),
        waiting_bytes: 0,
        max_buffered: config.max_buffered_bytes,
        ended: false,
    };
    match poll_fn(|cx| outbox.poll_relay(cx)).await {
        Ok(()) => {
            let _ = outbox.writer.shutdown().await;
        }
        Err(Lost::Slow) => {
            log::debug!(waiting = outbox.waiting_bytes; "websocket client too slow; dropping it");
            // The session is closed for this reason before its connection is.
            let _ = session
                .send(CloseSession {
                    reason: DisconnectReason::SlowConsumer,
                })
                .await;
        }
        // The client is gone: dropping the context stops the transport, which tells the session.
        Err(Lost::Io(err)) => log::debug!(error:% = err; "websocket connection lost"),
    }
}

/// Why a relay ended before its WebSocket did.
enum Lost {
    Io(io::Error),
    Slow,
}

/// What the transport wrote and the connection has not taken yet.
struct Outbox<'a, S, W> {
    outgoing: Pin<&'a mut S>,
    writer: W,
    waiting: VecDeque<Bytes>,
    waiting_bytes: usize,
    max_buffered: usize,
    /// The transport has stopped: what is waiting is the last of it.
    ended: bool,
}

impl<S, W> Outbox<'_, S, W>
where
    S: Stream<Item = Result<Bytes, actix_web::Error>>,
    W: AsyncWrite + Unpin,
{
    /// Takes what the transport has written, then writes what the connection accepts; ready
    /// once everything is written after the transport stopped, or when the relay must end.
    fn poll_relay(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Lost>> {
        while !self.ended {
            match self.outgoing.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(mut bytes))) => {
                    if self.waiting.is_empty() {
                        // Usually the connection takes it all at once, and nothing is kept.
                        match Pin::new(&mut self.writer).poll_write(cx, &bytes) {
                            Poll::Ready(Ok(n)) if n == bytes.len() => continue,
                            Poll::Ready(Ok(0)) => {
                                return Poll::Ready(Err(Lost::Io(io::ErrorKind::WriteZero.into())))
                            }
                            Poll::Ready(Ok(n)) => bytes.advance(n),
                            Poll::Ready(Err(err)) => return Poll::Ready(Err(Lost::Io(err))),
                            Poll::Pending => {}
                        }
                    }
                    self.waiting_bytes += bytes.len();
                    self.waiting.push_back(bytes);
                    if self.waiting_bytes > self.max_buffered {
                        return Poll::Ready(Err(Lost::Slow));
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    return Poll::Ready(Err(Lost::Io(io::Error::other(err.to_string()))))
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => break,
            }
        }
        while let Some(front) = self.waiting.front_mut() {
            match Pin::new(&mut self.writer).poll_write(cx, front) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(Lost::Io(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => {
                    self.waiting_bytes -= n;
                    front.advance(n);
                    if front.is_empty() {
                        self.waiting.pop_front();
                    }
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(Lost::Io(err))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.ended {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

/// The bytes a client sends on its bare connection, read as they arrive into a buffer on the
/// stack: nothing is kept between reads.
struct Incoming<R> {
    /// Bytes that arrived with the upgrade request, before the connection was handed over.
    early: Option<Bytes>,
    reader: R,
}

impl<R: AsyncRead + Unpin> Stream for Incoming<R> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(early) = self.early.take() {
            return Poll::Ready(Some(Ok(early)));
        }
        let mut buf = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut buf);
        Poll::Ready(
            match ready!(Pin::new(&mut self.reader).poll_read(cx, &mut read)) {
                Ok(()) if read.filled().is_empty() => None,
                Ok(()) => Some(Ok(Bytes::copy_from_slice(read.filled()))),
                Err(err) => Some(Err(PayloadError::Io(err))),
            },
        )
    }
}

struct WsTransport {
    id: u64,
    session: Addr<SessionActor>,
    max_payload: usize,
    /// A fragmented message being reassembled: (is text, bytes so far).
    fragments: Option<(bool, BytesMut)>,
    /// What the session is told when this WebSocket ends.
    gone: DisconnectReason,
    /// An upgrade probe whose `2probe` has not come yet.
    awaiting_probe: bool,
}

impl WsTransport {
    fn new(session: Addr<SessionActor>, shared: &Shared) -> WsTransport {
        WsTransport {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            session,
            max_payload: shared.config.max_payload,
            fragments: None,
            gone: DisconnectReason::TransportClose,
            awaiting_probe: false,
        }
    }

    fn deliver(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: bool, data: bytes::Bytes) {
        let packet = if text {
            match std::str::from_utf8(&data).ok().map(Packet::decode) {
                Some(Ok(packet)) => packet,
                _ => return self.fail(ctx, DisconnectReason::ParseError, ws::CloseCode::Protocol),
            }
        } else {
            Packet::Binary(data)
        };
        let probe = matches!(&packet, Packet::Ping(data) if &**data == "probe");
        if probe && self.awaiting_probe {
            self.awaiting_probe = false;
            return self.answer_probe(ctx, packet);
        }
        self.session.do_send(WsIn {
            id: self.id,
            packet,
        });
    }

    /// Answers an upgrade's `2probe`, then reads nothing more until the answer has been
    /// handed to the connection, and only then passes `2probe` on to the session. The
    /// official server writes `3probe` as it reads `2probe`; answered through the session
    /// instead, `3probe` could still be on its way while the `5` behind it moved the session,
    /// and a GET sent after that `5` be refused first. The session learns of the answer once
    /// it is written, so the refusals it holds back until then (a second WebSocket with this
    /// sid) never reach the client before `3probe`.
    fn answer_probe(&mut self, ctx: &mut ws::WebsocketContext<Self>, ping: Packet) {
        ctx.text("3probe");
        // A waiting future holds back the frames read behind `2probe`: it is ready only on
        // the next poll of this context, and the relay writes what a poll produced (here
        // `3probe`, the only frame a probe is sent) before it polls again.
        let written = actix::fut::wrap_future(tokio::task::yield_now());
        ctx.wait(written.map(move |(), act: &mut Self, _| {
            act.session.do_send(WsIn {
                id: act.id,
                packet: ping,
            });
        }));
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
            .map(|accepted, act, ctx| match accepted {
                Ok(Ok(Attached::Transport)) => {}
                Ok(Ok(Attached::Probe)) => act.awaiting_probe = true,
                _ => {
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
