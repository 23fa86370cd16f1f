// @ts-check
// People's public profiles (message them, ask to be contacts, block them) and the user's
// contacts with the requests waiting for an answer.
import { $, button, element, openDialog, presenceText } from "./dom.js";
import { client, knowUsers, nameOf, presence, userOf } from "./state.js";

/** @type {(c: any) => void} */
let onOpen = () => {};

/** @param {(c: any) => void} open what to do with a DM started here (open it) */
export function initContacts(open) {
  onOpen = open;
}

/** @param {unknown} err */
const say = (err) => ($("profile-status").textContent = /** @type {Error} */ (err).message);

/** Shows a person's public profile. @param {string} id */
export async function showProfile(id) {
  const user = await userOf(id);
  if (!user) return;
  $("profile-name").textContent = user.displayName || user.username;
  $("profile-username").textContent = `@${user.username}`;
  $("profile-presence").textContent = presenceText(presence.get(id));
  $("profile-status").textContent = "";
  const mine = id === client.user.id;
  const actions = mine
    ? []
    : [
        button("Send message", async () => {
          try {
            const c = await client.api("POST", "/conversations", { kind: "dm", userId: id });
            /** @type {HTMLDialogElement} */ ($("profile-dialog")).close();
            onOpen(c);
          } catch (err) {
            say(err);
          }
        }),
        button("Add contact", () =>
          client.api("POST", "/contacts/requests", { userId: id }).then(() => ($("profile-status").textContent = "Contact request sent"), say),
        ),
        button("Block", () => {
          if (!window.confirm(`Block ${user.displayName || user.username}? They can no longer message you.`)) return;
          client.api("POST", `/blocks/${id}`).then(() => ($("profile-status").textContent = "Blocked"), say);
        }),
      ];
  $("profile-actions").replaceChildren(...actions);
  openDialog("profile-dialog");
}

$("contacts").addEventListener("click", () => {
  openDialog("contacts-dialog");
  showContacts();
});

/** Lists the requests waiting for the user's answer, and the user's contacts. */
export async function showContacts() {
  const [{ requests }, { contacts }] = await Promise.all([
    client.api("GET", "/contacts/requests?direction=incoming"),
    client.api("GET", "/contacts"),
  ]);
  knowUsers(contacts);
  const waiting = [];
  for (const r of requests) {
    const name = await nameOf(r.fromUserId);
    const item = element("li", `${name} `);
    const answer = (/** @type {string} */ how) => () =>
      client.api("POST", `/contacts/requests/${r.id}/${how}`).then(showContacts, () => {});
    item.append(button(`Accept ${name}`, answer("accept")), button(`Decline ${name}`, answer("decline")));
    waiting.push(item);
  }
  $("contact-requests").replaceChildren(...(waiting.length ? waiting : [element("li", "No requests")]));
  const items = contacts.map((/** @type {any} */ u) => {
    const name = u.displayName || u.username;
    const item = element("li");
    item.append(
      button(name, () => showProfile(u.id)),
      button(`Remove ${name}`, () => client.api("DELETE", `/contacts/${u.id}`).then(showContacts, () => {})),
    );
    return item;
  });
  $("contact-list").replaceChildren(...(items.length ? items : [element("li", "No contacts yet")]));
}

client.addEventListener("contact:request", async (e) => {
  const request = /** @type {CustomEvent} */ (e).detail;
  $("notice").textContent = `Contact request from ${await nameOf(request.fromUserId)}`;
  if (/** @type {HTMLDialogElement} */ ($("contacts-dialog")).open) showContacts();
});

client.addEventListener("contact:updated", async (e) => {
  const { userId, contact } = /** @type {CustomEvent} */ (e).detail;
  $("notice").textContent = `${await nameOf(userId)} is ${contact ? "now" : "no longer"} a contact`;
  if (/** @type {HTMLDialogElement} */ ($("contacts-dialog")).open) showContacts();
});
