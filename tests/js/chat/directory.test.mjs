// Invites, workspaces, channels and contacts, seen live over the stock socket.io-client.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { api, collect, dm, once, opener, user, within } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = opener(sockets);

let slugs = 0;
async function workspace(owner, members) {
  const slug = `ws-${Math.random().toString(36).slice(2, 8)}-${++slugs}`;
  const res = await api("POST", "/workspaces", owner.token, { name: "Acme", slug });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  if (members.length) {
    const added = await api("POST", `/workspaces/${res.body.id}/members`, owner.token, { userIds: members.map((m) => m.id) });
    assert.equal(added.status, 200, JSON.stringify(added.body));
  }
  return res.body.id;
}

async function channel(owner, space, title, visibility = "public") {
  const res = await api("POST", "/conversations", owner.token, { kind: "group", title, memberIds: [], workspaceId: space, visibility });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.workspaceId, space);
  assert.equal(res.body.visibility, visibility);
  return res.body.id;
}

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`channels, ${label}`, () => {
    it("a member who joins a public channel hears conversation:added and then its messages", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const space = await workspace(alice, [bob]);
      const general = await channel(alice, space, "general");
      const a = await open(alice, options);
      const b = await open(bob, options);
      const updated = once(a, "conversation:updated");
      const added = once(b, "conversation:added");
      const joined = await api("POST", `/conversations/${general}/join`, bob.token);
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      assert.equal((await within(5000, added, "conversation:added")).conversation.id, general);
      assert.equal((await within(5000, updated, "conversation:updated to the other member")).conversationId, general);

      const toBob = collect(b, "message:new");
      const sent = await a.emitWithAck("message:send", { conversationId: general, clientMessageId: "c-1", body: "welcome" });
      assert.equal(sent.ok, true, JSON.stringify(sent));
      await toBob.waitFor(1, "message:new in the joined channel");
      assert.deepEqual(toBob[0], sent.message);
    });
  });
}

describe("workspaces", () => {
  it("leaving a workspace removes its channels from the member, live", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const space = await workspace(alice, [bob]);
    const general = await channel(alice, space, "general");
    const secret = await channel(alice, space, "secret", "private");
    assert.equal((await api("POST", `/conversations/${general}/join`, bob.token)).status, 200);
    assert.equal((await api("POST", `/conversations/${secret}/members`, alice.token, { userIds: [bob.id] })).status, 200);
    const b = await open(bob);
    const removed = collect(b, "conversation:removed");
    const left = await api("DELETE", `/workspaces/${space}/members/${bob.id}`, bob.token);
    assert.equal(left.status, 204);
    await removed.waitFor(2, "conversation:removed for both channels");
    assert.deepEqual(removed.map((r) => r.conversationId).sort(), [general, secret].sort());
    // The channels and the workspace are gone for bob.
    assert.equal((await api("GET", `/conversations/${general}`, bob.token)).status, 404);
    assert.equal((await api("GET", `/workspaces/${space}`, bob.token)).status, 404);
    const ack = await b.emitWithAck("message:send", { conversationId: general, clientMessageId: "late", body: "hi" });
    assert.equal(ack.error.code, "not_found");
  });
});

describe("invites", () => {
  it("accepting a link adds the user live and counts one use", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const conversationId = (await api("POST", "/conversations", alice.token, { kind: "group", title: "book club", memberIds: [] })).body.id;
    const invite = await api("POST", `/conversations/${conversationId}/invites`, alice.token, { maxUses: 2 });
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    const b = await open(bob, { transports: ["websocket"] });
    const added = once(b, "conversation:added");
    const accepted = await api("POST", `/invites/${invite.body.code}/accept`, bob.token);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.equal((await within(5000, added, "conversation:added")).conversation.id, conversationId);
    const listed = await api("GET", `/conversations/${conversationId}/invites`, alice.token);
    assert.equal(listed.body.invites[0].uses, 1);
  });
});

describe("contacts", () => {
  it("a request reaches the recipient live; accepting tells both; dmFromContactsOnly refuses strangers", async () => {
    const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
    const settings = await api("PATCH", "/me", bob.token, { settings: { dmFromContactsOnly: true } });
    assert.equal(settings.body.settings.dmFromContactsOnly, true);
    const a = await open(alice);
    const b = await open(bob);
    const requested = once(b, "contact:request");
    const request = await api("POST", "/contacts/requests", alice.token, { userId: bob.id });
    assert.equal(request.status, 201, JSON.stringify(request.body));
    assert.deepEqual(await within(5000, requested, "contact:request"), request.body);

    // Not yet a contact: bob takes no new DM from alice, nor from carol.
    const refused = await api("POST", "/conversations", alice.token, { kind: "dm", userId: bob.id });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "forbidden");

    const toAlice = once(a, "contact:updated");
    const toBob = once(b, "contact:updated");
    const accepted = await api("POST", `/contacts/requests/${request.body.id}/accept`, bob.token);
    assert.equal(accepted.status, 200);
    assert.equal(accepted.body.status, "accepted");
    assert.deepEqual(await within(5000, toAlice, "contact:updated to alice"), { userId: bob.id, contact: true });
    assert.deepEqual(await within(5000, toBob, "contact:updated to bob"), { userId: alice.id, contact: true });

    const opened = await api("POST", "/conversations", alice.token, { kind: "dm", userId: bob.id });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    assert.equal((await api("POST", "/conversations", carol.token, { kind: "dm", userId: bob.id })).status, 403);

    // Removing the contact keeps the existing DM working.
    const removedA = once(a, "contact:updated");
    assert.equal((await api("DELETE", `/contacts/${alice.id}`, bob.token)).status, 204);
    assert.deepEqual(await within(5000, removedA, "contact:updated false"), { userId: bob.id, contact: false });
    assert.equal(await dm(alice, bob), opened.body.id);
  });
});
