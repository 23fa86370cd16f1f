// Users on two nodes (CONFAB_URL and CONFAB_URL_B) that share PostgreSQL and Redis.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { api, collect, group, httpSend, once, until, user, within } from "../chat/api.mjs";

const A = process.env.CONFAB_URL;
const B = process.env.CONFAB_URL_B;
const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

async function on(node, who, options = {}) {
  const socket = io(node, { reconnection: false, forceNew: true, ...options, auth: { token: who.token } });
  socket.ready = await within(5000, once(socket, "session:ready"), `session:ready on ${node}`);
  sockets.push(socket);
  return socket;
}

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`two nodes, ${label}`, () => {
    it("deliver messages both ways, typing, receipts and presence", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await on(A, alice, options);
      const bobOnline = new Promise((resolve) => a.on("presence:update", (p) => p.userId === bob.id && resolve(p)));
      const b = await on(B, bob, options);
      assert.deepEqual(await within(5000, bobOnline, "bob online, seen from the other node"), {
        userId: bob.id,
        online: true,
        lastSeenAt: null,
      });

      const toBob = collect(b, "message:new");
      const ack = await a.emitWithAck("message:send", { conversationId: conversation, clientMessageId: "x-1", body: "across" });
      assert.equal(ack.ok, true);
      await toBob.waitFor(1, "message:new on the other node");
      assert.deepEqual(toBob[0], ack.message);

      const toAlice = collect(a, "message:new");
      const reply = await b.emitWithAck("message:send", { conversationId: conversation, clientMessageId: "x-2", body: "back" });
      await toAlice.waitFor(1);
      assert.deepEqual(toAlice[0], reply.message);
      assert.equal(reply.message.seq, 2);

      // Edits and reactions cross the bridge like new messages.
      const edits = collect(b, "message:updated");
      const edit = await a.emitWithAck("message:edit", { conversationId: conversation, messageId: ack.message.id, body: "across, edited" });
      assert.equal(edit.ok, true, JSON.stringify(edit));
      await edits.waitFor(1, "message:updated on the other node");
      assert.deepEqual(edits[0], edit.message);
      const reactions = collect(a, "reaction:updated");
      const reacted = await b.emitWithAck("reaction:add", { conversationId: conversation, messageId: ack.message.id, emoji: "👍" });
      assert.equal(reacted.ok, true, JSON.stringify(reacted));
      await reactions.waitFor(1, "reaction:updated on the other node");
      assert.equal(reactions[0].rev, reacted.message.rev);
      assert.deepEqual(reactions[0].reactions, [{ emoji: "👍", userIds: [bob.id] }]);

      const typing = once(b, "typing:start");
      a.emit("typing:start", { conversationId: conversation });
      assert.deepEqual(await within(5000, typing, "typing:start across nodes"), { conversationId: conversation, userId: alice.id });

      const receipt = once(a, "receipt:updated");
      await b.emitWithAck("receipt:read", { conversationId: conversation, seq: 2 });
      assert.deepEqual(await within(5000, receipt, "receipt:updated across nodes"), {
        conversationId: conversation,
        userId: bob.id,
        lastDeliveredSeq: 2,
        lastReadSeq: 2,
      });

      const viaHttp = collect(b, "message:new");
      const res = await httpSend(alice, conversation, { clientMessageId: "x-3", body: "over http on A" });
      await viaHttp.waitFor(1);
      assert.deepEqual(viaHttp[0], res.body);
    });

    it("tells a user on the other node about a new conversation, then delivers in it", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const b = await on(B, bob, options);
      const added = once(b, "conversation:added");
      // Created through node A's HTTP API.
      const conversation = await group(alice, [bob]);
      const event = await within(5000, added, "conversation:added across nodes");
      assert.equal(event.conversation.id, conversation);
      const news = collect(b, "message:new");
      const a = await on(A, alice, options);
      const ack = await a.emitWithAck("message:send", { conversationId: conversation, clientMessageId: "n-1", body: "hello" });
      await news.waitFor(1, "message:new in the new conversation");
      assert.deepEqual(news[0], ack.message);

      const removed = once(b, "conversation:removed");
      const res = await fetch(`${A}/api/conversations/${conversation}/members/${bob.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${alice.token}` },
      });
      assert.equal(res.status, 204);
      assert.deepEqual(await within(5000, removed, "conversation:removed across nodes"), { conversationId: conversation });
    });

    it("privacy settings changed on one node hold on the other", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await on(A, alice, options);
      const updates = collect(a, "presence:update");
      const b = await on(B, bob, options);
      await updates.waitFor(1, "bob online across nodes");
      const patch = (body) =>
        fetch(`${A}/api/me`, {
          method: "PATCH",
          headers: { "content-type": "application/json", authorization: `Bearer ${bob.token}` },
          body: JSON.stringify({ settings: body }),
        });
      // Presence off through node A: bob's node B tells alice he went offline, unseen.
      assert.equal((await patch({ presence: false })).status, 200);
      await updates.waitFor(2, "bob hidden across nodes");
      assert.deepEqual(updates[1], { userId: bob.id, online: false, lastSeenAt: null });
      const fresh = await on(A, alice, options);
      const query = await fresh.emitWithAck("presence:query", { userIds: [bob.id] });
      assert.deepEqual(query.presence, [{ userId: bob.id, online: false, lastSeenAt: null }]);
      // Receipts off through node A: bob's receipt on node B reaches no one.
      assert.equal((await patch({ readReceipts: false, presence: true })).status, 200);
      await updates.waitFor(3, "bob shown again across nodes");
      assert.deepEqual(updates[2], { userId: bob.id, online: true, lastSeenAt: null });
      const receipts = collect(a, "receipt:updated");
      await httpSend(alice, conversation, { clientMessageId: "p1", body: "p1" });
      await b.emitWithAck("receipt:read", { conversationId: conversation, seq: 1 });
      assert.equal((await patch({ readReceipts: true })).status, 200);
      await httpSend(alice, conversation, { clientMessageId: "p2", body: "p2" });
      await b.emitWithAck("receipt:read", { conversationId: conversation, seq: 2 });
      const [heard] = await receipts.waitFor(1, "the receipt once shown again");
      assert.equal(heard.lastReadSeq, 2, "the hidden receipt never crossed");
    });

    it("a group deleted on one node is gone for its members on the other", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const b = await on(B, bob, options);
      const removed = once(b, "conversation:removed");
      const res = await fetch(`${A}/api/conversations/${conversation}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${alice.token}` },
      });
      assert.equal(res.status, 204);
      assert.deepEqual(await within(5000, removed, "conversation:removed across nodes"), { conversationId: conversation });
      const send = await b.emitWithAck("message:send", { conversationId: conversation, clientMessageId: "gone", body: "x" });
      assert.equal(send.error.code, "not_found");
    });
  });
}

/** The value of `confab_presence_transitions_total{transition}` on `node`. */
async function transitions(node, transition) {
  const text = await (await fetch(`${node}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`confab_presence_transitions_total{transition="${transition}"}`));
  return Number(line?.split(" ")[1] ?? 0);
}


describe("presence across nodes", () => {
  it("is online while any node has the user, and offline once no node has them", async () => {
    const websocket = { transports: ["websocket"] };
    const [alice, bob] = [await user("alice"), await user("bob")];
    await group(alice, [bob]);
    const a = await on(A, alice, websocket);
    const query = async () => (await a.emitWithAck("presence:query", { userIds: [bob.id] })).presence[0];
    const bobOnB = await on(B, bob, websocket);
    // Node A has no socket of bob's: only the cluster's presence can say he is online.
    assert.deepEqual(await query(), { userId: bob.id, online: true, lastSeenAt: null });

    const bobOnA = await on(A, bob, websocket);
    const offline = [];
    const wentOffline = new Promise((resolve) =>
      a.on("presence:update", (u) => {
        if (u.userId === bob.id && !u.online) resolve(offline.push(u));
      }),
    );
    const keptBefore = await transitions(B, "still_elsewhere");
    bobOnB.disconnect();
    // Node B's grace period ends with bob still on node A: nothing is announced.
    await until(15000, async () => (await transitions(B, "still_elsewhere")) > keptBefore, "node B to keep bob online");
    assert.deepEqual(await query(), { userId: bob.id, online: true, lastSeenAt: null });

    bobOnA.disconnect();
    await within(15000, wentOffline, "bob offline");
    assert.equal(offline.length, 1, JSON.stringify(offline));
    assert.match(offline[0].lastSeenAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(await query(), offline[0]);
  });
});

describe("membership and contacts across nodes", () => {
  it("an invite accepted on node A brings conversation:added and then messages to the new member on node B", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const conversation = await group(alice, []);
    const invite = await api("POST", `/conversations/${conversation}/invites`, alice.token, {}, A);
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    const a = await on(A, alice);
    const b = await on(B, bob);
    const added = once(b, "conversation:added");
    const accepted = await api("POST", `/invites/${invite.body.code}/accept`, bob.token, undefined, A);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.equal((await within(5000, added, "conversation:added on node B")).conversation.id, conversation);
    const toBob = collect(b, "message:new");
    const sent = await a.emitWithAck("message:send", { conversationId: conversation, clientMessageId: "inv-1", body: "hello, newcomer" });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    await toBob.waitFor(1, "message:new on node B");
    assert.deepEqual(toBob[0], sent.message);
  });

  it("a contact request made on node A reaches the recipient on node B", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const b = await on(B, bob, { transports: ["websocket"] });
    const requested = once(b, "contact:request");
    const request = await api("POST", "/contacts/requests", alice.token, { userId: bob.id }, A);
    assert.equal(request.status, 201, JSON.stringify(request.body));
    assert.deepEqual(await within(5000, requested, "contact:request on node B"), request.body);
  });
});
