// Two nodes behind nginx (config/nginx-sticky.conf, run by the harness). CONFAB_STICKY is the
// file as shipped; CONFAB_ROUND_ROBIN is the same file without its `hash` line, to show that
// long-polling clients need stickiness. Clients use distinct 127.0.0.x source addresses so
// that the address hash spreads them over both nodes.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { io } from "socket.io-client";
import { collect, group, once, user, within } from "../chat/api.mjs";

const NODES = [process.env.CONFAB_URL, process.env.CONFAB_URL_B];
const STICKY = process.env.CONFAB_STICKY;
const ROUND_ROBIN = process.env.CONFAB_ROUND_ROBIN;
const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

/** Client options that make every request come from `address`. */
function from(address, options) {
  return { ...options, agent: new http.Agent({ keepAlive: true, localAddress: address }), localAddress: address };
}

async function sessions(node) {
  const text = await (await fetch(`${node}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("confab_engine_sessions{"))
    .reduce((sum, l) => sum + Number(l.split(" ")[1]), 0);
}

describe("behind nginx", () => {
  it("keeps default-transport and long-polling clients on one node each", { timeout: 60000 }, async () => {
    const people = await Promise.all(Array.from({ length: 16 }, (_, i) => user(`n${i}`)));
    const conversation = await group(people[0], people.slice(1));
    const clients = await Promise.all(
      people.map(async (who, i) => {
        // Half start on long-polling and upgrade; half stay on long-polling.
        const transports = i % 2 === 0 ? ["polling", "websocket"] : ["polling"];
        const socket = io(STICKY, from(`127.0.0.${10 + i}`, { reconnection: false, forceNew: true, transports, auth: { token: who.token } }));
        sockets.push(socket);
        await within(10000, once(socket, "session:ready"), `session:ready for client ${i}`);
        return socket;
      }),
    );
    const upgraded = clients.filter((_, i) => i % 2 === 0);
    await Promise.all(
      upgraded.map((s) =>
        s.io.engine.transport.name === "websocket" ? null : within(10000, once(s.io.engine, "upgrade"), "upgrade through nginx"),
      ),
    );
    assert.ok(upgraded.every((s) => s.io.engine.transport.name === "websocket"));
    assert.ok(clients.filter((_, i) => i % 2 === 1).every((s) => s.io.engine.transport.name === "polling"));
    // Both nodes hold sessions, so messages cross between them.
    const held = await Promise.all(NODES.map(sessions));
    assert.ok(held.every((n) => n > 0), `sessions per node: ${held}`);
    assert.equal(held[0] + held[1], clients.length);

    const inboxes = clients.map((s) => collect(s, "message:new"));
    const acks = await Promise.all(
      clients.map((s, i) => s.emitWithAck("message:send", { conversationId: conversation, clientMessageId: `ng-${i}`, body: `from ${i}` })),
    );
    assert.ok(acks.every((a) => a.ok), JSON.stringify(acks.find((a) => !a.ok)));
    await Promise.all(inboxes.map((inbox) => inbox.waitFor(clients.length - 1, "every other client's message", 15000)));
    inboxes.forEach((inbox, i) => {
      const bodies = inbox.map((m) => m.body).sort();
      const expected = clients.map((_, j) => `from ${j}`).filter((b) => b !== `from ${i}`).sort();
      assert.deepEqual(bodies, expected);
    });
  });

  it("fails without stickiness: the next request reaches the other node", { timeout: 30000 }, async () => {
    const handshake = await fetch(`${ROUND_ROBIN}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse((await handshake.text()).slice(1)).sid;
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${ROUND_ROBIN}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
      answers.push({ status: res.status, body: await res.text() });
    }
    assert.ok(
      answers.some((a) => a.status === 400 && JSON.parse(a.body).message === "Session ID unknown"),
      JSON.stringify(answers),
    );

    // The stock client on default transports cannot even connect.
    const who = await user("rr");
    const socket = io(ROUND_ROBIN, { reconnection: false, forceNew: true, auth: { token: who.token } });
    sockets.push(socket);
    const outcome = await within(
      15000,
      Promise.race([once(socket, "connect_error").then(() => "connect_error"), once(socket, "session:ready").then(() => "ready")]),
      "the client's outcome",
    );
    assert.equal(outcome, "connect_error");
  });
});
