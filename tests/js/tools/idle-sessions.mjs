// Measures the server's memory per idle session and checks that sessions are cleaned up.
//
//   node tools/idle-sessions.mjs <base-url> <server-pid> [count] [websocket|polling|both]
//
// Opens `count` Socket.IO sessions over WebSocket, then `count` over long-polling (each with its
// long poll pending, as a real client keeps it), reading the server's RSS from /proc before,
// with the sessions open, and after the clients leave; the server's GET /stats must show every
// session gone. Run the conformance example with production heartbeats, e.g.
//   cargo run --release --example conformance -- --port 3000 --ping-interval-ms 25000 --ping-timeout-ms 20000
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const [base, pid, countArg, mode = "both"] = process.argv.slice(2);
const count = Number(countArg ?? 1000);
const wsBase = base.replace(/^http/, "ws");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rssKiB() {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

async function sessions() {
  const stats = await (await fetch(`${base}/stats`)).json();
  return stats["socket.io"].sessions;
}

/** Waits (up to 90 s) for the server to hold `expected` sessions; returns the wait in ms. */
async function settle(expected) {
  const started = Date.now();
  while (Date.now() - started < 90_000) {
    if ((await sessions()) === expected) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`sessions did not reach ${expected}: ${await sessions()}`);
}

async function openWebSocket() {
  const ws = new WebSocket(`${wsBase}/socket.io/?EIO=4&transport=websocket`);
  await new Promise((resolve, reject) => {
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith("0")) ws.send("40");
      else if (text.startsWith("40")) resolve();
      else if (text === "2") ws.send("3");
    });
    ws.on("error", reject);
  });
  return ws;
}

async function openPolling() {
  const open = await (await fetch(`${base}/socket.io/?EIO=4&transport=polling`)).text();
  const sid = JSON.parse(open.substring(1)).sid;
  const url = `${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  await fetch(url, { method: "POST", body: "40" });
  const controller = new AbortController();
  // Keep a long poll pending, answering pings, until aborted.
  (async () => {
    try {
      for (;;) {
        const body = await (await fetch(url, { signal: controller.signal })).text();
        if (body.split("\x1e").includes("2")) await fetch(url, { method: "POST", body: "3", signal: controller.signal });
      }
    } catch {
      // aborted: the client leaves
    }
  })();
  return controller;
}

async function measure(label, open, leave) {
  await settle(0);
  const before = rssKiB();
  const clients = [];
  for (let i = 0; i < count; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, open))));
  }
  await settle(count);
  await sleep(500);
  const held = rssKiB();
  for (const client of clients) leave(client);
  const cleanup = await settle(0);
  await sleep(500);
  const after = rssKiB();
  const perSession = ((held - before) * 1024) / count;
  console.log(
    `${label}: ${count} sessions, RSS before ${before} KiB, held ${held} KiB, after leaving ${after} KiB, ` +
      `${(perSession / 1024).toFixed(1)} KiB per session; all ${count} cleaned up in ${cleanup} ms`,
  );
  return perSession;
}

const result = {};
if (mode !== "polling") result.websocketBytesPerSession = Math.round(await measure("websocket", openWebSocket, (s) => s.close()));
if (mode !== "websocket") result.pollingBytesPerSession = Math.round(await measure("polling", openPolling, (c) => c.abort()));
console.log(JSON.stringify(result));
