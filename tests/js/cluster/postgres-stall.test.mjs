// PostgreSQL freezes mid-stream (every process of the harness's private instance stopped with
// SIGSTOP through CONFAB_PG_FREEZE, resumed with SIGCONT through CONFAB_PG_THAW, each a JSON
// array: the command and its arguments), under a node whose commit deadline is
// CONFAB_COMMIT_DEADLINE_MS (PROTOCOL.md v1.2 §14). Every send is answered, `ok` or
// `unavailable` with retryAfterMs, within the deadline plus a second of its emission; events
// queued behind the stalled database are `unavailable` too, never `rate_limited`; once
// PostgreSQL resumes, the node recovers by itself, retries with the same clientMessageId are
// safe, and every acknowledged send is stored exactly once.
import { it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { until } from "../chat/api.mjs";
import { progress, startStream, verify } from "./stream.mjs";

const A = process.env.CONFAB_URL;
const DEADLINE_MS = Number(process.env.CONFAB_COMMIT_DEADLINE_MS);
const run = (json) => {
  const [command, ...args] = JSON.parse(json);
  execFileSync(command, args, { stdio: "ignore" });
};
const participants = [];
let frozen = false;
after(() => {
  if (frozen) run(process.env.CONFAB_PG_THAW);
  participants.forEach((p) => p.close());
});

/** Emits `event` on `socket` and resolves with the answer and how long it took. */
const timed = (socket, event, payload) =>
  new Promise((resolve) => {
    const started = Date.now();
    socket.emit(event, payload, (ack) => resolve({ ack, ms: Date.now() - started }));
  });

it("answers every send within the commit deadline while PostgreSQL is frozen", { timeout: 180000 }, async () => {
  participants.push(...(await startStream(A, A, "stall", 2)));
  await progress(participants, 10);

  run(process.env.CONFAB_PG_FREEZE);
  frozen = true;
  await until(DEADLINE_MS + 10000, () => participants.every((p) => (p.errors.unavailable ?? 0) > 0), "every sender to hear unavailable");

  // A burst on one socket, beyond what it may have in flight and waiting: sends, and reads
  // queued behind them. Every one is answered in time, as `unavailable`.
  const [first] = participants;
  const socket = await first.connected();
  const burst = [];
  for (let n = 0; n < 10; n++) {
    const clientMessageId = `burst-${n}`;
    first.sent.add(clientMessageId);
    const request = { conversationId: first.conversation, clientMessageId, body: `body of ${clientMessageId}` };
    burst.push(timed(socket, "message:send", request).then((answer) => ({ ...answer, request })));
  }
  for (let n = 0; n < 80; n++) {
    burst.push(timed(socket, "sync:request", { conversationId: first.conversation, afterSeq: 0, limit: 1 }));
  }
  const answers = await Promise.all(burst);
  const codes = {};
  for (const { ack } of answers) codes[ack.error?.code ?? "ok"] = (codes[ack.error?.code ?? "ok"] ?? 0) + 1;
  assert.deepEqual(codes, { unavailable: answers.length }, JSON.stringify(codes));
  for (const { ack, ms } of answers) {
    assert.ok(ack.error.retryAfterMs > 0, JSON.stringify(ack));
    assert.ok(ms <= DEADLINE_MS + 1000, `answered after ${ms} ms`);
  }
  await progress(participants, 0);
  run(process.env.CONFAB_PG_THAW);
  frozen = false;

  // The node recovers by itself; the burst's sends, retried with their ids, are stored once.
  await progress(participants, 10, 60000);
  for (const { request } of answers.filter((a) => a.request)) {
    let ack;
    await until(30000, async () => {
      ack = await socket.timeout(10000).emitWithAck("message:send", request);
      return ack.ok;
    }, `${request.clientMessageId} stored after the thaw`);
    first.acked.set(request.clientMessageId, ack.message);
  }
  const waits = participants.flatMap((p) => p.unavailableMs).sort((x, y) => x - y);
  console.log(`STALL ${waits.length} unavailable answers to the stream, median ${waits[waits.length >> 1]} ms, max ${waits.at(-1)} ms`);
  assert.ok(waits.every((ms) => ms <= DEADLINE_MS + 1000), `stream answers took up to ${waits.at(-1)} ms`);
  const counts = await verify("PostgreSQL frozen and resumed", participants);
  assert.equal(counts.errors.rate_limited ?? 0, 0, "nothing waiting on the database was told it is too fast");
  assert.equal(counts.timeouts, 0, "every send was answered");
});
