// Socket.IO v5 behaviour, against /socket.io/ with namespaces "/" and "/custom": `auth` is
// emitted on connect, `message` answered with `message-back`, `message-with-ack` acked.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WS_BASE, Conn, sleep, within } from "./helpers.mjs";

const URL = `${WS_BASE}/socket.io/?EIO=4&transport=websocket`;

/** A WebSocket session connected to the main namespace, past the `auth` event. */
async function connected() {
  const conn = new Conn(URL);
  await conn.next(); // Engine.IO open
  conn.send("40");
  assert.ok((await conn.nextData()).startsWith("40"));
  assert.equal(await conn.nextData(), '42["auth",{}]');
  return conn;
}

describe("connect", () => {
  for (const [name, send, prefix, auth] of [
    ["the main namespace", "40", "40", '42["auth",{}]'],
    ["the main namespace with a payload", '40{"token":"123"}', "40", '42["auth",{"token":"123"}]'],
    ["a custom namespace", "40/custom,", "40/custom,", '42/custom,["auth",{}]'],
    ["a custom namespace without the trailing comma", "40/custom", "40/custom,", '42/custom,["auth",{}]'],
    ["a custom namespace with a payload", '40/custom,{"token":"abc"}', "40/custom,", '42/custom,["auth",{"token":"abc"}]'],
  ]) {
    it(`allows a connection to ${name}`, async () => {
      const conn = new Conn(URL);
      await conn.next();
      conn.send(send);
      const reply = await conn.nextData();
      assert.ok(reply.startsWith(prefix), reply);
      const handshake = JSON.parse(reply.substring(prefix.length));
      assert.deepEqual(Object.keys(handshake), ["sid"]);
      assert.equal(typeof handshake.sid, "string");
      assert.equal(await conn.nextData(), auth);
      conn.close();
    });
  }

  it("refuses an unknown namespace with exactly Invalid namespace", async () => {
    const conn = new Conn(URL);
    await conn.next();
    conn.send("40/random");
    assert.equal(await conn.nextData(), '44/random,{"message":"Invalid namespace"}');
    conn.close();
  });

  it("closes the connection on an invalid handshake", async () => {
    const conn = new Conn(URL);
    await conn.next();
    conn.send("4abc");
    await within(2000, conn.closed, "close");
  });

  it("closes a session that never connects to a namespace", async () => {
    const conn = new Conn(URL);
    await conn.next();
    const started = Date.now();
    // Answer pings so only the connect timeout (1 s here) can end the session.
    const pong = setInterval(() => conn.ws.readyState === 1 && conn.send("3"), 100);
    await within(3000, conn.closed, "the connect timeout");
    clearInterval(pong);
    assert.ok(Date.now() - started >= 900);
  });

  it("ignores events sent before the namespace is connected", async () => {
    const conn = new Conn(URL);
    await conn.next();
    conn.send('42["message","too early"]');
    conn.send("40");
    assert.ok((await conn.nextData()).startsWith("40"));
    assert.equal(await conn.nextData(), '42["auth",{}]');
    conn.send('42["message","in time"]');
    assert.equal(await conn.nextData(), '42["message-back","in time"]');
    conn.close();
  });
});

describe("disconnect", () => {
  it("leaves the main namespace but keeps the session", async () => {
    const conn = await connected();
    conn.send("41");
    conn.send("40");
    assert.ok((await conn.nextData()).startsWith("40"));
    assert.equal(await conn.nextData(), '42["auth",{}]');
    conn.close();
  });

  it("connects then leaves a custom namespace, and the main one still answers", async () => {
    const conn = await connected();
    conn.send("40/custom");
    assert.ok((await conn.nextData()).startsWith("40/custom,"));
    assert.equal(await conn.nextData(), '42/custom,["auth",{}]');
    conn.send("41/custom");
    conn.send('42/custom,["message","ignored"]');
    conn.send('42["message","message to main namespace"]');
    assert.equal(await conn.nextData(), '42["message-back","message to main namespace"]');
    conn.close();
  });
});

describe("messages", () => {
  it("sends a plain-text packet", async () => {
    const conn = await connected();
    conn.send('42["message",1,"2",{"3":[true]}]');
    assert.equal(await conn.nextData(), '42["message-back",1,"2",{"3":[true]}]');
    conn.close();
  });

  it("sends a packet with binary attachments, header then attachments", async () => {
    const conn = await connected();
    conn.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    conn.send(Uint8Array.from([1, 2, 3]));
    conn.send(Uint8Array.from([4, 5, 6]));
    assert.equal(await conn.nextData(), '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    assert.deepEqual(await conn.nextData(), Uint8Array.from([1, 2, 3]));
    assert.deepEqual(await conn.nextData(), Uint8Array.from([4, 5, 6]));
    conn.close();
  });

  it("acks a plain-text packet", async () => {
    const conn = await connected();
    conn.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    assert.equal(await conn.nextData(), '43456[1,"2",{"3":[false]}]');
    conn.close();
  });

  it("acks a packet with binary attachments", async () => {
    const conn = await connected();
    conn.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    conn.send(Uint8Array.from([1, 2, 3]));
    conn.send(Uint8Array.from([4, 5, 6]));
    assert.equal(await conn.nextData(), '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    assert.deepEqual(await conn.nextData(), Uint8Array.from([1, 2, 3]));
    assert.deepEqual(await conn.nextData(), Uint8Array.from([4, 5, 6]));
    conn.close();
  });

  it("keeps many concurrent binary emits whole, each header right before its attachments", async () => {
    const conn = await connected();
    const count = 50;
    for (let i = 0; i < count; i++) {
      conn.send(`451-["message",${i},{"_placeholder":true,"num":0}]`);
      conn.send(Uint8Array.from([i]));
    }
    for (let i = 0; i < count; i++) {
      const header = await conn.nextData();
      assert.equal(header.substring(0, 4), "451-");
      const n = JSON.parse(header.substring(4))[1];
      assert.deepEqual(await conn.nextData(), Uint8Array.from([n]));
    }
    conn.close();
  });

  for (const [name, packet] of [
    ["an unknown packet type", "4abc"],
    ["an event payload that is not an array", "42{}"],
    ["an invalid ack id", '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ["a binary packet without an attachment count", '45["message"]'],
    ["more than 10 attachments", '4511-["message"]'],
    ["a CONNECT_ERROR from the client", '44{"message":"no"}'],
    ["bad JSON", '42["message"'],
  ]) {
    it(`closes the connection on ${name}`, async () => {
      const conn = await connected();
      conn.send(packet);
      await within(2000, conn.closed, "close");
    });
  }

  it("closes the connection when text arrives between a header and its attachments", async () => {
    const conn = await connected();
    conn.send('451-["message",{"_placeholder":true,"num":0}]');
    conn.send('42["message","interloper"]');
    await within(2000, conn.closed, "close");
  });

  it("leaves other connections untouched when one sends garbage", async () => {
    const good = await connected();
    const bad = await connected();
    bad.send("4garbage");
    await within(2000, bad.closed, "close");
    good.send('42["message","still here"]');
    assert.equal(await good.nextData(), '42["message-back","still here"]');
    good.close();
  });
});

describe("Socket.IO over long-polling", () => {
  it("connects, emits and is acked through POST and GET", async () => {
    const base = URL.replace(/^ws/, "http").replace("transport=websocket", "transport=polling");
    const open = await (await fetch(base)).text();
    const sid = JSON.parse(open.substring(1)).sid;
    const at = `${base}&sid=${sid}`;
    assert.equal(await (await fetch(at, { method: "POST", body: "40" })).text(), "ok");
    let frames = [];
    while (frames.length < 2) frames.push(...(await (await fetch(at)).text()).split("\x1e").filter((f) => f !== "2"));
    assert.ok(frames[0].startsWith("40{"));
    assert.equal(frames[1], '42["auth",{}]');
    await fetch(at, { method: "POST", body: '421["message-with-ack","hi"]\x1e42["message",{"a":1}]' });
    frames = [];
    while (frames.length < 2) frames.push(...(await (await fetch(at)).text()).split("\x1e").filter((f) => f !== "2"));
    assert.deepEqual(frames.sort(), ['42["message-back",{"a":1}]', '431["hi"]']);
    await sleep(0);
  });
});
