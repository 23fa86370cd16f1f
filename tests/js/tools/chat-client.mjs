// The stock socket.io-client with default options, driven by tests/restart.rs: the same line
// protocol as tests/python/chat_client.py.
//
//   node tools/chat-client.mjs URL TOKEN
//
// Reports, one JSON object a line on stdout: `connect`, `ready` (session:ready), `message`
// (message:new), `sent` (the ack of a send) and `disconnect`. Reconnection is the client's own.
// Reads `{"send": {...}}` lines on stdin (emits `message:send`, waits for its ack); end of input
// disconnects and exits.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, token] = process.argv.slice(2);
const say = (event) => console.log(JSON.stringify(event));

const socket = io(url, { auth: { token } });
socket.on("connect", () => say({ event: "connect", transport: socket.io.engine.transport.name }));
socket.on("disconnect", (reason) => say({ event: "disconnect", reason }));
socket.on("session:ready", () => say({ event: "ready", transport: socket.io.engine.transport.name }));
socket.on("message:new", (message) => say({ event: "message", body: message.body }));

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.send) {
    const ack = await socket.timeout(20000).emitWithAck("message:send", command.send);
    say({ event: "sent", ok: ack.ok === true, body: command.send.body });
  }
}
socket.disconnect();
