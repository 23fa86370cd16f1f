//! The hot path of a delivery: encode one `message:new` and fan it out to the 300 local
//! sessions of a full group. Each session hands its frame to a sink standing in for its
//! WebSocket, so this measures the engine's share (encoding once, the room actor, one mailbox
//! message per session, each session's send) and not the kernel's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use confab_actors::chat::Rooms;
use confab_actors::engine::{Engine, EngineConfig, WsOut};
use confab_actors::protocol::engineio::Frame;
use confab_actors::protocol::socketio;
use criterion::{criterion_group, criterion_main, Criterion};

const MEMBERS: usize = 300;
const MESSAGE: &str = r#"{"id":"01a20145-4b6c-70f2-87d1-251d3f028309","conversationId":"01a20145-4b6c-70f2-87d1-25168132c66a","seq":4242,"senderId":"01a20145-4b6c-70f2-87d1-251fa75b7531","clientMessageId":"c5b3a8a2-1c1e-4d1a-9d55-0f8f5a8c2b1e","body":"See you at the station at eight, platform two.","attachments":[],"createdAt":"2026-11-22T03:20:48.266Z","editedAt":null,"deletedAt":null}"#;

/// Stands in for a WebSocket: counts the frames it is given.
struct Sink(Arc<AtomicUsize>);

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<WsOut> for Sink {
    type Result = ();

    fn handle(&mut self, msg: WsOut, _: &mut Context<Self>) {
        if let WsOut::Frames(frames) = msg {
            self.0.fetch_add(frames.len(), Ordering::Relaxed);
        }
    }
}

fn fanout(c: &mut Criterion) {
    let system = System::new();
    let written = Arc::new(AtomicUsize::new(0));
    let conversation = uuid::Uuid::new_v4();
    let rooms = Rooms::default();
    system.block_on(async {
        let engine = Engine::socket_io(EngineConfig::default(), Vec::new());
        let sink = Sink(written.clone()).start().recipient();
        for _ in 0..MEMBERS {
            rooms.join(
                conversation,
                engine.detached_socket("/", sink.clone()),
                None,
            );
        }
        // Each session first writes its Engine.IO open packet.
        settle(&written, MEMBERS).await;
    });
    c.bench_function(
        "encode one message:new and fan it out to 300 sessions",
        |b| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let target = written.load(Ordering::Relaxed) + iters as usize * MEMBERS;
                    let started = Instant::now();
                    for _ in 0..iters {
                        rooms.publish(
                            conversation,
                            Frame::message(&socketio::encode_event_json(
                                "/",
                                "message:new",
                                MESSAGE,
                            )),
                            None,
                        );
                    }
                    settle(&written, target).await;
                    started.elapsed()
                })
            })
        },
    );
}

/// Lets the actors run until `written` reaches `target`.
async fn settle(written: &AtomicUsize, target: usize) {
    while written.load(Ordering::Relaxed) < target {
        tokio::task::yield_now().await;
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = fanout
}
criterion_main!(benches);
