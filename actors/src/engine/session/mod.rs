//! `SessionActor`: one per Engine.IO session, whatever its transport. It owns the heartbeat,
//! the outbound queue, the polling→WebSocket upgrade and the Socket.IO namespaces on top.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::oneshot;

use super::socket::{DisconnectReason, SessionHandle, Socket};
mod namespaces;
mod polling;
mod websocket;

pub use polling::{Poll, PollAborted, PollRefused, Posted};
pub use websocket::{Attached, WsAttach, WsGone, WsIn};

use super::{Role, Shared, TransportKind};
use crate::protocol::engineio::{self, Frame, Packet};

/// What a transport delivers to the session's client.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum WsOut {
    /// Frames to write, in order.
    Frames(Vec<Frame>),
    /// Close the WebSocket (with a close code when the protocol names one).
    Close(Option<u16>),
}

/// How the session currently reaches its client.
enum Transport {
    /// Long-polling: frames wait in the outbox for the next GET.
    Polling,
    /// A WebSocket handshake whose socket has not attached yet.
    PendingWebSocket,
    WebSocket {
        id: u64,
        ws: Recipient<WsOut>,
    },
}

/// A WebSocket opened with this session's sid, not yet the transport.
struct Probe {
    id: u64,
    ws: Recipient<WsOut>,
    /// `2probe` received and answered: polls get `6` until the upgrade completes.
    probed: bool,
    timer: SpawnHandle,
    /// After `2probe`, ends the pending poll with a noop every 100 ms, as the official server
    /// does, so the client can pause polling and send `5`.
    noop: Option<SpawnHandle>,
    /// Further WebSockets with this sid, refused once `3probe` is written or the probe is
    /// dropped (their senders dropped), not before (see `WsAttach`).
    held_refusals: Vec<oneshot::Sender<()>>,
}

/// One Engine.IO session, whatever its transport, with its Socket.IO namespaces.
pub struct SessionActor {
    sid: Arc<str>,
    /// The query string of the handshake request.
    query: Arc<str>,
    shared: Arc<Shared>,
    transport: Transport,
    probe: Option<Probe>,
    outbox: VecDeque<Frame>,
    outbox_bytes: usize,
    poll: Option<oneshot::Sender<ByteString>>,
    /// When the next ping is due; pings follow one clock, so timers firing late never
    /// push a deadline back.
    next_ping: Instant,
    /// The pending ping's pong deadline, and the timer that enforces it.
    ping_deadline: Option<(Instant, SpawnHandle)>,
    connect_timer: Option<SpawnHandle>,
    sockets: HashMap<Arc<str>, Socket>,
    connecting: HashMap<Arc<str>, Socket>,
    partial: Option<namespaces::Partial>,
    closed: bool,
}

/// How long a polling session closed by its client stays known, so that a GET sent together
/// with the close (`1`) still ends with a noop instead of an unknown sid.
const CLOSED_LINGER: Duration = Duration::from_secs(1);

impl SessionActor {
    /// A session that will talk over long-polling (`websocket: false`) or over a WebSocket that
    /// attaches next. The open packet is the first thing queued.
    pub(crate) fn new(
        sid: Arc<str>,
        shared: Arc<Shared>,
        websocket: bool,
        query: Arc<str>,
    ) -> SessionActor {
        let next_ping = Instant::now() + shared.config.ping_interval();
        SessionActor {
            sid,
            query,
            shared,
            transport: if websocket {
                Transport::PendingWebSocket
            } else {
                Transport::Polling
            },
            probe: None,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            poll: None,
            next_ping,
            ping_deadline: None,
            connect_timer: None,
            sockets: HashMap::new(),
            connecting: HashMap::new(),
            partial: None,
            closed: false,
        }
    }

    fn session_handle(&self, ctx: &Context<Self>) -> SessionHandle {
        SessionHandle {
            addr: ctx.address(),
            sid: self.sid.clone(),
            query: self.query.clone(),
        }
    }

    /// Pings at `next_ping`; the pong is due `ping_timeout` after that instant, however late
    /// the timer fires.
    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        let due = self.next_ping;
        ctx.run_later(
            due.saturating_duration_since(Instant::now()),
            move |act, ctx| {
                act.send(ctx, vec![Frame::Text("2".into())]);
                let deadline = due + act.shared.config.ping_timeout();
                let wait = deadline.saturating_duration_since(Instant::now());
                let timer = ctx.run_later(wait, |act, ctx| {
                    act.close(ctx, DisconnectReason::PingTimeout, Farewell::Close);
                });
                act.ping_deadline = Some((deadline, timer));
            },
        );
    }

    /// Closes the session if its pong deadline has passed, even when the timer that enforces
    /// it has not fired yet: a request that arrives after the deadline finds the session gone.
    fn check_ping_deadline(&mut self, ctx: &mut Context<Self>) -> bool {
        let late = self
            .ping_deadline
            .is_some_and(|(deadline, _)| Instant::now() >= deadline);
        if late {
            self.close(ctx, DisconnectReason::PingTimeout, Farewell::Close);
        }
        late
    }

    /// Queues or writes frames to the client, in order and unsplit.
    fn send(&mut self, ctx: &mut Context<Self>, frames: Vec<Frame>) {
        if self.closed {
            return;
        }
        self.shared.stats.packets_out(frames.len());
        if let Transport::WebSocket { ws, .. } = &self.transport {
            ws.do_send(WsOut::Frames(frames));
            return;
        }
        for frame in frames {
            self.outbox_bytes += frame.len();
            self.outbox.push_back(frame);
        }
        let config = &self.shared.config;
        if self.outbox.len() > config.max_buffered_packets
            || self.outbox_bytes > config.max_buffered_bytes
        {
            self.close(ctx, DisconnectReason::SlowConsumer, Farewell::Close);
            return;
        }
        self.flush_poll();
    }

    /// Answers the pending poll with everything queued.
    fn flush_poll(&mut self) {
        if self.outbox.is_empty() || self.probe.as_ref().is_some_and(|p| p.probed) {
            return;
        }
        if let Some(poll) = self.poll.take() {
            let _ = poll.send(self.drain_payload());
        }
    }

    fn drain_payload(&mut self) -> ByteString {
        let mut payload = String::with_capacity(self.outbox_bytes + self.outbox.len());
        for frame in self.outbox.drain(..) {
            engineio::push_payload(&mut payload, &frame);
        }
        self.outbox_bytes = 0;
        payload.into()
    }

    /// Ends the session: sockets leave their namespaces, the transport is told, the registry
    /// forgets the sid and the actor stops.
    fn close(&mut self, ctx: &mut Context<Self>, reason: DisconnectReason, farewell: Farewell) {
        if self.closed {
            self.finish(ctx);
            return;
        }
        self.closed = true;
        log::debug!(sid = &*self.sid, reason = reason.as_str(); "engine.io session closed");
        for (nsp, socket) in self.sockets.drain().chain(self.connecting.drain()) {
            if let Some(handler) = self.shared.namespace(&nsp) {
                socket.release(&*handler, reason);
            }
        }
        let answered_poll = self.poll.is_some();
        if let Some(poll) = self.poll.take() {
            let _ = poll.send(match farewell {
                Farewell::Close => "1".into(),
                Farewell::Noop => "6".into(),
            });
        }
        let code = (reason == DisconnectReason::ParseError).then_some(1002);
        // A WebSocket is closed without a close packet, as the official server does: clients
        // such as python-socketio and rust_socketio read `1` as the server ending the session
        // for good and never reconnect, while a closed socket is a lost connection to them.
        if let Transport::WebSocket { ws, .. } = &self.transport {
            ws.do_send(WsOut::Close(code));
        }
        if let Some(probe) = self.probe.take() {
            probe.ws.do_send(WsOut::Close(None));
        }
        self.shared.stats.closed(self.transport_kind(), reason);
        let lingers = matches!(farewell, Farewell::Noop)
            && matches!(self.transport, Transport::Polling)
            && !answered_poll;
        if lingers {
            ctx.run_later(CLOSED_LINGER, |act, ctx| act.finish(ctx));
        } else {
            self.finish(ctx);
        }
    }

    /// Forgets a closed session and stops the actor.
    fn finish(&mut self, ctx: &mut Context<Self>) {
        self.shared.remove(&self.sid);
        ctx.stop();
    }

    /// A Socket.IO session with no namespace connected or connecting is closed unless a
    /// CONNECT arrives within the connect timeout: at the start, after a refused CONNECT, and
    /// after the client left its last namespace. No client holds a session it does not use.
    fn await_connect(&mut self, ctx: &mut Context<Self>) {
        let idle = self.sockets.is_empty() && self.connecting.is_empty();
        if !matches!(self.shared.role, Role::SocketIo(_)) || !idle || self.closed {
            return;
        }
        if let Some(timer) = self.connect_timer.take() {
            ctx.cancel_future(timer);
        }
        let timer = ctx.run_later(self.shared.config.connect_timeout(), |act, ctx| {
            act.connect_timer = None;
            if act.sockets.is_empty() && act.connecting.is_empty() {
                act.close(ctx, DisconnectReason::ConnectTimeout, Farewell::Close);
            }
        });
        self.connect_timer = Some(timer);
    }

    fn transport_kind(&self) -> TransportKind {
        match self.transport {
            Transport::Polling => TransportKind::Polling,
            Transport::PendingWebSocket | Transport::WebSocket { .. } => TransportKind::WebSocket,
        }
    }

    /// One packet from the client, on whichever transport it came.
    fn on_packet(&mut self, ctx: &mut Context<Self>, packet: Packet) -> Result<(), ()> {
        self.shared.stats.packet_in();
        match packet {
            Packet::Pong(_) => {
                if let Some((_, timer)) = self.ping_deadline.take() {
                    ctx.cancel_future(timer);
                    self.next_ping = Instant::now() + self.shared.config.ping_interval();
                    self.schedule_ping(ctx);
                }
                Ok(())
            }
            Packet::Close => {
                self.close(ctx, DisconnectReason::TransportClose, Farewell::Noop);
                Ok(())
            }
            Packet::Noop => Ok(()),
            Packet::Message(text) => self.on_message(ctx, Incoming::Text(text)),
            Packet::Binary(data) => self.on_message(ctx, Incoming::Binary(data)),
            // The server pings, not the client; open and upgrade are not valid here.
            Packet::Ping(_) | Packet::Open(_) | Packet::Upgrade => Err(()),
        }
    }
}

/// The content of an Engine.IO message from the client.
enum Incoming {
    Text(ByteString),
    Binary(bytes::Bytes),
}

/// What a pending poll is answered with when the session closes (a WebSocket is closed
/// with no packet either way).
#[derive(Clone, Copy)]
enum Farewell {
    /// `1`: the server closed the session. Only a pending poll gets it: a long poll must be
    /// answered, and the official server answers it so.
    Close,
    /// `6`: the client closed it, nothing more to say.
    Noop,
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let websocket = !matches!(self.transport, Transport::Polling);
        if websocket {
            let open = self.shared.config.open_json(&self.sid, false);
            self.send(ctx, vec![Frame::of(&Packet::Open(open.into()))]);
        }
        self.schedule_ping(ctx);
        self.await_connect(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if !self.closed {
            self.shared
                .stats
                .closed(self.transport_kind(), DisconnectReason::TransportClose);
            self.shared.remove(&self.sid);
        }
    }
}

/// Socket handles → session: frames for the client, in order, nothing interleaved.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Emit {
    pub frames: Vec<Frame>,
}

impl Handler<Emit> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Emit, ctx: &mut Context<Self>) {
        self.send(ctx, msg.frames);
    }
}

/// Engine → session: close now (shutdown, or a raw handler's request).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSession {
    pub reason: DisconnectReason,
}

impl Handler<CloseSession> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(ctx, msg.reason, Farewell::Close);
    }
}
