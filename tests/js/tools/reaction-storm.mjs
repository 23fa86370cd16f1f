// A reaction storm: every member of one 300-member group reacts to the same message within
// one second. Reports change→delivery latency of reaction:updated (each reaction, to every
// member's socket) and whether every client ends with the same reaction list of 300 entries.
//
//   node tools/reaction-storm.mjs <base-url> <seed.json> [window-ms=1000]
//
// seed.json comes from `confab seed --users 300 --group-size 300 --out seed.json`.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const [base, seedFile, windowArg] = process.argv.slice(2);
const windowMs = Number(windowArg ?? 1000);
const seed = JSON.parse(readFileSync(seedFile, "utf8"));
const group = seed.groups[0];
const members = seed.users.filter((u) => group.memberIds.includes(u.id));
const EMOJI = ["👍", "🎉", "😂", "❤️", "🔥", "👀", "🙏", "💯", "😮", "🚀"];

const clients = await Promise.all(
  members.map(
    (user) =>
      new Promise((resolve, reject) => {
        const socket = io(base, { transports: ["websocket"], auth: { token: user.token }, reconnection: false, forceNew: true });
        const client = { user, socket, events: [], last: null };
        socket.on("reaction:updated", (e) => {
          client.events.push({ at: performance.now() + performance.timeOrigin, e });
          if (!client.last || e.rev > client.last.rev) client.last = e;
        });
        socket.once("session:ready", () => resolve(client));
        socket.once("connect_error", reject);
      }),
  ),
);
console.log(`${clients.length} members connected`);

const [first] = clients;
const posted = await first.socket.emitWithAck("message:send", {
  conversationId: group.id,
  clientMessageId: `storm-${Date.now()}`,
  body: "react to this",
});
if (!posted.ok) throw new Error(JSON.stringify(posted));
const messageId = posted.message.id;

const sentAt = new Map(); // `${userId} ${emoji}` → ms since the epoch
const acks = await Promise.all(
  clients.map(async (client, i) => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * windowMs));
    const emoji = EMOJI[i % EMOJI.length];
    sentAt.set(`${client.user.id} ${emoji}`, performance.now() + performance.timeOrigin);
    return client.socket.timeout(30_000).emitWithAck("reaction:add", { conversationId: group.id, messageId, emoji });
  }),
);
const refused = acks.filter((a) => !a.ok);

// Every member's socket hears every reaction.
const deadline = Date.now() + 30_000;
while (Date.now() < deadline && clients.some((c) => c.events.length < clients.length)) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const latencies = [];
for (const client of clients) {
  for (const { at, e } of client.events) {
    const sent = sentAt.get(`${e.userId} ${e.emoji}`);
    if (sent !== undefined) latencies.push(at - sent);
  }
}
latencies.sort((a, b) => a - b);
const pct = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : null);
const lists = clients.map((c) => JSON.stringify(c.last?.reactions ?? []));
const entries = JSON.parse(lists[0]).reduce((n, r) => n + r.userIds.length, 0);
const report = {
  members: clients.length,
  refused: refused.length,
  delivered: clients.reduce((n, c) => n + c.events.length, 0),
  expected: clients.length * clients.length,
  sameListEverywhere: lists.every((l) => l === lists[0]),
  entries,
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
  maxMs: latencies.at(-1) ?? null,
};
console.log(JSON.stringify(report));
clients.forEach((c) => c.socket.disconnect());
process.exit(report.sameListEverywhere && report.entries === clients.length && report.refused === 0 ? 0 : 1);
