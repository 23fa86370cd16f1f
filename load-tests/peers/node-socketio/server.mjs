// A plain Node.js socket.io 4.8 + pg server implementing the subset of Confab's contract that
// the load tool drives (session:ready, message:send with its ack, message:new) on Confab's own
// tables and tokens: every message is committed before its ack, as in Confab. A send takes the
// conversation's next seq and next rev in the same commit (PROTOCOL.md section 4), as Confab's
// does, so the rows it stores are rows Confab could have stored.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/confab PORT=8090 node server.mjs
//
// JWT_SECRET must match the one Confab's tokens were signed with (Confab's development secret
// by default). The database must have been created and migrated by Confab (`confab migrate`).
import { createServer } from "node:http";
import { Server } from "socket.io";
import jwt from "jsonwebtoken";
import pg from "pg";

const port = Number(process.env.PORT ?? 8090);
const secret = process.env.JWT_SECRET ?? "confab-development-secret-do-not-use-in-production";
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 });

const http = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
  } else {
    res.writeHead(404).end();
  }
});
const io = new Server(http, { serveClient: false });

io.use((socket, next) => {
  try {
    const claims = jwt.verify(socket.handshake.auth?.token ?? "", secret, { algorithms: ["HS256"] });
    if (claims.typ !== "access") throw new Error("not an access token");
    socket.data.userId = claims.sub;
    next();
  } catch {
    next(Object.assign(new Error("unauthorized"), { data: { code: "unauthorized" } }));
  }
});

io.on("connection", async (socket) => {
  const userId = socket.data.userId;
  const { rows } = await pool.query(
    `SELECT m.conversation_id, c.last_seq, c.last_rev, m.last_read_seq
       FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.user_id = $1`,
    [userId],
  );
  const conversations = rows.map((r) => ({
    conversationId: r.conversation_id,
    lastSeq: Number(r.last_seq),
    lastRev: Number(r.last_rev),
    lastReadSeq: Number(r.last_read_seq),
  }));
  socket.data.conversations = new Set(conversations.map((c) => c.conversationId));
  socket.join([...socket.data.conversations]);
  socket.emit("session:ready", { userId, sessionId: socket.id, conversations });

  socket.on("message:send", async (payload, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    const { conversationId, clientMessageId, body } = payload ?? {};
    if (typeof conversationId !== "string" || typeof clientMessageId !== "string" || typeof body !== "string") {
      return reply({ ok: false, error: { code: "invalid", message: "conversationId, clientMessageId and body are required" } });
    }
    if (!socket.data.conversations.has(conversationId)) {
      return reply({ ok: false, error: { code: "not_found", message: "conversation not found" } });
    }
    let message;
    let created = false;
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const earlier = await client.query(
        "SELECT * FROM messages WHERE sender_id = $1 AND client_message_id = $2",
        [userId, clientMessageId],
      );
      if (earlier.rows.length > 0) {
        message = earlier.rows[0];
      } else {
        // The update locks the conversation's row until the commit: seqs and revs are taken
        // one send at a time, gapless and in commit order.
        const bumped = await client.query(
          `UPDATE conversations SET last_seq = last_seq + 1, last_rev = last_rev + 1, last_message_at = now()
            WHERE id = $1 RETURNING last_seq, last_rev`,
          [conversationId],
        );
        const { last_seq: seq, last_rev: rev } = bumped.rows[0];
        const inserted = await client.query(
          `INSERT INTO messages (conversation_id, seq, rev, sender_id, client_message_id, body, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING *`,
          [conversationId, seq, rev, userId, clientMessageId, body],
        );
        message = inserted.rows[0];
        created = true;
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      return reply({ ok: false, error: { code: "unavailable", message: String(err.message) } });
    } finally {
      client.release();
    }
    // The Message object of PROTOCOL.md section 4 (this peer stores no replies, attachments or
    // reactions).
    const json = {
      id: String(message.id),
      conversationId: message.conversation_id,
      seq: Number(message.seq),
      rev: Number(message.rev),
      senderId: message.sender_id,
      clientMessageId: message.client_message_id,
      body: message.body,
      replyTo: null,
      attachments: [],
      reactions: [],
      createdAt: message.created_at.toISOString(),
      editedAt: message.edited_at?.toISOString() ?? null,
      deleted: message.deleted_at !== null,
    };
    reply({ ok: true, message: json });
    socket.emit("message:sent", { clientMessageId, message: json });
    if (created) socket.to(conversationId).emit("message:new", json);
  });
});

http.listen(port, "127.0.0.1", () => console.log(`node peer listening on 127.0.0.1:${port}`));
