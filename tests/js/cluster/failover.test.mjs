// `kill -9` of node A mid-stream (CONFAB_PID_A). Its clients reconnect to node B and, after
// sync, hold every acknowledged message exactly once; a user who was only on node A is
// reported offline within 30 s.
import { it, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { group, once, user, within } from "../chat/api.mjs";
import { Participant, progress, verify } from "./stream.mjs";

const A = process.env.CONFAB_URL;
const B = process.env.CONFAB_URL_B;
const PID_A = Number(process.env.CONFAB_PID_A);
const participants = [];
const others = [];
after(() => {
  participants.forEach((p) => p.close());
  others.forEach((s) => s.disconnect());
});

it("fails the clients of a killed node over without losing or repeating a message", { timeout: 120000 }, async () => {
  const people = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => user(`p${i}`)));
  const carol = await user("carol");
  const conversation = await group(people[0], [...people.slice(1), carol]);
  people.forEach((who, i) => {
    const urls = i % 2 === 0 ? [A, B] : [B, A];
    const options = i % 4 < 2 ? { transports: ["websocket"] } : {};
    participants.push(new Participant(who, conversation, urls, options));
  });
  await Promise.all(participants.map((p) => p.connect()));
  // A socket on node B that stays up, to hear presence.
  const watcher = io(B, { reconnection: false, forceNew: true, transports: ["websocket"], auth: { token: people[1].token } });
  others.push(watcher);
  await within(5000, once(watcher, "session:ready"), "watcher ready");
  const carolOffline = new Promise((resolve) =>
    watcher.on("presence:update", (u) => u.userId === carol.id && !u.online && resolve(u)),
  );
  // Carol is only on node A, and will not come back.
  const carolOnline = new Promise((resolve) =>
    watcher.on("presence:update", (u) => u.userId === carol.id && u.online && resolve(u)),
  );
  const carolSocket = io(A, { reconnection: false, forceNew: true, transports: ["websocket"], auth: { token: carol.token } });
  others.push(carolSocket);
  await within(5000, carolOnline, "carol online");

  participants.forEach((p) => p.start());
  await progress(participants, 20);
  process.kill(PID_A, "SIGKILL");
  const killedAt = Date.now();
  // Everyone keeps sending, those of node A from node B.
  await progress(participants, 20, 30000);
  const counts = await verify("kill -9 of a node", participants);
  assert.ok(counts.reconnects >= 3, `node A's three participants reconnected (${counts.reconnects})`);
  assert.ok(participants.every((p) => p.urls[p.node] === B), "everyone ends on node B");

  const offline = await within(30000 - (Date.now() - killedAt), carolOffline, "carol offline within 30 s of the kill");
  console.log(`PRESENCE carol reported offline ${Date.now() - killedAt} ms after the kill`);
  assert.match(offline.lastSeenAt, /^\d{4}-\d\d-\d\dT/);
  const query = await watcher.emitWithAck("presence:query", { userIds: [carol.id] });
  assert.deepEqual(query.presence[0], offline);
});
