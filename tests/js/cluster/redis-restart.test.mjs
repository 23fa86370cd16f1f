// Redis stops and restarts under two nodes (the harness's private redis-server).
import { it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { io } from "socket.io-client";
import { collect, group, once, until, user, within } from "../chat/api.mjs";
import { progress, startStream, verify } from "./stream.mjs";

const A = process.env.CONFAB_URL;
const B = process.env.CONFAB_URL_B;
const PORT = process.env.CONFAB_REDIS_PORT;
const sockets = [];
const participants = [];
after(() => {
  sockets.forEach((s) => s.disconnect());
  participants.forEach((p) => p.close());
});

async function on(node, who) {
  const socket = io(node, { reconnection: false, forceNew: true, transports: ["websocket"], auth: { token: who.token } });
  await within(5000, once(socket, "session:ready"), "session:ready");
  sockets.push(socket);
  return socket;
}

const redis = (...args) => execFileSync("redis-cli", ["-p", PORT, ...args]).toString().trim();
function stopRedis() {
  try {
    redis("shutdown", "nosave");
  } catch {
    // redis-cli reports the dropped connection after a shutdown
  }
}
const startRedis = () =>
  execFileSync("redis-server", ["--port", PORT, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes"]);
async function readiness(node) {
  const res = await fetch(`${node}/ready`);
  return { ...(await res.json()), httpStatus: res.status };
}
const send = (socket, conversationId, n) =>
  socket.emitWithAck("message:send", { conversationId, clientMessageId: `r-${n}`, body: `m${n}` });

it("keeps committing while Redis is down and repairs the gap within 2 s of its return", async () => {
  const [alice, bob] = [await user("alice"), await user("bob")];
  const conversation = await group(alice, [bob]);
  // A second conversation with no traffic during the outage: its sockets have nothing to repair.
  const quiet = await group(alice, [bob]);
  const a = await on(A, alice);
  const b = await on(B, bob);
  const news = collect(b, "message:new");
  assert.equal((await send(a, conversation, 1)).ok, true);
  assert.equal((await send(a, quiet, "q1")).ok, true);
  await news.waitFor(2, "m1 across nodes, in both conversations");

  stopRedis();
  const stopped = Date.now();
  let ready = await fetch(`${A}/ready`);
  for (let i = 0; i < 50 && ready.status !== 503; i++) ready = await fetch(`${A}/ready`);
  assert.equal(ready.status, 503);
  assert.equal((await ready.json()).redis, "down");
  // Sends, and an edit of the message node B already has, still commit and are acknowledged.
  for (const n of [2, 3]) {
    const ack = await send(a, conversation, n);
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assert.equal(ack.message.seq, n);
  }
  const edit = await a.emitWithAck("message:edit", { conversationId: conversation, messageId: news[0].id, body: "m1, edited" });
  assert.equal(edit.ok, true, JSON.stringify(edit));
  assert.equal(edit.message.rev, 4);

  const hints = collect(b, "conversation:updated");
  const updated = new Promise((resolve) =>
    b.on("conversation:updated", (u) => u.conversationId === conversation && u.lastSeq === 3 && resolve(Date.now())),
  );
  // An outage of 8 s: long enough for a reconnect backoff to have grown.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 8000 - (Date.now() - stopped))));
  startRedis();
  const started = Date.now();
  const heard = await within(15000, updated, "conversation:updated after the bridge reconnects");
  assert.ok(heard - started <= 2000, `conversation:updated came ${heard - started} ms after Redis was back`);
  assert.deepEqual(hints.find((u) => u.conversationId === conversation), {
    conversationId: conversation,
    lastSeq: 3,
    lastRev: 4,
  });
  const repaired = await b.emitWithAck("sync:request", { conversationId: conversation, afterSeq: 1 });
  assert.deepEqual(repaired.messages.map((m) => m.body), ["m2", "m3"]);
  // The edit missed during the outage comes back with sync:changes from the rev node B had.
  const changes = await b.emitWithAck("sync:changes", { conversationId: conversation, afterRev: news[0].rev });
  assert.deepEqual(changes.messages.map((m) => [m.rev, m.body]), [[2, "m2"], [3, "m3"], [4, "m1, edited"]]);
  assert.equal(changes.lastRev, 4);

  // Cross-node delivery resumed without restarting a node.
  const later = collect(b, "message:new");
  const ack = await send(a, conversation, 4);
  await later.waitFor(1, "m4 across nodes after the restart");
  assert.deepEqual(later.find((m) => m.seq === 4), ack.message);
  assert.equal((await fetch(`${A}/ready`)).status, 200);
  // The conversation without traffic during the outage had nothing to repair.
  assert.deepEqual(hints.filter((u) => u.conversationId === quiet), []);
});

it("loses and repeats nothing when Redis restarts mid-stream", { timeout: 120000 }, async () => {
  participants.push(...(await startStream(A, B, "s")));
  await progress(participants, 20);

  stopRedis();
  await until(10000, async () => (await readiness(A)).redis === "down", "node A to see Redis down");
  // Sends keep committing and acking on both nodes.
  await progress(participants, 20);

  startRedis();
  for (const node of [A, B]) await until(15000, async () => (await readiness(node)).httpStatus === 200, `${node} ready again`);
  await progress(participants, 20);
  const counts = await verify("Redis stopped and restarted", participants);
  assert.equal(counts.reconnects, 0, "no client connection dropped");
});
