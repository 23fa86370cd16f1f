// Every socket sees a conversation's changes in rev order, its own acks and `message:sent`
// included (PROTOCOL.md §4: clients that track revs repair gaps, and a healthy node must not
// make any): several members send, edit and react at once, and each socket's revs, in the
// order they arrived, are 1, 2, 3 … with nothing missing and nothing out of place.
import { it, after } from "node:test";
import assert from "node:assert/strict";
import { group, opener, until, user } from "./api.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));
const open = opener(sockets);

const SENDERS = 6;
const SENDS = 12;
const EDITS = 3;

it("hands every socket the changes of a busy conversation in rev order", async () => {
  const people = [];
  for (let i = 0; i < SENDERS; i++) people.push(await user(`order${i}`));
  const conversation = await group(people[0], people.slice(1));
  // One socket per sender, and a second, quiet one for the first person.
  const senders = [];
  for (const who of people) senders.push(await open(who, { transports: ["websocket"] }));
  const quiet = await open(people[0]);

  /** The revs each socket was told of, in arrival order (acks through their callbacks). */
  const seen = new Map([...senders, quiet].map((s) => [s, []]));
  for (const [socket, revs] of seen) {
    socket.on("message:new", (m) => m.conversationId === conversation && revs.push(m.rev));
    socket.on("message:sent", (s) => revs.push(s.message.rev));
    socket.on("message:updated", (m) => m.conversationId === conversation && revs.push(m.rev));
    socket.on("reaction:updated", (r) => r.conversationId === conversation && revs.push(r.rev));
  }
  const failures = [];
  const acked = (socket) => (ack) => {
    if (ack.ok) seen.get(socket).push(ack.message.rev);
    else failures.push(ack.error);
  };

  // Everyone sends at once; the first messages are edited and reacted to while the rest
  // are still being sent.
  const firsts = await Promise.all(
    senders.map(
      (socket, i) =>
        new Promise((resolve) =>
          socket.emit("message:send", { conversationId: conversation, clientMessageId: `o-${i}-0`, body: `${i}:0` }, (ack) => {
            acked(socket)(ack);
            resolve(ack.message);
          }),
        ),
    ),
  );
  senders.forEach((socket, i) => {
    for (let n = 1; n < SENDS; n++) {
      socket.emit("message:send", { conversationId: conversation, clientMessageId: `o-${i}-${n}`, body: `${i}:${n}` }, acked(socket));
      if (n <= EDITS) {
        if (n % 2) {
          // Only the sender may edit: each edits its own first message.
          const edit = { conversationId: conversation, messageId: firsts[i].id, body: `${i}:0 edited ${n}` };
          socket.emit("message:edit", edit, acked(socket));
        } else {
          const reaction = { conversationId: conversation, messageId: firsts[(i + n) % SENDERS].id, emoji: "👍" };
          socket.emit("reaction:add", reaction, acked(socket));
        }
      }
    }
  });

  // Each sender: its sends, and one edit or reaction for each of the first EDITS of them.
  const changes = SENDERS * (SENDS + EDITS);
  await until(20_000, () => failures.length > 0 || [...seen.values()].every((revs) => new Set(revs).size >= changes), "every change on every socket");
  assert.deepEqual(failures, []);
  const expected = Array.from({ length: changes }, (_, i) => i + 1);
  for (const [socket, revs] of seen) {
    // An ack and its `message:sent` carry the same rev, one after the other.
    const distinct = revs.filter((rev, i) => rev !== revs[i - 1]);
    assert.deepEqual(distinct, expected, `socket ${sockets.indexOf(socket)} saw revs out of order or with gaps`);
  }
});
