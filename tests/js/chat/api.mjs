// Helpers for the chat tests: accounts and conversations through the HTTP API, and sockets
// through the stock socket.io-client.
import { io } from "socket.io-client";

export const BASE = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
/** How long an awaited event may take before a test fails: generous, since CI shares its cores. */
export const PATIENCE_MS = 20_000;

let counter = 0;
const run = Math.random().toString(36).slice(2, 8);

export async function api(method, path, token, body, base = BASE) {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A new user: `{ id, token }`. */
export async function user(prefix = "u") {
  const username = `${prefix}_${run}_${++counter}`;
  const res = await api("POST", "/auth/register", null, {
    email: `${username}@example.com`,
    username,
    password: "correct horse battery",
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, token: res.body.accessToken };
}

/** A group owned by `owner` with `members`; returns its id. */
export async function group(owner, members) {
  const res = await api("POST", "/conversations", owner.token, {
    kind: "group",
    title: "test group",
    memberIds: members.map((m) => m.id),
  });
  if (res.status !== 201) throw new Error(`group: ${res.status}`);
  return res.body.id;
}

export async function dm(a, b) {
  return (await api("POST", "/conversations", a.token, { kind: "dm", userId: b.id })).body.id;
}

export const block = (who, whom) => api("POST", `/blocks/${whom.id}`, who.token, {});
export const httpSend = (who, conversation, body) =>
  api("POST", `/conversations/${conversation}/messages`, who.token, body);

export function once(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

/**
 * Resolves with `promise`, or rejects with `what` named once `ms` (at least PATIENCE_MS) have
 * passed. The bound only limits how long a failure takes: on a busy machine events come late.
 */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), Math.max(ms, PATIENCE_MS));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `check()` (which may be async) is true, asking every 50 ms; rejects after `ms` (at least PATIENCE_MS). */
export async function until(ms, check, what) {
  const deadline = Date.now() + Math.max(ms, PATIENCE_MS);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Collects every `event` a socket receives, in order, for later assertions. */
export function collect(socket, event) {
  const seen = [];
  const waiters = [];
  socket.on(event, (payload) => {
    seen.push(payload);
    for (const w of waiters.splice(0)) w();
  });
  seen.waitFor = async (count, what = event, ms = 5000) => {
    while (seen.length < count) {
      await within(ms, new Promise((resolve) => waiters.push(resolve)), `${count} × ${what}`);
    }
    return seen;
  };
  return seen;
}

/** A connected socket for `who`, with its `session:ready` payload as `socket.ready`. */
export async function connect(who, options = {}) {
  const socket = io(BASE, { reconnection: false, forceNew: true, ...options, auth: { token: who.token } });
  socket.ready = await within(5000, once(socket, "session:ready"), "session:ready");
  return socket;
}

/** A connector that keeps every socket it opens in `sockets`, for an `after` hook to close. */
export function opener(sockets) {
  return async (who, options) => {
    const socket = await connect(who, options);
    sockets.push(socket);
    return socket;
  };
}

/** Emits `event` with an ack; rejects after PATIENCE_MS. */
export const ask = (socket, event, payload) => within(5000, socket.emitWithAck(event, payload), `${event} ack`);
