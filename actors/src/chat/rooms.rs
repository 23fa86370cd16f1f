//! One `RoomActor` per conversation that has local subscribers. A room does no I/O: it holds
//! its sockets and hands each the same pre-encoded frame.
//!
//! `message:new`, `message:updated` and `reaction:updated` frames carry their rev, and a room
//! hands them out in rev order, the sender's own ack and `message:sent` included (they go to
//! the sender in place of its `message:new`). Changes commit in rev order but are published
//! afterwards, from different threads or nodes, so a later change can reach the room first:
//! it waits until its predecessor has been handed out.
//!
//! How long it waits depends on what the room knows of the missing revs. The group commit
//! tells the room the revs it just committed ([`Rooms::expect`]) before anyone can publish a
//! later one: a change waits for an expected predecessor without a timer (at most
//! `EXPECT_HOLD`, should its publisher fail). Only a rev the room knows nothing of (a change
//! committed on another node, or by a path that does not announce its revs) is a true race,
//! waited for at most `HOLD`.
//!
//! A change published on this node goes to the other nodes from the room, once it is handed
//! out: in rev order, so the bridge keeps each conversation's order across nodes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use tokio::time::Instant;
use uuid::Uuid;

use super::socket_state::SocketState;
use super::ChatStats;
use crate::engine::Socket;
use crate::protocol::engineio::Frame;

/// How long a change waits for a predecessor the room knows nothing of.
pub const HOLD: Duration = Duration::from_millis(100);

/// How long a change waits for a predecessor committed on this node but not yet published
/// (its publisher failed or is slow beyond any deadline).
pub const EXPECT_HOLD: Duration = Duration::from_secs(5);

/// Expected revs a room keeps at most (a room far behind forgets the oldest).
const MAX_EXPECTED: usize = 65_536;

/// What the sender of a change gets in place of its frame: the ack and `message:sent`,
/// handed out in the change's turn, so that the sender too sees every change in rev order.
pub struct SenderFrames {
    /// The sending socket (whether or not it is subscribed here).
    pub socket: Socket,
    /// Its frames, sent together.
    pub frames: Vec<Frame>,
}

/// One change waiting for its turn.
struct Change {
    frame: Frame,
    sender: Option<SenderFrames>,
    /// Published on this node: goes on to the other nodes once handed out.
    forward: bool,
}

/// The sockets subscribed to one conversation on this node.
pub struct RoomActor {
    conversation: Uuid,
    sockets: HashMap<String, Socket>,
    stats: Arc<ChatStats>,
    bridge: Option<Arc<dyn RoomBridge>>,
    /// The rev the next change should carry, once known.
    next_rev: Option<i64>,
    /// Changes that arrived ahead of their predecessor, by rev.
    held: BTreeMap<i64, Change>,
    /// Revs committed on this node and not yet published, with how long they are waited for.
    expected: BTreeMap<i64, Instant>,
    /// Hands out what is held when the wait is over.
    hold_timer: Option<SpawnHandle>,
}

impl RoomActor {
    fn new(
        conversation: Uuid,
        stats: Arc<ChatStats>,
        bridge: Option<Arc<dyn RoomBridge>>,
    ) -> RoomActor {
        RoomActor {
            conversation,
            sockets: HashMap::new(),
            stats,
            bridge,
            next_rev: None,
            held: BTreeMap::new(),
            expected: BTreeMap::new(),
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

    /// Hands out the change with `rev`: to the other nodes, to its sender, to every other
    /// socket.
    fn hand_out(&mut self, rev: i64, change: Change) {
        self.expected.remove(&rev);
        if change.forward {
            if let Some(bridge) = &self.bridge {
                bridge.publish(self.conversation, &change.frame, Some(rev));
            }
        }
        let except = change.sender.map(|sender| {
            sender.socket.session().send(sender.frames);
            sender.socket.id().to_string()
        });
        self.deliver(&change.frame, except.as_deref());
    }

    /// Hands out the change with `rev` in its turn, then the held ones that now follow.
    fn take_turn(&mut self, rev: i64, change: Change) {
        self.hand_out(rev, change);
        self.next_rev = Some(rev + 1);
        self.drain();
    }

    /// Hands out the held changes that follow in order.
    fn drain(&mut self) {
        while let Some(next) = self.next_rev {
            let Some(change) = self.held.remove(&next) else {
                break;
            };
            self.hand_out(next, change);
            self.next_rev = Some(next + 1);
        }
    }

    /// Whether a rev before `rev` (from the next one on) is committed here and still awaited.
    fn awaits_before(&self, rev: i64) -> bool {
        let next = self.next_rev.unwrap_or(rev);
        self.expected.range(next..rev).next().is_some()
    }

    /// Whether every missing rev before `rev` is one this node committed.
    fn all_expected_before(&self, rev: i64) -> bool {
        let next = self.next_rev.unwrap_or(rev);
        let missing = usize::try_from(rev.saturating_sub(next)).unwrap_or(0);
        missing <= self.expected.len()
            && (next..rev).all(|missing| self.expected.contains_key(&missing))
    }

    /// Sets the timer for what is held now: `HOLD` while a rev nobody announced is missing,
    /// else until the first expected rev's wait is over.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.hold_timer.take() {
            ctx.cancel_future(timer);
        }
        let Some(&first) = self.held.keys().next() else {
            return;
        };
        let wait = if self.all_expected_before(first) {
            let next = self.next_rev.unwrap_or(first);
            let until = self.expected.range(next..first).map(|(_, at)| *at).min();
            until.map_or(Duration::ZERO, |at| {
                at.saturating_duration_since(Instant::now())
            })
        } else {
            HOLD
        };
        self.hold_timer = Some(ctx.run_later(wait, |room, ctx| room.release_held(ctx)));
    }

    /// The wait is over: forgets expected revs whose publisher is overdue, then hands out
    /// what is held, in rev order, up to a predecessor still expected.
    fn release_held(&mut self, ctx: &mut Context<Self>) {
        self.hold_timer = None;
        let now = Instant::now();
        self.expected.retain(|_, until| *until > now);
        while let Some(rev) = self.held.keys().next().copied() {
            if self.awaits_before(rev) {
                break;
            }
            if let Some(change) = self.held.remove(&rev) {
                self.take_turn(rev, change);
            }
        }
        self.schedule(ctx);
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

/// Rooms → room: send `frame` to every socket but `except` (not a change).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    /// The frame, encoded once.
    pub frame: Frame,
    /// The socket not to send it to.
    pub except: Option<String>,
    /// The user a presence frame is about: not delivered to users they blocked.
    pub about: Option<Uuid>,
}

/// Rooms → room: the change with `rev`, handed out in rev order.
#[derive(Message)]
#[rtype(result = "()")]
struct PublishChange {
    rev: i64,
    change: Change,
}

/// Rooms → room: these revs were just committed on this node and will be published.
#[derive(Message)]
#[rtype(result = "()")]
struct Expect {
    revs: Vec<i64>,
}

/// Rooms → room: the conversation is at `last_rev`, and this node may have missed changes
/// (the bridge was down): if the room has not handed out `last_rev`, its sockets get
/// `frame` (`conversation:updated`) to repair from, after whatever it holds.
#[derive(Message)]
#[rtype(result = "()")]
struct Behind {
    last_rev: i64,
    frame: Frame,
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

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        self.deliver_about(&msg.frame, msg.except.as_deref(), msg.about);
    }
}

impl Handler<PublishChange> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: PublishChange, ctx: &mut Context<Self>) {
        let PublishChange { rev, change } = msg;
        match self.next_rev {
            // Ahead of its predecessor: wait for it.
            Some(next) if rev > next => {
                self.expected.remove(&rev);
                self.held.insert(rev, change);
                self.schedule(ctx);
            }
            // Behind (its turn passed while it was late): hand it out now.
            Some(next) if rev < next => self.hand_out(rev, change),
            _ => {
                self.take_turn(rev, change);
                self.schedule(ctx);
            }
        }
    }
}

impl Handler<Expect> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: Expect, ctx: &mut Context<Self>) {
        let until = Instant::now() + EXPECT_HOLD;
        let next = self.next_rev.unwrap_or(i64::MIN);
        for rev in msg.revs.into_iter().filter(|rev| *rev >= next) {
            if !self.held.contains_key(&rev) {
                self.expected.insert(rev, until);
            }
        }
        while self.expected.len() > MAX_EXPECTED {
            self.expected.pop_first();
        }
        if !self.held.is_empty() {
            // A change held for an unknown predecessor may now know it is coming.
            self.schedule(ctx);
        }
    }
}

impl Handler<Behind> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: Behind, ctx: &mut Context<Self>) {
        if self.next_rev.is_some_and(|next| msg.last_rev < next) {
            return;
        }
        // The sockets will repair what is missing: nothing is worth waiting for any more.
        for (rev, change) in std::mem::take(&mut self.held) {
            self.hand_out(rev, change);
        }
        self.expected.retain(|rev, _| *rev > msg.last_rev);
        self.next_rev = Some(msg.last_rev + 1);
        self.schedule(ctx);
        self.deliver(&msg.frame, None);
    }
}

impl Handler<Close> for RoomActor {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        // What waits for a turn still goes out (to the other nodes, and to senders).
        for (rev, change) in std::mem::take(&mut self.held) {
            self.hand_out(rev, change);
        }
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
    /// A repair hint (`conversation:updated` at `last_rev`) for the other nodes' rooms of
    /// `conversation` that have not handed `last_rev` out.
    fn publish_behind(&self, conversation: Uuid, frame: &Frame, last_rev: i64) {
        let _ = last_rev;
        self.publish(conversation, frame, None);
    }
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
            room: RoomActor::new(conversation, self.stats.clone(), self.bridge.clone()).start(),
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
        if let Some(bridge) = &self.bridge {
            bridge.publish(conversation, &frame, None);
        }
        self.deliver_local(conversation, frame, except);
    }

    /// Publishes the frame of the change with `rev` (`message:new`, `message:updated`,
    /// `reaction:updated`) here and on the other nodes, in rev order; `sender` gets its own
    /// frames in its place, in the same turn.
    pub fn publish_change(
        &self,
        conversation: Uuid,
        rev: i64,
        frame: Frame,
        sender: Option<SenderFrames>,
    ) {
        self.change(conversation, rev, frame, sender, true);
    }

    /// Announces revs of `conversation` just committed on this node, in commit order: the
    /// room waits for them, without a timer, before handing out any later change.
    pub fn expect(&self, conversation: Uuid, revs: Vec<i64>) {
        if revs.is_empty() {
            return;
        }
        if let Some(entry) = self.lock().get(&conversation) {
            entry.room.do_send(Expect { revs });
        }
    }

    /// Tells the local subscribers of `conversation` that it is at `last_rev` (`frame`, a
    /// `conversation:updated`), unless its room here has already handed that rev out.
    pub fn behind(&self, conversation: Uuid, last_rev: i64, frame: Frame) {
        if let Some(entry) = self.lock().get(&conversation) {
            entry.room.do_send(Behind { last_rev, frame });
        }
    }

    /// Sends `frame` to the local subscribers of `conversation` only (not a change).
    pub fn deliver_local(&self, conversation: Uuid, frame: Frame, except: Option<&str>) {
        self.deliver_local_about(conversation, frame, except, None);
    }

    /// A change another node published, for the local subscribers, in rev order.
    pub fn deliver_change_here(&self, conversation: Uuid, rev: i64, frame: Frame) {
        self.change(conversation, rev, frame, None, false);
    }

    fn change(
        &self,
        conversation: Uuid,
        rev: i64,
        frame: Frame,
        sender: Option<SenderFrames>,
        forward: bool,
    ) {
        let change = Change {
            frame,
            sender,
            forward: forward && self.bridge.is_some(),
        };
        if let Some(entry) = self.lock().get(&conversation) {
            entry.room.do_send(PublishChange { rev, change });
            return;
        }
        // No local subscriber: nothing to order here.
        if change.forward {
            if let Some(bridge) = &self.bridge {
                bridge.publish(conversation, &change.frame, Some(rev));
            }
        }
        if let Some(sender) = change.sender {
            sender.socket.session().send(sender.frames);
        }
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
        self.deliver_local_about(conversation, frame, except, Some(about));
    }

    /// [`Rooms::deliver_local`] of a frame about user `about`, when it is about one.
    pub fn deliver_local_about(
        &self,
        conversation: Uuid,
        frame: Frame,
        except: Option<&str>,
        about: Option<Uuid>,
    ) {
        if let Some(entry) = self.lock().get(&conversation) {
            entry.room.do_send(Publish {
                frame,
                except: except.map(str::to_string),
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

    /// Lets the actors run, `by` apart on the (paused) clock.
    async fn settle(by: Duration) {
        for _ in 0..10 {
            actix::clock::sleep(by / 10).await;
        }
    }

    /// A bridge that records what it is asked to publish.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<(Option<i64>, String)>>);

    impl RoomBridge for Recorded {
        fn subscribe(&self, _: Uuid) {}
        fn unsubscribe(&self, _: Uuid) {}
        fn publish(&self, _: Uuid, frame: &Frame, rev: Option<i64>) {
            if let Frame::Text(text) = frame {
                self.0.lock().unwrap().push((rev, text.to_string()));
            }
        }
    }

    #[actix::test]
    async fn a_change_waits_for_an_expected_predecessor_past_the_hold_and_in_order() {
        tokio::time::pause();
        let engine = Engine::socket_io(EngineConfig::default(), Vec::new());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(seen.clone()).start().recipient();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let sender = engine.detached_socket("/", Sink(sent.clone()).start().recipient());
        let bridge = Arc::new(Recorded::default());
        let rooms = Rooms::with_bridge(bridge.clone());
        let conversation = Uuid::new_v4();
        rooms.join(conversation, engine.detached_socket("/", sink), Some(4));
        rooms.join(conversation, sender.clone(), Some(4));

        // 5 and 6 were committed here; 6 is published first and waits for 5, well past HOLD.
        rooms.expect(conversation, vec![5, 6]);
        rooms.publish_change(conversation, 6, text("m6"), None);
        settle(HOLD * 10).await;
        assert_eq!(frames(&seen, 0).await, Vec::<String>::new());
        assert!(bridge.0.lock().unwrap().is_empty());

        // 5 comes, from its sender: the sender gets its own frames in 5's turn.
        let own = SenderFrames {
            socket: sender,
            frames: vec![text("ack5"), text("sent5")],
        };
        rooms.publish_change(conversation, 5, text("m5"), Some(own));
        assert_eq!(frames(&seen, 2).await, ["m5", "m6"]);
        assert_eq!(frames(&sent, 3).await, ["ack5", "sent5", "m6"]);
        // The other nodes get them in rev order too.
        let forwarded = bridge.0.lock().unwrap().clone();
        assert_eq!(
            forwarded,
            [(Some(5), "m5".to_string()), (Some(6), "m6".to_string())]
        );

        // An expected rev whose publisher never comes is given up after EXPECT_HOLD.
        rooms.expect(conversation, vec![7]);
        rooms.publish_change(conversation, 8, text("m8"), None);
        settle(HOLD * 10).await;
        assert_eq!(frames(&seen, 2).await.len(), 2);
        settle(EXPECT_HOLD).await;
        assert_eq!(frames(&seen, 3).await[2], "m8");
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
