// Every screen of the web client at 1280 px and 320 px: no serious or critical accessibility
// problem (axe-core), a screenshot of each kept under target/; and the workspace, profile and
// contact screens used for real: create a workspace, invite someone, discover, join and leave
// a public channel, ask to be contacts and accept.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DESKTOP, PHONE, SHOTS, accessibilityProblems, done, messageWith, newGroup, newPage, person, send } from "./browser.mjs";

/** Checks the page as it is now, and keeps a screenshot of it. */
async function screen(page, name, width) {
  assert.deepEqual(await accessibilityProblems(page), [], `${name} at ${width} px`);
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}-${width}.png` });
}

/** Opens a dialog with the button `label`, checks it, and closes it. */
async function dialogScreen(page, label, title, name, width) {
  await page.getByRole("button", { name: label, exact: true }).click();
  const dialog = page.getByRole("dialog", { name: title });
  await dialog.waitFor();
  await screen(page, name, width);
  await dialog.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });
}

describe("the web client's screens", () => {
  for (const viewport of [DESKTOP, PHONE]) {
    const width = viewport.width;
    it(`are accessible at ${width} px`, async () => {
      const visitor = await newPage(viewport);
      await visitor.page.goto(process.env.CONFAB_URL);
      await visitor.page.getByRole("button", { name: "Log in" }).waitFor();
      await screen(visitor.page, "signed-out", width);
      await visitor.context.close();

      const kim = await person(`kim${width}`, viewport);
      await screen(kim.page, "conversations", width);
      await dialogScreen(kim.page, "New message", "New message", "new-message", width);
      await dialogScreen(kim.page, "New group", "New group", "new-group", width);
      await dialogScreen(kim.page, "Search", "Search messages", "search-dialog", width);
      await dialogScreen(kim.page, "Settings", "Settings", "settings", width);
      await dialogScreen(kim.page, "Workspaces", "Workspaces", "workspaces", width);
      await dialogScreen(kim.page, "Contacts", "Contacts", "contacts-dialog", width);

      await newGroup(kim.page, "Accessible group");
      await send(kim.page, "Hello");
      await messageWith(kim.page, "Hello").locator(".status", { hasText: "Sent" }).waitFor();
      await messageWith(kim.page, "Hello").getByRole("button", { name: "React" }).click();
      await screen(kim.page, "conversation-open", width);
      await done(kim);
    });
  }

  it("let people make a workspace, invite others, and discover, join and leave its channels", async () => {
    const ada = await person("ada");
    const cy = await person("cy");
    cy.page.on("dialog", (dialog) => dialog.accept());

    await ada.page.getByRole("button", { name: "Workspaces" }).click();
    const spaces = ada.page.getByRole("dialog", { name: "Workspaces" });
    await spaces.getByRole("textbox", { name: "Name" }).fill("Acme");
    await spaces.getByRole("textbox", { name: "Slug" }).fill(`acme-${ada.username.slice(-6)}`);
    await spaces.getByRole("button", { name: "Create workspace" }).click();
    await spaces.getByRole("heading", { name: "Acme" }).waitFor();
    await spaces.getByRole("textbox", { name: "Channel name" }).fill("general");
    await spaces.getByRole("button", { name: "Create channel" }).click();
    await ada.page.getByRole("heading", { name: "general", exact: true }).waitFor();
    await send(ada.page, "Welcome to Acme");

    await ada.page.getByRole("button", { name: "Workspaces" }).click();
    await spaces.getByRole("button", { name: "Acme", exact: true }).click();
    await spaces.getByRole("button", { name: "Invite people" }).click();
    const link = await ada.page.getByRole("textbox", { name: "Link" }).inputValue();
    await ada.page.getByRole("dialog", { name: "Invite link" }).getByRole("button", { name: "Close" }).click();
    await spaces.getByRole("button", { name: "Close" }).click();

    // Cy accepts the workspace invite, finds the channel by name and joins it.
    await cy.page.goto(link);
    await cy.page.getByRole("dialog", { name: "Join Acme" }).getByRole("button", { name: "Join" }).click();
    const cySpaces = cy.page.getByRole("dialog", { name: "Workspaces" });
    await cySpaces.getByRole("heading", { name: "Acme" }).waitFor();
    await cySpaces.getByRole("searchbox", { name: "Find channels" }).fill("gen");
    await cySpaces.getByRole("button", { name: "Join general" }).click();
    await messageWith(cy.page, "Welcome to Acme").waitFor();
    await send(cy.page, "Thanks!");
    await messageWith(ada.page, "Thanks!").waitFor();

    // Ada opens Cy's profile from his message and asks to be contacts; Cy accepts.
    await messageWith(ada.page, "Thanks!").getByRole("button", { name: cy.username, exact: true }).click();
    const profile = ada.page.getByRole("dialog", { name: cy.username });
    await profile.getByText(`@${cy.username}`).waitFor();
    assert.deepEqual(await accessibilityProblems(ada.page), [], "a profile");
    await profile.getByRole("button", { name: "Add contact" }).click();
    await profile.getByText("Contact request sent").waitFor();
    await profile.getByRole("button", { name: "Close" }).click();
    await cy.page.getByText(`Contact request from ${ada.username}`).waitFor();
    await cy.page.getByRole("button", { name: "Contacts" }).click();
    const contacts = cy.page.getByRole("dialog", { name: "Contacts" });
    await contacts.getByRole("button", { name: `Accept ${ada.username}` }).click();
    await contacts.getByRole("button", { name: `Remove ${ada.username}` }).waitFor();
    assert.deepEqual(await accessibilityProblems(cy.page), [], "contacts");
    if (SHOTS) await cy.page.screenshot({ path: `${SHOTS}/contacts-1280.png` });
    await contacts.getByRole("button", { name: "Close" }).click();
    await ada.page.getByText(`${cy.username} is now a contact`).waitFor();

    // Cy leaves the channel: it leaves the list, and the directory offers it again.
    await cy.page.getByRole("button", { name: "Leave", exact: true }).click();
    await cy.page.getByRole("heading", { name: "No conversation open" }).waitFor();
    await cy.page.locator("#conversations").getByRole("button", { name: "general" }).waitFor({ state: "detached" });
    await cy.page.getByRole("button", { name: "Workspaces" }).click();
    await cySpaces.getByRole("button", { name: "Acme", exact: true }).click();
    await cySpaces.getByRole("button", { name: "Join general" }).waitFor();
    if (SHOTS) await cy.page.screenshot({ path: `${SHOTS}/channels-1280.png` });
    await done(ada, cy);
  });
});
