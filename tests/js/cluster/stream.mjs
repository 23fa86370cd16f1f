// A stream of sends that must survive a failure. Every participant sends one message at a
// time into a shared conversation and retries a send that got no ack, with the same
// clientMessageId, until it is acknowledged; when its connection drops it reconnects, to the
// next node in its list. After the failure each participant syncs the conversation from the
// start, and `verify` compares what was acknowledged, what is stored and what each holds.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { group, once, until, user, within } from "../chat/api.mjs";

const ACK_TIMEOUT_MS = 5000;
const RECONNECT_PAUSE_MS = 200;
const SEND_PAUSE_MS = 20;
/** Errors a sender waits out and retries; any other error fails the test. */
const RETRYABLE = new Set(["unavailable", "rate_limited"]);

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Participant {
  /**
   * @param who `{ id, token }`
   * @param urls the nodes to try, in order: the first is where it starts
   * @param options socket.io-client options (transports)
   */
  constructor(who, conversation, urls, options = {}) {
    this.who = who;
    this.conversation = conversation;
    this.urls = urls;
    this.options = options;
    this.node = 0;
    this.socket = null;
    this.sent = new Set();
    this.acked = new Map();
    this.errors = {};
    /** How long each `unavailable` answer took, in ms. */
    this.unavailableMs = [];
    this.timeouts = 0;
    this.reconnects = 0;
    /** Messages held, by seq: what arrived live, what acks returned, what sync returned. */
    this.held = new Map();
    /** The same message twice on one connection. */
    this.duplicates = 0;
    this.stopping = false;
    this.failedOver = null;
  }

  /** Connects to the current node; on failure tries the next, until one answers. */
  async connect() {
    while (!this.closed) {
      const url = this.urls[this.node];
      const socket = io(url, { reconnection: false, forceNew: true, ...this.options, auth: { token: this.who.token } });
      try {
        await within(5000, once(socket, "session:ready"), `session:ready on ${url}`);
      } catch {
        socket.disconnect();
        this.node = (this.node + 1) % this.urls.length;
        await pause(RECONNECT_PAUSE_MS);
        continue;
      }
      const seen = new Set();
      socket.on("message:new", (message) => {
        if (seen.has(message.id)) this.duplicates++;
        seen.add(message.id);
        this.hold(message);
      });
      socket.on("disconnect", (reason) => {
        if (this.socket !== socket || reason === "io client disconnect") return;
        this.reconnects++;
        this.node = (this.node + 1) % this.urls.length;
        this.socket = null;
        this.failedOver = this.connect();
      });
      this.socket = socket;
      return socket;
    }
  }

  hold(message) {
    const earlier = this.held.get(message.seq);
    if (earlier) assert.equal(earlier.id, message.id, `two messages with seq ${message.seq}`);
    this.held.set(message.seq, message);
  }

  /** A connected socket, waiting for a reconnection in progress. */
  async connected() {
    while (!this.socket?.connected) {
      if (this.closed) throw new Error("participant closed");
      if (this.failedOver) await this.failedOver;
      else await pause(RECONNECT_PAUSE_MS);
    }
    return this.socket;
  }

  /** Sends until `stop()`, each message until it is acknowledged. */
  start() {
    this.running = (async () => {
      for (let n = 1; !this.stopping; n++) {
        await this.deliver(`${this.who.id.slice(0, 8)}-${n}`);
        await pause(SEND_PAUSE_MS);
      }
    })();
  }

  async stop() {
    this.stopping = true;
    await this.running;
  }

  async deliver(clientMessageId) {
    this.sent.add(clientMessageId);
    const request = { conversationId: this.conversation, clientMessageId, body: `body of ${clientMessageId}` };
    while (!this.closed) {
      const socket = await this.connected();
      const started = Date.now();
      let ack;
      try {
        ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("message:send", request);
      } catch {
        // No answer (the connection dropped, or the node is gone): the same id again.
        this.timeouts++;
        continue;
      }
      if (ack.ok) {
        assert.equal(ack.message.clientMessageId, clientMessageId);
        this.acked.set(clientMessageId, ack.message);
        this.hold(ack.message);
        return;
      }
      const code = ack.error?.code;
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      if (code === "unavailable") this.unavailableMs.push(Date.now() - started);
      assert.ok(RETRYABLE.has(code), `message:send answered ${JSON.stringify(ack)}`);
      await pause(ack.error.retryAfterMs ?? RECONNECT_PAUSE_MS);
    }
  }

  /** Everything stored in the conversation, through `sync:request`, held as it comes. */
  async syncAll() {
    const socket = await this.connected();
    const all = [];
    for (let afterSeq = 0; ; ) {
      const page = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("sync:request", {
        conversationId: this.conversation,
        afterSeq,
        limit: 100,
      });
      assert.equal(page.ok, true, JSON.stringify(page));
      page.messages.forEach((m) => this.hold(m));
      all.push(...page.messages);
      if (!page.hasMore || page.messages.length === 0) return all;
      afterSeq = page.messages.at(-1).seq;
    }
  }

  /** Ends everything at once (after a failed test too). */
  close() {
    this.stopping = true;
    this.closed = true;
    this.socket?.disconnect();
  }
}

/**
 * `count` new users in one group, connected and sending: alternately starting on node `a` and
 * node `b` (the other one as fallback), the first half on WebSocket only, the rest on the
 * default transports.
 */
export async function startStream(a, b, prefix, count = 4) {
  const people = await Promise.all(Array.from({ length: count }, (_, i) => user(`${prefix}${i + 1}`)));
  const conversation = await group(people[0], people.slice(1));
  const participants = people.map((who, i) => {
    const options = i < count / 2 ? { transports: ["websocket"] } : {};
    return new Participant(who, conversation, i % 2 === 0 ? [a, b] : [b, a], options);
  });
  await Promise.all(participants.map((p) => p.connect()));
  participants.forEach((p) => p.start());
  return participants;
}

/** Resolves once every participant has had `count` more sends acknowledged. */
export async function progress(participants, count, ms = 20000) {
  const targets = participants.map((p) => p.acked.size + count);
  const done = () => participants.every((p, i) => p.acked.size >= targets[i]);
  await until(ms, done, `${count} more acks each`);
}

/**
 * Stops the senders, syncs everyone, and checks: seqs 1..N with no gap or duplicate; every
 * acknowledged send stored exactly once, as acknowledged; nothing stored that no one sent;
 * every participant holding every stored message; no message twice on one connection.
 * Prints and returns the counts.
 */
export async function verify(scenario, participants) {
  await Promise.all(participants.map((p) => p.stop()));
  const stored = await participants[0].syncAll();
  assert.deepEqual(
    stored.map((m) => m.seq),
    stored.map((_, i) => i + 1),
    "seqs run 1..N with no gap",
  );
  assert.equal(new Set(stored.map((m) => m.id)).size, stored.length, "no message stored twice");
  const counts = { scenario, sent: 0, acked: 0, found: 0, stored: stored.length, errors: {}, timeouts: 0, reconnects: 0 };
  for (const p of participants) {
    const mine = stored.filter((m) => m.senderId === p.who.id);
    for (const [clientMessageId, message] of p.acked) {
      const copies = mine.filter((m) => m.clientMessageId === clientMessageId);
      assert.equal(copies.length, 1, `${clientMessageId} stored ${copies.length} times`);
      assert.deepEqual(copies[0], message, `${clientMessageId} stored as acknowledged`);
      counts.found++;
    }
    for (const m of mine) assert.ok(p.sent.has(m.clientMessageId), `${m.clientMessageId} was never sent`);
    assert.equal(mine.length, p.acked.size, "every stored message of a sender was acknowledged to it");
    counts.sent += p.sent.size;
    counts.acked += p.acked.size;
    counts.timeouts += p.timeouts;
    counts.reconnects += p.reconnects;
    for (const [code, n] of Object.entries(p.errors)) counts.errors[code] = (counts.errors[code] ?? 0) + n;
    assert.equal(p.duplicates, 0, "no message twice on one connection");
  }
  for (const p of participants) {
    await p.syncAll();
    assert.deepEqual(
      [...p.held.keys()].sort((x, y) => x - y),
      stored.map((m) => m.seq),
      "each participant holds every stored message after sync",
    );
  }
  assert.equal(counts.acked, counts.sent, "every send was acknowledged in the end");
  console.log(`STREAM ${JSON.stringify(counts)}`);
  return counts;
}
