// Messages that change (PROTOCOL.md v1.1 §4, §5): revisions, edits, deletes, reactions,
// replies and `sync:changes`, over the stock socket.io-client on both transport settings.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { api, ask, block, collect, dm, group, httpSend, opener, user, within } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = opener(sockets);
const send = async (socket, conversationId, body, extra = {}) => {
  const ack = await ask(socket, "message:send", {
    conversationId,
    clientMessageId: `c-${Math.random().toString(36).slice(2)}`,
    body,
    ...extra,
  });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  return ack.message;
};
const refused = (ack, code) => {
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(ack.error.code, code, JSON.stringify(ack));
};

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`changes, ${label}`, () => {
    it("gives every message the next rev with its seq, in session:ready and Conversations too", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const first = await send(a, conversation, "one");
      const second = await send(a, conversation, "two");
      assert.deepEqual([first.seq, first.rev, second.seq, second.rev], [1, 1, 2, 2]);
      assert.deepEqual(first.reactions, []);
      assert.equal(first.replyTo, null);
      assert.equal(first.deleted, false);
      const b = await open(bob, options);
      assert.deepEqual(b.ready.conversations, [{ conversationId: conversation, lastSeq: 2, lastRev: 2, lastReadSeq: 0 }]);
      const fetched = await api("GET", `/conversations/${conversation}`, bob.token);
      assert.equal(fetched.body.lastRev, 2);
      assert.equal(fetched.body.workspaceId, null);
      assert.equal(fetched.body.visibility, "private");
    });

    it("edits: the sender only, never a tombstone, with message:updated to every socket", async () => {
      const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
      const conversation = await group(alice, [bob]);
      const [a1, a2, b] = [await open(alice, options), await open(alice, options), await open(bob, options)];
      const c = await open(carol, options);
      const message = await send(a1, conversation, "helo");
      const updates = [a1, a2, b].map((s) => collect(s, "message:updated"));
      const ack = await ask(a1, "message:edit", { conversationId: conversation, messageId: message.id, body: "  hello " });
      assert.equal(ack.ok, true);
      assert.equal(ack.message.body, "hello");
      assert.equal(ack.message.rev, message.rev + 1);
      assert.equal(ack.message.seq, message.seq);
      assert.ok(ack.message.editedAt);
      for (const seen of updates) {
        const [update] = await seen.waitFor(1);
        assert.deepEqual(update, ack.message);
      }
      refused(await ask(b, "message:edit", { conversationId: conversation, messageId: message.id, body: "x" }), "forbidden");
      refused(await ask(c, "message:edit", { conversationId: conversation, messageId: message.id, body: "x" }), "not_found");
      refused(await ask(a1, "message:edit", { conversationId: conversation, messageId: "999999999", body: "x" }), "not_found");
      refused(await ask(a1, "message:edit", { conversationId: conversation, messageId: "nope", body: "x" }), "not_found");
      refused(await ask(a1, "message:edit", { conversationId: conversation, messageId: message.id, body: "   " }), "invalid");
      refused(await ask(a1, "message:edit", { conversationId: conversation, messageId: message.id }), "invalid");
      refused(await ask(a1, "message:edit", { conversationId: conversation, messageId: message.id, body: "x".repeat(10001) }), "too_large");
      await ask(a1, "message:delete", { conversationId: conversation, messageId: message.id });
      refused(await ask(a1, "message:edit", { conversationId: conversation, messageId: message.id, body: "back" }), "conflict");
      // Nothing refused took a rev.
      const changes = await ask(b, "sync:changes", { conversationId: conversation, afterRev: 0 });
      assert.equal(changes.lastRev, message.rev + 2);
      for (const seen of updates) {
        const [edit, tombstone] = await seen.waitFor(2);
        assert.deepEqual([edit.rev, tombstone.rev, tombstone.deleted], [message.rev + 1, message.rev + 2, true]);
      }
    });

    it("deletes: tombstones kept in place, for the sender and a group's owner, idempotent", async () => {
      const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
      const conversation = await group(alice, [bob, carol]);
      const [a, b, c] = [await open(alice, options), await open(bob, options), await open(carol, options)];
      const mine = await send(b, conversation, "bob's");
      const theirs = await send(c, conversation, "carol's");
      const reacted = await ask(a, "reaction:add", { conversationId: conversation, messageId: mine.id, emoji: "👍" });
      assert.equal(reacted.ok, true);
      refused(await ask(b, "message:delete", { conversationId: conversation, messageId: theirs.id }), "forbidden");
      const updates = collect(c, "message:updated");
      const gone = await ask(b, "message:delete", { conversationId: conversation, messageId: mine.id });
      assert.equal(gone.ok, true);
      assert.equal(gone.message.deleted, true);
      assert.equal(gone.message.body, "");
      assert.deepEqual(gone.message.reactions, []);
      assert.deepEqual(gone.message.attachments, []);
      assert.equal(gone.message.seq, mine.seq);
      assert.equal(gone.message.editedAt === null, false);
      await updates.waitFor(1);
      const again = await ask(b, "message:delete", { conversationId: conversation, messageId: mine.id });
      assert.deepEqual(again.message, gone.message);
      // The owner may delete anyone's message in a group.
      const byOwner = await ask(a, "message:delete", { conversationId: conversation, messageId: theirs.id });
      assert.equal(byOwner.message.deleted, true);
      const [, second] = await updates.waitFor(2);
      assert.equal(second.id, theirs.id, "a repeated delete emits nothing");
      refused(await ask(a, "reaction:add", { conversationId: conversation, messageId: mine.id, emoji: "👍" }), "conflict");
      const stranger = await open(await user("stranger"), options);
      refused(await ask(stranger, "message:delete", { conversationId: conversation, messageId: theirs.id }), "not_found");
      refused(await ask(a, "message:delete", { conversationId: conversation, messageId: "999999999" }), "not_found");
      refused(await ask(a, "message:delete", { conversationId: conversation }), "invalid");
      refused(await ask(stranger, "reaction:add", { conversationId: conversation, messageId: mine.id, emoji: "👍" }), "not_found");
      refused(await ask(a, "reaction:remove", { conversationId: conversation, messageId: "999999999", emoji: "👍" }), "not_found");
      refused(await ask(a, "reaction:remove", { conversationId: conversation, messageId: theirs.id, emoji: "no" }), "invalid");
      // Seqs stay gapless: history still holds both, in place.
      const history = await ask(a, "sync:request", { conversationId: conversation, afterSeq: 0 });
      assert.deepEqual(history.messages.map((m) => [m.seq, m.deleted]), [[1, true], [2, true]]);
    });

    it("in a DM, only the sender deletes", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await dm(alice, bob);
      const [a, b] = [await open(alice, options), await open(bob, options)];
      const message = await send(a, conversation, "hi");
      refused(await ask(b, "message:delete", { conversationId: conversation, messageId: message.id }), "forbidden");
    });

    it("reactions: one emoji each, idempotent, at most 20 distinct, in the order made", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const [a, b] = [await open(alice, options), await open(bob, options)];
      const message = await send(a, conversation, "react to me");
      const seenByA = collect(a, "reaction:updated");
      const seenByB = collect(b, "reaction:updated");
      const one = await ask(b, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "👍🏽" });
      assert.equal(one.ok, true);
      assert.deepEqual(one.message.reactions, [{ emoji: "👍🏽", userIds: [bob.id] }]);
      const two = await ask(a, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "👨‍👩‍👧" });
      const three = await ask(a, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "👍🏽" });
      assert.deepEqual(three.message.reactions, [
        { emoji: "👍🏽", userIds: [bob.id, alice.id] },
        { emoji: "👨‍👩‍👧", userIds: [alice.id] },
      ]);
      assert.equal(three.message.rev, message.rev + 3);
      const [event] = await seenByA.waitFor(3);
      assert.deepEqual(event, {
        conversationId: conversation,
        messageId: message.id,
        rev: message.rev + 1,
        userId: bob.id,
        emoji: "👍🏽",
        added: true,
        reactions: [{ emoji: "👍🏽", userIds: [bob.id] }],
      });
      // Again: the unchanged message, no event.
      const repeat = await ask(a, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "👍🏽" });
      assert.deepEqual(repeat.message, three.message);
      const removed = await ask(b, "reaction:remove", { conversationId: conversation, messageId: message.id, emoji: "👍🏽" });
      assert.deepEqual(removed.message.reactions[0], { emoji: "👍🏽", userIds: [alice.id] });
      const absent = await ask(b, "reaction:remove", { conversationId: conversation, messageId: message.id, emoji: "👍🏽" });
      assert.deepEqual(absent.message, removed.message);
      const events = await seenByB.waitFor(4);
      assert.deepEqual(events.map((e) => [e.rev, e.added]), [
        [message.rev + 1, true],
        [message.rev + 2, true],
        [message.rev + 3, true],
        [message.rev + 4, false],
      ]);
      for (const emoji of ["", "a", "👍👍", ":+1:", 7]) {
        refused(await ask(a, "reaction:add", { conversationId: conversation, messageId: message.id, emoji }), "invalid");
      }
      const many = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "🥲"];
      // Two people share the work: a change spends the sending rate (burst 20).
      for (const [i, emoji] of many.entries()) {
        const ack = await ask(i % 2 ? a : b, "reaction:add", { conversationId: conversation, messageId: message.id, emoji });
        assert.equal(ack.ok, true, JSON.stringify(ack));
      }
      // 20 distinct now: a 21st is refused, another user's reaction with one of the 20 is not.
      refused(await ask(b, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "🙃" }), "conflict");
      const existing = await ask(b, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "😀" });
      assert.equal(existing.ok, true);
      assert.equal(existing.message.reactions.length, 20);
    });

    it("replies carry replyTo, with an empty excerpt once the original is deleted", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const other = await group(alice, []);
      const [a, b] = [await open(alice, options), await open(bob, options)];
      const original = await send(a, conversation, "x".repeat(300));
      const reply = await send(b, conversation, "answer", { replyToId: original.id });
      assert.deepEqual(reply.replyTo, { id: original.id, seq: original.seq, senderId: alice.id, excerpt: "x".repeat(200) });
      const elsewhere = await ask(a, "message:send", {
        conversationId: other,
        clientMessageId: "elsewhere",
        body: "wrong place",
        replyToId: original.id,
      });
      refused(elsewhere, "not_found");
      refused(await ask(a, "message:send", { conversationId: conversation, clientMessageId: "r2", body: "b", replyToId: "12x" }), "not_found");
      await ask(a, "message:delete", { conversationId: conversation, messageId: original.id });
      const history = await ask(b, "sync:request", { conversationId: conversation, afterSeq: 1 });
      assert.deepEqual(history.messages[0].replyTo, { id: original.id, seq: original.seq, senderId: alice.id, excerpt: "" });
    });

    it("catches up on every change made while offline with sync:changes", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const a = await open(alice, options);
      const [m1, m2, m3] = [await send(a, conversation, "one"), await send(a, conversation, "two"), await send(a, conversation, "three")];
      const b = await open(bob, options);
      const before = b.ready.conversations[0].lastRev;
      b.disconnect();
      await ask(a, "message:edit", { conversationId: conversation, messageId: m1.id, body: "one, edited" });
      await ask(a, "message:delete", { conversationId: conversation, messageId: m2.id });
      await ask(a, "reaction:add", { conversationId: conversation, messageId: m3.id, emoji: "🎉" });
      await ask(a, "message:edit", { conversationId: conversation, messageId: m1.id, body: "one, edited twice" });
      const back = await open(bob, options);
      const lastRev = back.ready.conversations[0].lastRev;
      assert.equal(lastRev, before + 4);
      const changes = await ask(back, "sync:changes", { conversationId: conversation, afterRev: before });
      assert.equal(changes.lastRev, lastRev);
      assert.equal(changes.hasMore, false);
      assert.deepEqual(changes.messages.map((m) => m.id), [m2.id, m3.id, m1.id]);
      assert.deepEqual(changes.messages.map((m) => m.rev), [before + 2, before + 3, before + 4]);
      assert.equal(changes.messages[0].deleted, true);
      assert.deepEqual(changes.messages[1].reactions, [{ emoji: "🎉", userIds: [alice.id] }]);
      assert.equal(changes.messages[2].body, "one, edited twice");
      const paged = await ask(back, "sync:changes", { conversationId: conversation, afterRev: before, limit: 2 });
      assert.equal(paged.hasMore, true);
      assert.equal(paged.messages.length, 2);
      const http = await api("GET", `/conversations/${conversation}/changes?afterRev=${before}`, bob.token);
      assert.equal(http.status, 200);
      assert.deepEqual(http.body, { messages: changes.messages, lastRev, hasMore: false });
      for (const bad of [{ afterRev: -1 }, { afterRev: 0, limit: 501 }, { afterRev: "0" }]) {
        refused(await ask(back, "sync:changes", { conversationId: conversation, ...bad }), "invalid");
      }
      const stranger = await open(await user("stranger"), options);
      refused(await ask(stranger, "sync:changes", { conversationId: conversation, afterRev: 0 }), "not_found");
    });

    it("keeps revs gapless under concurrent changes, each seen once by every socket", async () => {
      const people = [await user("p"), await user("p"), await user("p"), await user("p")];
      const conversation = await group(people[0], people.slice(1));
      const socks = [];
      for (const who of people) socks.push(await open(who, options), await open(who, options));
      const seed = await send(socks[0], conversation, "seed");
      // A sender's own socket hears of its new message as message:sent; every change reaches
      // every other socket as message:new, message:updated or reaction:updated.
      const revsSeen = socks.map((s) => {
        const revs = [];
        s.on("message:new", (m) => revs.push(m.rev));
        s.on("message:sent", ({ message }) => revs.push(message.rev));
        s.on("message:updated", (m) => revs.push(m.rev));
        s.on("reaction:updated", (e) => revs.push(e.rev));
        return revs;
      });
      const emoji = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅"];
      const acks = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const socket = socks[i % socks.length];
          switch (i % 3) {
            case 0:
              return ask(socket, "message:send", { conversationId: conversation, clientMessageId: `k-${i}`, body: `m${i}` });
            case 1:
              return ask(socket, "reaction:add", { conversationId: conversation, messageId: seed.id, emoji: emoji[i % 7] });
            default:
              return ask(socks[0], "message:edit", { conversationId: conversation, messageId: seed.id, body: `edit ${i}` });
          }
        }),
      );
      acks.forEach((ack) => assert.equal(ack.ok, true, JSON.stringify(ack)));
      const expected = Array.from({ length: 20 }, (_, i) => seed.rev + 1 + i);
      const changes = await ask(socks[1], "sync:changes", { conversationId: conversation, afterRev: 0 });
      assert.equal(changes.lastRev, seed.rev + 20);
      await within(
        5000,
        (async () => {
          while (!revsSeen.every((revs) => revs.filter((r) => r > seed.rev).length >= expected.length)) {
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
        "every change on every socket",
      );
      // The seed's own message:new may arrive after the listeners were added.
      for (const revs of revsSeen) assert.deepEqual(revs.filter((r) => r > seed.rev).sort((x, y) => x - y), expected);
    });

    it("the same rules over HTTP, with the same events", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const b = await open(bob, options);
      const updated = collect(b, "message:updated");
      const reactions = collect(b, "reaction:updated");
      const sent = await httpSend(alice, conversation, { clientMessageId: "h1", body: "over http" });
      const id = sent.body.id;
      const reply = await httpSend(bob, conversation, { clientMessageId: "h2", body: "re", replyToId: id });
      assert.equal(reply.status, 201);
      assert.equal(reply.body.replyTo.id, id);
      const edited = await api("PATCH", `/conversations/${conversation}/messages/${id}`, alice.token, { body: "edited" });
      assert.equal(edited.status, 200);
      assert.equal(edited.body.body, "edited");
      const [event] = await updated.waitFor(1);
      assert.deepEqual(event, edited.body);
      assert.equal((await api("PATCH", `/conversations/${conversation}/messages/${id}`, bob.token, { body: "x" })).status, 403);
      const thumbs = encodeURIComponent("👍");
      const put = await api("PUT", `/conversations/${conversation}/messages/${id}/reactions/${thumbs}`, bob.token);
      assert.equal(put.status, 200);
      assert.deepEqual(put.body.reactions, [{ emoji: "👍", userIds: [bob.id] }]);
      await reactions.waitFor(1);
      const bad = await api("PUT", `/conversations/${conversation}/messages/${id}/reactions/abc`, bob.token);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, "invalid");
      const off = await api("DELETE", `/conversations/${conversation}/messages/${id}/reactions/${thumbs}`, bob.token);
      assert.deepEqual(off.body.reactions, []);
      await reactions.waitFor(2);
      const gone = await api("DELETE", `/conversations/${conversation}/messages/${id}`, alice.token);
      assert.equal(gone.status, 200);
      assert.equal(gone.body.deleted, true);
      await updated.waitFor(2);
      const stranger = await user("stranger");
      assert.equal((await api("DELETE", `/conversations/${conversation}/messages/${id}`, stranger.token)).status, 404);
      assert.equal((await api("GET", `/conversations/${conversation}/changes?afterRev=0`, stranger.token)).status, 404);
      assert.equal((await api("GET", `/conversations/${conversation}/changes`, alice.token)).status, 400);
    });

    it("a block in a DM forbids edits and reactions", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await dm(alice, bob);
      const a = await open(alice, options);
      const message = await send(a, conversation, "before the block");
      await block(bob, alice);
      refused(await ask(a, "message:edit", { conversationId: conversation, messageId: message.id, body: "x" }), "forbidden");
      refused(await ask(a, "reaction:add", { conversationId: conversation, messageId: message.id, emoji: "👍" }), "forbidden");
      const own = await ask(a, "message:delete", { conversationId: conversation, messageId: message.id });
      assert.equal(own.ok, true, "deleting one's own message stays allowed");
    });
  });
}
