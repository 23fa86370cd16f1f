// The web client in a real browser: two people in two browser contexts against the real
// server and database, finding the page's controls by role and name.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, bodies, done, messageWith, newGroup, person, png, send } from "./browser.mjs";

describe("two people on the web client", () => {
  it("chat in a DM: typing, ticks, replies, edits, reactions, deletes, an image and search", async () => {
    const ann = await person("ann");
    const ben = await person("ben");
    ann.page.on("dialog", (dialog) => dialog.accept());

    // Ann finds Ben by username and opens a DM; its title is his name.
    await ann.page.getByRole("button", { name: "New message" }).click();
    await ann.page.getByRole("searchbox", { name: "Find people" }).fill(ben.username);
    await ann.page.getByRole("button", { name: `${ben.username} (@${ben.username})` }).click();
    await ann.page.getByRole("heading", { name: ben.username, exact: true }).waitFor();
    await send(ann.page, "Hi Ben");

    // Ben's page receives it without opening it: delivered. Opening it: read.
    const firstId = await messageWith(ann.page, "Hi Ben").getAttribute("data-id");
    const first = ann.page.locator(`#messages li[data-id="${firstId}"]`);
    await first.locator(".status", { hasText: "Delivered" }).waitFor();
    await ben.page.getByRole("button", { name: ann.username, exact: true }).click();
    await messageWith(ben.page, "Hi Ben").waitFor();
    await first.locator(".status", { hasText: "Read" }).waitFor();

    // Ben types; Ann sees it. He answers with a reply.
    await ben.page.getByRole("textbox", { name: "Message" }).pressSequentially("Hel");
    await ann.page.getByText(`${ben.username} is typing…`).waitFor();
    await messageWith(ben.page, "Hi Ben").getByRole("button", { name: "Reply" }).click();
    await ben.page.getByText(`Replying to ${ann.username}: Hi Ben`).waitFor();
    await send(ben.page, "Hello Ann");
    const reply = messageWith(ann.page, "Hello Ann");
    await reply.locator(".reply", { hasText: `Reply to ${ann.username}: Hi Ben` }).waitFor();
    await ann.page.getByText(`${ben.username} is typing…`).waitFor({ state: "hidden" });

    // Ann edits her message; Ben sees the new text, marked edited.
    await first.getByRole("button", { name: "Edit" }).click();
    await first.getByRole("textbox", { name: "Edit message" }).fill("Hi Ben, how are you?");
    await first.getByRole("button", { name: "Save" }).click();
    const edited = messageWith(ben.page, "Hi Ben, how are you?");
    await edited.locator(".meta", { hasText: "edited" }).waitFor();

    // Ben reacts; Ann sees the reaction, and adds hers to it.
    await edited.getByRole("button", { name: "React" }).click();
    await edited.getByRole("button", { name: "👍", exact: true }).click();
    const annEdited = messageWith(ann.page, "Hi Ben, how are you?");
    await annEdited.getByRole("button", { name: "👍 1" }).click();
    await edited.getByRole("button", { name: "👍 2" }).waitFor();

    // Ann deletes a message sent by mistake: Ben sees the tombstone in its place.
    await send(ann.page, "Wrong chat, sorry");
    await messageWith(ben.page, "Wrong chat, sorry").waitFor();
    await messageWith(ann.page, "Wrong chat, sorry").getByRole("button", { name: "Delete" }).click();
    await messageWith(ben.page, "This message was deleted.").waitFor();
    assert.equal(await messageWith(ben.page, "Wrong chat, sorry").count(), 0);

    // Ann sends an image; its upload shows progress, and Ben sees the thumbnail, then the larger view.
    await ann.page.getByLabel("Attach image").setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: png(640, 400) });
    await ann.page.getByRole("button", { name: "Remove sunset.png" }).waitFor();
    await ann.page.getByRole("button", { name: "Send" }).click();
    const thumb = ben.page.getByRole("img", { name: "sunset.png" });
    await thumb.waitFor();
    await ben.page.waitForFunction(() => {
      const img = document.querySelector('#messages img[alt="sunset.png"]');
      return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
    });
    assert.ok((await thumb.evaluate((img) => img.naturalWidth)) <= 320, "a thumbnail, not the image");
    await ben.page.getByRole("button", { name: "sunset.png" }).click();
    const large = ben.page.getByRole("dialog", { name: "sunset.png" });
    await large.getByRole("img", { name: "sunset.png" }).waitFor();
    await ben.page.waitForFunction(() => /** @type {HTMLImageElement} */ (document.getElementById("image-large")).naturalWidth === 640);
    if (SHOTS) await ben.page.screenshot({ path: `${SHOTS}/image-1280.png` });
    await large.getByRole("button", { name: "Close" }).click();

    // Ben searches; the match is marked, and choosing it shows the message.
    await ben.page.getByRole("button", { name: "Search" }).click();
    const search = ben.page.getByRole("dialog", { name: "Search messages" });
    await search.getByRole("searchbox", { name: "Words to find" }).fill("how are");
    await search.getByRole("button", { name: "Find" }).click();
    const result = search.getByRole("button", { name: /how are you/ });
    await result.waitFor();
    assert.deepEqual(await result.locator("mark").allTextContents(), ["how", "are"]);
    if (SHOTS) await ben.page.screenshot({ path: `${SHOTS}/search-1280.png` });
    await result.click();
    await ben.page.locator("#messages li.found", { hasText: "Hi Ben, how are you?" }).waitFor();
    assert.equal(await ben.page.evaluate(() => document.activeElement?.querySelector(".body")?.textContent), "Hi Ben, how are you?");

    const expected = ["Hi Ben, how are you?", "Hello Ann", "This message was deleted.", ""];
    assert.deepEqual(await bodies(ann.page), expected);
    assert.deepEqual(await bodies(ben.page), expected);
    if (SHOTS) await ann.page.screenshot({ path: `${SHOTS}/dm-1280.png` });
    await done(ann, ben);
  });

  it("join by invite link, and one who goes offline catches up in order, nothing doubled", async () => {
    const ann = await person("amy");
    const ben = await person("bob", { width: 320, height: 640 });

    // Ann makes a group and an invite link to it; Ben opens the link and joins.
    await newGroup(ann.page, "Weekend plans");
    await ann.page.getByRole("button", { name: "Invite link" }).click();
    const link = await ann.page.getByRole("textbox", { name: "Link" }).inputValue();
    assert.match(link, new RegExp(`^${BASE}/invite/[A-Za-z0-9_-]{22,}$`));
    await ann.page.getByRole("dialog", { name: "Invite link" }).getByRole("button", { name: "Close" }).click();
    await send(ann.page, "Hiking on Saturday?");
    await ben.page.goto(link);
    const join = ben.page.getByRole("dialog", { name: "Join Weekend plans" });
    await join.getByText("1 member").waitFor();
    if (SHOTS) await ben.page.screenshot({ path: `${SHOTS}/invite-320.png` });
    await ann.page.getByText("1 member", { exact: true }).waitFor();
    await join.getByRole("button", { name: "Join" }).click();
    await ben.page.getByRole("heading", { name: "Weekend plans" }).waitFor();
    // Ann's open conversation says who is in it now.
    await ann.page.getByText("2 members", { exact: true }).waitFor();
    await messageWith(ben.page, "Hiking on Saturday?").waitFor();
    await send(ben.page, "Yes!");
    await messageWith(ann.page, "Yes!").waitFor();
    // In a group, the status says how many have read a message, and who on demand.
    await messageWith(ann.page, "Hiking on Saturday?").getByRole("button", { name: "Read by 1" }).click();
    await ann.page.getByRole("dialog", { name: "Read by" }).getByText(`${ben.username}: read`).waitFor();
    await ann.page.getByRole("dialog", { name: "Read by" }).getByRole("button", { name: "Close" }).click();

    // Ann goes offline; Ben sends two messages; back online, Ann has both, in order, once.
    await ann.context.setOffline(true);
    await ann.page.getByText("reconnecting", { exact: true }).waitFor({ timeout: 30000 });
    for (const body of ["Bring water", "And snacks"]) {
      await send(ben.page, body);
      await messageWith(ben.page, body).waitFor();
    }
    // Ann writes while offline: it waits in the outbox, then is delivered after reconnecting.
    await send(ann.page, "Written in a tunnel");
    await ann.page.getByText("1 waiting to be sent").waitFor();
    await ann.page.locator("#messages li.sending", { hasText: "Written in a tunnel" }).waitFor();
    await ann.context.setOffline(false);
    await messageWith(ann.page, "And snacks").waitFor({ timeout: 30000 });
    await messageWith(ben.page, "Written in a tunnel").waitFor({ timeout: 30000 });
    await messageWith(ann.page, "Written in a tunnel").waitFor();
    const expected = ["Hiking on Saturday?", "Yes!", "Bring water", "And snacks", "Written in a tunnel"];
    assert.deepEqual(await bodies(ann.page), expected);
    assert.deepEqual(await bodies(ben.page), expected);
    assert.equal(await ann.page.locator("#messages li.sending").count(), 0);

    if (SHOTS) {
      await ann.page.screenshot({ path: `${SHOTS}/conversation-1280.png` });
      await ben.page.screenshot({ path: `${SHOTS}/conversation-320.png` });
    }
    await done(ann, ben);
  });

  it("shows user content as text, never as markup", async () => {
    const eve = await person("eve");
    const title = '<img src=x onerror="window.pwned=1">';
    await newGroup(eve.page, title);
    await send(eve.page, "<b>bold?</b>");
    await messageWith(eve.page, "<b>bold?</b>").waitFor();
    await send(eve.page, "javascript:alert(1) <a href=x>link</a>");
    await messageWith(eve.page, "javascript:alert(1)").waitFor();
    assert.equal(await eve.page.locator("#messages b, #messages a, #conversations img").count(), 0);
    assert.equal(await eve.page.evaluate(() => window.pwned), undefined);
    if (SHOTS) await eve.page.screenshot({ path: `${SHOTS}/escaping-1280.png` });
    await done(eve);
  });
});
