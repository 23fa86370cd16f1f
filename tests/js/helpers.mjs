// Shared helpers for the compatibility tests. The server under test is at CONFAB_URL.
import WebSocket from "ws";

export const BASE = process.env.CONFAB_URL ?? "http://127.0.0.1:3000";
export const WS_BASE = BASE.replace(/^http/, "ws");
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;

/** How long an awaited event may take before a test fails: generous, since CI shares its cores. */
export const PATIENCE_MS = 20_000;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A WebSocket whose frames are queued, so frames that arrive back to back are never lost. */
export class Conn {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.queue = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      this.ws.on("close", (code) => resolve(code));
      this.ws.on("error", () => {});
      this.ws.on("unexpected-response", (_req, res) => {
        this.status = res.statusCode;
        resolve(res.statusCode);
      });
    });
    this.opened = new Promise((resolve) => this.ws.on("open", resolve));
    this.ws.on("message", (data, isBinary) => {
      const frame = isBinary ? new Uint8Array(data) : data.toString();
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.queue.push(frame);
    });
  }

  /** The next frame, pings included. */
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next frame that is not a server ping (`2`). */
  async nextData() {
    for (;;) {
      const frame = await this.next();
      if (frame !== "2") return frame;
    }
  }

  send(data) {
    this.ws.send(data);
  }

  close() {
    this.ws.close();
  }
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

export async function openPolling(path) {
  const res = await fetch(`${BASE}${path}?EIO=4&transport=polling`);
  const text = await res.text();
  return JSON.parse(text.substring(1)).sid;
}

export const poll = (path, sid, extra = "") => fetch(`${BASE}${path}?EIO=4&transport=polling&sid=${sid}${extra}`);

export const post = (path, sid, body) =>
  fetch(`${BASE}${path}?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body });
