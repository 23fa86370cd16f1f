// @ts-check
// Message search: results newest first with their matched words marked; choosing one opens
// its conversation at that message.
import { $, element, fields, highlighted, openDialog, timeOf } from "./dom.js";
import { client, conversations, titleOf } from "./state.js";

/** @type {(conversationId: string, target: { id: string, seq: number }) => void} */
let onJump = () => {};
let query = "";
/** @type {string | null} */
let next = null;

/** @param {(conversationId: string, target: { id: string, seq: number }) => void} jump */
export function initSearch(jump) {
  onJump = jump;
}

$("search").addEventListener("click", () => {
  $("search-results").replaceChildren();
  $("search-status").textContent = "";
  $("search-more").hidden = true;
  openDialog("search-dialog");
});

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  query = fields(/** @type {HTMLFormElement} */ (event.target)).q.trim();
  $("search-results").replaceChildren();
  if (query) find(null);
});

$("search-more").addEventListener("click", () => next && find(next));

/** One page of results, after `before`. @param {string | null} before */
async function find(before) {
  const params = new URLSearchParams({ q: query, limit: "20" });
  if (before) params.set("beforeId", before);
  try {
    const { results, nextCursor } = await client.api("GET", `/search?${params}`);
    for (const { message, snippet, highlights } of results) {
      const c = conversations.get(message.conversationId);
      const open = element("button", undefined, "result");
      open.type = "button";
      open.append(
        element("span", `${c ? await titleOf(c) : "Conversation"} · ${timeOf(message.createdAt)}`, "meta"),
        element("span", undefined, "snippet"),
      );
      /** @type {HTMLElement} */ (open.lastChild).append(...highlighted(snippet, highlights));
      open.addEventListener("click", () => {
        /** @type {HTMLDialogElement} */ ($("search-dialog")).close();
        onJump(message.conversationId, { id: message.id, seq: message.seq });
      });
      const item = element("li");
      item.append(open);
      $("search-results").append(item);
    }
    next = nextCursor;
    $("search-more").hidden = !nextCursor;
    const count = $("search-results").childElementCount;
    $("search-status").textContent = count ? `${count} ${count === 1 ? "result" : "results"}` : "No messages found";
  } catch (err) {
    $("search-status").textContent = /** @type {Error} */ (err).message;
  }
}
