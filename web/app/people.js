// @ts-check
// Finding people: a new DM or a new group by username search, and the user's own profile and
// privacy settings.
import { $, button, element, fields, openDialog } from "./dom.js";
import { client, knowUsers } from "./state.js";

/** @type {(c: any) => void} */
let onCreated = () => {};

/** @param {(c: any) => void} created what to do with a conversation made here (open it) */
export function initPeople(created) {
  onCreated = created;
}

/** How a person is shown in results: display name and username. @param {any} u */
const labelOf = (u) => `${u.displayName || u.username} (@${u.username})`;

/**
 * Searches users as `input` changes, listing each result in `results` as a button made by
 * `action`.
 * @param {HTMLInputElement} input @param {HTMLElement} results @param {(u: any) => HTMLElement} action
 */
function peopleSearch(input, results, action) {
  let asked = 0;
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) return results.replaceChildren();
    try {
      const { users } = await client.api("GET", `/users/search?q=${encodeURIComponent(q)}&limit=10`);
      if (mine !== asked) return;
      knowUsers(users);
      const others = users.filter((/** @type {any} */ u) => u.id !== client.user.id);
      const items = others.map((/** @type {any} */ u) => {
        const item = element("li");
        item.append(action(u));
        return item;
      });
      results.replaceChildren(...(items.length ? items : [element("li", "Nobody found")]));
    } catch (err) {
      if (mine === asked) results.replaceChildren(element("li", /** @type {Error} */ (err).message, "error"));
    }
  });
}

// --- A new DM -------------------------------------------------------------------------------

$("new-dm").addEventListener("click", () => {
  /** @type {HTMLInputElement} */ ($("dm-q")).value = "";
  $("dm-results").replaceChildren();
  openDialog("dm-dialog");
});

peopleSearch(/** @type {HTMLInputElement} */ ($("dm-q")), $("dm-results"), (u) =>
  button(labelOf(u), async () => {
    try {
      const c = await client.api("POST", "/conversations", { kind: "dm", userId: u.id });
      /** @type {HTMLDialogElement} */ ($("dm-dialog")).close();
      onCreated(c);
    } catch (err) {
      $("dm-error").textContent = /** @type {Error} */ (err).message;
    }
  }),
);

// --- A new group ----------------------------------------------------------------------------

/** The people chosen for the new group. @type {Map<string, any>} */
const chosen = new Map();

function renderChosen() {
  const items = [...chosen.values()].map((u) => {
    const item = element("li", labelOf(u));
    item.append(" ", button(`Remove ${u.displayName || u.username}`, () => (chosen.delete(u.id), renderChosen())));
    return item;
  });
  $("group-members").replaceChildren(...items);
}

$("new-group").addEventListener("click", async () => {
  chosen.clear();
  renderChosen();
  const form = /** @type {HTMLFormElement} */ ($("group-form"));
  form.reset();
  $("group-results").replaceChildren();
  $("group-error").textContent = "";
  const select = $("group-workspace");
  const none = element("option", "None");
  none.value = "";
  select.replaceChildren(none);
  openDialog("group-dialog");
  const { workspaces } = await client.api("GET", "/workspaces").catch(() => ({ workspaces: [] }));
  for (const w of workspaces) {
    const option = element("option", w.name);
    option.value = w.id;
    select.append(option);
  }
});

peopleSearch(/** @type {HTMLInputElement} */ ($("group-q")), $("group-results"), (u) =>
  button(`Add ${labelOf(u)}`, () => {
    chosen.set(u.id, u);
    renderChosen();
  }),
);

$("group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { title, workspace, visibility } = fields(/** @type {HTMLFormElement} */ (event.target));
  /** @type {any} */
  const body = { kind: "group", title: title.trim(), memberIds: [...chosen.keys()] };
  if (workspace) {
    body.workspaceId = workspace;
    body.visibility = visibility === "public" ? "public" : "private";
  }
  try {
    const c = await client.api("POST", "/conversations", body);
    /** @type {HTMLDialogElement} */ ($("group-dialog")).close();
    onCreated(c);
  } catch (err) {
    $("group-error").textContent = /** @type {Error} */ (err).message;
  }
});

// --- Profile and privacy --------------------------------------------------------------------

$("settings").addEventListener("click", async () => {
  const me = await client.api("GET", "/me");
  const form = /** @type {HTMLFormElement} */ ($("settings-form"));
  /** @type {HTMLInputElement} */ (form.elements.namedItem("displayName")).value = me.displayName ?? "";
  for (const name of ["readReceipts", "presence", "dmFromContactsOnly"]) {
    /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).checked = Boolean(me.settings?.[name]);
  }
  $("settings-status").textContent = "";
  openDialog("settings-dialog");
});

$("settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const checked = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).checked;
  try {
    client.user = await client.api("PATCH", "/me", {
      displayName: fields(form).displayName.trim() || undefined,
      settings: { readReceipts: checked("readReceipts"), presence: checked("presence"), dmFromContactsOnly: checked("dmFromContactsOnly") },
    });
    $("settings-status").textContent = "Saved";
  } catch (err) {
    $("settings-status").textContent = /** @type {Error} */ (err).message;
  }
});
