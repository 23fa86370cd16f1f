// web/confab-client.js against the real server: credentials, catch-up and the outbox.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { ConfabClient, MemoryStorage, expiresAt } from "../../../web/confab-client.js";
import { BASE, api, group, within } from "../chat/api.mjs";

const clients = [];
after(() => clients.forEach((c) => c.disconnect()));

let n = 0;
/** A client signed up as a new user. */
async function signedUp(storage = new MemoryStorage()) {
  const client = new ConfabClient({ baseUrl: BASE, io, storage });
  const name = `cl_${Math.random().toString(36).slice(2, 8)}_${++n}`;
  await client.register({ email: `${name}@example.com`, username: name, password: "correct horse battery" });
  clients.push(client);
  return client;
}

/** Options for sockets that do not reconnect behind the test's back. */
const single = { reconnection: false, forceNew: true };

function next(client, type) {
  return new Promise((resolve) => client.addEventListener(type, (e) => resolve(e.detail), { once: true }));
}

/** Two connected clients sharing a group that the first owns. */
async function connectedPair() {
  const alice = await signedUp();
  const bob = await signedUp();
  const conversation = await group({ token: alice.accessToken }, [{ id: bob.user.id }]);
  alice.connect(single);
  bob.connect(single);
  await Promise.all([next(alice, "ready"), next(bob, "ready")]);
  return { alice, bob, conversation };
}

function gather(client, type) {
  const seen = [];
  client.addEventListener(type, (e) => seen.push(e.detail));
  return seen;
}

async function until(check, what, ms = 20_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("confab-client", () => {
  it("reads a token's expiry", () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1_900_000_000 })).toString("base64url");
    assert.equal(expiresAt(`h.${payload}.s`), 1_900_000_000_000);
    assert.equal(expiresAt("garbage"), 0);
    assert.equal(expiresAt(null), 0);
  });

  it("sends through the outbox and the other member hears it once", async () => {
    const { alice, bob, conversation } = await connectedPair();
    const heard = gather(bob, "message");
    const outboxes = gather(alice, "outbox");
    const own = next(alice, "message");
    const entry = alice.send(conversation, "hello from the library");
    const stored = await within(5000, own, "the own message, stored");
    assert.equal(stored.clientMessageId, entry.clientMessageId);
    assert.equal(stored.body, "hello from the library");
    await until(() => heard.length === 1, "bob's message");
    assert.deepEqual(heard[0], stored);
    assert.deepEqual(alice.outbox(), []);
    assert.deepEqual(outboxes.map((o) => o.length), [1, 0]);
  });

  it("repairs what a disconnected client missed, in rev order, once", async () => {
    const { alice, bob, conversation } = await connectedPair();
    const own = gather(alice, "message");
    /** Sends `body` as alice and waits until her client hands on the stored message. */
    const sendAndWait = async (body) => {
      const entry = alice.send(conversation, body);
      await until(() => own.some((m) => m.clientMessageId === entry.clientMessageId), body);
      return own.find((m) => m.clientMessageId === entry.clientMessageId);
    };
    const first = next(bob, "message");
    await sendAndWait("before");
    const before = await within(5000, first, "the first message");

    bob.disconnect();
    const sent = [];
    for (const body of ["one", "two", "three"]) sent.push(await sendAndWait(body));
    const edited = await api("PATCH", `/conversations/${conversation}/messages/${before.id}`, alice.accessToken, { body: "before, edited" });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));

    const messages = gather(bob, "message");
    const updates = gather(bob, "update");
    bob.connect(single);
    await until(() => messages.length === 3 && updates.length === 1, "the repair");
    assert.deepEqual(messages.map((m) => m.body), ["one", "two", "three"]);
    assert.deepEqual(messages.map((m) => m.id), sent.map((m) => m.id));
    assert.equal(updates[0].id, before.id);
    assert.equal(updates[0].body, "before, edited");
    assert.equal(bob.revs.get(conversation), edited.body.rev);

    // Live again: the next change arrives as it happens, nothing repeated.
    const live = next(bob, "message");
    alice.send(conversation, "four");
    assert.equal((await within(5000, live, "a live message")).body, "four");
    assert.equal(messages.length, 4);
  });

  it("keeps unsent messages across a reload and the server stores each once", async () => {
    const storage = new MemoryStorage();
    const alice = await signedUp(storage);
    const conversation = await group({ token: alice.accessToken }, []);
    // Queued while offline: nothing is sent, the entry waits in storage.
    const entry = alice.send(conversation, "written offline");
    assert.equal(alice.outbox().length, 1);
    assert.ok(storage.getItem(alice.outboxKey()).includes(entry.clientMessageId));

    // A new page with the same storage and credentials sends it when it connects.
    const reloaded = new ConfabClient({ baseUrl: BASE, io, storage });
    clients.push(reloaded);
    reloaded.accessToken = alice.accessToken;
    reloaded.refreshToken = alice.refreshToken;
    reloaded.user = alice.user;
    const stored = next(reloaded, "message");
    reloaded.connect(single);
    const message = await within(5000, stored, "the queued message");
    assert.equal(message.clientMessageId, entry.clientMessageId);
    assert.deepEqual(reloaded.outbox(), []);

    // Its ack lost: the same entry sent again is the same message.
    const again = await reloaded.ask("message:send", { conversationId: conversation, clientMessageId: entry.clientMessageId, body: "written offline" });
    assert.equal(again.message.id, message.id);
    const history = await api("GET", `/conversations/${conversation}/messages`, alice.accessToken);
    assert.equal(history.body.messages.length, 1);
  });

  it("drops a message the server refuses for good and says so", async () => {
    const alice = await signedUp();
    const stranger = await signedUp();
    const conversation = await group({ token: stranger.accessToken }, []);
    alice.connect(single);
    await next(alice, "ready");
    const failed = next(alice, "failed");
    alice.send(conversation, "not my conversation");
    const { entry, error } = await within(5000, failed, "the failure");
    assert.equal(entry.body, "not my conversation");
    assert.equal(error.code, "not_found");
    assert.deepEqual(alice.outbox(), []);
  });

  it("refreshes an unusable access token through the refresh cookie before connecting", async () => {
    const alice = await signedUp();
    assert.ok(alice.refreshToken, "the refresh token was kept from the cookie");
    alice.accessToken = "not.a.token";
    alice.connect(single);
    const ready = await within(5000, next(alice, "ready"), "session:ready");
    assert.ok(Array.isArray(ready.conversations));
    assert.ok(expiresAt(alice.accessToken) > Date.now());
    // The API answers with the new token too.
    assert.equal((await alice.api("GET", "/me")).id, alice.user.id);
  });

  it("throttles typing:start to one every 3 s", async () => {
    const { alice, bob, conversation } = await connectedPair();
    const typing = gather(bob, "typing");
    for (let i = 0; i < 5; i++) alice.typing(conversation);
    alice.stopTyping(conversation);
    await until(() => typing.length === 2, "typing start and stop");
    assert.deepEqual(typing.map((t) => t.typing), [true, false]);
    assert.equal(typing[0].userId, alice.user.id);
  });

  it("reports its connection state", async () => {
    const alice = await signedUp();
    const states = gather(alice, "state");
    alice.connect(single);
    await next(alice, "ready");
    alice.disconnect();
    assert.deepEqual(states, ["connecting", "connected", "offline"]);
  });
});

describe("confab-client changes and images", () => {
  it("edits, reacts and deletes through acks, and the other side gets each change once, in order", async () => {
    const { alice, bob, conversation } = await connectedPair();
    const changes = [];
    for (const kind of ["update", "reaction"]) bob.addEventListener(kind, (e) => changes.push({ kind, ...e.detail }));
    const entry = alice.send(conversation, "first draft");
    const sent = await next(bob, "message");
    assert.equal(sent.clientMessageId, entry.clientMessageId);

    const edited = await alice.edit(conversation, sent.id, "final text");
    assert.equal(edited.body, "final text");
    const reacted = await bob.react(conversation, sent.id, "👍", true);
    assert.deepEqual(reacted.reactions, [{ emoji: "👍", userIds: [bob.user.id] }]);
    const gone = await alice.remove(conversation, sent.id);
    assert.equal(gone.deleted, true);
    await until(() => changes.some((c) => c.deleted), "bob's tombstone");
    // Each change reaches bob once, in rev order: his reaction as its live event or its ack,
    // whichever came first. (When his ack overtakes the edit, sync:changes repairs the gap
    // with the message's current state, so the edit and the reaction arrive as one update.)
    const revs = changes.map((c) => c.rev);
    assert.deepEqual(revs, [...new Set(revs)].sort((a, b) => a - b), JSON.stringify(changes));
    assert.ok(revs.every((rev) => [edited.rev, reacted.rev, gone.rev].includes(rev)), JSON.stringify(changes));
    assert.ok(revs.includes(reacted.rev));
    assert.equal(changes.at(-1).rev, gone.rev);
    await assert.rejects(alice.edit(conversation, sent.id, "again"), { code: "conflict" });
  });

  it("uploads an image and sends it; a bad file is refused with the contract's error", async () => {
    const { alice, bob, conversation } = await connectedPair();
    const { png } = await import("../browser/png.mjs");
    const file = new File([png(40, 30)], "dot.png", { type: "image/png" });
    const attachment = await alice.upload(file);
    assert.deepEqual([attachment.name, attachment.width, attachment.height], ["dot.png", 40, 30]);
    alice.send(conversation, "", { attachmentIds: [attachment.id] });
    const got = await next(bob, "message");
    assert.deepEqual(got.attachments.map((a) => a.id), [attachment.id]);
    const fake = new File([Buffer.from("not an image at all")], "fake.png", { type: "image/png" });
    await assert.rejects(alice.upload(fake), { code: "invalid" });
  });
});

describe("the vendored socket.io-client bundle", () => {
  it("is byte-identical to the npm package's file", async () => {
    const { readFile } = await import("node:fs/promises");
    const vendored = await readFile(new URL("../../../web/vendor/socket.io.esm.min.js", import.meta.url));
    const packaged = await readFile(new URL("../node_modules/socket.io-client/dist/socket.io.esm.min.js", import.meta.url));
    assert.ok(vendored.length > 10000);
    assert.ok(vendored.equals(packaged), "web/vendor/socket.io.esm.min.js differs from the npm package's file");
  });
});

describe("the web client's sources", () => {
  it("ship type declarations that are what tsc makes of the library now", async () => {
    const { execFileSync } = await import("node:child_process");
    const { mkdtemp, readFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { fileURLToPath } = await import("node:url");
    const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
    const config = fileURLToPath(new URL("../../../web/tsconfig.types.json", import.meta.url));
    const out = await mkdtemp(`${tmpdir()}/confab-dts-`);
    execFileSync(process.execPath, [tsc, "-p", config, "--outDir", out], { encoding: "utf8" });
    const made = await readFile(`${out}/confab-client.d.ts`, "utf8");
    const committed = await readFile(new URL("../../../web/confab-client.d.ts", import.meta.url), "utf8");
    assert.ok(made.includes("export class ConfabClient"));
    assert.equal(committed, made, "web/confab-client.d.ts is stale: tsc -p web/tsconfig.types.json --outDir web");
  });

  it("type-check with tsc (// @ts-check, strict)", async () => {
    const { execFileSync } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
    const web = fileURLToPath(new URL("../../../web", import.meta.url));
    try {
      execFileSync(process.execPath, [tsc, "-p", web], { encoding: "utf8" });
    } catch (err) {
      assert.fail(`tsc found type errors:\n${err.stdout}${err.stderr}`);
    }
  });
});
