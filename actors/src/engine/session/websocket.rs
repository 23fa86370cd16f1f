//! The WebSocket transport's side of a session: attaching a WebSocket, its packets, the
//! polling → WebSocket upgrade probe, and the WebSocket going away.

use actix::prelude::*;

use std::time::Duration;

use super::{Farewell, Probe, SessionActor, Transport, WsOut};
use crate::engine::socket::DisconnectReason;
use crate::protocol::engineio::{Frame, Packet};

/// How often a probed upgrade ends the pending poll with a noop.
const UPGRADE_NOOP_EVERY: Duration = Duration::from_millis(100);

impl Probe {
    fn cancel_timers(&self, ctx: &mut Context<SessionActor>) {
        ctx.cancel_future(self.timer);
        if let Some(noop) = self.noop {
            ctx.cancel_future(noop);
        }
    }
}

/// WebSocket transport → session: a WebSocket opened for this session, either as its
/// transport (the WebSocket handshake) or as an upgrade probe.
#[derive(Message)]
#[rtype(result = "Result<Attached, ()>")]
pub struct WsAttach {
    pub id: u64,
    pub ws: Recipient<WsOut>,
}

/// What an attached WebSocket is to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// The session's transport.
    Transport,
    /// An upgrade probe. The WebSocket answers its `2probe` with `3probe` itself, and writes
    /// that answer before it reads on: the client can never see the answer of a GET sent
    /// after its `5` (refused once the session has moved) before `3probe`.
    Probe,
}

impl Handler<WsAttach> for SessionActor {
    type Result = Result<Attached, ()>;

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
                Ok(Attached::Transport)
            }
            Transport::Polling if self.probe.is_none() && !self.closed => {
                let timer = ctx.run_later(self.shared.config.upgrade_timeout(), |act, ctx| {
                    // An upgrade that never completes: drop the probe, stay on polling.
                    if let Some(probe) = act.probe.take() {
                        if let Some(noop) = probe.noop {
                            ctx.cancel_future(noop);
                        }
                        probe.ws.do_send(WsOut::Close(None));
                    }
                });
                self.probe = Some(Probe {
                    id: msg.id,
                    ws: msg.ws,
                    probed: false,
                    timer,
                    noop: None,
                });
                Ok(Attached::Probe)
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
        if current && self.check_ping_deadline(ctx) {
            return;
        }
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
            // The probe's WebSocket has answered `3probe` already (`Attached::Probe`).
            Packet::Ping(data) if &*data == "probe" && !probe.probed => {
                probe.probed = true;
                // Polls end with a noop while the upgrade completes, the first one 100 ms from
                // now: a GET sent together with `5` is refused once the upgrade is done.
                let noop = ctx.run_interval(UPGRADE_NOOP_EVERY, |act, _| {
                    if let Some(poll) = act.poll.take() {
                        let _ = poll.send("6".into());
                    }
                });
                probe.noop = Some(noop);
            }
            Packet::Upgrade if probe.probed => {
                let Some(probe) = self.probe.take() else {
                    return;
                };
                probe.cancel_timers(ctx);
                // A GET still pending is on the old transport: refused (its sender dropped).
                self.poll = None;
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
                    probe.cancel_timers(ctx);
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
                probe.cancel_timers(ctx);
            }
            return;
        }
        if matches!(self.transport, Transport::WebSocket { id, .. } if id == msg.id) {
            self.close(ctx, msg.reason, Farewell::Close);
        }
    }
}
