//! One `RoomActor` per conversation that has local subscribers. A room does no I/O: it holds
//! its sockets and hands each the same pre-encoded frame.
//!
//! `message:new`, `message:updated` and `reaction:updated` frames carry their rev, and a room
//! hands them out in rev order: the changes of one conversation commit in rev order but
//! publish afterwards, from different threads or nodes, so a later change can reach the room
//! first (and a client would see a gap it must repair). Such a frame waits until its
//! predecessor has been handed out, for at most `HOLD`; then the room hands out what it holds,
//! in order.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use super::socket_state::SocketState;
use super::ChatStats;
use crate::engine::Socket;
use crate::protocol::engineio::Frame;

/// How long a change that arrived ahead of its predecessor waits for it.
pub const HOLD: Duration = Duration::from_millis(100);

/// The sockets subscribed to one conversation on this node.
pub struct RoomActor {
    sockets: HashMap<String, Socket>,
    stats: Arc<ChatStats>,
    /// The rev the next change should carry, once known.
    next_rev: Option<i64>,
    /// Changes that arrived ahead of their predecessor, by rev.
    held: BTreeMap<i64, (Frame, Option<String>)>,
    /// Hands out what is held when the wait is over.
    hold_timer: Option<SpawnHandle>,
}

impl RoomActor {
    fn new(stats: Arc<ChatStats>) -> RoomActor {
        RoomActor {
            sockets: HashMap::new(),
            stats,
            next_rev: None,
            held: BTreeMap::new(),
            hold_timer: None,
        }
    }

    fn deliver(&self, frame: &Frame, except: Option<&str>) {
        self.deliver_about(frame, except, None);
    }

    /// Delivers a frame about user `about` (their presence): not to users they blocked.
    fn deliver_about(&self, frame: &Frame, except: Option<&str>, about: Option<Uuid>) {
        let mut delivered = 0;
        for (id, socket) in &self.sockets {
            if except == Some(id.as_str()) {
                continue;
            }
            if let Some(subject) = about {
                let Some(state) = socket.data::<SocketState>() else {
                    continue;
                };
                // What the socket remembers of the subject's presence is out of date now.
                state.seen().forget(subject);
                if state.is_blocked_by(subject) {
                    continue;
                }
            }
            socket.send_frame(frame.clone());
            delivered += 1;
        }
        self.stats.delivered(delivered);
    }

    /// Hands out the change with `rev`, then any held ones that now follow in order.
    fn deliver_change(&mut self, rev: i64, frame: Frame, except: Option<String>) {
        self.deliver(&frame, except.as_deref());
        let mut next = rev + 1;
        while let Some((frame, except)) = self.held.remove(&next) {
            self.deliver(&frame, except.as_deref());
            next += 1;
        }
        self.next_rev = Some(next);
    }

    /// The wait is over: hands out everything held, in rev order.
    fn release_held(&mut self) {
        self.hold_timer = None;
        let held = std::mem::take(&mut self.held);
        for (rev, (frame, except)) in held {
            self.deliver(&frame, except.as_deref());
            self.next_rev = Some(rev + 1);
        }
    }
}

impl Actor for RoomActor {
    type Context = Context<Self>;
}

/// Rooms → room: subscribe a socket; `last_rev` is the conversation's last rev as the socket
/// last saw it (where a new room starts counting).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// The socket.
    pub socket: Socket,
    /// The last rev it has seen, for the first socket of a new room.
    pub last_rev: Option<i64>,
}

/// Rooms → room: unsubscribe a socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The socket's id.
    pub socket_id: String,
}

/// Rooms → room: send `frame` to every socket but `except`; a change gives its `rev`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    /// The frame, encoded once.
    pub frame: Frame,
    /// The socket not to send it to.
    pub except: Option<String>,
    /// The rev of a change, delivered in rev order.
    pub rev: Option<i64>,
    /// The user a presence frame is about: not delivered to users they blocked.
    pub about: Option<Uuid>,
}

/// Rooms → room: the last subscriber left; stop.
#[derive(Message)]
#[rtype(result = "()")]
struct Close;

impl Handler<Join> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        if self.next_rev.is_none() {
            self.next_rev = msg.last_rev.map(|rev| rev + 1);
        }
        self.sockets.insert(msg.socket.id().to_string(), msg.socket);
    }
}

impl Handler<Leave> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        self.sockets.remove(&msg.socket_id);
    }
}

impl Handler<Publish> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        let Some(rev) = msg.rev else {
            self.deliver_about(&msg.frame, msg.except.as_deref(), msg.about);
            return;
        };
        match self.next_rev {
            // Ahead of its predecessor: wait for it, for at most HOLD.
            Some(next) if rev > next => {
                self.held.insert(rev, (msg.frame, msg.except));
                if self.hold_timer.is_none() {
                    self.hold_timer = Some(ctx.run_later(HOLD, |room, _| room.release_held()));
                }
            }
            // Behind (its turn passed while it was late): hand it out now.
            Some(next) if rev < next => self.deliver(&msg.frame, msg.except.as_deref()),
            _ => {
                self.deliver_change(rev, msg.frame, msg.except);
                if self.held.is_empty() {
                    if let Some(timer) = self.hold_timer.take() {
                        ctx.cancel_future(timer);
                    }
                }
            }
        }
    }
}

impl Handler<Close> for RoomActor {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

struct Entry {
    room: Addr<RoomActor>,
    members: usize,
}

/// Carries room traffic to the other nodes of a cluster (the Redis bridge, or a test double).
/// Calls must not block: implementations hand the work to their own task.
pub trait RoomBridge: Send + Sync + 'static {
    /// This node has a first local subscriber for `conversation`.
    fn subscribe(&self, conversation: Uuid);
    /// This node's last local subscriber for `conversation` left.
    fn unsubscribe(&self, conversation: Uuid);
    /// A frame published here, for the other nodes' subscribers of `conversation`; a change
    /// gives its `rev`.
    fn publish(&self, conversation: Uuid, frame: &Frame, rev: Option<i64>);
    /// A presence frame about user `about`, for the other nodes' subscribers of
    /// `conversation` that `about` has not blocked.
    fn publish_about(&self, conversation: Uuid, frame: &Frame, about: Uuid) {
        let _ = about;
        self.publish(conversation, frame, None);
    }
    /// An event for `user`'s sockets on the other nodes (membership changes), as JSON.
    fn publish_user(&self, _user: Uuid, _event: String) {}
}

/// The rooms of this node. Membership counts are kept here, under one lock, so a room is
/// created on the first join and closed after the last leave without racing a new join.
#[derive(Clone, Default)]
pub struct Rooms {
    rooms: Arc<Mutex<HashMap<Uuid, Entry>>>,
    stats: Arc<ChatStats>,
    bridge: Option<Arc<dyn RoomBridge>>,
}

impl Rooms {
    /// Rooms whose traffic also crosses to other nodes through `bridge`.
    pub fn with_bridge(bridge: Arc<dyn RoomBridge>) -> Rooms {
        Rooms {
            bridge: Some(bridge),
            ..Rooms::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes `socket` to `conversation`, whose last rev it saw was `last_rev`.
    pub fn join(&self, conversation: Uuid, socket: Socket, last_rev: Option<i64>) {
        let mut rooms = self.lock();
        if !rooms.contains_key(&conversation) {
            if let Some(bridge) = &self.bridge {
                bridge.subscribe(conversation);
            }
        }
        let entry = rooms.entry(conversation).or_insert_with(|| Entry {
            room: RoomActor::new(self.stats.clone()).start(),
            members: 0,
        });
        entry.members += 1;
        entry.room.do_send(Join { socket, last_rev });
    }

    /// Unsubscribes the socket `socket_id` from `conversation` (a socket joins a room once).
    pub fn leave(&self, conversation: Uuid, socket_id: &str) {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&conversation) else {
            return;
        };
        entry.room.do_send(Leave {
            socket_id: socket_id.to_string(),
        });
        entry.members = entry.members.saturating_sub(1);
        if entry.members == 0 {
            if let Some(entry) = rooms.remove(&conversation) {
                entry.room.do_send(Close);
                if let Some(bridge) = &self.bridge {
                    bridge.unsubscribe(conversation);
                }
            }
        }
    }

    /// Sends `frame` to every subscriber of `conversation` but the socket `except`: the local
    /// ones here, those of other nodes through the bridge.
    pub fn publish(&self, conversation: Uuid, frame: Frame, except: Option<&str>) {
        self.publish_ordered(conversation, frame, except, None);
    }

    /// Publishes the frame of the change with `rev` (`message:new`, `message:updated`,
    /// `reaction:updated`); rooms hand these out in rev order.
    pub fn publish_change(&self, conversation: Uuid, rev: i64, frame: Frame, except: Option<&str>) {
        self.publish_ordered(conversation, frame, except, Some(rev));
    }

    fn publish_ordered(
        &self,
        conversation: Uuid,
        frame: Frame,
        except: Option<&str>,
        rev: Option<i64>,
    ) {
        if let Some(bridge) = &self.bridge {
            bridge.publish(conversation, &frame, rev);
        }
        self.deliver_local(conversation, frame, except, rev);
    }

    /// Sends `frame` to the local subscribers of `conversation` only (what the bridge received).
    pub fn deliver_local(
        &self,
        conversation: Uuid,
        frame: Frame,
        except: Option<&str>,
        rev: Option<i64>,
    ) {
        self.deliver_local_about(conversation, frame, except, rev, None);
    }

    /// Publishes a presence frame about user `about`: every subscriber but `except` and the
    /// users `about` has blocked gets it, here and on the other nodes.
    pub fn publish_about(
        &self,
        conversation: Uuid,
        frame: Frame,
        except: Option<&str>,
        about: Uuid,
    ) {
        if let Some(bridge) = &self.bridge {
            bridge.publish_about(conversation, &frame, about);
        }
        self.deliver_local_about(conversation, frame, except, None, Some(about));
    }

    /// [`Rooms::deliver_local`] of a frame about user `about`, when it is about one.
    pub fn deliver_local_about(
        &self,
        conversation: Uuid,
        frame: Frame,
        except: Option<&str>,
        rev: Option<i64>,
        about: Option<Uuid>,
    ) {
        if let Some(entry) = self.lock().get(&conversation) {
            entry.room.do_send(Publish {
                frame,
                except: except.map(str::to_string),
                rev,
                about,
            });
        }
    }

    /// The bridge to the other nodes, when there is one.
    pub fn bridge(&self) -> Option<&Arc<dyn RoomBridge>> {
        self.bridge.as_ref()
    }

    /// The conversations with local subscribers (what a reconnected bridge re-subscribes).
    pub fn conversations(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    /// The chat counters of this node.
    pub fn stats(&self) -> &ChatStats {
        &self.stats
    }

    /// Rooms alive on this node.
    pub fn count(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig, WsOut};

    /// Stands in for a WebSocket: keeps the text of every frame.
    struct Sink(Arc<Mutex<Vec<String>>>);

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl Handler<WsOut> for Sink {
        type Result = ();

        fn handle(&mut self, msg: WsOut, _: &mut Context<Self>) {
            if let WsOut::Frames(frames) = msg {
                let mut seen = self.0.lock().unwrap();
                for frame in frames {
                    if let Frame::Text(text) = frame {
                        seen.push(text.to_string());
                    }
                }
            }
        }
    }

    /// Waits (at most 5 s) until `seen` holds `n` frames after the open packet; returns those.
    async fn frames(seen: &Mutex<Vec<String>>, n: usize) -> Vec<String> {
        for _ in 0..500 {
            {
                let seen = seen.lock().unwrap();
                if seen.len() > n {
                    return seen[1..].to_vec();
                }
            }
            actix::clock::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out: {:?}", seen.lock().unwrap());
    }

    fn text(s: &str) -> Frame {
        Frame::Text(s.into())
    }

    #[actix::test]
    async fn changes_reach_sockets_in_rev_order() {
        let engine = Engine::socket_io(EngineConfig::default(), Vec::new());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(seen.clone()).start().recipient();
        let rooms = Rooms::default();
        let conversation = Uuid::new_v4();
        rooms.join(conversation, engine.detached_socket("/", sink), Some(4));

        // 6 is published before 5, and waits for it; other frames do not wait.
        rooms.publish_change(conversation, 6, text("m6"), None);
        rooms.publish(conversation, text("typing"), None);
        rooms.publish_change(conversation, 5, text("m5"), None);
        assert_eq!(frames(&seen, 3).await, ["typing", "m5", "m6"]);

        // 7 never comes: 8 goes out after the hold, and 7, late, after it.
        rooms.publish_change(conversation, 8, text("m8"), None);
        assert_eq!(frames(&seen, 4).await[3], "m8");
        rooms.publish_change(conversation, 7, text("m7"), None);
        rooms.publish_change(conversation, 9, text("m9"), None);
        assert_eq!(frames(&seen, 6).await[4..], ["m7", "m9"]);
    }
}
