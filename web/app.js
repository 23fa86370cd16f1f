// @ts-check
// The reference page: signs in, lists conversations, shows and sends messages through
// confab-client.js. User content is only ever set as text (textContent), never as markup.
import { io } from "/vendor/socket.io.esm.min.js";
import { ConfabClient } from "/confab-client.js";

const client = new ConfabClient({ io });
/** @type {string | null} */
let open = null;
/** Display names by user id. @type {Map<string, string>} */
const names = new Map();
/** The lowest seq shown of the open conversation, and whether older messages remain. */
let oldestSeq = 0;
let moreHistory = false;
let loadingHistory = false;
const PAGE = 50;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} tag @param {string} [text] @param {string} [className] */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** @param {string} id */
async function nameOf(id) {
  if (!names.has(id)) {
    try {
      const user = await client.api("GET", `/users/${id}`);
      names.set(id, user.displayName || user.username);
    } catch {
      names.set(id, "someone");
    }
  }
  return /** @type {string} */ (names.get(id));
}

/** A conversation's title: a group's own, a DM's other person. @param {any} c */
async function titleOf(c) {
  if (c.kind !== "dm") return c.title ?? "Untitled group";
  const other = c.members.find((/** @type {any} */ m) => m.userId !== client.user.id);
  return other ? nameOf(other.userId) : "Direct message";
}

async function showConversations() {
  const list = $("conversations");
  const { conversations } = await client.api("GET", "/conversations?limit=50");
  const items = [];
  for (const c of conversations) {
    const button = element("button", await titleOf(c));
    button.setAttribute("type", "button");
    button.dataset.id = c.id;
    if (c.id === open) button.setAttribute("aria-current", "true");
    if (c.unreadCount > 0) button.append(element("span", ` (${c.unreadCount})`, "badge"));
    button.addEventListener("click", () => openConversation(c));
    const item = element("li");
    item.append(button);
    items.push(item);
  }
  list.replaceChildren(...items);
}

/** @param {any} message */
async function messageItem(message) {
  const item = element("li", undefined, message.senderId === client.user.id ? "mine" : "");
  item.dataset.id = message.id;
  const meta = element("div", `${await nameOf(message.senderId)} · ${new Date(message.createdAt).toLocaleTimeString()}`, "meta");
  const body = element("div", message.deleted ? "This message was deleted." : message.body);
  if (message.editedAt && !message.deleted) meta.append(" · edited");
  item.append(meta, body);
  return item;
}

/** @param {any} message */
async function showMessage(message) {
  if (message.conversationId !== open) return showConversations();
  const list = $("messages");
  const item = await messageItem(message);
  const existing = list.querySelector(`li[data-id="${CSS.escape(message.id)}"]`);
  if (existing) existing.replaceWith(item);
  else list.append(item);
  showOutbox();
  list.scrollTop = list.scrollHeight;
  const seq = message.seq;
  client.ask("receipt:read", { conversationId: open, seq }).catch(() => {});
}

/** Shows the open conversation's messages that wait in the outbox, as "sending". */
function showOutbox() {
  const list = $("messages");
  for (const item of list.querySelectorAll("li.sending")) item.remove();
  for (const entry of client.outbox()) {
    if (entry.conversationId !== open) continue;
    const item = element("li", undefined, "mine sending");
    item.append(element("div", "sending…", "meta"), element("div", entry.body));
    list.append(item);
  }
}

/** One page of older messages above those shown (history scrolls up a page at a time). */
async function loadOlder() {
  if (!open || !moreHistory || loadingHistory) return;
  loadingHistory = true;
  const conversation = open;
  try {
    const page = await client.api("GET", `/conversations/${conversation}/messages?beforeSeq=${oldestSeq}&limit=${PAGE}`);
    if (conversation !== open) return;
    const list = $("messages");
    const height = list.scrollHeight;
    const items = [];
    for (const m of page.messages) items.push(await messageItem(m));
    list.prepend(...items);
    list.scrollTop += list.scrollHeight - height;
    if (page.messages.length) oldestSeq = page.messages[0].seq;
    moreHistory = page.hasMore;
  } finally {
    loadingHistory = false;
  }
}

/** @param {any} c */
async function openConversation(c) {
  open = c.id;
  $("conversation-title").textContent = await titleOf(c);
  $("composer").hidden = false;
  const { messages, hasMore } = await client.api("GET", `/conversations/${c.id}/messages?limit=${PAGE}`);
  const items = [];
  for (const m of messages) items.push(await messageItem(m));
  $("messages").replaceChildren(...items);
  oldestSeq = messages.length ? messages[0].seq : 0;
  moreHistory = hasMore;
  showOutbox();
  $("messages").scrollTop = $("messages").scrollHeight;
  if (messages.length) client.ask("receipt:read", { conversationId: c.id, seq: messages[messages.length - 1].seq }).catch(() => {});
  showConversations();
}

function signedIn() {
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("logout").hidden = false;
  client.connect();
  showConversations();
}

/** @param {HTMLFormElement} form */
const fields = (form) => Object.fromEntries(new FormData(form).entries());

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { login, password } = fields(/** @type {HTMLFormElement} */ (event.target));
  try {
    await client.login(String(login), String(password));
    signedIn();
  } catch (err) {
    $("auth-error").textContent = /** @type {Error} */ (err).message;
  }
});

$("signup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { email, username, password } = fields(/** @type {HTMLFormElement} */ (event.target));
  try {
    await client.register({ email: String(email), username: String(username), password: String(password) });
    signedIn();
  } catch (err) {
    $("auth-error").textContent = /** @type {Error} */ (err).message;
  }
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const body = String(fields(form).body ?? "").trim();
  if (!open || !body) return;
  client.send(open, body);
  client.stopTyping(open);
  form.reset();
});

$("composer").addEventListener("input", () => open && client.typing(open));

$("new-group").addEventListener("click", async () => {
  const title = window.prompt("Group title");
  if (!title) return;
  const usernames = (window.prompt("Usernames of the members, separated by spaces") ?? "").split(/\s+/).filter(Boolean);
  const memberIds = [];
  for (const username of usernames) {
    try {
      memberIds.push((await client.api("GET", `/users/by-username/${encodeURIComponent(username)}`)).id);
    } catch {
      window.alert(`No user named ${username}`);
      return;
    }
  }
  const c = await client.api("POST", "/conversations", { kind: "group", title, memberIds });
  openConversation(c);
});

$("logout").addEventListener("click", async () => {
  await client.logout().catch(() => {});
  window.location.reload();
});

client.addEventListener("state", (e) => ($("connection").textContent = /** @type {CustomEvent} */ (e).detail));
client.addEventListener("message", (e) => showMessage(/** @type {CustomEvent} */ (e).detail));
client.addEventListener("update", (e) => showMessage(/** @type {CustomEvent} */ (e).detail));
client.addEventListener("conversation:added", () => showConversations());
client.addEventListener("conversation:removed", () => showConversations());
client.addEventListener("outbox", (e) => {
  const waiting = /** @type {CustomEvent} */ (e).detail.length;
  $("outbox").textContent = waiting ? `${waiting} waiting to be sent` : "";
  showOutbox();
});
$("messages").addEventListener("scroll", () => {
  if ($("messages").scrollTop < 40) loadOlder();
});
client.addEventListener("typing", async (e) => {
  const t = /** @type {CustomEvent} */ (e).detail;
  if (t.conversationId !== open) return;
  $("typing").textContent = t.typing ? `${await nameOf(t.userId)} is typing…` : "";
});
client.addEventListener("failed", (e) => {
  $("outbox").textContent = `Not sent: ${/** @type {CustomEvent} */ (e).detail.error.message}`;
});

// A refresh cookie from an earlier visit signs the user back in.
client
  .refresh()
  .then(async () => {
    client.user = await client.api("GET", "/me");
    signedIn();
  })
  .catch(() => {});
