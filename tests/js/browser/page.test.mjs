// The web client in a real browser (Debian's Chromium through playwright-core): two people in
// two browser contexts against the real server, finding the page's controls by role and name.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const BASE = process.env.CONFAB_URL;
const SHOTS = process.env.CONFAB_SCREENSHOTS;
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--disable-gpu", "--disable-quic"],
  });
});
after(async () => browser?.close());

const run = Math.random().toString(36).slice(2, 8);

/** A person with a page of their own, signed up through the form. */
async function person(name, viewport = { width: 1280, height: 800 }) {
  // axe-core is injected as a script of the test's own: the page's CSP would refuse it.
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err));
  await page.goto(BASE);
  const username = `${name}_${run}`;
  await page.getByRole("textbox", { name: "Email", exact: true }).fill(`${username}@example.com`);
  await page.getByRole("textbox", { name: "Username", exact: true }).fill(username);
  await page.locator("#signup-form").getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
  // Signed in, the forms are gone.
  await page.getByRole("button", { name: "Log in" }).waitFor({ state: "hidden" });
  await page.getByText("connected", { exact: true }).waitFor();
  return { context, page, username, errors };
}

/** axe-core's serious and critical violations on the page as it is now. */
async function accessibilityProblems(page) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate(() => window.axe.run());
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

describe("the web client", () => {
  it("has no serious or critical accessibility problems, signed out and signed in", async () => {
    for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
      const context = await browser.newContext({ viewport, bypassCSP: true });
      const page = await context.newPage();
      await page.goto(BASE);
      await page.getByRole("button", { name: "Log in" }).waitFor();
      assert.deepEqual(await accessibilityProblems(page), [], `signed out at ${viewport.width} px`);
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/signed-out-${viewport.width}.png` });
      await context.close();
    }
    const amy = await person("amy");
    const answers = ["Accessible group", ""];
    amy.page.on("dialog", (dialog) => dialog.accept(answers.shift()));
    await amy.page.getByRole("button", { name: "New group" }).click();
    await amy.page.getByRole("heading", { name: "Accessible group" }).waitFor();
    await amy.page.getByRole("textbox", { name: "Message" }).fill("Hello");
    await amy.page.getByRole("button", { name: "Send" }).click();
    await amy.page.getByText("Hello", { exact: true }).waitFor();
    assert.deepEqual(await accessibilityProblems(amy.page), [], "a conversation");
    await amy.context.close();
  });

  it("two people chat live, and one who goes offline catches up in order, nothing doubled", async () => {
    const ann = await person("ann");
    const ben = await person("ben", { width: 320, height: 640 });

    // Ann makes a group with Ben (the page asks for a title, then the usernames).
    const answers = ["Weekend plans", ben.username];
    ann.page.on("dialog", (dialog) => dialog.accept(answers.shift()));
    await ann.page.getByRole("button", { name: "New group" }).click();
    await ann.page.getByRole("heading", { name: "Weekend plans" }).waitFor();
    await ann.page.getByRole("textbox", { name: "Message" }).fill("Hiking on Saturday?");
    await ann.page.getByRole("button", { name: "Send" }).click();

    // Ben's list gets the group live; he opens it and sees the message.
    await ben.page.getByRole("button", { name: "Weekend plans" }).click();
    await ben.page.getByText("Hiking on Saturday?").waitFor();
    await ben.page.getByRole("textbox", { name: "Message" }).fill("Yes!");
    await ben.page.getByRole("button", { name: "Send" }).click();
    await ann.page.getByText("Yes!", { exact: true }).waitFor();

    // Ann goes offline; Ben sends two messages; back online, Ann has both, in order, once.
    await ann.context.setOffline(true);
    await ann.page.getByText("reconnecting", { exact: true }).waitFor({ timeout: 30000 });
    for (const body of ["Bring water", "And snacks"]) {
      await ben.page.getByRole("textbox", { name: "Message" }).fill(body);
      await ben.page.getByRole("button", { name: "Send" }).click();
      await ben.page.getByText(body, { exact: true }).waitFor();
    }
    // Ann writes while offline: it waits in the outbox, then is delivered after reconnecting.
    await ann.page.getByRole("textbox", { name: "Message" }).fill("Written in a tunnel");
    await ann.page.getByRole("button", { name: "Send" }).click();
    await ann.page.getByText("1 waiting to be sent").waitFor();
    await ann.context.setOffline(false);
    await ann.page.getByText("And snacks", { exact: true }).waitFor({ timeout: 30000 });
    await ben.page.getByText("Written in a tunnel", { exact: true }).waitFor({ timeout: 30000 });
    const bodies = async (page) =>
      (await page.locator("#messages li:not(.sending) > div:not(.meta)").allTextContents());
    const expected = ["Hiking on Saturday?", "Yes!", "Bring water", "And snacks", "Written in a tunnel"];
    assert.deepEqual(await bodies(ann.page), expected);
    assert.deepEqual(await bodies(ben.page), expected);

    if (SHOTS) {
      await ann.page.screenshot({ path: `${SHOTS}/conversation-1280.png` });
      await ben.page.screenshot({ path: `${SHOTS}/conversation-320.png` });
    }
    assert.deepEqual(ann.errors, []);
    assert.deepEqual(ben.errors, []);
    await ann.context.close();
    await ben.context.close();
  });

  it("shows user content as text, never as markup", async () => {
    const eve = await person("eve");
    const answers = ['<img src=x onerror="window.pwned=1">', ""];
    eve.page.on("dialog", (dialog) => dialog.accept(answers.shift()));
    await eve.page.getByRole("button", { name: "New group" }).click();
    const title = '<img src=x onerror="window.pwned=1">';
    await eve.page.getByRole("heading", { name: title }).waitFor();
    await eve.page.getByRole("textbox", { name: "Message" }).fill("<b>bold?</b>");
    await eve.page.getByRole("button", { name: "Send" }).click();
    await eve.page.getByText("<b>bold?</b>", { exact: true }).waitFor();
    assert.equal(await eve.page.locator("#messages b, #conversations img").count(), 0);
    assert.equal(await eve.page.evaluate(() => window.pwned), undefined);
    if (SHOTS) await eve.page.screenshot({ path: `${SHOTS}/escaping-1280.png` });
    await eve.context.close();
  });
});
