// What the browser tests share: Debian's Chromium through playwright-core, people signed up
// through the page's own form, and axe-core.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export const BASE = process.env.CONFAB_URL;
export const SHOTS = process.env.CONFAB_SCREENSHOTS;
export { png } from "./png.mjs";

export const run = Math.random().toString(36).slice(2, 8);

/** @type {import("playwright-core").Browser} */
let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--disable-gpu", "--disable-quic"],
  });
});
after(async () => browser?.close());

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 320, height: 640 };

/** A fresh browser context and page (axe-core is injected as the test's own script: the page's CSP would refuse it). */
export async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err));
  return { context, page, errors };
}

/** A person with a page of their own, signed up through the form. */
export async function person(name, viewport = DESKTOP) {
  const { context, page, errors } = await newPage(viewport);
  await page.goto(BASE);
  const username = `${name}_${run}`;
  await page.getByRole("textbox", { name: "Email", exact: true }).fill(`${username}@example.com`);
  await page.getByRole("textbox", { name: "Username", exact: true }).fill(username);
  await page.locator("#signup-form").getByLabel("Password").fill("correct horse battery");
  // The socket upgrades to a WebSocket (the page's CSP allows this origin's).
  const websocket = page.waitForEvent("websocket", (ws) => ws.url().includes("/socket.io/"));
  await page.getByRole("button", { name: "Create account" }).click();
  await (await websocket).waitForEvent("framereceived");
  await page.getByRole("button", { name: "Log out" }).waitFor();
  // Signed in, the forms are gone.
  await page.getByRole("button", { name: "Log in" }).waitFor({ state: "hidden" });
  await page.getByText("connected", { exact: true }).waitFor();
  return { context, page, username, errors };
}

/** Ends a test's people: no page error in any of them, then their contexts closed. */
export async function done(...people) {
  for (const { errors } of people) assert.deepEqual(errors, []);
  for (const { context } of people) await context.close();
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityProblems(page) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate(() => window.axe.run());
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/** Creates a group through the "New group" dialog, with the people named by username. */
export async function newGroup(page, title, usernames = []) {
  await page.getByRole("button", { name: "New group" }).click();
  const dialog = page.getByRole("dialog", { name: "New group" });
  await dialog.getByRole("textbox", { name: "Title" }).fill(title);
  for (const username of usernames) {
    await dialog.getByRole("searchbox", { name: "Add people" }).fill(username);
    await dialog.getByRole("button", { name: `Add ${username} (@${username})` }).click();
    await dialog.getByRole("button", { name: `Remove ${username}` }).waitFor();
  }
  await dialog.getByRole("button", { name: "Create group" }).click();
  await page.getByRole("heading", { name: title, exact: true }).waitFor();
}

/** Writes and sends a message from the composer. */
export async function send(page, body) {
  await page.getByRole("textbox", { name: "Message" }).fill(body);
  await page.getByRole("button", { name: "Send" }).click();
}

/** The list item of the (non-pending) message whose body is `body`. */
export const messageWith = (page, body) =>
  page.locator("#messages li.message:not(.sending)").filter({ has: page.locator(".body", { hasText: body }) });

/** The bodies of the messages shown, in order. */
export const bodies = (page) => page.locator("#messages li.message:not(.sending) .body").allTextContents();
