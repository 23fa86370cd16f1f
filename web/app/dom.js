// @ts-check
// Small DOM helpers for the page. User content only ever goes in as text (textContent or text
// nodes), never as markup.

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * A new element with optional text and class.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [text] @param {string} [className]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** A `<button type="button">` named by its text, calling `onClick`. @param {string} label @param {() => void} onClick @param {string} [className] */
export function button(label, onClick, className) {
  const node = element("button", label, className);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

/** The fields of a form, as strings. @param {HTMLFormElement} form @returns {Record<string, string>} */
export function fields(form) {
  return Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
}

/**
 * `text` with its `[start, end)` UTF-16 ranges wrapped in `<mark>`, as nodes.
 * @param {string} text @param {[number, number][]} ranges
 */
export function highlighted(text, ranges) {
  const nodes = [];
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start < at || end > text.length || start >= end) continue;
    nodes.push(document.createTextNode(text.slice(at, start)), element("mark", text.slice(start, end)));
    at = end;
  }
  nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/** `url` if it is http(s), otherwise null: nothing else becomes a link or an image source. @param {string | null | undefined} url */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** "Today", "Yesterday" or the date, for day separators. @param {Date} date */
export function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return date.toLocaleDateString(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

/** A time of day. @param {string} iso */
export const timeOf = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

/** "Online", "Last seen 5 min ago" … for a presence. @param {{ online: boolean, lastSeenAt: string | null } | undefined} p */
export function presenceText(p) {
  if (!p) return "";
  if (p.online) return "Online";
  if (!p.lastSeenAt) return "Offline";
  const minutes = Math.round((Date.now() - new Date(p.lastSeenAt).getTime()) / 60000);
  if (minutes < 1) return "Last seen just now";
  if (minutes < 60) return `Last seen ${minutes} min ago`;
  if (minutes < 24 * 60) return `Last seen ${Math.round(minutes / 60)} h ago`;
  return `Last seen ${new Date(p.lastSeenAt).toLocaleDateString()}`;
}

/** Opens a `<dialog>` of the page as a modal; returns it. @param {string} id */
export function openDialog(id) {
  const dialog = /** @type {HTMLDialogElement} */ ($(id));
  if (!dialog.open) dialog.showModal();
  return dialog;
}
