// The abuse benchmark: one client (no account for the first floods) tries to take a node away
// from everyone else, while a well-behaved bystander keeps sending and timing its acks.
// Reports, per flood, the server's peak RSS and open files (from /proc), whether /health
// answered throughout, and the bystander's ack p50/p99.
//
//   node tools/abuse.mjs http://127.0.0.1:18201 SERVER_PID [scale]
//
// scale (default 1) multiplies the flood sizes: 1 is 5,000 refused sockets, 20 half-sent
// binary packets, 4 x 8,000 presence:query, 20,000 typing:start and 20,000 odd HTTP methods.

import { readFileSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { io } from "socket.io-client";

const [base, pidArg, scaleArg] = process.argv.slice(2);
const pid = Number(pidArg);
const scale = Number(scaleArg ?? 1);
const wsUrl = base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket";

function usage() {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
  let fds = 0;
  try { fds = readdirSync(`/proc/${pid}/fd`).length; } catch { fds = -1; }
  return { rss, fds };
}

async function api(method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function user(name) {
  const res = await api("POST", "/api/auth/register", null, {
    email: `${name}@abuse.test`, username: name, password: "correct horse battery",
  });
  if (res.status !== 201) throw new Error(`register ${name}: ${res.status}`);
  return { id: res.body.user.id, token: res.body.accessToken };
}

function connect(token) {
  return new Promise((resolve, reject) => {
    const socket = io(base, { auth: { token }, transports: ["websocket"], reconnection: false });
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const percentile = (xs, p) => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

// Watches the node while `flood` runs: peak RSS and fds, /health, the bystander's acks.
async function measure(name, bystander, conversation, flood) {
  let peak = usage();
  let healthFailures = 0;
  let running = true;
  const acks = [];
  let ackErrors = 0;
  const watch = (async () => {
    let n = 0;
    while (running) {
      const now = usage();
      peak = { rss: Math.max(peak.rss, now.rss), fds: Math.max(peak.fds, now.fds) };
      try {
        const res = await fetch(base + "/health", { signal: AbortSignal.timeout(2000) });
        if (!res.ok) healthFailures++;
      } catch { healthFailures++; }
      const started = performance.now();
      try {
        const ack = await bystander.timeout(10_000).emitWithAck("message:send", {
          conversationId: conversation, clientMessageId: `${name}-${n++}`, body: "still here",
        });
        if (ack.ok) acks.push(performance.now() - started); else ackErrors++;
      } catch { ackErrors++; }
      await sleep(100);
    }
  })();
  const started = performance.now();
  const detail = await flood();
  const after = usage();
  running = false;
  await watch;
  const line = {
    flood: name,
    seconds: ((performance.now() - started) / 1000).toFixed(1),
    peakRssMb: peak.rss.toFixed(0),
    afterRssMb: after.rss.toFixed(0),
    peakFds: peak.fds,
    healthFailures,
    bystanderAcks: acks.length,
    bystanderErrors: ackErrors,
    ackP50ms: percentile(acks, 50).toFixed(1),
    ackP99ms: percentile(acks, 99).toFixed(1),
    ...detail,
  };
  console.log(JSON.stringify(line));
}

function openRaw() {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl);
    ws.once("open", () => resolve(ws));
    ws.once("error", () => resolve(null));
    ws.once("unexpected-response", () => resolve(null));
  });
}

async function refusedConnects(count) {
  const sockets = [];
  let refused = 0;
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, count - i) }, openRaw));
    for (const ws of batch) {
      if (!ws) { refused++; continue; }
      ws.on("error", () => {});
      ws.send('40{"token":"not a token"}');
      sockets.push(ws);
    }
  }
  // Past the default connect timeout (45 s), no refused session may be left.
  await sleep(3_000);
  const openAfter3s = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  await sleep(47_000);
  const openAfter50s = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  for (const ws of sockets) ws.terminate();
  return { attempted: count, handshakeRefused: refused, openAfter3s, openAfter50s };
}

async function halfBinary(sessions) {
  const sockets = [];
  const chunk = Buffer.alloc(999_000, 7);
  for (let i = 0; i < sessions; i++) {
    const ws = await openRaw();
    if (!ws) continue;
    ws.on("error", () => {});
    ws.send('40{"token":"not a token"}');
    const placeholders = Array.from({ length: 9 }, (_, num) => ({ _placeholder: true, num }));
    ws.send(`459-["x",${placeholders.map((p) => JSON.stringify(p)).join(",")}]`);
    for (let k = 0; k < 8; k++) ws.send(chunk);
    sockets.push(ws);
  }
  await sleep(5_000);
  const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  const rss = usage().rss.toFixed(0);
  for (const ws of sockets) ws.terminate();
  return { sessions, stillOpenAfter5s: open, rssAfter5sMb: rss };
}

async function presenceFlood(sockets, each, peers) {
  let ok = 0, limited = 0, other = 0;
  await Promise.all(sockets.map(async (socket) => {
    const pending = [];
    for (let i = 0; i < each; i++) {
      pending.push(socket.timeout(60_000).emitWithAck("presence:query", { userIds: peers })
        .then((ack) => { if (ack.ok) ok++; else if (ack.error.code === "rate_limited") limited++; else other++; })
        .catch(() => other++));
    }
    await Promise.all(pending);
  }));
  return { queries: sockets.length * each, ok, rateLimited: limited, failed: other };
}

async function typingFlood(sender, listeners, conversation, count) {
  let received = 0;
  for (const l of listeners) l.on("typing:start", () => received++);
  for (let i = 0; i < count; i++) sender.emit("typing:start", { conversationId: conversation });
  await sleep(3_000);
  return { sent: count, listeners: listeners.length, framesReceived: received };
}

async function methodFlood(count) {
  const before = (await (await fetch(base + "/metrics")).text()).length;
  let done = 0;
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) =>
      fetch(base + "/health", { method: `XM${i + k}` }).then((r) => r.arrayBuffer()).catch(() => {})));
    done += 100;
  }
  const metrics = await fetch(base + "/metrics");
  const after = metrics.ok ? (await metrics.text()).length : -1;
  return { requests: done, metricsBytesBefore: before, metricsBytesAfter: after };
}

const tag = Date.now().toString(36);
const alice = await user(`by${tag}`);
const mallory = await user(`ml${tag}`);
const listeners = await Promise.all(Array.from({ length: 30 }, (_, i) => user(`l${i}${tag}`)));
const own = await api("POST", "/api/conversations", alice.token, { kind: "group", title: "own", memberIds: [] });
const room = await api("POST", "/api/conversations", mallory.token, {
  kind: "group", title: "room", memberIds: listeners.map((l) => l.id),
});
const bystander = await connect(alice.token);
const conversation = own.body.id;

await measure("refused-connects", bystander, conversation, () => refusedConnects(5_000 * scale));
await measure("half-binary", bystander, conversation, () => halfBinary(20 * scale));
const floodSockets = await Promise.all(Array.from({ length: 4 }, () => connect(mallory.token)));
await measure("presence-query", bystander, conversation,
  () => presenceFlood(floodSockets, 8_000 * scale, listeners.map((l) => l.id)));
const listening = await Promise.all(listeners.map((l) => connect(l.token)));
await measure("typing-start", bystander, conversation,
  () => typingFlood(floodSockets[0], listening, room.body.id, 20_000 * scale));
await measure("http-methods", bystander, conversation, () => methodFlood(20_000 * scale));
process.exit(0);
