// @ts-check
// The conversation list: each conversation a button named by its title, with its last
// message, unread badge and, for a DM, the other person's presence.
import { $, element, presenceText } from "./dom.js";
import { client, conversations, otherOf, presence, titleOf, view } from "./state.js";

/** @type {(c: any) => void} */
let onOpen = () => {};

/** @param {(c: any) => void} open what a click on a conversation does */
export function initList(open) {
  onOpen = open;
}

/** @type {Promise<void> | null} */
let reloading = null;
let again = false;

/**
 * Reads the conversations from the API again (after a reconnect, or membership changes).
 * Asks made while a read runs are served by one more read after it: a burst of
 * `conversation:updated` (one per conversation after the cluster's bridge reconnects) costs
 * two requests, not one per event.
 */
export function reloadList() {
  if (reloading) {
    again = true;
    return reloading;
  }
  reloading = (async () => {
    try {
      do {
        again = false;
        // A failed read (offline) waits for the next reconnect, which reads again.
        await readList().catch(() => {});
      } while (again);
    } finally {
      reloading = null;
    }
  })();
  return reloading;
}

async function readList() {
  const { conversations: list } = await client.api("GET", "/conversations?limit=100");
  conversations.clear();
  for (const c of list) conversations.set(c.id, c);
  const others = list.map(otherOf).filter(Boolean).slice(0, 200);
  if (others.length && client.socket?.connected) {
    client
      .ask("presence:query", { userIds: others })
      .then(({ presence: found }) => {
        for (const p of found) presence.set(p.userId, p);
        renderList();
      })
      .catch(() => {});
  }
  await renderList();
}

/** A message reached the list: last message, order and unread count. @param {any} m */
export function noteMessage(m) {
  const c = conversations.get(m.conversationId);
  if (!c) return reloadList();
  if (m.seq > (c.lastSeq ?? 0)) {
    c.lastSeq = m.seq;
    c.lastMessage = m;
    c.lastMessageAt = m.createdAt;
    if (m.senderId !== client.user.id && m.conversationId !== view.open) c.unreadCount = (c.unreadCount ?? 0) + 1;
  } else if (c.lastMessage?.id === m.id) c.lastMessage = m;
  return renderList();
}

/** The open conversation was read. @param {string} id */
export function markRead(id) {
  const c = conversations.get(id);
  if (c && c.unreadCount) {
    c.unreadCount = 0;
    renderList();
  }
}

/** @param {any} m */
function preview(m) {
  if (!m) return "No messages yet";
  if (m.deleted) return "Message deleted";
  if (m.body) return m.body.length > 80 ? `${m.body.slice(0, 80)}…` : m.body;
  return m.attachments?.length ? "Image" : "";
}

let rendering = Promise.resolve();

/** Draws the list from what the page knows, newest activity first. */
export function renderList() {
  rendering = rendering.then(draw, draw);
  return rendering;
}

async function draw() {
  const sorted = [...conversations.values()].sort((a, b) =>
    String(b.lastMessageAt ?? b.createdAt).localeCompare(String(a.lastMessageAt ?? a.createdAt)),
  );
  const items = [];
  for (const c of sorted) {
    const item = element("li", undefined, "conversation");
    const open = element("button", await titleOf(c), "title");
    open.type = "button";
    if (c.id === view.open) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => onOpen(c));
    item.append(open);
    const other = otherOf(c);
    if (other) {
      const p = presence.get(other);
      item.append(element("span", presenceText(p), p?.online ? "presence online" : "presence"));
    }
    if (c.unreadCount > 0) {
      const badge = element("span", String(c.unreadCount), "badge");
      badge.title = `${c.unreadCount} unread`;
      item.append(badge, element("span", " unread", "visually-hidden"));
    }
    item.append(element("span", preview(c.lastMessage), "last"));
    items.push(item);
  }
  $("conversations").replaceChildren(...items);
}
