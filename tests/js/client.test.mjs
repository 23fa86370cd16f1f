// The stock socket.io-client against the engine, with its default transports (long-polling,
// then the upgrade) and WebSocket-only.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { BASE, within } from "./helpers.mjs";

const once = (socket, event) => new Promise((resolve) => socket.once(event, (...args) => resolve(args)));

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`socket.io-client, ${label}`, () => {
    it("connects with auth, emits, receives and gets acks", async () => {
      const socket = io(BASE, { ...options, auth: { token: "t-1" }, reconnection: false, forceNew: true });
      const [auth] = await within(3000, once(socket, "auth"), "auth");
      assert.deepEqual(auth, { token: "t-1" });
      assert.ok(socket.connected);
      const back = once(socket, "message-back");
      socket.emit("message", "hello", { n: 1 });
      assert.deepEqual(await within(3000, back, "message-back"), ["hello", { n: 1 }]);
      const acked = await within(3000, socket.emitWithAck("message-with-ack", 42, "x"), "ack");
      assert.equal(acked, 42);
      socket.disconnect();
    });

    it("carries binary both ways", async () => {
      const socket = io(BASE, { ...options, reconnection: false, forceNew: true });
      await within(3000, once(socket, "auth"), "auth");
      const back = once(socket, "message-back");
      socket.emit("message", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) });
      const [first, second] = await within(3000, back, "binary message-back");
      assert.deepEqual([...first], [1, 2, 3]);
      assert.deepEqual([...second.nested], [4]);
      socket.disconnect();
    });

    it("reconnects by itself after the server drops the connection", async () => {
      const socket = io(BASE, { ...options, reconnectionDelay: 100, reconnectionDelayMax: 200, forceNew: true });
      await within(3000, once(socket, "auth"), "auth");
      const firstId = socket.id;
      const disconnected = once(socket, "disconnect");
      socket.emit("drop-connection");
      const [reason] = await within(3000, disconnected, "disconnect");
      assert.ok(["transport close", "transport error"].includes(reason), reason);
      await within(5000, once(socket, "auth"), "auth after reconnecting");
      assert.notEqual(socket.id, firstId);
      assert.equal(await within(3000, socket.emitWithAck("message-with-ack", "again"), "ack"), "again");
      socket.disconnect();
    });

    it("joins a custom namespace and is refused an unknown one", async () => {
      const custom = io(`${BASE}/custom`, { ...options, reconnection: false, forceNew: true });
      await within(3000, once(custom, "auth"), "auth on /custom");
      custom.disconnect();
      const unknown = io(`${BASE}/nope`, { ...options, reconnection: false, forceNew: true });
      const [err] = await within(3000, once(unknown, "connect_error"), "connect_error");
      assert.equal(err.message, "Invalid namespace");
      unknown.close();
    });
  });
}

describe("socket.io-client upgrade", () => {
  it("starts on long-polling and moves to WebSocket without losing a message", async () => {
    const socket = io(BASE, { reconnection: false, forceNew: true });
    await within(3000, once(socket, "auth"), "auth");
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") {
      assert.equal(engine.transport.name, "polling");
      await within(3000, new Promise((resolve) => engine.once("upgrade", resolve)), "upgrade");
    }
    assert.equal(engine.transport.name, "websocket");
    const replies = [];
    const all = new Promise((resolve) =>
      socket.on("message-back", (n) => {
        replies.push(n);
        if (replies.length === 100) resolve();
      }),
    );
    for (let i = 0; i < 100; i++) socket.emit("message", i);
    await within(5000, all, "100 replies");
    assert.deepEqual([...replies].sort((a, b) => a - b), [...Array(100).keys()]);
    socket.disconnect();
  });
});
