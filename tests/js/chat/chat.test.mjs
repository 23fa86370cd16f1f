// The chat contract over the stock socket.io-client, over both transport settings.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { BASE, block, collect, connect, dm, group, httpSend, once, until, user, within } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = async (who, options) => {
  const socket = await connect(who, options);
  sockets.push(socket);
  return socket;
};

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`chat, ${label}`, () => {
    it("refuses a connection without a valid token", async () => {
      for (const auth of [{}, { token: "garbage" }, { token: 42 }]) {
        const socket = io(BASE, { ...options, reconnection: false, forceNew: true, auth });
        const err = await within(5000, once(socket, "connect_error"), "connect_error");
        assert.equal(err.message, "unauthorized");
        assert.deepEqual(err.data, { code: "unauthorized" });
        socket.close();
      }
    });

    it("says token_expired for an expired token", async () => {
      const token = process.env.CONFAB_EXPIRED_TOKEN;
      assert.ok(token, "the harness passes an expired token");
      const socket = io(BASE, { ...options, reconnection: false, forceNew: true, auth: { token } });
      const err = await within(5000, once(socket, "connect_error"), "connect_error");
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { code: "token_expired" });
      socket.close();
    });

    it("accepts the token as a query parameter too", async () => {
      const alice = await user("alice");
      const socket = io(BASE, { ...options, reconnection: false, forceNew: true, query: { token: alice.token } });
      const ready = await within(5000, once(socket, "session:ready"), "session:ready");
      assert.equal(ready.userId, alice.id);
      socket.disconnect();
    });

    it("says session:ready with the user's conversations", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      const conversation = await group(alice, [bob]);
      await httpSend(bob, conversation, { clientMessageId: "m1", body: "hi" });
      const socket = await open(alice, options);
      assert.equal(socket.ready.userId, alice.id);
      assert.equal(socket.ready.sessionId, socket.id);
      assert.deepEqual(socket.ready.conversations, [{ conversationId: conversation, lastSeq: 1, lastRev: 1, lastReadSeq: 0 }]);
    });

    it("delivers a send to every other socket of every member, committed first", async () => {
      const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
      const conversation = await group(alice, [bob, carol]);
      const tabs = {};
      for (const [name, who] of [["alice", alice], ["bob", bob], ["carol", carol]]) {
        tabs[name] = [await open(who, options), await open(who, options)];
      }
      const received = Object.fromEntries(
        Object.entries(tabs).map(([name, pair]) => [name, pair.map((s) => collect(s, "message:new"))]),
      );
      const sent = collect(tabs.alice[0], "message:sent");
      const ack = await within(
        5000,
        tabs.alice[0].emitWithAck("message:send", { conversationId: conversation, clientMessageId: "c-1", body: "hello" }),
        "ack",
      );
      assert.equal(ack.ok, true);
      assert.equal(ack.message.seq, 1);
      assert.equal(ack.message.body, "hello");
      assert.equal(ack.message.senderId, alice.id);
      assert.equal(ack.message.conversationId, conversation);
      await sent.waitFor(1);
      assert.deepEqual(sent[0], { clientMessageId: "c-1", message: ack.message });
      // Everyone else, the sender's other tab included, gets message:new once.
      for (const [name, index] of [["alice", 1], ["bob", 0], ["bob", 1], ["carol", 0], ["carol", 1]]) {
        const seen = await received[name][index].waitFor(1, `message:new on ${name}[${index}]`);
        assert.deepEqual(seen[0], ack.message);
      }
      // Committed: it is in the history.
      const history = await tabs.bob[0].emitWithAck("sync:request", { conversationId: conversation, afterSeq: 0 });
      assert.deepEqual(history, { ok: true, messages: [ack.message], hasMore: false });
      // The sending tab got the ack and message:sent, not message:new.
      const marker = await tabs.bob[0].emitWithAck("message:send", { conversationId: conversation, clientMessageId: "b-1", body: "next" });
      await received.alice[0].waitFor(1);
      assert.equal(received.alice[0][0].id, marker.message.id);
    });

    it("acks before message:sent, as the contract orders them", async () => {
      const alice = await user("alice");
      const conversation = await group(alice, [await user("bob")]);
      const socket = await open(alice, options);
      const order = [];
      socket.on("message:sent", () => order.push("message:sent"));
      // A callback ack runs as its packet is read (a promise would resolve a tick later).
      const acked = new Promise((resolve) =>
        socket.emit("message:send", { conversationId: conversation, clientMessageId: "o-1", body: "first" }, (ack) => {
          order.push("ack");
          resolve(ack);
        }),
      );
      assert.equal((await within(5000, acked, "ack")).ok, true);
      await until(5000, () => order.length === 2, "message:sent");
      assert.deepEqual(order, ["ack", "message:sent"]);
    });

    it("answers a retry with the first message and no second message:new", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const b = await open(bob, options);
      const news = collect(b, "message:new");
      const send = { conversationId: conversation, clientMessageId: "same", body: "once" };
      const first = await a.emitWithAck("message:send", send);
      const again = await a.emitWithAck("message:send", send);
      assert.deepEqual(again, first);
      const next = await a.emitWithAck("message:send", { ...send, clientMessageId: "other" });
      await news.waitFor(2);
      assert.deepEqual(news.map((m) => m.seq), [1, 2]);
      assert.equal(next.message.seq, 2);
    });

    it("gives 100 concurrent sends seqs with no gap, and delivers them all", async () => {
      const members = [];
      for (let i = 0; i < 5; i++) members.push(await user("sender"));
      const reader = await user("reader");
      const conversation = await group(members[0], [...members.slice(1), reader]);
      const senders = await Promise.all(members.map((m) => open(m, options)));
      const r = await open(reader, options);
      const news = collect(r, "message:new");
      const acks = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          senders[i % 5].emitWithAck("message:send", { conversationId: conversation, clientMessageId: `c-${i}`, body: `m${i}` }),
        ),
      );
      assert.ok(acks.every((a) => a.ok), JSON.stringify(acks.find((a) => !a.ok)));
      assert.deepEqual(acks.map((a) => a.message.seq).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1));
      await news.waitFor(100);
      assert.deepEqual(news.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1));
    });

    it("catches up with sync:request after reconnecting", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      let b = await open(bob, options);
      await a.emitWithAck("message:send", { conversationId: conversation, clientMessageId: "1", body: "one" });
      b.disconnect();
      for (const n of [2, 3, 4]) {
        await a.emitWithAck("message:send", { conversationId: conversation, clientMessageId: `${n}`, body: `m${n}` });
      }
      b = await open(bob, options);
      const known = b.ready.conversations.find((c) => c.conversationId === conversation);
      assert.equal(known.lastSeq, 4);
      const page = await b.emitWithAck("sync:request", { conversationId: conversation, afterSeq: 1, limit: 2 });
      assert.deepEqual(page.messages.map((m) => m.seq), [2, 3]);
      assert.equal(page.hasMore, true);
      const rest = await b.emitWithAck("sync:request", { conversationId: conversation, afterSeq: 3 });
      assert.deepEqual(rest.messages.map((m) => m.body), ["m4"]);
      assert.equal(rest.hasMore, false);
    });

    it("answers bad requests with the contract's error codes and stores nothing", async () => {
      const [alice, bob, eve] = [await user("alice"), await user("bob"), await user("eve")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const e = await open(eve, options);
      const err = async (socket, event, payload) => (await socket.emitWithAck(event, payload)).error.code;
      const send = (extra) => ({ conversationId: conversation, clientMessageId: "x", body: "b", ...extra });
      assert.equal(await err(a, "message:send", "not an object"), "invalid");
      assert.equal(await err(a, "message:send", { conversationId: conversation }), "invalid");
      assert.equal(await err(a, "message:send", send({ body: 5 })), "invalid");
      assert.equal(await err(a, "message:send", send({ body: "   " })), "invalid");
      assert.equal(await err(a, "message:send", send({ clientMessageId: "" })), "invalid");
      assert.equal(await err(a, "no:such:event", {}), "invalid");
      assert.equal(await err(a, "message:send", send({ body: "x".repeat(10_001) })), "too_large");
      assert.equal(await err(e, "message:send", send({})), "not_found");
      assert.equal(await err(a, "message:send", send({ conversationId: "not-a-uuid" })), "not_found");
      assert.equal(await err(e, "sync:request", { conversationId: conversation, afterSeq: 0 }), "not_found");
      assert.equal(await err(a, "sync:request", { conversationId: conversation, afterSeq: -1 }), "invalid");
      assert.equal(await err(a, "sync:request", { conversationId: conversation, afterSeq: 0, limit: 101 }), "invalid");
      const direct = await dm(alice, bob);
      await block(bob, alice);
      assert.equal(await err(a, "message:send", { conversationId: direct, clientMessageId: "d", body: "hi" }), "forbidden");
      await a.emitWithAck("message:send", send({ clientMessageId: "taken" }));
      // Bob's block keeps Alice from adding him to groups: another group of hers alone.
      const other = await group(alice, []);
      assert.equal(await err(a, "message:send", { conversationId: other, clientMessageId: "taken", body: "b" }), "conflict");
      const history = await a.emitWithAck("sync:request", { conversationId: conversation, afterSeq: 0 });
      assert.deepEqual(history.messages.map((m) => m.clientMessageId), ["taken"]);
      // Errors carry a message, and the connection is still fine.
      const full = await a.emitWithAck("message:send", "nope");
      assert.equal(full.ok, false);
      assert.ok(full.error.message.length > 0);
      assert.ok(a.connected);
    });

    it("limits a user to bursts of 20 sends, with retryAfterMs", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const acks = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          a.emitWithAck("message:send", { conversationId: conversation, clientMessageId: `r-${i}`, body: "spam" }),
        ),
      );
      const limited = acks.filter((ack) => !ack.ok);
      assert.ok(limited.length >= 4, `${limited.length} limited`);
      assert.ok(limited.every((ack) => ack.error.code === "rate_limited" && ack.error.retryAfterMs > 0));
      const stored = await a.emitWithAck("sync:request", { conversationId: conversation, afterSeq: 0 });
      assert.equal(stored.messages.length, acks.filter((ack) => ack.ok).length);
    });

    it("emits request:error when a failing request had no ack", async () => {
      const alice = await user("alice");
      const a = await open(alice, options);
      const error = once(a, "request:error");
      a.emit("message:send", { conversationId: "x" });
      assert.deepEqual(Object.keys(await within(5000, error, "request:error")).sort(), ["code", "event", "message"]);
      const unknown = once(a, "request:error");
      a.emit("what:ever", {});
      const payload = await within(5000, unknown, "request:error");
      assert.equal(payload.event, "what:ever");
      assert.equal(payload.code, "invalid");
    });

    it("delivers messages sent over HTTP to every socket", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const b = await open(bob, options);
      const [toAlice, toBob] = [collect(a, "message:new"), collect(b, "message:new")];
      const res = await httpSend(alice, conversation, { clientMessageId: "http-1", body: "over http" });
      assert.equal(res.status, 201);
      for (const seen of [toAlice, toBob]) {
        await seen.waitFor(1);
        assert.deepEqual(seen[0], res.body);
      }
    });
  });
}

describe("a garbage frame", () => {
  it("closes that connection and leaves the others untouched", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const conversation = await group(alice, [bob]);
    const b = await open(bob, {});
    const news = collect(b, "message:new");
    const raw = new WebSocket(`${BASE.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
    const closed = new Promise((resolve) => raw.on("close", resolve));
    raw.on("message", (data) => {
      if (data.toString().startsWith("0")) raw.send(`40{"token":"${alice.token}"}`);
      else if (data.toString().startsWith("42[\"session:ready\"")) raw.send("4garbage{]");
    });
    await within(5000, closed, "the garbage sender to be closed");
    await httpSend(alice, conversation, { clientMessageId: "after", body: "still delivered" });
    await news.waitFor(1);
    assert.equal(news[0].body, "still delivered");
    assert.ok(b.connected);
  });
});
