//! The WebSocket transport's side of a session: attaching a WebSocket, its packets, the
//! polling → WebSocket upgrade probe, and the WebSocket going away.

use actix::prelude::*;

use std::time::Duration;

use tokio::sync::oneshot;

use super::{Farewell, Probe, SessionActor, Transport, WsOut};
use crate::engine::socket::DisconnectReason;
use crate::protocol::engineio::{Frame, Packet};

/// How often a probed upgrade ends the pending poll with a noop.
const UPGRADE_NOOP_EVERY: Duration = Duration::from_millis(100);

/// How many WebSockets refused during an unanswered probe wait for its answer; any more are
/// refused at once.
const MAX_HELD_REFUSALS: usize = 4;

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
    /// that answer before it reads on or passes `2probe` on: the client can never see the
    /// answer of a GET sent after its `5` (refused once the session has moved), nor a refusal
    /// held until the probe is answered, before `3probe`.
    Probe,
}

/// A WebSocket with the sid of a session that already has a probe is refused, as the official
/// server refuses it; but while that probe's `2probe` is unanswered, the refusal waits for the
/// answer to be written (or the probe to be dropped). The official server reads the frames of
/// one connection before the handshake of a later one, so a client that sent `2probe` and then
/// opened a second WebSocket sees `3probe` before that WebSocket closes; here the probe's
/// WebSocket may read `2probe` only after the second one reached the session.
impl Handler<WsAttach> for SessionActor {
    type Result = ResponseFuture<Result<Attached, ()>>;

    fn handle(&mut self, msg: WsAttach, ctx: &mut Context<Self>) -> Self::Result {
        let answer = match self.attach(ctx, msg) {
            Ok(answer) => answer,
            Err(held) => {
                return Box::pin(async move {
                    let _ = held.await;
                    Err(())
                })
            }
        };
        Box::pin(std::future::ready(answer))
    }
}

impl SessionActor {
    /// Attaches a WebSocket, or refuses it: at once, or (`Err`) when the receiver ends.
    fn attach(
        &mut self,
        ctx: &mut Context<Self>,
        msg: WsAttach,
    ) -> Result<Result<Attached, ()>, oneshot::Receiver<()>> {
        if let Some(probe) = self.probe.as_mut() {
            if !probe.probed && !self.closed && probe.held_refusals.len() < MAX_HELD_REFUSALS {
                let (hold, held) = oneshot::channel();
                probe.held_refusals.push(hold);
                return Err(held);
            }
        }
        Ok(self.attach_now(ctx, msg))
    }

    fn attach_now(&mut self, ctx: &mut Context<Self>, msg: WsAttach) -> Result<Attached, ()> {
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
                    held_refusals: Vec::new(),
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
                // `3probe` is written: the WebSockets refused meanwhile are told now.
                probe.held_refusals.clear();
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test fails loudly where its setup does"
    )]

    use std::sync::Arc;

    use futures_util::FutureExt as _;

    use super::*;
    use crate::engine::{Engine, EngineConfig, RawHandler, SessionHandle, TransportKind};

    struct Ignore;

    impl RawHandler for Ignore {
        fn message(&self, _: &SessionHandle, _: Frame) {}
    }

    /// Stands for a WebSocket: takes what the session writes to it.
    struct Sink;

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl Handler<WsOut> for Sink {
        type Result = ();

        fn handle(&mut self, _: WsOut, _: &mut Context<Self>) {}
    }

    fn polling_session() -> Addr<SessionActor> {
        let engine = Engine::raw(EngineConfig::default(), Arc::new(Ignore));
        engine.shared.open(TransportKind::Polling, "", None).1
    }

    fn attach(id: u64) -> WsAttach {
        WsAttach {
            id,
            ws: Sink.start().recipient(),
        }
    }

    /// Answered once the session has handled everything sent to it before.
    async fn handled(session: &Addr<SessionActor>) {
        let nothing = WsIn {
            id: 0,
            packet: Packet::Noop,
        };
        session.send(nothing).await.unwrap();
    }

    /// The race the public suite's "ignores WebSocket connection with same sid after upgrade"
    /// can lose on a loaded machine: the second WebSocket reaches the session before the
    /// probe's WebSocket has read `2probe`. Its refusal waits for the answer to `2probe`.
    #[actix::test]
    async fn a_second_websocket_is_refused_only_once_the_probe_is_answered() {
        let session = polling_session();
        let probe = session.send(attach(1)).await.unwrap();
        assert_eq!(probe, Ok(Attached::Probe));
        let mut second = Box::pin(session.send(attach(2)));
        handled(&session).await;
        assert!(
            second.as_mut().now_or_never().is_none(),
            "refused too early"
        );
        let ping = WsIn {
            id: 1,
            packet: Packet::Ping("probe".into()),
        };
        session.do_send(ping);
        assert_eq!(second.await.unwrap(), Err(()));
    }

    #[actix::test]
    async fn refusals_held_for_a_probe_are_bounded_and_end_with_it() {
        let session = polling_session();
        session.send(attach(1)).await.unwrap().unwrap();
        let held: Vec<_> = (0..MAX_HELD_REFUSALS as u64)
            .map(|id| session.send(attach(id + 2)))
            .collect();
        let over = session.send(attach(99)).await.unwrap();
        assert_eq!(over, Err(()), "refused at once past the bound");
        let gone = WsGone {
            id: 1,
            reason: DisconnectReason::TransportClose,
        };
        session.do_send(gone);
        for answer in futures_util::future::join_all(held).await {
            assert_eq!(answer.unwrap(), Err(()));
        }
    }
}
