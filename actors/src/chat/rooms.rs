//! One `RoomActor` per conversation that has local subscribers. A room does no I/O: it holds
//! its sockets and hands each the same pre-encoded frame.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use uuid::Uuid;

use super::ChatStats;
use crate::engine::Socket;
use crate::protocol::engineio::Frame;

/// The sockets subscribed to one conversation on this node.
pub struct RoomActor {
    sockets: HashMap<String, Socket>,
    stats: Arc<ChatStats>,
}

impl Actor for RoomActor {
    type Context = Context<Self>;
}

/// Rooms → room: subscribe a socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    pub socket: Socket,
}

/// Rooms → room: unsubscribe a socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub socket_id: String,
}

/// Rooms → room: send `frame` to every socket but `except`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub frame: Frame,
    pub except: Option<String>,
}

/// Rooms → room: the last subscriber left; stop.
#[derive(Message)]
#[rtype(result = "()")]
struct Close;

impl Handler<Join> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
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
        let mut delivered = 0;
        for (id, socket) in &self.sockets {
            if msg.except.as_deref() != Some(id.as_str()) {
                socket.send_frame(msg.frame.clone());
                delivered += 1;
            }
        }
        self.stats.delivered(delivered);
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
    /// A frame published here, for the other nodes' subscribers of `conversation`.
    fn publish(&self, conversation: Uuid, frame: &Frame);
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

    /// Subscribes `socket` to `conversation`.
    pub fn join(&self, conversation: Uuid, socket: Socket) {
        let mut rooms = self.lock();
        if !rooms.contains_key(&conversation) {
            if let Some(bridge) = &self.bridge {
                bridge.subscribe(conversation);
            }
        }
        let entry = rooms.entry(conversation).or_insert_with(|| Entry {
            room: RoomActor {
                sockets: HashMap::new(),
                stats: self.stats.clone(),
            }
            .start(),
            members: 0,
        });
        entry.members += 1;
        entry.room.do_send(Join { socket });
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
            bridge.publish(conversation, &frame);
        }
        self.deliver_local(conversation, frame, except);
    }

    /// Sends `frame` to the local subscribers of `conversation` only (what the bridge received).
    pub fn deliver_local(&self, conversation: Uuid, frame: Frame, except: Option<&str>) {
        if let Some(entry) = self.lock().get(&conversation) {
            entry.room.do_send(Publish {
                frame,
                except: except.map(str::to_string),
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
