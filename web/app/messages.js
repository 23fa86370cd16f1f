// @ts-check
// The open conversation: its messages a page at a time (older ones as the list scrolls up,
// newer ones after a jump into the past), day separators, replies, edits, tombstones,
// reactions, images and each own message's status.
import { $, button, dayLabel, element, openDialog, safeUrl, timeOf } from "./dom.js";
import { client, conversations, nameOf, receipt, roleIn, view } from "./state.js";
import { replyTo } from "./composer.js";
import { showProfile } from "./contacts.js";

const PAGE = 50;
/** The most messages kept in the page at once (six pages). */
const MAX_SHOWN = 6 * PAGE;
const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/** Live messages that arrived while a page was loading. @type {any[]} */
let arrived = [];

/** Shows the live messages that arrived during a load, unless the page brought them. */
function showArrived() {
  const waiting = arrived;
  arrived = [];
  for (const m of waiting) showNew(m);
}

/** What is loaded of the open conversation. */
const shown = { oldest: 0, newest: 0, moreOlder: false, moreNewer: false, loading: false, readSent: 0 };

/** The messages shown, by id (to redraw one with new reactions). @type {Map<string, any>} */
const loaded = new Map();

const list = () => $("messages");
const dayOf = (/** @type {string} */ iso) => new Date(iso).toDateString();

/** @param {string} iso */
function daySeparator(iso) {
  const item = element("li", undefined, "day");
  item.dataset.day = dayOf(iso);
  item.append(element("span", dayLabel(new Date(iso))));
  return item;
}

/** A page of messages as list items, a separator before each new day. @param {any[]} messages @param {string | null} prevDay */
async function pageNodes(messages, prevDay) {
  const nodes = [];
  for (const m of messages) {
    if (dayOf(m.createdAt) !== prevDay) nodes.push(daySeparator(m.createdAt));
    prevDay = dayOf(m.createdAt);
    nodes.push(await messageItem(m));
  }
  return nodes;
}

/** @param {any} m */
async function messageItem(m) {
  const mine = m.senderId === client.user.id;
  const item = element("li", undefined, mine ? "message mine" : "message");
  loaded.set(m.id, m);
  item.dataset.id = m.id;
  item.dataset.seq = String(m.seq);
  item.dataset.day = dayOf(m.createdAt);
  item.tabIndex = -1;
  const meta = element("div", undefined, "meta");
  meta.append(button(await nameOf(m.senderId), () => showProfile(m.senderId), "sender"), ` · ${timeOf(m.createdAt)}`);
  if (m.deleted) meta.append(" · deleted");
  else if (m.editedAt) meta.append(" · edited");
  item.append(meta);
  if (m.replyTo) {
    const quote = element("div", undefined, "reply");
    quote.append(`Reply to ${await nameOf(m.replyTo.senderId)}: `, element("q", m.replyTo.excerpt || "deleted message"));
    item.append(quote);
  }
  item.append(element("div", m.deleted ? "This message was deleted." : m.body, m.deleted ? "body deleted" : "body"));
  if (m.attachments?.length) item.append(attachmentsOf(m));
  item.append(reactionsOf(m));
  if (!m.deleted) item.append(actionsOf(m, mine));
  if (mine) item.append(element("div", undefined, "status"));
  if (mine) updateStatus(item);
  return item;
}

/** @param {any} m */
function attachmentsOf(m) {
  const box = element("div", undefined, "attachments");
  for (const a of m.attachments) {
    // Until its thumbnail exists (a `message:updated` brings it), an image is shown by name.
    const src = safeUrl(a.thumbnailUrl);
    const open = element("button", src ? undefined : a.name, "thumb");
    open.type = "button";
    if (src) {
      const image = element("img");
      image.src = src;
      image.alt = a.name;
      image.width = Math.min(160, a.width || 160);
      open.append(image);
    }
    open.addEventListener("click", () => showImage(a));
    box.append(open);
  }
  return box;
}

/** The larger view of an image. @param {any} a */
function showImage(a) {
  const image = /** @type {HTMLImageElement} */ ($("image-large"));
  image.src = safeUrl(a.url) ?? "";
  image.alt = a.name;
  $("image-title").textContent = a.name;
  openDialog("image-view");
}

/** @param {any} m */
function reactionsOf(m) {
  const box = element("div", undefined, "reactions");
  for (const r of m.reactions ?? []) {
    const pressed = r.userIds.includes(client.user.id);
    const chip = button(`${r.emoji} ${r.userIds.length}`, () => toggleReaction(m, r.emoji, !pressed));
    chip.setAttribute("aria-pressed", String(pressed));
    box.append(chip);
  }
  return box;
}

/** @param {any} m @param {string} emoji @param {boolean} add */
function toggleReaction(m, emoji, add) {
  client.react(m.conversationId, m.id, emoji, add).catch(showError);
}

/** @param {any} m @param {boolean} mine */
function actionsOf(m, mine) {
  const box = element("div", undefined, "actions");
  box.append(button("Reply", () => replyTo(m)));
  const picker = element("div", undefined, "picker");
  picker.hidden = true;
  for (const emoji of EMOJI) picker.append(button(emoji, () => ((picker.hidden = true), toggleReaction(m, emoji, true))));
  const react = button("React", () => {
    picker.hidden = !picker.hidden;
    react.setAttribute("aria-expanded", String(!picker.hidden));
  });
  react.setAttribute("aria-expanded", "false");
  box.append(react);
  if (mine) box.append(button("Edit", () => startEdit(m)));
  const c = conversations.get(m.conversationId);
  const admin = c && c.kind === "group" && ["owner", "admin"].includes(roleIn(c));
  if (mine || admin) {
    box.append(
      button("Delete", () => {
        if (window.confirm("Delete this message for everyone?")) client.remove(m.conversationId, m.id).catch(showError);
      }),
    );
  }
  box.append(picker);
  return box;
}

/** Replaces a message's body with a form that edits it. @param {any} m */
function startEdit(m) {
  const item = itemOf(m.id);
  const body = /** @type {HTMLElement | null | undefined} */ (item?.querySelector(".body"));
  if (!item || !body || item.querySelector("form")) return;
  const form = element("form", undefined, "edit");
  const label = element("label", "Edit message");
  const text = element("textarea");
  text.name = "body";
  text.value = m.body;
  text.rows = 2;
  label.append(text);
  const save = element("button", "Save");
  save.type = "submit";
  const cancel = () => {
    form.remove();
    body.hidden = false;
  };
  form.append(label, save, button("Cancel", cancel));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    client.edit(m.conversationId, m.id, text.value.trim()).catch(showError);
  });
  body.hidden = true;
  body.after(form);
  text.focus();
}

/** @param {unknown} err */
function showError(err) {
  $("outbox").textContent = `Not done: ${/** @type {Error} */ (err).message}`;
}

/** @param {string} id @returns {HTMLElement | null} */
const itemOf = (id) => list().querySelector(`li.message[data-id="${CSS.escape(id)}"]`);

/** An own message's status from the other members' watermarks. @param {HTMLElement} item */
function updateStatus(item) {
  const status = item.querySelector(".status");
  const c = view.open ? conversations.get(view.open) : null;
  if (!status || !c) return;
  const seq = Number(item.dataset.seq);
  const others = c.members.filter((/** @type {any} */ m) => m.userId !== client.user.id);
  const read = others.filter((/** @type {any} */ m) => m.lastReadSeq >= seq).length;
  const delivered = others.filter((/** @type {any} */ m) => m.lastDeliveredSeq >= seq).length;
  if (c.kind === "group" && read > 0) {
    status.replaceChildren(button(`Read by ${read}`, () => showReaders(c.id, seq)));
    return;
  }
  const text = read > 0 ? "Read" : others.length && delivered === others.length ? "Delivered" : "Sent";
  if (status.textContent !== text) status.replaceChildren(text);
}

/** Who has read (and received) a message, on demand. @param {string} conversationId @param {number} seq */
async function showReaders(conversationId, seq) {
  const { read, delivered } = await client.api("GET", `/conversations/${conversationId}/messages/${seq}/receipts`);
  const items = [];
  for (const r of read) items.push(element("li", `${await nameOf(r.userId)}: read ${timeOf(r.at ?? "")}`));
  const readers = new Set(read.map((/** @type {any} */ r) => r.userId));
  for (const d of delivered) if (!readers.has(d.userId)) items.push(element("li", `${await nameOf(d.userId)}: delivered`));
  $("receipt-list").replaceChildren(...items);
  openDialog("receipts");
}

/** Every own message's status again (a watermark moved). */
export function refreshStatuses() {
  for (const item of list().querySelectorAll("li.message.mine")) updateStatus(/** @type {HTMLElement} */ (item));
}

/** Tells the server the newest shown message was read, when the page is in view. */
export function markShownRead() {
  if (!view.open || shown.moreNewer || document.visibilityState !== "visible") return;
  if (shown.newest <= shown.readSent) return;
  shown.readSent = shown.newest;
  receipt("read", view.open, shown.newest);
}

/**
 * Shows a conversation: its newest page, or the page around `target` (a message found by
 * search), which is then scrolled to and focused.
 * @param {any} c @param {{ id: string, seq: number }} [target]
 */
export async function showConversation(c, target) {
  Object.assign(shown, { oldest: 0, newest: 0, moreOlder: false, moreNewer: false, loading: true, readSent: 0 });
  list().replaceChildren();
  loaded.clear();
  arrived = [];
  try {
    const query = target ? `beforeSeq=${target.seq + PAGE / 2}&limit=${PAGE}` : `limit=${PAGE}`;
    const page = await client.api("GET", `/conversations/${c.id}/messages?${query}`);
    if (view.open !== c.id) return;
    list().replaceChildren(...(await pageNodes(page.messages, null)));
    shown.oldest = page.messages[0]?.seq ?? 0;
    shown.newest = page.messages.at(-1)?.seq ?? 0;
    shown.moreOlder = page.hasMore;
    shown.moreNewer = target ? shown.newest < (conversations.get(c.id)?.lastSeq ?? 0) : false;
  } finally {
    shown.loading = false;
  }
  showArrived();
  renderOutbox();
  const item = target && itemOf(target.id);
  if (item) {
    item.classList.add("found");
    item.scrollIntoView({ block: "center" });
    item.focus();
  } else list().scrollTop = list().scrollHeight;
  markShownRead();
}

/** One more page above (older) or below (newer, after a jump) what is shown. @param {"older" | "newer"} way */
async function loadMore(way) {
  const c = view.open;
  if (!c || shown.loading || !(way === "older" ? shown.moreOlder : shown.moreNewer)) return;
  shown.loading = true;
  try {
    const query = way === "older" ? `beforeSeq=${shown.oldest}` : `afterSeq=${shown.newest}`;
    const page = await client.api("GET", `/conversations/${c}/messages?${query}&limit=${PAGE}`);
    if (view.open !== c || !page.messages.length) {
      if (way === "older") shown.moreOlder = false;
      else shown.moreNewer = false;
      return;
    }
    if (way === "older") {
      const height = list().scrollHeight;
      const nodes = await pageNodes(page.messages, null);
      const first = list().firstElementChild;
      if (first?.classList.contains("day") && first instanceof HTMLElement && first.dataset.day === dayOf(page.messages.at(-1).createdAt)) first.remove();
      list().prepend(...nodes);
      list().scrollTop += list().scrollHeight - height;
      shown.oldest = page.messages[0].seq;
      shown.moreOlder = page.hasMore;
      trim("newer");
    } else {
      list().querySelectorAll("li.sending").forEach((n) => n.remove());
      list().append(...(await pageNodes(page.messages, lastDay())));
      shown.newest = page.messages.at(-1).seq;
      shown.moreNewer = page.hasMore;
      trim("older");
      renderOutbox();
      markShownRead();
    }
  } finally {
    shown.loading = false;
    showArrived();
  }
}

/**
 * Keeps at most `MAX_SHOWN` messages in the page: past that, the end away from where the
 * reader is going is dropped, and loads again (a page at a time) if they scroll back to it.
 * @param {"older" | "newer"} end
 */
function trim(end) {
  const items = [...list().querySelectorAll("li.message")];
  const extra = items.length - MAX_SHOWN;
  if (extra <= 0) return;
  const dropped = end === "newer" ? items.slice(-extra) : items.slice(0, extra);
  const height = list().scrollHeight;
  for (const item of dropped) {
    loaded.delete(/** @type {HTMLElement} */ (item).dataset.id ?? "");
    item.remove();
  }
  // A day separator is kept only with a message of its day after it.
  for (const day of list().querySelectorAll("li.day")) {
    const next = day.nextElementSibling;
    if (!next || next.classList.contains("day") || next.classList.contains("sending")) day.remove();
  }
  const kept = /** @type {HTMLElement[]} */ ([...list().querySelectorAll("li.message")]);
  if (end === "newer") {
    shown.newest = Number(kept.at(-1)?.dataset.seq ?? shown.newest);
    shown.moreNewer = true;
    list().querySelectorAll("li.sending").forEach((n) => n.remove());
  } else {
    const first = kept[0];
    if (first && !first.previousElementSibling?.classList.contains("day")) {
      const m = loaded.get(first.dataset.id ?? "");
      if (m) first.before(daySeparator(m.createdAt));
    }
    shown.oldest = Number(first?.dataset.seq ?? shown.oldest);
    shown.moreOlder = true;
    list().scrollTop -= height - list().scrollHeight;
  }
}

function lastDay() {
  const items = list().querySelectorAll("li.message");
  const last = /** @type {HTMLElement | undefined} */ (items[items.length - 1]);
  return last?.dataset.day ?? null;
}

/** A new message of the open conversation (live, caught up, or the user's own once stored). @param {any} m */
export async function showNew(m) {
  if (m.conversationId !== view.open) return;
  if (shown.loading) {
    // The page being read may or may not hold it: decided once the page is shown.
    arrived.push(m);
    return;
  }
  if (shown.moreNewer || itemOf(m.id)) return;
  if (m.seq <= shown.newest) return; // Already loaded by the page that is being shown.
  const stick = list().scrollHeight - list().scrollTop - list().clientHeight < 80;
  const nodes = await pageNodes([m], lastDay());
  if (m.conversationId !== view.open || itemOf(m.id)) return;
  const firstSending = list().querySelector("li.sending");
  for (const node of nodes) list().insertBefore(node, firstSending);
  shown.newest = Math.max(shown.newest, m.seq);
  if (!shown.oldest) shown.oldest = m.seq;
  renderOutbox();
  if (stick || m.senderId === client.user.id) list().scrollTop = list().scrollHeight;
  markShownRead();
}

/** A changed message (edit, delete, reactions), redrawn in its place. @param {any} m */
export async function showChanged(m) {
  const old = itemOf(m.id);
  if (!old) return;
  const item = await messageItem(m);
  itemOf(m.id)?.replaceWith(item);
}

/** A message's reactions changed: redrawn with the payload's whole new list. @param {any} r */
export function showReactions(r) {
  const m = loaded.get(r.messageId);
  if (m && m.rev < r.rev) return showChanged({ ...m, reactions: r.reactions, rev: r.rev });
}

/** The open conversation's messages that wait in the outbox, as "Sending…", after the rest. */
export function renderOutbox() {
  for (const item of list().querySelectorAll("li.sending")) item.remove();
  if (shown.moreNewer) return;
  for (const entry of client.outbox()) {
    if (entry.conversationId !== view.open) continue;
    const item = element("li", undefined, "message mine sending");
    const text = entry.body || (entry.attachmentIds?.length ? "Image" : "");
    item.append(element("div", "You", "meta"), element("div", text, "body"), element("div", "Sending…", "status"));
    list().append(item);
  }
}

list().addEventListener("scroll", () => {
  const l = list();
  if (l.scrollTop < 80) loadMore("older");
  if (l.scrollHeight - l.scrollTop - l.clientHeight < 80) loadMore("newer");
});
document.addEventListener("visibilitychange", markShownRead);
