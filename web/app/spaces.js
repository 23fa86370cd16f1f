// @ts-check
// Invite links (create and copy one; open /invite/{code} to join) and workspaces with their
// public channels (discover, join, leave, create).
import { $, button, element, fields, openDialog } from "./dom.js";
import { client } from "./state.js";

/** @type {(c: any) => void} */
let onJoined = () => {};

/** @param {(c: any) => void} joined what to do with a conversation joined here (open it) */
export function initSpaces(joined) {
  onJoined = joined;
}

// --- Invite links ---------------------------------------------------------------------------

/** Makes a new invite link to a group or a workspace and shows it. @param {string} path `/conversations/{id}` or `/workspaces/{id}` */
export async function showNewInvite(path) {
  const invite = await client.api("POST", `${path}/invites`, {});
  const link = /** @type {HTMLInputElement} */ ($("invite-link"));
  link.value = `${window.location.origin}/invite/${invite.code}`;
  $("invite-status").textContent = `Works until ${new Date(invite.expiresAt).toLocaleString()}`;
  openDialog("invite-dialog");
  link.select();
}

$("invite-copy").addEventListener("click", async () => {
  const link = /** @type {HTMLInputElement} */ ($("invite-link"));
  try {
    await navigator.clipboard.writeText(link.value);
    $("invite-status").textContent = "Copied";
  } catch {
    link.select();
    $("invite-status").textContent = "Selected: copy it with Ctrl+C";
  }
});

/** The invite code of the address, if the page was opened as /invite/{code}. */
export function inviteInAddress() {
  const match = /^\/invite\/([A-Za-z0-9_-]{1,64})$/.exec(window.location.pathname);
  return match ? match[1] : null;
}

/** Shows what an invite link leads to and offers to join. @param {string} code */
export async function offerInvite(code) {
  window.history.replaceState(null, "", "/");
  const dialog = openDialog("join-dialog");
  const join = /** @type {HTMLButtonElement} */ ($("join-accept"));
  try {
    const invite = await client.api("GET", `/invites/${encodeURIComponent(code)}`);
    const target = invite.conversation ?? invite.workspace;
    const name = invite.conversation ? invite.conversation.title || "a group" : invite.workspace.name;
    $("join-title").textContent = `Join ${name}`;
    $("join-detail").textContent = `${target.memberCount} ${target.memberCount === 1 ? "member" : "members"}`;
    join.hidden = false;
    join.onclick = async () => {
      try {
        const joined = await client.api("POST", `/invites/${encodeURIComponent(code)}/accept`);
        dialog.close();
        if (invite.conversation) onJoined(joined);
        else showWorkspaces(invite.workspace.id);
      } catch (err) {
        $("join-detail").textContent = /** @type {Error} */ (err).message;
      }
    };
  } catch {
    $("join-title").textContent = "This invite link does not work";
    $("join-detail").textContent = "It may have expired, been revoked or used up.";
    join.hidden = true;
  }
}

// --- Workspaces and channels ----------------------------------------------------------------

/** @type {any} */
let workspace = null;

$("workspaces").addEventListener("click", () => showWorkspaces());

/** Lists the user's workspaces, and opens one of them. @param {string} [id] */
export async function showWorkspaces(id) {
  openDialog("workspaces-dialog");
  const { workspaces } = await client.api("GET", "/workspaces");
  $("workspace-list").replaceChildren(
    ...workspaces.map((/** @type {any} */ w) => {
      const item = element("li");
      item.append(button(w.name, () => openWorkspace(w)));
      return item;
    }),
  );
  const chosen = workspaces.find((/** @type {any} */ w) => w.id === (id ?? workspace?.id));
  if (chosen) openWorkspace(chosen);
  else $("workspace-view").hidden = true;
}

/** @param {any} w */
async function openWorkspace(w) {
  workspace = w;
  $("workspace-view").hidden = false;
  $("workspace-name").textContent = w.name;
  $("workspace-invite").hidden = !["owner", "admin"].includes(w.role);
  await listChannels();
}

async function listChannels() {
  if (!workspace) return;
  const q = /** @type {HTMLInputElement} */ ($("channel-q")).value.trim();
  const { channels } = await client.api("GET", `/workspaces/${workspace.id}/channels?limit=50&q=${encodeURIComponent(q)}`);
  const items = channels.map((/** @type {any} */ ch) => {
    const item = element("li", `${ch.title} · ${ch.memberCount} ${ch.memberCount === 1 ? "member" : "members"} `);
    if (ch.joined) {
      item.append(
        button(`Open ${ch.title}`, () => openChannel(ch.id)),
        button(`Leave ${ch.title}`, async () => {
          await client.api("DELETE", `/conversations/${ch.id}/members/${client.user.id}`);
          listChannels();
        }),
      );
    } else {
      item.append(
        button(`Join ${ch.title}`, async () => {
          const c = await client.api("POST", `/conversations/${ch.id}/join`);
          /** @type {HTMLDialogElement} */ ($("workspaces-dialog")).close();
          onJoined(c);
        }),
      );
    }
    return item;
  });
  $("channels").replaceChildren(...(items.length ? items : [element("li", "No public channels")]));
}

/** @param {string} id */
async function openChannel(id) {
  const c = await client.api("GET", `/conversations/${id}`);
  /** @type {HTMLDialogElement} */ ($("workspaces-dialog")).close();
  onJoined(c);
}

$("channel-q").addEventListener("input", () => listChannels().catch(() => {}));

$("workspace-invite").addEventListener("click", () => workspace && showNewInvite(`/workspaces/${workspace.id}`));

$("workspace-leave").addEventListener("click", async () => {
  if (!workspace || !window.confirm(`Leave ${workspace.name} and its channels?`)) return;
  await client.api("DELETE", `/workspaces/${workspace.id}/members/${client.user.id}`);
  workspace = null;
  showWorkspaces();
});

$("workspace-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const { name, slug } = fields(form);
  try {
    const w = await client.api("POST", "/workspaces", { name: name.trim(), slug: slug.trim() });
    form.reset();
    $("workspace-error").textContent = "";
    await showWorkspaces(w.id);
  } catch (err) {
    $("workspace-error").textContent = /** @type {Error} */ (err).message;
  }
});

$("channel-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  if (!workspace) return;
  try {
    const c = await client.api("POST", "/conversations", {
      kind: "group",
      title: fields(form).title.trim(),
      memberIds: [],
      workspaceId: workspace.id,
      visibility: "public",
    });
    form.reset();
    /** @type {HTMLDialogElement} */ ($("workspaces-dialog")).close();
    onJoined(c);
  } catch (err) {
    $("workspace-error").textContent = /** @type {Error} */ (err).message;
  }
});
