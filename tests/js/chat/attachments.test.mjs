// Attachments over the stock socket.io-client (PROTOCOL.md v1.1 §4, §5, §7): uploads through
// the URLs the API hands out, message:send with attachmentIds, and what another member sees.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { api, ask, collect, group, opener, user } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = opener(sockets);

// A 1 × 1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

/** Uploads `bytes` as the API says → the ready Attachment. */
async function upload(who, bytes, contentType = "image/png", name = "dot.png") {
  const ticket = await api("POST", "/uploads", who.token, { contentType, size: bytes.length, name });
  assert.equal(ticket.status, 201, JSON.stringify(ticket.body));
  assert.equal(ticket.body.method, "PUT");
  const put = await fetch(ticket.body.uploadUrl, { method: "PUT", headers: ticket.body.headers, body: bytes });
  assert.equal(put.status, 200);
  const done = await api("POST", `/uploads/${ticket.body.attachmentId}/complete`, who.token);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  return done.body;
}

for (const [label, options] of [
  ["default transports", {}],
  ["websocket only", { transports: ["websocket"] }],
]) {
  describe(`attachments, ${label}`, () => {
    it("sends images with an empty body and shows them to the other members", async () => {
      const [alice, bob] = [await user("alice"), await user("bob")];
      const conversation = await group(alice, [bob]);
      const [a, b] = [await open(alice, options), await open(bob, options)];
      const news = collect(b, "message:new");
      const first = await upload(alice, PNG);
      const second = await upload(alice, PNG, "image/png", "second.png");
      assert.deepEqual([first.width, first.height, first.size, first.contentType], [1, 1, PNG.length, "image/png"]);
      const ack = await ask(a, "message:send", {
        conversationId: conversation,
        clientMessageId: "pics",
        body: "",
        attachmentIds: [second.id, first.id],
      });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      assert.deepEqual(ack.message.attachments.map((x) => x.id), [second.id, first.id]);
      const [seen] = await news.waitFor(1);
      assert.deepEqual(seen.attachments.map((x) => x.name), ["second.png", "dot.png"]);
      const image = await fetch(seen.attachments[0].url);
      assert.equal(image.status, 200);
      assert.equal(image.headers.get("content-type"), "image/png");
      assert.equal(image.headers.get("x-content-type-options"), "nosniff");
      assert.deepEqual(Buffer.from(await image.arrayBuffer()), PNG);

      // Used once: a second message with it is invalid, and so is bob sending alice's upload.
      const again = await ask(a, "message:send", {
        conversationId: conversation, clientMessageId: "again", body: "", attachmentIds: [first.id],
      });
      assert.equal(again.error.code, "invalid");
      const third = await upload(alice, PNG);
      const theirs = await ask(b, "message:send", {
        conversationId: conversation, clientMessageId: "theirs", body: "x", attachmentIds: [third.id],
      });
      assert.equal(theirs.error.code, "invalid");
      const redirect = await fetch(`${process.env.CONFAB_URL}/api/attachments/${first.id}`, {
        headers: { authorization: `Bearer ${bob.token}` },
        redirect: "manual",
      });
      assert.equal(redirect.status, 302);
    });
  });
}
