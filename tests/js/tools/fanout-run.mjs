// A simple fan-out run: N socket.io clients (WebSocket) in 300-member groups, messages sent at a
// fixed total rate by random members for a while; reports send→ack and send→delivery latency,
// delivery ratio, errors and the server's RSS per connection.
//
//   node tools/fanout-run.mjs <base-url> <seed.json> <server-pid> [rate=50] [seconds=300]
//
// seed.json comes from `confab seed --users 1000 --group-size 300 --out seed.json`.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const [base, seedFile, pid, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 50);
const seconds = Number(secondsArg ?? 300);
const seed = JSON.parse(readFileSync(seedFile, "utf8"));
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

const groupOf = new Map();
for (const g of seed.groups) for (const id of g.memberIds) groupOf.set(id, g);

const sentAt = new Map(); // clientMessageId → ms
const ackLatency = [];
const deliveryLatency = [];
let expected = 0;
let delivered = 0;
let duplicates = 0;
let errors = 0;
let disconnects = 0;
const seen = new Set();

const rssBefore = rssKiB();
const clients = [];
const started = Date.now();
for (let i = 0; i < seed.users.length; i += 100) {
  const batch = seed.users.slice(i, i + 100).map(
    (u) =>
      new Promise((resolve, reject) => {
        const socket = io(base, { transports: ["websocket"], auth: { token: u.token }, reconnection: false, forceNew: true });
        socket.once("session:ready", () => resolve({ user: u, socket }));
        socket.once("connect_error", reject);
        socket.on("disconnect", () => disconnects++);
        socket.on("message:new", (m) => {
          const at = sentAt.get(m.clientMessageId);
          const key = `${m.id}:${u.id}`;
          if (seen.has(key)) duplicates++;
          seen.add(key);
          if (at !== undefined) deliveryLatency.push(Date.now() - at);
          delivered++;
        });
      }),
  );
  clients.push(...(await Promise.all(batch)));
}
const connectMs = Date.now() - started;
const rssHeld = rssKiB();
console.log(`${clients.length} connected in ${connectMs} ms; RSS ${rssBefore} → ${rssHeld} KiB`);

let n = 0;
const interval = 1000 / rate;
const end = Date.now() + seconds * 1000;
const pending = [];
while (Date.now() < end) {
  const { user, socket } = clients[Math.floor(Math.random() * clients.length)];
  const group = groupOf.get(user.id);
  const clientMessageId = `run-${n++}`;
  expected += group.memberIds.length - 1;
  const t0 = Date.now();
  sentAt.set(clientMessageId, t0);
  pending.push(
    socket
      .timeout(10_000)
      .emitWithAck("message:send", { conversationId: group.id, clientMessageId, body: `load ${n}` })
      .then((ack) => {
        if (ack.ok) ackLatency.push(Date.now() - t0);
        else errors++;
      })
      .catch(() => errors++),
  );
  const next = started + connectMs + n * interval;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  if (n % (rate * 10) === 0) console.log(`${n} sent, ${delivered}/${expected} delivered, ${errors} errors`);
}
await Promise.all(pending);
const deadline = Date.now() + 10_000;
while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const result = {
  connections: clients.length,
  connectMs,
  sent: n,
  expectedDeliveries: expected,
  delivered,
  deliveryRatio: delivered / expected,
  duplicates,
  errors,
  disconnects,
  ackP50: pct(ackLatency, 50),
  ackP99: pct(ackLatency, 99),
  deliveryP50: pct(deliveryLatency, 50),
  deliveryP99: pct(deliveryLatency, 99),
  deliveryMax: pct(deliveryLatency, 100),
  rssKiBPerConnection: Number(((rssHeld - rssBefore) / clients.length).toFixed(1)),
  rssAfterKiB: rssKiB(),
};
console.log(JSON.stringify(result));
for (const { socket } of clients) socket.disconnect();
process.exit(0);
