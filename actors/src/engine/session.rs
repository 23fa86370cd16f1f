//! `SessionActor`: one per Engine.IO session, whatever its transport. It owns the heartbeat,
//! the outbound queue, the polling→WebSocket upgrade and the Socket.IO namespaces on top.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::Value;
use tokio::sync::oneshot;

use super::socket::{Ack, ConnectError, DisconnectReason, Event, SessionHandle, Socket};
use super::{Role, Shared, TransportKind};
use crate::protocol::engineio::{self, Frame, Packet};
use crate::protocol::socketio::{self, PacketType, Payload};

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
}

/// A BINARY_EVENT or BINARY_ACK waiting for its attachments.
struct Partial {
    packet: socketio::Packet,
    binary: Vec<bytes::Bytes>,
}

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
    ping_deadline: Option<SpawnHandle>,
    connect_timer: Option<SpawnHandle>,
    sockets: HashMap<Arc<str>, Socket>,
    connecting: HashMap<Arc<str>, Socket>,
    partial: Option<Partial>,
    closed: bool,
}

impl SessionActor {
    /// A session that will talk over long-polling (`websocket: false`) or over a WebSocket that
    /// attaches next. The open packet is the first thing queued.
    pub(crate) fn new(
        sid: Arc<str>,
        shared: Arc<Shared>,
        websocket: bool,
        query: Arc<str>,
    ) -> SessionActor {
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

    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.shared.config.ping_interval(), |act, ctx| {
            act.send(ctx, vec![Frame::Text("2".into())]);
            let deadline = ctx.run_later(act.shared.config.ping_timeout(), |act, ctx| {
                act.close(ctx, DisconnectReason::PingTimeout, Farewell::Close);
            });
            act.ping_deadline = Some(deadline);
        });
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
            return;
        }
        self.closed = true;
        log::debug!(sid = &*self.sid, reason = reason.as_str(); "engine.io session closed");
        for (nsp, socket) in self.sockets.drain().chain(self.connecting.drain()) {
            if let Some(handler) = self.shared.namespace(&nsp) {
                socket.release(&*handler, reason);
            }
        }
        if let Some(poll) = self.poll.take() {
            let _ = poll.send(match farewell {
                Farewell::Close => "1".into(),
                Farewell::Noop => "6".into(),
            });
        }
        let code = (reason == DisconnectReason::ParseError).then_some(1002);
        if let Transport::WebSocket { ws, .. } = &self.transport {
            if reason != DisconnectReason::TransportClose {
                ws.do_send(WsOut::Frames(vec![Frame::Text("1".into())]));
            }
            ws.do_send(WsOut::Close(code));
        }
        if let Some(probe) = self.probe.take() {
            probe.ws.do_send(WsOut::Close(None));
        }
        self.shared.stats.closed(self.transport_kind(), reason);
        self.shared.remove(&self.sid);
        ctx.stop();
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
                if let Some(deadline) = self.ping_deadline.take() {
                    ctx.cancel_future(deadline);
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

    fn on_message(&mut self, ctx: &mut Context<Self>, message: Incoming) -> Result<(), ()> {
        match &self.shared.role {
            Role::Raw(handler) => {
                let frame = match message {
                    Incoming::Text(text) => Frame::message(&text),
                    Incoming::Binary(data) => Frame::Binary(data),
                };
                handler.clone().message(&self.session_handle(ctx), frame);
                Ok(())
            }
            Role::SocketIo(_) => match message {
                Incoming::Binary(data) => {
                    let partial = self.partial.as_mut().ok_or(())?;
                    partial.binary.push(data);
                    if partial.binary.len() == partial.packet.attachments {
                        let Partial { packet, binary } = self.partial.take().ok_or(())?;
                        self.dispatch(ctx, packet, binary)?;
                    }
                    Ok(())
                }
                Incoming::Text(text) => {
                    // Attachments follow their header with nothing in between.
                    if self.partial.is_some() {
                        return Err(());
                    }
                    let packet = socketio::decode(&text, self.shared.config.max_attachments)
                        .map_err(|err| log::debug!(sid = &*self.sid, cause:% = err; "bad socket.io packet"))?;
                    if packet.attachments > 0 {
                        self.partial = Some(Partial {
                            packet,
                            binary: Vec::new(),
                        });
                        Ok(())
                    } else {
                        self.dispatch(ctx, packet, Vec::new())
                    }
                }
            },
        }
    }

    /// A complete Socket.IO packet from the client.
    fn dispatch(
        &mut self,
        ctx: &mut Context<Self>,
        packet: socketio::Packet,
        binary: Vec<bytes::Bytes>,
    ) -> Result<(), ()> {
        let nsp: Arc<str> = packet.nsp.as_str().into();
        match packet.kind {
            PacketType::Connect => {
                self.on_connect(ctx, nsp, packet.data);
                Ok(())
            }
            PacketType::Disconnect => {
                if let Some(socket) = self.sockets.remove(&nsp) {
                    if let Some(handler) = self.shared.namespace(&nsp) {
                        socket.release(&*handler, DisconnectReason::ClientNamespaceDisconnect);
                    }
                }
                Ok(())
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let Some(socket) = self.sockets.get(&nsp).cloned() else {
                    // Nothing may be sent on a namespace before its CONNECT reply: ignored.
                    return Ok(());
                };
                let Some(Value::Array(mut args)) = packet.data else {
                    return Err(());
                };
                let name = match args.remove(0) {
                    Value::String(name) => name,
                    other => other.to_string(),
                };
                let ack = packet.id.map(|id| Ack {
                    session: ctx.address(),
                    nsp: nsp.clone(),
                    id,
                });
                let event = Event {
                    name,
                    payload: Payload { args, binary },
                    ack,
                };
                if let Some(handler) = self.shared.namespace(&nsp) {
                    actix::spawn(handler.event(socket, event));
                }
                Ok(())
            }
            // The server never asks for acks, so a client's ack answers nothing.
            PacketType::Ack | PacketType::BinaryAck => match packet.data {
                Some(Value::Array(_)) => Ok(()),
                _ => Err(()),
            },
            PacketType::ConnectError => Err(()),
        }
    }

    fn on_connect(&mut self, ctx: &mut Context<Self>, nsp: Arc<str>, auth: Option<Value>) {
        let Some(handler) = self.shared.namespace(&nsp) else {
            let text = socketio::encode_connect_error(&nsp, "Invalid namespace", None);
            self.send(ctx, vec![Frame::message(&text)]);
            return;
        };
        if self.sockets.contains_key(&nsp) || self.connecting.contains_key(&nsp) {
            return;
        }
        if let Some(timer) = self.connect_timer.take() {
            ctx.cancel_future(timer);
        }
        let socket = Socket::new(super::random_id(), nsp.clone(), self.session_handle(ctx));
        self.connecting.insert(nsp.clone(), socket.clone());
        let addr = ctx.address();
        let decision = handler.connect(socket.clone(), auth);
        actix::spawn(async move {
            let result = decision.await;
            // The session may have closed meanwhile; the handler still learns the socket is gone.
            let done = ConnectDecided {
                nsp: nsp.clone(),
                socket: socket.clone(),
                result,
            };
            if addr.send(done).await.is_err() {
                socket.release(&*handler, DisconnectReason::TransportClose);
            }
        });
    }
}

/// The content of an Engine.IO message from the client.
enum Incoming {
    Text(ByteString),
    Binary(bytes::Bytes),
}

/// What a pending poll is answered with when the session closes.
#[derive(Clone, Copy)]
enum Farewell {
    /// `1`: the server closed the session.
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
        if matches!(self.shared.role, Role::SocketIo(_)) {
            let timer = ctx.run_later(self.shared.config.connect_timeout(), |act, ctx| {
                if act.sockets.is_empty() && act.connecting.is_empty() {
                    act.close(ctx, DisconnectReason::ConnectTimeout, Farewell::Close);
                }
            });
            self.connect_timer = Some(timer);
        }
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

/// Polling transport → session: a GET is waiting; `reply` gets its body.
#[derive(Message)]
#[rtype(result = "Result<(), PollRefused>")]
pub struct Poll {
    pub reply: oneshot::Sender<ByteString>,
}

/// Why a poll is refused with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollRefused {
    /// The session is on another transport now.
    WrongTransport,
    /// A GET arrived while another was pending: the session is closed.
    Duplicate,
}

impl Handler<Poll> for SessionActor {
    type Result = Result<(), PollRefused>;

    fn handle(&mut self, msg: Poll, ctx: &mut Context<Self>) -> Self::Result {
        if !matches!(self.transport, Transport::Polling) {
            return Err(PollRefused::WrongTransport);
        }
        if self.poll.is_some() {
            self.close(ctx, DisconnectReason::TransportError, Farewell::Close);
            return Err(PollRefused::Duplicate);
        }
        if self.probe.as_ref().is_some_and(|p| p.probed) {
            let _ = msg.reply.send("6".into());
        } else if !self.outbox.is_empty() {
            let _ = msg.reply.send(self.drain_payload());
        } else {
            self.poll = Some(msg.reply);
        }
        Ok(())
    }
}

/// Polling transport → session: the client went away while its GET was pending.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PollAborted;

impl Handler<PollAborted> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: PollAborted, ctx: &mut Context<Self>) {
        if self.poll.as_ref().is_some_and(|poll| poll.is_closed()) {
            self.poll = None;
            self.close(ctx, DisconnectReason::TransportError, Farewell::Close);
        }
    }
}

/// Polling transport → session: the packets of a POST, in order.
#[derive(Message)]
#[rtype(result = "Result<(), ()>")]
pub struct Posted {
    pub packets: Vec<Packet>,
}

impl Handler<Posted> for SessionActor {
    type Result = Result<(), ()>;

    fn handle(&mut self, msg: Posted, ctx: &mut Context<Self>) -> Self::Result {
        if !matches!(self.transport, Transport::Polling) || self.closed {
            return Err(());
        }
        for packet in msg.packets {
            if self.on_packet(ctx, packet).is_err() {
                self.close(ctx, DisconnectReason::ParseError, Farewell::Close);
                return Err(());
            }
            if self.closed {
                break;
            }
        }
        Ok(())
    }
}

/// WebSocket transport → session: a WebSocket opened for this session, either as its
/// transport (the WebSocket handshake) or as an upgrade probe.
#[derive(Message)]
#[rtype(result = "Result<(), ()>")]
pub struct WsAttach {
    pub id: u64,
    pub ws: Recipient<WsOut>,
}

impl Handler<WsAttach> for SessionActor {
    type Result = Result<(), ()>;

    fn handle(&mut self, msg: WsAttach, ctx: &mut Context<Self>) -> Self::Result {
        match self.transport {
            Transport::PendingWebSocket => {
                self.transport = Transport::WebSocket {
                    id: msg.id,
                    ws: msg.ws,
                };
                let frames: Vec<Frame> = self.outbox.drain(..).collect();
                self.outbox_bytes = 0;
                self.send(ctx, frames);
                Ok(())
            }
            Transport::Polling if self.probe.is_none() && !self.closed => {
                let timer = ctx.run_later(self.shared.config.upgrade_timeout(), |act, _| {
                    // An upgrade that never completes: drop the probe, stay on polling.
                    if let Some(probe) = act.probe.take() {
                        probe.ws.do_send(WsOut::Close(None));
                    }
                });
                self.probe = Some(Probe {
                    id: msg.id,
                    ws: msg.ws,
                    probed: false,
                    timer,
                });
                Ok(())
            }
            _ => Err(()),
        }
    }
}

/// WebSocket transport → session: a packet from WebSocket `id`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WsIn {
    pub id: u64,
    pub packet: Packet,
}

impl Handler<WsIn> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: WsIn, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        if self.probe.as_ref().is_some_and(|p| p.id == msg.id) {
            self.on_probe_packet(ctx, msg.packet);
            return;
        }
        let current = matches!(self.transport, Transport::WebSocket { id, .. } if id == msg.id);
        if current && self.on_packet(ctx, msg.packet).is_err() {
            self.close(ctx, DisconnectReason::ParseError, Farewell::Close);
        }
    }
}

impl SessionActor {
    fn on_probe_packet(&mut self, ctx: &mut Context<Self>, packet: Packet) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        match packet {
            Packet::Ping(data) if &*data == "probe" && !probe.probed => {
                probe.probed = true;
                probe
                    .ws
                    .do_send(WsOut::Frames(vec![Frame::Text("3probe".into())]));
                // Pending and later polls end at once with a noop while the upgrade completes.
                if let Some(poll) = self.poll.take() {
                    let _ = poll.send("6".into());
                }
            }
            Packet::Upgrade if probe.probed => {
                let Some(probe) = self.probe.take() else {
                    return;
                };
                ctx.cancel_future(probe.timer);
                if let Some(poll) = self.poll.take() {
                    let _ = poll.send("6".into());
                }
                self.transport = Transport::WebSocket {
                    id: probe.id,
                    ws: probe.ws,
                };
                self.shared.stats.upgraded();
                let frames: Vec<Frame> = self.outbox.drain(..).collect();
                self.outbox_bytes = 0;
                if !frames.is_empty() {
                    self.send(ctx, frames);
                }
            }
            _ => {
                // Anything else on a probe is not an upgrade: drop the probe only.
                if let Some(probe) = self.probe.take() {
                    ctx.cancel_future(probe.timer);
                    probe.ws.do_send(WsOut::Close(Some(1002)));
                }
            }
        }
    }
}

/// WebSocket transport → session: WebSocket `id` closed or failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WsGone {
    pub id: u64,
    pub reason: DisconnectReason,
}

impl Handler<WsGone> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: WsGone, ctx: &mut Context<Self>) {
        if self.probe.as_ref().is_some_and(|p| p.id == msg.id) {
            if let Some(probe) = self.probe.take() {
                ctx.cancel_future(probe.timer);
            }
            return;
        }
        if matches!(self.transport, Transport::WebSocket { id, .. } if id == msg.id) {
            self.close(ctx, msg.reason, Farewell::Close);
        }
    }
}

/// Socket handles → session: frames for the client, in order, nothing interleaved; then
/// `then` runs, once the frames are with the transport (or dropped, if the session is closed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Emit {
    pub frames: Vec<Frame>,
    pub then: Option<Box<dyn FnOnce() + Send>>,
}

impl Handler<Emit> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Emit, ctx: &mut Context<Self>) {
        self.send(ctx, msg.frames);
        if let Some(then) = msg.then {
            then();
        }
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

/// The connect handler decided on a CONNECT.
#[derive(Message)]
#[rtype(result = "()")]
struct ConnectDecided {
    nsp: Arc<str>,
    socket: Socket,
    result: Result<(), ConnectError>,
}

impl Handler<ConnectDecided> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: ConnectDecided, ctx: &mut Context<Self>) {
        let still_waiting = self.connecting.remove(&msg.nsp).is_some();
        let handler = self.shared.namespace(&msg.nsp);
        if !still_waiting || self.closed {
            if let Some(handler) = handler {
                msg.socket
                    .release(&*handler, DisconnectReason::TransportClose);
            }
            return;
        }
        match msg.result {
            Ok(()) => {
                let text = socketio::encode_connect(&msg.nsp, msg.socket.id());
                self.sockets.insert(msg.nsp, msg.socket.clone());
                self.send(ctx, vec![Frame::message(&text)]);
                if let Some(handler) = handler {
                    handler.connected(&msg.socket);
                }
            }
            Err(err) => {
                msg.socket.forget();
                let text =
                    socketio::encode_connect_error(&msg.nsp, &err.message, err.data.as_ref());
                self.send(ctx, vec![Frame::message(&text)]);
            }
        }
    }
}
