// docs/asyncapi.yaml: valid AsyncAPI 3 by @asyncapi/parser (with its references into
// docs/openapi.json resolved), naming exactly the events of the code, with schemas that the
// code's own payloads (serialised by tests/asyncapi.rs into ASYNCAPI_SAMPLES) satisfy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Parser, fromFile } from "@asyncapi/parser";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const documentPath = process.env.ASYNCAPI_DOCUMENT;
const samples = JSON.parse(readFileSync(process.env.ASYNCAPI_SAMPLES, "utf8"));

const { document, diagnostics } = await fromFile(new Parser(), documentPath).parse();
const ERROR = 0;

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// OpenAPI's integer formats, which JSON Schema leaves to the application.
ajv.addFormat("int32", { type: "number", validate: Number.isInteger });
ajv.addFormat("int64", { type: "number", validate: Number.isInteger });

/** The operations of `action` ("receive": client events; "send": server events). */
function operations(action) {
  return document.operations().all().filter((op) => op.action() === action);
}

/** The messages of those operations, by event name. */
function messagesByName(action) {
  const byName = new Map();
  for (const op of operations(action)) {
    for (const message of op.messages().all()) byName.set(message.name(), { op, message });
  }
  return byName;
}

/** Checks `payload` against the message's schema; fails with the errors otherwise. */
function assertFits(message, payload, what) {
  const schema = message.payload().json();
  const validate = ajv.compile(schema);
  assert.ok(validate(payload), `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(payload)}`);
}

test("the document is valid AsyncAPI 3", () => {
  const errors = diagnostics.filter((d) => d.severity === ERROR);
  assert.deepEqual(errors.map((d) => `${d.path.join(".")}: ${d.message}`), []);
  assert.ok(document, "parsed");
  assert.equal(document.version(), "3.0.0");
});

test("it names exactly the events the code decodes and emits", () => {
  assert.deepEqual([...messagesByName("receive").keys()].sort(), [...samples.clientEvents].sort());
  assert.deepEqual([...messagesByName("send").keys()].sort(), [...samples.serverEvents].sort());
});

test("the code's client payloads fit the client events", () => {
  const byName = messagesByName("receive");
  for (const [name, payload] of samples.client) assertFits(byName.get(name).message, payload, name);
});

test("the code's server payloads fit the server events", () => {
  const byName = messagesByName("send");
  for (const [name, payload] of samples.server) assertFits(byName.get(name).message, payload, name);
});

test("the code's acks fit the replies of their events", () => {
  const byName = messagesByName("receive");
  for (const [name, payload] of samples.replies) {
    const replies = byName.get(name).op.reply().messages().all();
    const fits = replies.some((reply) => ajv.validate(reply.payload().json(), payload));
    assert.ok(fits, `the ack of ${name} fits none of ${replies.map((r) => r.name())}: ${JSON.stringify(payload)}`);
  }
});

test("a payload that breaks the document is refused by it", () => {
  const send = messagesByName("receive").get("message:send").message;
  const validate = ajv.compile(send.payload().json());
  assert.equal(validate({ conversationId: "not-a-uuid", body: "x" }), false);
});
