// @ts-check
// The composer: text, the message it replies to, images uploading (with progress) or ready,
// and the send through the client's outbox.
import { $, button, element, fields } from "./dom.js";
import { client, nameOf, view } from "./state.js";

const MAX_IMAGES = 5;

/** The message being answered, if any. @type {any} */
let answering = null;
/** Images of the next message: uploading (no id yet) or ready. @type {{ name: string, id: string | null, item: HTMLElement }[]} */
let images = [];

/** Starts a reply to `m`. @param {any} m */
export async function replyTo(m) {
  answering = m;
  const banner = $("replying");
  banner.replaceChildren(
    element("span", `Replying to ${await nameOf(m.senderId)}: ${m.body.slice(0, 80)}`),
    button("Cancel reply", cancelReply),
  );
  banner.hidden = false;
  /** @type {HTMLTextAreaElement} */ ($("composer").querySelector("textarea")).focus();
}

function cancelReply() {
  answering = null;
  $("replying").hidden = true;
  $("replying").replaceChildren();
}

/** Forgets the reply and the images when another conversation opens. */
export function resetComposer() {
  cancelReply();
  images = [];
  $("uploads").replaceChildren();
}

/** @param {File} file */
async function addImage(file) {
  if (images.length >= MAX_IMAGES) {
    $("outbox").textContent = `At most ${MAX_IMAGES} images per message`;
    return;
  }
  const item = element("li");
  const progress = element("progress");
  progress.max = 1;
  progress.value = 0;
  progress.setAttribute("aria-label", `Uploading ${file.name}`);
  item.append(element("span", file.name), progress);
  $("uploads").append(item);
  const entry = { name: file.name, id: /** @type {string | null} */ (null), item };
  images.push(entry);
  const drop = () => {
    images = images.filter((e) => e !== entry);
    item.remove();
  };
  try {
    const attachment = await client.upload(file, (fraction) => (progress.value = fraction));
    entry.id = attachment.id;
    progress.remove();
    item.append(element("span", " ready", "ready"), button(`Remove ${file.name}`, drop));
  } catch (err) {
    drop();
    $("outbox").textContent = `${file.name} was not uploaded: ${/** @type {Error} */ (err).message}`;
  }
}

$("attach").addEventListener("change", (event) => {
  const input = /** @type {HTMLInputElement} */ (event.target);
  for (const file of input.files ?? []) addImage(file);
  input.value = "";
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const body = (fields(form).body ?? "").trim();
  if (!view.open) return;
  if (images.some((e) => !e.id)) {
    $("outbox").textContent = "Wait for the images to finish uploading";
    return;
  }
  const attachmentIds = images.map((e) => /** @type {string} */ (e.id));
  if (!body && !attachmentIds.length) return;
  /** @type {{ attachmentIds?: string[], replyToId?: string }} */
  const extra = {};
  if (attachmentIds.length) extra.attachmentIds = attachmentIds;
  if (answering) extra.replyToId = answering.id;
  client.send(view.open, body, extra);
  client.stopTyping(view.open);
  form.reset();
  resetComposer();
});

$("composer").addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter makes a new line.
  if (event.key === "Enter" && !event.shiftKey && event.target instanceof HTMLTextAreaElement) {
    event.preventDefault();
    /** @type {HTMLFormElement} */ ($("composer")).requestSubmit();
  }
});

$("composer").addEventListener("input", (event) => {
  if (view.open && event.target instanceof HTMLTextAreaElement) client.typing(view.open);
});
