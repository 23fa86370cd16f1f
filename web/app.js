// @ts-check
// The reference page: signs in, then wires confab-client.js's events to the parts of the page
// (web/app/). User content is only ever set as text, never as markup.
import { $, fields, presenceText } from "./app/dom.js";
import { client, conversations, nameOf, otherOf, presence, receipt, roleIn, titleOf, view } from "./app/state.js";
import { initList, markRead, noteMessage, reloadList, renderList } from "./app/list.js";
import {
  markShownRead,
  refreshStatuses,
  renderOutbox,
  showChanged,
  showConversation,
  showNew,
  showReactions,
} from "./app/messages.js";
import { resetComposer } from "./app/composer.js";
import { initContacts } from "./app/contacts.js";
import { initPeople } from "./app/people.js";
import { initSearch } from "./app/search.js";
import { initSpaces, inviteInAddress, offerInvite, showNewInvite } from "./app/spaces.js";

/** Opens a conversation, at its newest messages or at `target`. @param {any} c @param {{ id: string, seq: number }} [target] */
async function openConversation(c, target) {
  if (!conversations.has(c.id)) conversations.set(c.id, c);
  c = conversations.get(c.id);
  view.open = c.id;
  resetComposer();
  $("conversation-title").textContent = await titleOf(c);
  showHeader(c);
  $("composer").hidden = false;
  $("signed-in").classList.add("reading");
  markRead(c.id);
  renderList();
  await showConversation(c, target);
}

/** The open conversation's presence line and actions. @param {any} c */
function showHeader(c) {
  const other = otherOf(c);
  $("conversation-presence").textContent = other ? presenceText(presence.get(other)) : `${c.members.length} ${c.members.length === 1 ? "member" : "members"}`;
  const group = c.kind === "group";
  $("invite").hidden = !group || !["owner", "admin"].includes(roleIn(c));
  $("leave").hidden = !group;
}

/** The open conversation's header again, from what the page knows now (members, roles). */
function refreshHeader() {
  const c = view.open && conversations.get(view.open);
  if (c) showHeader(c);
}

/** @param {string} conversationId @param {{ id: string, seq: number }} target */
async function jump(conversationId, target) {
  const c = conversations.get(conversationId) ?? (await client.api("GET", `/conversations/${conversationId}`));
  await openConversation(c, target);
}

initList(openConversation);
initPeople(openConversation);
initContacts(openConversation);
initSearch(jump);
initSpaces(openConversation);

function signedIn() {
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("tools").hidden = false;
  client.connect();
  reloadList();
  const code = inviteInAddress();
  if (code) offerInvite(code);
}

/** @param {() => Promise<unknown>} attempt */
async function signIn(attempt) {
  try {
    await attempt();
    signedIn();
  } catch (err) {
    $("auth-error").textContent = /** @type {Error} */ (err).message;
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { login, password } = fields(/** @type {HTMLFormElement} */ (event.target));
  signIn(() => client.login(login, password));
});

$("signup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { email, username, password } = fields(/** @type {HTMLFormElement} */ (event.target));
  signIn(() => client.register({ email, username, password }));
});

$("logout").addEventListener("click", async () => {
  await client.logout().catch(() => {});
  window.location.assign("/");
});

$("invite").addEventListener("click", () => view.open && showNewInvite(`/conversations/${view.open}`));

$("leave").addEventListener("click", async () => {
  const c = view.open && conversations.get(view.open);
  if (!c || !window.confirm(`Leave ${await titleOf(c)}?`)) return;
  await client.api("DELETE", `/conversations/${c.id}/members/${client.user.id}`);
});

$("back").addEventListener("click", () => $("signed-in").classList.remove("reading"));

/** @param {string} type @param {(detail: any) => void} handle */
const on = (type, handle) => client.addEventListener(type, (e) => handle(/** @type {CustomEvent} */ (e).detail));

on("state", (state) => ($("connection").textContent = state));
on("ready", () => reloadList());
on("message", (m) => {
  noteMessage(m);
  if (m.conversationId === view.open) showNew(m);
  else if (m.senderId !== client.user.id) {
    receipt("delivered", m.conversationId, m.seq);
  }
});
on("update", (m) => {
  noteMessage(m);
  showChanged(m);
});
on("reaction", (r) => showReactions(r));
on("receipt", (r) => {
  const member = conversations.get(r.conversationId)?.members.find((/** @type {any} */ m) => m.userId === r.userId);
  if (!member) return;
  member.lastDeliveredSeq = r.lastDeliveredSeq;
  member.lastReadSeq = r.lastReadSeq;
  if (r.conversationId === view.open) refreshStatuses();
});
on("presence", (p) => {
  presence.set(p.userId, p);
  renderList();
  refreshHeader();
});
on("typing", async (t) => {
  if (t.conversationId !== view.open) return;
  $("typing").textContent = t.typing ? `${await nameOf(t.userId)} is typing…` : "";
});
on("conversation:added", () => reloadList().then(refreshHeader));
on("conversation:updated", () => reloadList().then(refreshHeader));
on("conversation:removed", (r) => {
  conversations.delete(r.conversationId);
  if (r.conversationId === view.open) {
    view.open = null;
    $("conversation-title").textContent = "No conversation open";
    $("messages").replaceChildren();
    $("composer").hidden = true;
    $("invite").hidden = $("leave").hidden = true;
  }
  renderList();
});
on("outbox", (waiting) => {
  $("outbox").textContent = waiting.length ? `${waiting.length} waiting to be sent` : "";
  renderOutbox();
});
on("failed", ({ error }) => ($("outbox").textContent = `Not sent: ${error.message}`));
window.addEventListener("focus", markShownRead);

// A refresh cookie from an earlier visit signs the user back in.
client
  .refresh()
  .then(async () => {
    client.user = await client.api("GET", "/me");
    signedIn();
  })
  .catch(() => {});
