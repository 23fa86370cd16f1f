// @ts-check
/**
 * Confab's client library: the parts of the wire contract (docs/PROTOCOL.md) that every client
 * gets wrong when it writes them itself, done once.
 *
 * - Credentials: the access token lives in memory only; it is refreshed through the refresh
 *   cookie (or, outside a browser, the refresh token the library keeps from the cookie it was
 *   sent) before a socket connects with it, when the server announces `session:expiring`
 *   (then `auth:refresh` renews the live socket), and when a request answers `token_expired`.
 * - Catch-up: the highest `rev` applied per conversation; a live change more than one above it,
 *   and every `session:ready` after a reconnect, is repaired with `sync:changes` before
 *   anything newer is handed on, so the application sees every change once, in order.
 * - Outbox: messages keep a stable `clientMessageId` and stay in `storage` (localStorage in a
 *   browser) until the server acks them, across reconnects and reloads; the server stores a
 *   retried id once.
 * - Typing: `typing:start` at most every 3 s per conversation, `typing:stop` when asked.
 *
 * Events (`addEventListener`, `CustomEvent.detail`): `state` (`"offline"`, `"connecting"`,
 * `"connected"`, `"reconnecting"`), `ready` (the `session:ready` payload), `message` (a new
 * Message, the client's own once stored), `update` (an edited or deleted Message), `reaction`
 * (the `reaction:updated` payload), `typing` (`{ conversationId, userId, typing }`), `receipt`,
 * `presence`, `conversation:added`, `conversation:removed`, `conversation:updated`,
 * `contact:request`, `contact:updated`, `outbox` (the waiting messages), `failed` (a message
 * the server refused for good: `{ entry, error }`).
 */

const TYPING_EVERY_MS = 3000;
const ACK_TIMEOUT_MS = 10000;
const REFRESH_MARGIN_MS = 30000;
const CHANGES_PAGE = 500;
/** Errors a retry cannot fix: the message leaves the outbox. */
const FINAL_ERRORS = new Set(["invalid", "too_large", "not_found", "forbidden", "conflict"]);

/**
 * @typedef {{ id: string, conversationId: string, seq: number, rev: number, senderId: string,
 *   clientMessageId: string, body: string, deleted: boolean }} Message
 * @typedef {{ clientMessageId: string, conversationId: string, body: string,
 *   attachmentIds?: string[], replyToId?: string, queuedAt: number }} OutboxEntry
 * @typedef {{ getItem(key: string): string | null, setItem(key: string, value: string): void,
 *   removeItem(key: string): void }} KeyValueStorage
 * @typedef {{ code: string, message: string, retryAfterMs?: number }} ContractError
 */

/** A storage that forgets on exit (outside a browser, or for tests). */
export class MemoryStorage {
  constructor() {
    /** @type {Map<string, string>} */
    this.items = new Map();
  }
  /** @param {string} key */
  getItem(key) {
    return this.items.get(key) ?? null;
  }
  /** @param {string} key @param {string} value */
  setItem(key, value) {
    this.items.set(key, value);
  }
  /** @param {string} key */
  removeItem(key) {
    this.items.delete(key);
  }
}

/** The error of a failed API call, with the contract's code. */
export class ApiError extends Error {
  /** @param {number} status @param {ContractError} error */
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
  }
}

/**
 * When a JWT expires, in ms since the epoch; 0 when it cannot be read.
 * @param {string | null} token
 */
export function expiresAt(token) {
  try {
    const payload = (token ?? "").split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(globalThis.atob(payload)).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

function newId() {
  return globalThis.crypto.randomUUID();
}

export class ConfabClient extends EventTarget {
  /**
   * @param {{ baseUrl?: string, io: Function, storage?: KeyValueStorage,
   *   fetch?: typeof globalThis.fetch }} options `io` is socket.io-client's `io`.
   */
  constructor({ baseUrl = "", io, storage, fetch = globalThis.fetch.bind(globalThis) }) {
    super();
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.io = io;
    this.storage = storage ?? globalThis.localStorage ?? new MemoryStorage();
    this.fetch = fetch;
    /** @type {string | null} */
    this.accessToken = null;
    /** The refresh token, outside a browser only (a browser keeps it in its HttpOnly cookie). */
    /** @type {string | null} */
    this.refreshToken = null;
    /** @type {any} */
    this.user = null;
    /** @type {any} */
    this.socket = null;
    this.state = "offline";
    /** The highest rev applied per conversation. @type {Map<string, number>} */
    this.revs = new Map();
    /** The highest seq handed on per conversation (what is new, and what an update). @type {Map<string, number>} */
    this.seqs = new Map();
    /** Conversations being repaired, with the live changes that wait for it. @type {Map<string, any[]>} */
    this.repairing = new Map();
    /** @type {Map<string, number>} */
    this.typingSent = new Map();
    /** @type {Promise<string> | null} */
    this.refreshing = null;
    this.flushing = false;
  }

  /** @param {string} type @param {any} detail */
  emitEvent(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // --- Credentials -----------------------------------------------------------------------

  /**
   * One HTTP call of the API (`path` under `/api`); the access token is refreshed once if the
   * server says it expired.
   * @param {string} method @param {string} path @param {any} [body]
   * @returns {Promise<any>}
   */
  async api(method, path, body, retried = false) {
    const headers = /** @type {Record<string, string>} */ ({});
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    const res = await this.fetch(`${this.baseUrl}/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "include",
    });
    this.keepRefreshCookie(res);
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (res.ok) return json;
    const error = json?.error ?? { code: "internal", message: `HTTP ${res.status}` };
    if (error.code === "token_expired" && !retried) {
      await this.refresh();
      return this.api(method, path, body, true);
    }
    throw new ApiError(res.status, error);
  }

  /** Outside a browser, keeps the refresh token of a `Set-Cookie` (a browser keeps the cookie). @param {Response} res */
  keepRefreshCookie(res) {
    const cookie = res.headers.get("set-cookie");
    const match = cookie && /confab_refresh=([^;]*)/.exec(cookie);
    if (match && typeof globalThis.document === "undefined") this.refreshToken = match[1] || null;
  }

  /** @param {{ accessToken: string, user: any }} session */
  signedIn(session) {
    this.accessToken = session.accessToken;
    this.user = session.user;
    return session.user;
  }

  /** @param {{ email: string, username: string, password: string, displayName?: string }} account */
  async register(account) {
    return this.signedIn(await this.api("POST", "/auth/register", account));
  }

  /** @param {string} login @param {string} password */
  async login(login, password) {
    return this.signedIn(await this.api("POST", "/auth/login", { login, password }));
  }

  /** Revokes the refresh token and closes the socket. */
  async logout() {
    try {
      await this.api("POST", "/auth/logout", this.refreshToken ? { refreshToken: this.refreshToken } : {});
    } finally {
      this.disconnect();
      this.accessToken = null;
      this.refreshToken = null;
      this.user = null;
    }
  }

  /** A new access token through the refresh cookie (one request at a time). */
  refresh() {
    this.refreshing ??= (async () => {
      try {
        const body = this.refreshToken ? { refreshToken: this.refreshToken } : {};
        const session = await this.api("POST", "/auth/refresh", body, true);
        this.accessToken = session.accessToken;
        return session.accessToken;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** An access token that will not expire in the next 30 s. */
  async freshToken() {
    if (expiresAt(this.accessToken) - Date.now() > REFRESH_MARGIN_MS) return /** @type {string} */ (this.accessToken);
    return this.refresh();
  }

  // --- The socket --------------------------------------------------------------------------

  /** @param {string} state */
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emitEvent("state", state);
  }

  /** Connects (and reconnects by itself), with a fresh token each time. @param {object} [options] socket.io options */
  connect(options = {}) {
    if (this.socket) return this.socket;
    this.setState("connecting");
    const socket = this.io(this.baseUrl || undefined, {
      ...options,
      auth: (/** @type {(auth: object) => void} */ reply) => {
        this.freshToken().then(
          (token) => reply({ token }),
          () => reply({}),
        );
      },
    });
    this.socket = socket;
    socket.on("session:ready", (/** @type {any} */ ready) => this.onReady(ready));
    socket.on("disconnect", () => this.setState(socket.active ? "reconnecting" : "offline"));
    socket.on("connect_error", () => this.setState(socket.active ? "reconnecting" : "offline"));
    socket.on("session:expiring", () => this.renew());
    socket.on("message:new", (/** @type {Message} */ m) => this.onChange(m.conversationId, m.rev, "message", m));
    socket.on("message:updated", (/** @type {Message} */ m) => this.onChange(m.conversationId, m.rev, "update", m));
    socket.on("reaction:updated", (/** @type {any} */ r) => this.onChange(r.conversationId, r.rev, "reaction", r));
    socket.on("typing:start", (/** @type {any} */ t) => this.emitEvent("typing", { ...t, typing: true }));
    socket.on("typing:stop", (/** @type {any} */ t) => this.emitEvent("typing", { ...t, typing: false }));
    for (const event of [
      "receipt:updated",
      "presence:update",
      "conversation:added",
      "conversation:removed",
      "conversation:updated",
      "contact:request",
      "contact:updated",
    ]) {
      const name = event === "receipt:updated" ? "receipt" : event === "presence:update" ? "presence" : event;
      socket.on(event, (/** @type {any} */ payload) => this.emitEvent(name, payload));
    }
    // A conversation joined now starts where it is: its history is paged over HTTP.
    socket.on("conversation:added", (/** @type {any} */ added) => {
      const c = added.conversation;
      if (!this.revs.has(c.id)) {
        this.revs.set(c.id, c.lastRev);
        this.seqs.set(c.id, c.lastSeq);
      }
    });
    socket.on("conversation:updated", (/** @type {any} */ u) => {
      if ((this.revs.get(u.conversationId) ?? 0) < u.lastRev) this.repair(u.conversationId);
    });
    socket.on("conversation:removed", (/** @type {any} */ r) => {
      this.revs.delete(r.conversationId);
      this.seqs.delete(r.conversationId);
    });
    return socket;
  }

  disconnect() {
    this.socket?.disconnect();
    this.socket = null;
    this.setState("offline");
  }

  /** Renews the live socket's credentials (`auth:refresh`) with a new access token. */
  async renew() {
    try {
      const token = await this.refresh();
      await this.ask("auth:refresh", { token });
    } catch {
      // The server closes the socket at expiry; the reconnect asks for a fresh token.
    }
  }

  /**
   * Emits `event` and resolves with its ack, rejecting with the contract's error.
   * @param {string} event @param {any} payload
   */
  async ask(event, payload) {
    const socket = this.socket;
    if (!socket?.connected) throw new ApiError(0, { code: "unavailable", message: "not connected" });
    const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    if (ack?.ok) return ack;
    throw new ApiError(0, ack?.error ?? { code: "internal", message: `no ack for ${event}` });
  }

  /** @param {any} ready */
  onReady(ready) {
    this.setState("connected");
    for (const c of ready.conversations ?? []) {
      const applied = this.revs.get(c.conversationId);
      if (applied === undefined) {
        this.revs.set(c.conversationId, c.lastRev);
        this.seqs.set(c.conversationId, c.lastSeq);
      } else if (applied < c.lastRev) this.repair(c.conversationId);
    }
    this.emitEvent("ready", ready);
    this.flush();
  }

  // --- Catch-up ----------------------------------------------------------------------------

  /**
   * A live change with `rev` in `conversation`: handed on in order, or after a repair.
   * @param {string} conversation @param {number} rev @param {string} kind @param {any} payload
   */
  onChange(conversation, rev, kind, payload) {
    const waiting = this.repairing.get(conversation);
    if (waiting) {
      waiting.push({ rev, kind, payload });
      return;
    }
    const applied = this.revs.get(conversation) ?? 0;
    if (rev <= applied) return;
    if (rev === applied + 1) {
      this.revs.set(conversation, rev);
      if (kind === "message") this.seqs.set(conversation, Math.max(this.seqs.get(conversation) ?? 0, payload.seq));
      this.emitEvent(kind, payload);
      return;
    }
    this.repair(conversation, [{ rev, kind, payload }]);
  }

  /**
   * Fetches every change after the applied rev with `sync:changes`, hands them on in rev
   * order, then the live changes that came meanwhile.
   * @param {string} conversation @param {any[]} [pending]
   */
  async repair(conversation, pending = []) {
    const waiting = this.repairing.get(conversation);
    if (waiting) {
      waiting.push(...pending);
      return;
    }
    this.repairing.set(conversation, pending);
    try {
      for (;;) {
        const afterRev = this.revs.get(conversation) ?? 0;
        const page = await this.ask("sync:changes", { conversationId: conversation, afterRev, limit: CHANGES_PAGE });
        for (const m of page.messages) {
          if (m.rev <= (this.revs.get(conversation) ?? 0)) continue;
          this.revs.set(conversation, m.rev);
          // A message past the highest seq handed on is new to the application.
          const fresh = m.seq > (this.seqs.get(conversation) ?? 0);
          if (fresh) this.seqs.set(conversation, m.seq);
          this.emitEvent(fresh ? "message" : "update", m);
        }
        if (!page.hasMore) {
          this.revs.set(conversation, Math.max(this.revs.get(conversation) ?? 0, page.lastRev));
          break;
        }
      }
    } catch {
      // Not connected: the next session:ready repairs again.
    } finally {
      const queued = this.repairing.get(conversation) ?? [];
      this.repairing.delete(conversation);
      for (const change of queued.sort((a, b) => a.rev - b.rev)) {
        this.onChange(conversation, change.rev, change.kind, change.payload);
      }
    }
  }

  // --- Outbox ------------------------------------------------------------------------------

  outboxKey() {
    return `confab.outbox.${this.user?.id ?? "anonymous"}`;
  }

  /** The messages waiting to be acked, oldest first. @returns {OutboxEntry[]} */
  outbox() {
    try {
      return JSON.parse(this.storage.getItem(this.outboxKey()) ?? "[]");
    } catch {
      return [];
    }
  }

  /** @param {OutboxEntry[]} entries */
  saveOutbox(entries) {
    if (entries.length) this.storage.setItem(this.outboxKey(), JSON.stringify(entries));
    else this.storage.removeItem(this.outboxKey());
    this.emitEvent("outbox", entries);
  }

  /**
   * Queues a message and sends it as soon as the socket is connected; returns its entry (its
   * `clientMessageId` names it in `message` and `failed` events).
   * @param {string} conversationId @param {string} body
   * @param {{ attachmentIds?: string[], replyToId?: string }} [extra]
   */
  send(conversationId, body, extra = {}) {
    /** @type {OutboxEntry} */
    const entry = { clientMessageId: newId(), conversationId, body, ...extra, queuedAt: Date.now() };
    this.saveOutbox([...this.outbox(), entry]);
    this.flush();
    return entry;
  }

  /** Sends the outbox in order, one message at a time, until it is empty or the socket drops. */
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const [entry] = this.outbox();
        if (!entry || !this.socket?.connected) return;
        const { queuedAt: _, ...payload } = entry;
        try {
          const ack = await this.ask("message:send", payload);
          this.dropFromOutbox(entry.clientMessageId);
          this.onChange(ack.message.conversationId, ack.message.rev, "message", ack.message);
        } catch (err) {
          const error = /** @type {ApiError} */ (err);
          if (FINAL_ERRORS.has(error.code)) {
            this.dropFromOutbox(entry.clientMessageId);
            this.emitEvent("failed", { entry, error });
            continue;
          }
          if (error.code === "rate_limited") {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            continue;
          }
          return; // Not connected, or no ack: the next connection sends it again.
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** @param {string} clientMessageId */
  dropFromOutbox(clientMessageId) {
    this.saveOutbox(this.outbox().filter((e) => e.clientMessageId !== clientMessageId));
  }

  // --- Changes to messages -----------------------------------------------------------------

  /**
   * Asks for a change to a message and hands the acked message on as an `update` (the live
   * `message:updated` or `reaction:updated` of the same rev is then a repeat).
   * @param {string} event @param {any} payload
   */
  async change(event, payload) {
    const { message } = await this.ask(event, payload);
    this.onChange(message.conversationId, message.rev, "update", message);
    return message;
  }

  /** @param {string} conversationId @param {string} messageId @param {string} body */
  edit(conversationId, messageId, body) {
    return this.change("message:edit", { conversationId, messageId, body });
  }

  /** Deletes a message, leaving its tombstone. @param {string} conversationId @param {string} messageId */
  remove(conversationId, messageId) {
    return this.change("message:delete", { conversationId, messageId });
  }

  /** @param {string} conversationId @param {string} messageId @param {string} emoji @param {boolean} add */
  react(conversationId, messageId, emoji, add) {
    return this.change(add ? "reaction:add" : "reaction:remove", { conversationId, messageId, emoji });
  }

  // --- Attachments -------------------------------------------------------------------------

  /**
   * Uploads one image: asks for an upload URL, sends the bytes to it with exactly the headers
   * it came with, then completes it; resolves with the ready Attachment, whose `id` goes into
   * `send`'s `attachmentIds`. `onProgress` gets the fraction sent (in a browser).
   * @param {Blob & { name?: string }} file @param {(fraction: number) => void} [onProgress]
   */
  async upload(file, onProgress = () => {}) {
    const ticket = await this.api("POST", "/uploads", {
      contentType: file.type,
      size: file.size,
      name: file.name || "image",
    });
    await putBytes(ticket, file, onProgress);
    onProgress(1);
    return this.api("POST", `/uploads/${ticket.attachmentId}/complete`);
  }

  // --- Typing ------------------------------------------------------------------------------

  /** The user is typing in `conversationId`: `typing:start`, at most every 3 s. @param {string} conversationId */
  typing(conversationId) {
    const now = Date.now();
    if (now - (this.typingSent.get(conversationId) ?? 0) < TYPING_EVERY_MS) return;
    this.typingSent.set(conversationId, now);
    this.socket?.emit("typing:start", { conversationId });
  }

  /** The user stopped typing (sent, or cleared the composer). @param {string} conversationId */
  stopTyping(conversationId) {
    if (!this.typingSent.delete(conversationId)) return;
    this.socket?.emit("typing:stop", { conversationId });
  }
}

/**
 * Sends `file` to an upload ticket's URL: through XMLHttpRequest where there is one, for its
 * progress events, otherwise with fetch.
 * @param {{ uploadUrl: string, method: string, headers: Record<string, string> }} ticket
 * @param {Blob} file @param {(fraction: number) => void} onProgress
 */
function putBytes(ticket, file, onProgress) {
  // The HTTP stack sets these itself (a browser refuses to be told).
  const headers = Object.entries(ticket.headers).filter(([name]) => !["content-length", "host"].includes(name.toLowerCase()));
  const failed = (/** @type {number} */ status) =>
    new ApiError(status, { code: "unavailable", message: `the upload failed (HTTP ${status})` });
  if (typeof globalThis.XMLHttpRequest !== "function") {
    return globalThis
      .fetch(ticket.uploadUrl, { method: ticket.method, headers: Object.fromEntries(headers), body: file })
      .then((res) => {
        if (!res.ok) throw failed(res.status);
      });
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method, ticket.uploadUrl);
    for (const [name, value] of headers) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve(undefined) : reject(failed(xhr.status)));
    xhr.onerror = () => reject(failed(0));
    xhr.send(file);
  });
}
