// confab-client renews a live socket's credentials: against a server whose access tokens
// last 61 s (tests/api/sockets.rs), `session:expiring` comes a second after connecting; the
// library refreshes the token through the refresh cookie and sends `auth:refresh`. The server
// took it if, when the first token expires a minute later, the socket stays open and is
// warned about the new token instead.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { ConfabClient, MemoryStorage, expiresAt } from "../../../web/confab-client.js";
import { BASE } from "../chat/api.mjs";

const clients = [];
after(() => clients.forEach((c) => c.disconnect()));

describe("confab-client on a live socket", () => {
  it("answers session:expiring with a new token through auth:refresh, staying connected", async () => {
    const client = new ConfabClient({ baseUrl: BASE, io, storage: new MemoryStorage() });
    clients.push(client);
    const name = `rn_${Math.random().toString(36).slice(2, 8)}`;
    await client.register({ email: `${name}@example.com`, username: name, password: "correct horse battery" });
    const first = client.accessToken;
    const states = [];
    client.addEventListener("state", (e) => states.push(e.detail));
    const socket = client.connect({ reconnection: false, forceNew: true });
    const warnings = [];
    const twoWarnings = new Promise((resolve) =>
      socket.on("session:expiring", (w) => {
        warnings.push({ ...w, token: client.accessToken });
        if (warnings.length === 2) resolve();
      }),
    );
    await twoWarnings;
    // The first warning names the first token's expiry; the second, after the refresh, the new one's.
    assert.equal(Date.parse(warnings[0].expiresAt), expiresAt(first));
    assert.notEqual(client.accessToken, first, "the token was refreshed");
    assert.ok(Date.parse(warnings[1].expiresAt) > Date.parse(warnings[0].expiresAt), JSON.stringify(warnings));
    assert.ok(socket.connected);
    assert.deepEqual(states, ["connecting", "connected"]);
  });
});
