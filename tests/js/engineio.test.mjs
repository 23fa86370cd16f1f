// Engine.IO v4 behaviour, against the raw echo server at /engine.io/ (every message echoed).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BASE, WS_BASE, PING_INTERVAL, PING_TIMEOUT, Conn, openPolling, poll, post, sleep, within } from "./helpers.mjs";

const P = "/engine.io/";

describe("handshake", () => {
  it("opens a polling session with exactly the official keys", async () => {
    const res = await fetch(`${BASE}${P}?EIO=4&transport=polling`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.startsWith("0"));
    const open = JSON.parse(text.substring(1));
    assert.deepEqual(Object.keys(open), ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
    assert.equal(typeof open.sid, "string");
    assert.deepEqual(open.upgrades, ["websocket"]);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
    assert.equal(open.maxPayload, 1000000);
  });

  it("refuses a missing or invalid EIO, transport or method with 400 and a code", async () => {
    for (const [query, code] of [
      ["transport=polling", 5],
      ["EIO=abc&transport=polling", 5],
      ["EIO=3&transport=polling", 5],
      ["EIO=4", 0],
      ["EIO=4&transport=abc", 0],
    ]) {
      const res = await fetch(`${BASE}${P}?${query}`);
      assert.equal(res.status, 400, query);
      assert.deepEqual((await res.json()).code, code, query);
    }
    for (const method of ["POST", "PUT"]) {
      const res = await fetch(`${BASE}${P}?EIO=4&transport=polling`, { method });
      assert.equal(res.status, 400, method);
    }
    const unknown = await poll(P, "nope");
    assert.equal(unknown.status, 400);
    assert.deepEqual(await unknown.json(), { code: 1, message: "Session ID unknown" });
  });

  it("opens a WebSocket session with no upgrades", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    const open = JSON.parse((await conn.next()).substring(1));
    assert.deepEqual(Object.keys(open), ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
    assert.deepEqual(open.upgrades, []);
    conn.close();
  });

  it("refuses WebSockets with a bad EIO or transport", async () => {
    for (const query of ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"]) {
      const conn = new Conn(`${WS_BASE}${P}?${query}`);
      assert.equal(await within(2000, conn.closed, query), 400, query);
    }
  });
});

describe("messages over long-polling", () => {
  for (const [name, body] of [
    ["one text packet", "4hello"],
    ["several text packets", "4test1\x1e4test2\x1e4test3"],
    ["text and binary packets", "4hello\x1ebAQIDBA=="],
  ]) {
    it(`echoes ${name}`, async () => {
      const sid = await openPolling(P);
      const push = await post(P, sid, body);
      assert.equal(push.status, 200);
      assert.equal(await push.text(), "ok");
      const pull = await poll(P, sid);
      assert.equal(pull.status, 200);
      assert.equal(await pull.text(), body);
    });
  }

  it("closes the session on an invalid packet", async () => {
    const sid = await openPolling(P);
    assert.equal((await post(P, sid, "abc")).status, 400);
    assert.equal((await poll(P, sid)).status, 400);
  });

  it("closes the session on a duplicate poll", async () => {
    const sid = await openPolling(P);
    const [first, second] = await Promise.all([poll(P, sid), sleep(5).then(() => poll(P, sid, "&t=burst"))]);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), "1");
    assert.equal(second.status, 400);
    assert.equal((await poll(P, sid)).status, 400);
  });

  it("closes the session when a pending poll is cancelled", async () => {
    const sid = await openPolling(P);
    const controller = new AbortController();
    fetch(`${BASE}${P}?EIO=4&transport=polling&sid=${sid}`, { signal: controller.signal }).catch(() => {});
    await sleep(20);
    controller.abort();
    await sleep(50);
    assert.equal((await poll(P, sid)).status, 400);
  });

  it("answers a POST over maxPayload with 413", async () => {
    const sid = await openPolling(P);
    const res = await post(P, sid, "4" + "x".repeat(1_000_001));
    assert.equal(res.status, 413);
  });
});

describe("messages over WebSocket", () => {
  it("echoes a text packet", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    conn.send("4hello");
    assert.equal(await conn.nextData(), "4hello");
    conn.close();
  });

  it("echoes a binary packet", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    conn.send(Uint8Array.from([1, 2, 3, 4]));
    assert.deepEqual(await conn.nextData(), Uint8Array.from([1, 2, 3, 4]));
    conn.close();
  });

  it("closes on an invalid packet", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    conn.send("abc");
    await within(2000, conn.closed, "close");
  });

  it("closes with 1009 on a message over maxPayload", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    conn.send("4" + "x".repeat(1_000_001));
    assert.equal(await within(2000, conn.closed, "close"), 1009);
  });
});

describe("heartbeat", () => {
  it("pings over long-polling and takes pongs", async () => {
    const sid = await openPolling(P);
    for (let i = 0; i < 3; i++) {
      const pull = await poll(P, sid);
      assert.equal(await pull.text(), "2");
      assert.equal((await post(P, sid, "3")).status, 200);
    }
  });

  it("closes a polling session that misses the pong deadline", async () => {
    const sid = await openPolling(P);
    await sleep(PING_INTERVAL + PING_TIMEOUT + 150);
    assert.equal((await poll(P, sid)).status, 400);
  });

  it("pings over WebSocket and takes pongs", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    for (let i = 0; i < 3; i++) {
      assert.equal(await conn.next(), "2");
      conn.send("3");
    }
    conn.close();
  });

  it("closes a WebSocket that misses the pong deadline", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await within(2000, conn.closed, "close");
  });

  it("treats a ping from the client as a protocol error", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    conn.send("2");
    await within(1000, conn.closed, "close");
  });
});

describe("close", () => {
  it("ends a pending poll with a noop when the client closes over polling", async () => {
    const sid = await openPolling(P);
    const [pull] = await Promise.all([poll(P, sid), sleep(5).then(() => post(P, sid, "1"))]);
    assert.equal(pull.status, 200);
    assert.equal(await pull.text(), "6");
    assert.equal((await poll(P, sid)).status, 400);
  });

  it("closes the WebSocket when the client sends close", async () => {
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket`);
    await conn.next();
    conn.send("1");
    await within(2000, conn.closed, "close");
  });
});

/** Opens a probe WebSocket for `sid` and answers the probe handshake. */
async function probe(sid) {
  const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket&sid=${sid}`);
  await conn.opened;
  conn.send("2probe");
  assert.equal(await conn.next(), "3probe");
  return conn;
}

/** Completes the upgrade; the echo of a marker proves the server has switched. */
async function upgrade(sid) {
  const conn = await probe(sid);
  conn.send("5");
  conn.send("4switched");
  assert.equal(await conn.nextData(), "4switched");
  return conn;
}

describe("upgrade", () => {
  it("upgrades from long-polling to WebSocket", async () => {
    const sid = await openPolling(P);
    const conn = await probe(sid);
    const pull = await poll(P, sid);
    assert.equal(pull.status, 200);
    assert.equal(await pull.text(), "6");
    // Every poll during the probe ends at once.
    assert.equal(await (await poll(P, sid)).text(), "6");
    conn.send("5");
    conn.send("4hello");
    assert.equal(await conn.nextData(), "4hello");
    conn.close();
  });

  it("ends a poll that was already pending when the probe arrives", async () => {
    const sid = await openPolling(P);
    const pending = poll(P, sid);
    await sleep(20);
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket&sid=${sid}`);
    await conn.opened;
    conn.send("2probe");
    assert.equal(await conn.next(), "3probe");
    assert.equal(await (await within(1000, pending, "the pending poll")).text(), "6");
    conn.send("5");
    conn.close();
  });

  it("delivers what was queued for polling over the WebSocket after the upgrade", async () => {
    const sid = await openPolling(P);
    const conn = await probe(sid);
    assert.equal((await post(P, sid, "4queued")).status, 200);
    conn.send("5");
    assert.equal(await conn.nextData(), "4queued");
    conn.close();
  });

  it("refuses HTTP requests for the session after the upgrade", async () => {
    const sid = await openPolling(P);
    const conn = await upgrade(sid);
    assert.equal((await poll(P, sid)).status, 400);
    conn.send("4hello");
    assert.equal(await conn.nextData(), "4hello");
    conn.close();
  });

  it("closes a second WebSocket for the same session after the upgrade", async () => {
    const sid = await openPolling(P);
    const conn = await upgrade(sid);
    const second = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket&sid=${sid}`);
    await within(2000, second.closed, "the second WebSocket to close");
    conn.send("4hello");
    assert.equal(await conn.nextData(), "4hello");
    conn.close();
  });

  it("drops a probe that never completes and keeps the session on polling", async () => {
    const sid = await openPolling(P);
    const conn = new Conn(`${WS_BASE}${P}?EIO=4&transport=websocket&sid=${sid}`);
    await conn.opened;
    // The test server's upgrade timeout is 1 s; the client keeps answering pings meanwhile.
    const closed = within(3000, conn.closed, "the abandoned probe to close");
    let done = false;
    closed.finally(() => (done = true));
    while (!done) {
      const pull = await poll(P, sid);
      assert.equal(pull.status, 200);
      if ((await pull.text()) === "2") await post(P, sid, "3");
    }
    await closed;
    assert.equal((await post(P, sid, "4still-here")).status, 200);
    let text = "";
    while (!text.includes("4still-here")) text = await (await poll(P, sid)).text();
  });
});
