//! The long-polling transport's side of a session: pending GETs and POSTed packets.

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::oneshot;

use super::{Farewell, SessionActor, Transport};
use crate::engine::socket::DisconnectReason;
use crate::protocol::engineio::Packet;

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
    /// The pong was due before this GET came: the session is closed.
    Expired,
}

impl Handler<Poll> for SessionActor {
    type Result = Result<(), PollRefused>;

    fn handle(&mut self, msg: Poll, ctx: &mut Context<Self>) -> Self::Result {
        if self.closed {
            // Closed by the client, with this GET sent alongside: it ends with a noop, and
            // the session is forgotten.
            let _ = msg.reply.send("6".into());
            self.finish(ctx);
            return Ok(());
        }
        if !matches!(self.transport, Transport::Polling) {
            return Err(PollRefused::WrongTransport);
        }
        if self.check_ping_deadline(ctx) {
            return Err(PollRefused::Expired);
        }
        if self.poll.is_some() {
            self.close(ctx, DisconnectReason::TransportError, Farewell::Close);
            return Err(PollRefused::Duplicate);
        }
        if self.probe.as_ref().is_some_and(|p| p.probed) {
            // Ended by the next noop of the upgrade, unless the upgrade completes first.
            self.poll = Some(msg.reply);
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
        if self.check_ping_deadline(ctx) {
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
