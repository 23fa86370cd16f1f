// Typing, receipts, presence and live membership changes over the stock socket.io-client.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { collect, connect, group, httpSend, once, user, within, BASE } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = async (who, options = {}) => {
  const socket = await connect(who, options);
  sockets.push(socket);
  return socket;
};

const api = async (method, path, token, body) => {
  const res = await fetch(`${BASE}/api${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};

describe("typing", () => {
  it("reaches the other members, stops on request and stops by itself after 6 s", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const conversation = await group(alice, [bob]);
    const a = await open(alice);
    const b = await open(bob, { transports: ["websocket"] });
    const ownTyping = collect(a, "typing:start");
    const started = once(b, "typing:start");
    assert.deepEqual(await a.emitWithAck("typing:start", { conversationId: conversation }), { ok: true });
    assert.deepEqual(await within(3000, started, "typing:start"), { conversationId: conversation, userId: alice.id });
    const stopped = once(b, "typing:stop");
    a.emit("typing:stop", { conversationId: conversation });
    assert.deepEqual(await within(3000, stopped, "typing:stop"), { conversationId: conversation, userId: alice.id });

    a.emit("typing:start", { conversationId: conversation });
    await within(3000, once(b, "typing:start"), "typing:start again");
    const since = Date.now();
    await within(9000, once(b, "typing:stop"), "the automatic typing:stop");
    assert.ok(Date.now() - since >= 5000, `stopped after ${Date.now() - since} ms`);
    assert.equal(ownTyping.length, 0, "the typing socket is not told its own typing");
  });

  it("is not_found outside the user's conversations", async () => {
    const [alice, eve] = [await user("alice"), await user("eve")];
    const conversation = await group(alice, []);
    const e = await open(eve);
    const ack = await e.emitWithAck("typing:start", { conversationId: conversation });
    assert.equal(ack.error.code, "not_found");
  });
});

describe("receipts", () => {
  it("move watermarks forward only, tell the members and persist", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const conversation = await group(alice, [bob]);
    for (const n of [1, 2, 3]) await httpSend(alice, conversation, { clientMessageId: `m${n}`, body: `m${n}` });
    const a = await open(alice);
    const b = await open(bob);
    const updates = collect(a, "receipt:updated");
    assert.deepEqual(await b.emitWithAck("receipt:delivered", { conversationId: conversation, seq: 1 }), {
      ok: true,
      lastDeliveredSeq: 1,
      lastReadSeq: 0,
    });
    await updates.waitFor(1);
    assert.deepEqual(updates[0], { conversationId: conversation, userId: bob.id, lastDeliveredSeq: 1, lastReadSeq: 0 });
    assert.deepEqual(await b.emitWithAck("receipt:read", { conversationId: conversation, seq: 2 }), {
      ok: true,
      lastDeliveredSeq: 2,
      lastReadSeq: 2,
    });
    // Never backwards, never past the last message.
    const back = await b.emitWithAck("receipt:read", { conversationId: conversation, seq: 1 });
    assert.deepEqual([back.lastDeliveredSeq, back.lastReadSeq], [2, 2]);
    const ahead = await b.emitWithAck("receipt:delivered", { conversationId: conversation, seq: 99 });
    assert.deepEqual([ahead.lastDeliveredSeq, ahead.lastReadSeq], [3, 2]);
    const stored = await api("GET", `/conversations/${conversation}`, bob.token);
    const mine = stored.body.members.find((m) => m.userId === bob.id);
    assert.deepEqual([mine.lastDeliveredSeq, mine.lastReadSeq], [3, 2]);
    for (const bad of [{ conversationId: conversation, seq: -1 }, { conversationId: conversation }, { seq: 1 }]) {
      assert.equal((await b.emitWithAck("receipt:read", bad)).error.code, "invalid");
    }
    const eve = await user("eve");
    const e = await open(eve);
    assert.equal((await e.emitWithAck("receipt:read", { conversationId: conversation, seq: 1 })).error.code, "not_found");
  });
});

describe("presence", () => {
  it("announces online and, 5 s after the last socket leaves, offline with lastSeenAt", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const conversation = await group(alice, [bob]);
    const a = await open(alice);
    const updates = collect(a, "presence:update");
    let b1 = await open(bob);
    const b2 = await open(bob);
    await updates.waitFor(1);
    assert.deepEqual(updates[0], { userId: bob.id, online: true, lastSeenAt: null });
    const query = await a.emitWithAck("presence:query", { userIds: [bob.id, alice.id] });
    assert.deepEqual(query.presence.map((p) => [p.userId, p.online]), [[bob.id, true], [alice.id, true]]);
    // One of two tabs leaving changes nothing; the last one starts the grace period.
    b1.disconnect();
    const since = Date.now();
    b2.disconnect();
    await updates.waitFor(2, "presence:update offline", 9000);
    assert.ok(Date.now() - since >= 4000, `offline after ${Date.now() - since} ms`);
    assert.equal(updates.length, 2, "no update for the first tab leaving");
    assert.equal(updates[1].userId, bob.id);
    assert.equal(updates[1].online, false);
    assert.match(updates[1].lastSeenAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const after = await a.emitWithAck("presence:query", { userIds: [bob.id] });
    assert.equal(after.presence[0].online, false);
    assert.equal(typeof after.presence[0].lastSeenAt, "string");
    void conversation;
  });

  it("refuses bad queries", async () => {
    const alice = await user("alice");
    const a = await open(alice);
    const many = Array.from({ length: 201 }, () => alice.id);
    assert.equal((await a.emitWithAck("presence:query", { userIds: many })).error.code, "invalid");
    assert.equal((await a.emitWithAck("presence:query", { userIds: ["nope"] })).error.code, "invalid");
    assert.equal((await a.emitWithAck("presence:query", { userIds: "nope" })).error.code, "invalid");
  });
});

describe("membership changes", () => {
  for (const [label, options] of [
    ["default transports", {}],
    ["websocket only", { transports: ["websocket"] }],
  ]) {
    it(`reach live sockets, and subscriptions follow (${label})`, async () => {
      const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
      const other = await group(carol, [bob]);
      const b = await open(bob, options);
      const news = collect(b, "message:new");
      const added = once(b, "conversation:added");
      const conversation = await group(alice, [bob]);
      const event = await within(5000, added, "conversation:added");
      assert.equal(event.conversation.id, conversation);
      assert.equal(event.conversation.kind, "group");
      assert.equal(event.conversation.members.length, 2);
      await httpSend(alice, conversation, { clientMessageId: "in-new", body: "welcome" });
      await news.waitFor(1);
      assert.equal(news[0].conversationId, conversation);

      const removed = once(b, "conversation:removed");
      assert.equal((await api("DELETE", `/conversations/${conversation}/members/${bob.id}`, alice.token)).status, 204);
      assert.deepEqual(await within(5000, removed, "conversation:removed"), { conversationId: conversation });
      await httpSend(alice, conversation, { clientMessageId: "after-removal", body: "not for bob" });
      await httpSend(carol, other, { clientMessageId: "marker", body: "for bob" });
      await news.waitFor(2);
      assert.equal(news[1].body, "for bob", "the removed conversation's message never arrived");

      const addedAgain = once(b, "conversation:added");
      await api("POST", `/conversations/${conversation}/members`, alice.token, { userIds: [bob.id] });
      assert.equal((await within(5000, addedAgain, "conversation:added again")).conversation.id, conversation);
    });
  }
});
