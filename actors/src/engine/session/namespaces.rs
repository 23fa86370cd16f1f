//! The Socket.IO side of a session: namespaces connecting and connected, packets with binary
//! attachments collected, events handed to the namespace's handler with their acks.

use std::sync::Arc;

use actix::prelude::*;
use serde_json::Value;

use super::{Incoming, SessionActor};
use crate::engine::socket::{Ack, ConnectError, DisconnectReason, Event, Socket};
use crate::engine::Role;
use crate::protocol::engineio::Frame;
use crate::protocol::socketio::{self, PacketType, Payload};

/// A BINARY_EVENT or BINARY_ACK waiting for its attachments. A session holds at most one,
/// of at most `max_payload` bytes with its header, for at most the connect timeout.
pub(super) struct Partial {
    packet: socketio::Packet,
    binary: Vec<bytes::Bytes>,
    bytes: usize,
    expiry: SpawnHandle,
}

impl SessionActor {
    pub(super) fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        message: Incoming,
    ) -> Result<(), ()> {
        match &self.shared.role {
            Role::Raw(handler) => {
                let frame = match message {
                    Incoming::Text(text) => Frame::message(&text),
                    Incoming::Binary(data) => Frame::Binary(data),
                };
                handler.clone().message(&self.session_handle(ctx), frame);
                Ok(())
            }
            Role::SocketIo(_) => {
                match message {
                    Incoming::Binary(data) => {
                        let max_payload = self.shared.config.max_payload;
                        let partial = self.partial.as_mut().ok_or(())?;
                        partial.bytes += data.len();
                        if partial.bytes > max_payload {
                            log::debug!(sid = &*self.sid; "binary packet over maxPayload");
                            return Err(());
                        }
                        partial.binary.push(data);
                        if partial.binary.len() == partial.packet.attachments {
                            let Partial {
                                packet,
                                binary,
                                expiry,
                                ..
                            } = self.partial.take().ok_or(())?;
                            ctx.cancel_future(expiry);
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
                            // Attachments that never come must not hold the session's memory.
                            let expiry = ctx.run_later(self.shared.config.connect_timeout(), |act, ctx| {
                            log::debug!(sid = &*act.sid; "binary packet incomplete in time");
                            act.close(ctx, DisconnectReason::ParseError, super::Farewell::Close);
                        });
                            self.partial = Some(Partial {
                                packet,
                                binary: Vec::new(),
                                bytes: text.len(),
                                expiry,
                            });
                            Ok(())
                        } else {
                            self.dispatch(ctx, packet, Vec::new())
                        }
                    }
                }
            }
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
                    self.await_connect(ctx);
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
        let socket = Socket::new(
            crate::engine::random_id(),
            nsp.clone(),
            self.session_handle(ctx),
        );
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
                self.await_connect(ctx);
            }
        }
    }
}
