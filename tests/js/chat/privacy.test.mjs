// Receipt details and privacy settings (PROTOCOL.md v1.1 §6, §7), over the stock
// socket.io-client on both transport settings.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { api, ask, collect, group, httpSend, opener, user } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = opener(sockets);
const settings = (who, body) => api("PATCH", "/me", who.token, { settings: body });
const receipts = (who, conversation, seq) => api("GET", `/conversations/${conversation}/messages/${seq}/receipts`, who.token);

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`privacy, ${label}`, () => {
    it("lists who got and read a message, and when", async () => {
      const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
      const conversation = await group(alice, [bob, carol]);
      for (const n of [1, 2, 3]) await httpSend(alice, conversation, { clientMessageId: `m${n}`, body: `m${n}` });
      const [b, c] = [await open(bob, options), await open(carol, options)];
      const start = Date.now();
      await ask(b, "receipt:delivered", { conversationId: conversation, seq: 3 });
      await ask(b, "receipt:read", { conversationId: conversation, seq: 2 });
      await ask(c, "receipt:delivered", { conversationId: conversation, seq: 1 });
      // Carol answers: her send moves her watermarks past 3.
      const reply = await ask(c, "message:send", { conversationId: conversation, clientMessageId: "r", body: "r" });
      assert.equal(reply.message.seq, 4);

      const two = await receipts(alice, conversation, 2);
      assert.equal(two.status, 200, JSON.stringify(two.body));
      assert.deepEqual(new Set(two.body.delivered.map((r) => r.userId)), new Set([bob.id, carol.id]));
      assert.deepEqual(two.body.read.map((r) => r.userId).sort(), [bob.id, carol.id].sort());
      const carolRead = two.body.read.find((r) => r.userId === carol.id);
      assert.equal(carolRead.at, reply.message.createdAt, "carol read it when she answered");
      for (const r of [...two.body.delivered, ...two.body.read]) {
        assert.ok(Date.parse(r.at) >= start - 1000, JSON.stringify(r));
      }
      const bobDelivered = two.body.delivered.find((r) => r.userId === bob.id);
      const bobRead = two.body.read.find((r) => r.userId === bob.id);
      assert.ok(Date.parse(bobDelivered.at) <= Date.parse(bobRead.at));
      // Message 3: bob has it, has not read it; carol has read it (her own later send).
      const three = await receipts(alice, conversation, 3);
      assert.deepEqual(three.body.read.map((r) => r.userId), [carol.id]);
      // The asker is never listed; the sender of message 4 is carol.
      const four = await receipts(carol, conversation, 4);
      assert.deepEqual(four.body, { delivered: [], read: [] });
      // Moving a watermark again does not change when it first got there.
      await ask(b, "receipt:read", { conversationId: conversation, seq: 3 });
      const again = await receipts(alice, conversation, 2);
      assert.equal(again.body.read.find((r) => r.userId === bob.id).at, bobRead.at);
      for (const seq of ["0", "5", "x", "-1"]) {
        assert.equal((await receipts(alice, conversation, seq)).status, 404, seq);
      }
      assert.equal((await receipts(await user("stranger"), conversation, 1)).status, 404);
    });

    it("hidden receipts still move watermarks but reach no one and are not listed", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      await httpSend(alice, conversation, { clientMessageId: "m1", body: "m1" });
      const me = await settings(bob, { readReceipts: false });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.deepEqual(me.body.settings, { readReceipts: false, presence: true, dmFromContactsOnly: false });
      assert.deepEqual((await api("GET", "/me", bob.token)).body.settings, { readReceipts: false, presence: true, dmFromContactsOnly: false });
      const [a, b] = [await open(alice, options), await open(bob, options)];
      const heard = collect(a, "receipt:updated");
      const ack = await ask(b, "receipt:read", { conversationId: conversation, seq: 1 });
      assert.deepEqual([ack.lastDeliveredSeq, ack.lastReadSeq], [1, 1]);
      assert.deepEqual((await receipts(alice, conversation, 1)).body, { delivered: [], read: [] });
      // Turned back on: the next receipt is heard, and listed.
      await settings(bob, { readReceipts: true });
      await httpSend(alice, conversation, { clientMessageId: "m2", body: "m2" });
      await ask(b, "receipt:read", { conversationId: conversation, seq: 2 });
      const [update] = await heard.waitFor(1);
      assert.deepEqual(update, { conversationId: conversation, userId: bob.id, lastDeliveredSeq: 2, lastReadSeq: 2 });
      assert.equal(heard.length, 1, "the hidden receipt was never relayed");
      assert.deepEqual((await receipts(alice, conversation, 1)).body.read.map((r) => r.userId), [bob.id]);
      for (const bad of [{ readReceipts: "no" }, { presence: 1 }, { unknown: true }]) {
        const res = await settings(bob, bad);
        assert.equal(res.status, 400, JSON.stringify(bad));
        assert.equal(res.body.error.code, "invalid");
      }
    });

    it("hidden presence reads as offline with no last-seen time and sends no presence:update", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const updates = collect(a, "presence:update");
      const b = await open(bob, options);
      await updates.waitFor(1, "bob online");
      assert.deepEqual(updates[0], { userId: bob.id, online: true, lastSeenAt: null });

      // Alice's socket asks, and remembers what it read.
      const before = await ask(a, "presence:query", { userIds: [bob.id] });
      assert.deepEqual(before.presence, [{ userId: bob.id, online: true, lastSeenAt: null }]);
      // Hiding while online: alice hears bob go offline, with no last-seen time.
      await settings(bob, { presence: false });
      await updates.waitFor(2, "bob hidden");
      assert.deepEqual(updates[1], { userId: bob.id, online: false, lastSeenAt: null });
      // Asked again at once, on the same socket and on a fresh one: offline, never seen.
      const a2 = await open(alice, options);
      for (const socket of [a, a2]) {
        const query = await ask(socket, "presence:query", { userIds: [bob.id] });
        assert.deepEqual(query.presence, [{ userId: bob.id, online: false, lastSeenAt: null }]);
      }
      // Bob's comings and goings send nothing while hidden.
      const b2 = await open(bob, options);
      b2.disconnect();
      b.disconnect();
      // Shown again: the next connection announces bob.
      await settings(bob, { presence: true });
      const back = await open(bob, options);
      await updates.waitFor(3, "bob back");
      assert.deepEqual(updates[2], { userId: bob.id, online: true, lastSeenAt: null });
      back.disconnect();
    });
  });
}
