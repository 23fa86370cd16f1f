// A reaction storm: every member of one 300-member group reacts to the same message within
// one second. Reports change→delivery latency of reaction:updated (each reaction, to every
// member's socket), ack latency, and whether every client ends with the same reaction list of
// 300 entries.
//
//   node tools/reaction-storm.mjs <base-url> <seed.json> [window-ms=1000]
//
// seed.json comes from `confab seed --users 300 --group-size 300 --out seed.json`.
//
// The clients speak Engine.IO / Socket.IO over raw WebSockets and read each reaction:updated
// only as far as its rev, user and emoji (they come first): with 300 members the storm carries
// ~570 MB of reaction lists, and parsing all of it would measure the tool. Each client parses
// its last event in full, for the final list. The members are split over STORM_SHARDS
// processes (default 2), timed on the shared epoch clock.
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const [base, seedFile, windowArg] = process.argv.slice(2);
const windowMs = Number(windowArg ?? 1000);
const seed = JSON.parse(readFileSync(seedFile, "utf8"));
const group = seed.groups[0];
const members = seed.users.filter((u) => group.memberIds.includes(u.id));
const EMOJI = ["👍", "🎉", "😂", "❤️", "🔥", "👀", "🙏", "💯", "😮", "🚀"];
const url = `${base.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
const now = () => performance.timeOrigin + performance.now();
const HEAD = /^42\["reaction:updated",\{"conversationId":"[^"]*","messageId":"[^"]*","rev":(\d+),"userId":"([^"]*)","emoji":"([^"]*)"/;

function open(user) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { skipUTF8Validation: true, perMessageDeflate: false });
    const client = { user, ws, nextAck: 0, acks: new Map(), events: [], last: null, lastRev: 0 };
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === "2") return ws.send("3");
      if (text.startsWith("0")) return ws.send(`40${JSON.stringify({ token: user.token })}`);
      if (text.startsWith('42["reaction:updated"')) {
        const m = HEAD.exec(text);
        if (!m) return reject(new Error(`unexpected reaction:updated ${text.slice(0, 200)}`));
        client.events.push({ at: now(), rev: Number(m[1]), key: `${m[2]} ${m[3]}` });
        if (Number(m[1]) > client.lastRev) {
          client.lastRev = Number(m[1]);
          client.last = text;
        }
        return;
      }
      if (text.startsWith('42["session:ready"')) return resolve(client);
      if (text.startsWith("43")) {
        const id = Number(/^43(\d+)/.exec(text)[1]);
        const waiter = client.acks.get(id);
        client.acks.delete(id);
        waiter?.(JSON.parse(text.slice(2 + String(id).length))[0]);
      }
      if (text.startsWith("44")) reject(new Error(text));
    });
    ws.on("error", reject);
  });
}

function emit(client, event, payload) {
  const id = ++client.nextAck;
  return new Promise((resolve) => {
    client.acks.set(id, resolve);
    client.ws.send(`42${id}${JSON.stringify([event, payload])}`);
  });
}

// The members are split over SHARDS processes (forked from this one), so that reading the
// storm is not one event loop's work; the first process coordinates.
const SHARDS = Number(process.env.STORM_SHARDS ?? 2);

if (process.send === undefined) {
  const { fork } = await import("node:child_process");
  const children = Array.from({ length: SHARDS }, (_, shard) =>
    fork(new URL(import.meta.url).pathname, process.argv.slice(2), { env: { ...process.env, STORM_SHARD: String(shard) } }),
  );
  const next = (child) => new Promise((resolve) => child.once("message", resolve));
  await Promise.all(children.map(next)); // connected
  children[0].send({ post: true });
  const { messageId } = await next(children[0]);
  const startAt = Date.now() + 200;
  const timed = children.map(next);
  children.forEach((child) => child.send({ messageId, startAt }));
  // Each shard knows its own members' send times; every shard gets all of them.
  const sentAt = (await Promise.all(timed)).flatMap((r) => r.sentAt);
  const done = children.map(next);
  children.forEach((child) => child.send({ sentAt }));
  const shards = await Promise.all(done);
  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  const pct = (xs, q) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] : null);
  const delivery = sorted(shards.flatMap((r) => r.latencies));
  const acked = sorted(shards.flatMap((r) => r.ackMs));
  const lists = shards.flatMap((r) => r.lists);
  const entries = JSON.parse(lists[0]).reduce((n, r) => n + r.userIds.length, 0);
  const members = shards.reduce((n, r) => n + r.members, 0);
  const report = {
    members,
    shards: SHARDS,
    refused: shards.reduce((n, r) => n + r.refused, 0),
    delivered: shards.reduce((n, r) => n + r.delivered, 0),
    expected: members * members,
    sameListEverywhere: lists.every((l) => l === lists[0]),
    entries,
    p50Ms: pct(delivery, 0.5),
    p99Ms: pct(delivery, 0.99),
    maxMs: delivery.at(-1) ?? null,
    ackP50Ms: pct(acked, 0.5),
    ackP99Ms: pct(acked, 0.99),
  };
  console.log(JSON.stringify(report));
  process.exit(report.sameListEverywhere && report.entries === members && report.refused === 0 ? 0 : 1);
}

// A shard: its members connect, react at random moments of the window, and report.
const shard = Number(process.env.STORM_SHARD);
const mine = members.filter((_, i) => i % SHARDS === shard);
const clients = [];
for (let i = 0; i < mine.length; i += 50) {
  clients.push(...(await Promise.all(mine.slice(i, i + 50).map(open))));
}
const order = new Map(members.map((m, i) => [m.id, i]));
const fromParent = () => new Promise((resolve) => process.once("message", resolve));
process.send({ connected: clients.length });
let command = await fromParent();
if (command.post) {
  const posted = await emit(clients[0], "message:send", {
    conversationId: group.id,
    clientMessageId: `storm-${Date.now()}`,
    body: "react to this",
  });
  if (!posted.ok) throw new Error(JSON.stringify(posted));
  process.send({ messageId: posted.message.id });
  command = await fromParent();
}
const { messageId, startAt } = command;

// Reactions are timed on the epoch clock, which every shard shares.
const sentAt = new Map(); // `${userId} ${emoji}` → ms since the epoch
const ackMs = [];
const acks = await Promise.all(
  clients.map(async (client) => {
    const delay = startAt - Date.now() + Math.random() * windowMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, delay)));
    const emoji = EMOJI[order.get(client.user.id) % EMOJI.length];
    const t0 = now();
    sentAt.set(`${client.user.id} ${emoji}`, t0);
    const ack = await emit(client, "reaction:add", { conversationId: group.id, messageId, emoji });
    ackMs.push(now() - t0);
    return ack;
  }),
);
// Every member's socket hears every reaction; a shard knows the send times of its own
// members only, so it reports when each event arrived and the parent matches them.
const deadline = Date.now() + 30_000;
while (Date.now() < deadline && clients.some((c) => c.events.length < members.length)) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
process.send({ sentAt: [...sentAt] });
const all = new Map((await fromParent()).sentAt);
const latencies = [];
for (const client of clients) {
  for (const { at, key } of client.events) {
    const sent = all.get(key);
    if (sent !== undefined) latencies.push(at - sent);
  }
}
const result = {
  members: clients.length,
  refused: acks.filter((a) => !a.ok).length,
  delivered: clients.reduce((n, c) => n + c.events.length, 0),
  lists: clients.map((c) => JSON.stringify(c.last ? JSON.parse(c.last.slice(2))[1].reactions : [])),
  latencies,
  ackMs,
};
clients.forEach((c) => c.ws.close());
// Exit once the report has reached the parent.
process.send(result, () => process.exit(0));
