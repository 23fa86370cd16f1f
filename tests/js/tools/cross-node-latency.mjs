// What crossing nodes adds to delivery: one group with a sender and receivers on node A and
// receivers on node B; messages at a light, fixed rate; send→delivery latency (one clock: this
// process) for the receivers on the sender's node and for those on the other node.
//
//   node tools/cross-node-latency.mjs <node-a-url> <node-b-url> [rate=20] [seconds=30] [receivers=10]
//
// Both nodes share PostgreSQL and Redis; their send rate limit must allow `rate` per user.
import { io } from "socket.io-client";

const [A, B, rateArg, secondsArg, receiversArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 20);
const seconds = Number(secondsArg ?? 30);
const receivers = Number(receiversArg ?? 10);
const run = Math.random().toString(36).slice(2, 8);

async function api(path, token, body) {
  const res = await fetch(`${A}/api${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function register(name) {
  const body = await api("/auth/register", null, {
    email: `${name}_${run}@example.com`,
    username: `${name}_${run}`,
    password: "correct horse battery",
  });
  return { id: body.user.id, token: body.accessToken };
}

function connect(url, who) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], auth: { token: who.token }, reconnection: false, forceNew: true });
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const sender = await register("sender");
const members = [];
for (let i = 0; i < 2 * receivers; i++) members.push(await register(`r${i}`));
const conversation = (await api("/conversations", sender.token, { kind: "group", title: "latency", memberIds: members.map((m) => m.id) })).id;
const senderSocket = await connect(A, sender);

const sentAt = new Map();
const latency = { same: [], cross: [] };
const sockets = await Promise.all(
  members.map(async (who, i) => {
    const side = i < receivers ? "same" : "cross";
    const socket = await connect(side === "same" ? A : B, who);
    socket.on("message:new", (m) => {
      const at = sentAt.get(m.clientMessageId);
      if (at !== undefined) latency[side].push(performance.now() - at);
    });
    return socket;
  }),
);

// Warm-up: the first messages open rooms and Redis subscriptions.
for (let i = 0; i < 10; i++) {
  await senderSocket.emitWithAck("message:send", { conversationId: conversation, clientMessageId: `warm-${i}`, body: "warm" });
}
await new Promise((resolve) => setTimeout(resolve, 500));

const total = rate * seconds;
for (let i = 0; i < total; i++) {
  const id = `m-${i}`;
  sentAt.set(id, performance.now());
  senderSocket.emit("message:send", { conversationId: conversation, clientMessageId: id, body: "x" }, () => {});
  await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
}
await new Promise((resolve) => setTimeout(resolve, 1000));

const pct = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const report = {};
for (const side of ["same", "cross"]) {
  const xs = latency[side];
  report[side] = {
    deliveries: xs.length,
    expected: total * receivers,
    p50: +pct(xs, 50).toFixed(2),
    p99: +pct(xs, 99).toFixed(2),
    max: +Math.max(...xs).toFixed(2),
  };
}
report.addedP50 = +(report.cross.p50 - report.same.p50).toFixed(2);
report.addedP99 = +(report.cross.p99 - report.same.p99).toFixed(2);
console.log(JSON.stringify(report));
[senderSocket, ...sockets].forEach((s) => s.disconnect());
