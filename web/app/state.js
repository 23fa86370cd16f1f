// @ts-check
// What the page knows, shared by its parts: the client, the conversations, people's names
// and presence.
import { io } from "/vendor/socket.io.esm.min.js";
import { ConfabClient } from "/confab-client.js";

export const client = new ConfabClient({ io });

/** The user's conversations by id, as the API returns them (members, last message, unread). @type {Map<string, any>} */
export const conversations = new Map();

/** Users by id (public profiles). @type {Map<string, any>} */
const users = new Map();
/** @type {Map<string, Promise<any>>} */
const asked = new Map();

/** Presence by user id. @type {Map<string, { online: boolean, lastSeenAt: string | null }>} */
export const presence = new Map();

/** The id of the open conversation, if any. */
export const view = { open: /** @type {string | null} */ (null) };

/** A user's display name (fetched once). @param {string} id @returns {Promise<string>} */
export async function nameOf(id) {
  const user = await userOf(id);
  return user ? user.displayName || user.username : "someone";
}

/** @param {string} id */
export function userOf(id) {
  if (users.has(id)) return Promise.resolve(users.get(id));
  if (!asked.has(id)) {
    asked.set(
      id,
      client.api("GET", `/users/${id}`).then(
        (user) => (users.set(id, user), user),
        () => null,
      ),
    );
  }
  return /** @type {Promise<any>} */ (asked.get(id));
}

/** Remembers users the page was given anyway (search results, contacts). @param {any[]} list */
export function knowUsers(list) {
  for (const user of list) users.set(user.id, user);
}

/** The other person of a DM. @param {any} c */
export const otherOf = (c) =>
  c.kind === "dm" ? c.members.find((/** @type {any} */ m) => m.userId !== client.user.id)?.userId ?? null : null;

/** A conversation's title: a group's own, a DM's other person's name. @param {any} c */
export async function titleOf(c) {
  if (c.kind !== "dm") return c.title || "Untitled group";
  const other = otherOf(c);
  return other ? nameOf(other) : "Direct message";
}

/** The user's role in a conversation. @param {any} c */
export const roleIn = (c) => c.members.find((/** @type {any} */ m) => m.userId === client.user.id)?.role ?? "member";

/** Receipts waiting to be sent, by kind and conversation: the highest seq. @type {Map<string, number>} */
const receipts = new Map();
const RECEIPT_EVERY_MS = 500;

/**
 * Tells the server that everything up to `seq` was delivered or read, at most one event per
 * conversation and kind every 500 ms (a busy group must not spend the user's event budget
 * on receipts): later calls raise the seq of the one waiting.
 * @param {"delivered" | "read"} kind @param {string} conversationId @param {number} seq
 */
export function receipt(kind, conversationId, seq) {
  const key = `${kind} ${conversationId}`;
  const waiting = receipts.get(key);
  receipts.set(key, Math.max(waiting ?? 0, seq));
  if (waiting !== undefined) return;
  setTimeout(() => {
    const highest = /** @type {number} */ (receipts.get(key));
    receipts.delete(key);
    client.ask(`receipt:${kind}`, { conversationId, seq: highest }).catch(() => {});
  }, RECEIPT_EVERY_MS);
}
