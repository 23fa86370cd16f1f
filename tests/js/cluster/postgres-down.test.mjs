// PostgreSQL stops mid-stream under two nodes (the harness's private instance, controlled
// through CONFAB_PG_STOP / CONFAB_PG_START, each a JSON array: the command and its arguments).
// Sends get `unavailable` in bounded time, none is acknowledged without being stored, and
// sends succeed again once PostgreSQL is back, without restarting a node.
import { it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { until } from "../chat/api.mjs";
import { progress, startStream, verify } from "./stream.mjs";

const A = process.env.CONFAB_URL;
const B = process.env.CONFAB_URL_B;
const run = (json) => {
  const [command, ...args] = JSON.parse(json);
  execFileSync(command, args, { stdio: "ignore" });
};
const participants = [];
after(() => participants.forEach((p) => p.close()));

it("answers unavailable while PostgreSQL is down and recovers by itself", { timeout: 180000 }, async () => {
  participants.push(...(await startStream(A, B, "p")));
  await progress(participants, 20);

  run(process.env.CONFAB_PG_STOP);
  const unavailable = () => participants.every((p) => (p.errors.unavailable ?? 0) > 0);
  await until(30000, unavailable, "every sender to hear unavailable");
  // Nothing is acknowledged while the database is down.
  const ackedWhileDown = participants.map((p) => p.acked.size);
  await until(30000, () => participants.every((p) => p.errors.unavailable >= 3), "repeated unavailable answers");
  assert.deepEqual(participants.map((p) => p.acked.size), ackedWhileDown);
  for (const node of [A, B]) {
    const ready = await fetch(`${node}/ready`);
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).database, "down");
  }
  assert.ok(participants.every((p) => p.reconnects === 0), "no connection dropped");

  run(process.env.CONFAB_PG_START);
  await progress(participants, 20, 60000);
  const counts = await verify("PostgreSQL stopped and restarted", participants);
  const waits = participants.flatMap((p) => p.unavailableMs).sort((x, y) => x - y);
  console.log(`UNAVAILABLE ${waits.length} answers, median ${waits[waits.length >> 1]} ms, max ${waits.at(-1)} ms`);
  assert.ok(counts.errors.unavailable > 0);
  assert.equal(counts.timeouts, 0, "every send was answered");
});
