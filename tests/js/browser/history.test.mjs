// A long conversation in the page (seeded by tests/api/web.rs): scrolled up to its first
// message and back down to its newest, a page of history per request, never more than a
// bounded number of messages in the page, and every message seen once, in order.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BASE, newPage } from "./browser.mjs";

const USER = process.env.CONFAB_HISTORY_USER;
const TOTAL = Number(process.env.CONFAB_HISTORY_MESSAGES);

/** The seqs of the messages in the page, in order. */
const seqs = (page) =>
  page.locator("#messages li.message").evaluateAll((items) => items.map((li) => Number(li.dataset.seq)));

describe("a long history", () => {
  it("scrolls a page at a time, both ways, with a bounded page", async () => {
    const { context, page, errors } = await newPage();
    const requests = [];
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.pathname.endsWith("/messages")) requests.push(Object.fromEntries(url.searchParams));
    });
    await page.goto(BASE);
    await page.getByRole("textbox", { name: "Username or email" }).fill(USER);
    await page.locator("#login-form").getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("button", { name: "Long history", exact: true }).click();
    await page.locator("#messages li.message", { hasText: `Message ${TOTAL}` }).waitFor();

    const seen = new Set(await seqs(page));
    let most = seen.size;
    /** Scrolls to one end until the page shows `seq`, one page per scroll. */
    const scrollUntil = async (end, seq) => {
      for (let scrolls = 0; !(await seqs(page)).includes(seq); scrolls++) {
        assert.ok(scrolls < TOTAL / 50 + 2, `no more than one scroll per page (${end})`);
        const before = await seqs(page);
        const asked = requests.length;
        await page.locator("#messages").evaluate((list, top) => (list.scrollTop = top ? 0 : list.scrollHeight), end === "top");
        await page.waitForFunction(
          ([top, edge]) => {
            const shown = [...document.querySelectorAll("#messages li.message")].map((li) => Number(li.dataset.seq));
            return top ? shown[0] < edge : shown.at(-1) > edge;
          },
          [end === "top", end === "top" ? before[0] : before.at(-1)],
        );
        assert.equal(requests.length - asked, 1, "one request per page");
        const now = await seqs(page);
        assert.deepEqual(now, [...now].sort((a, b) => a - b), "in order");
        assert.equal(new Set(now).size, now.length, "nothing doubled");
        now.forEach((s) => seen.add(s));
        most = Math.max(most, now.length);
      }
    };
    await scrollUntil("top", 1);
    assert.equal(seen.size, TOTAL, "every message was shown on the way up");
    assert.ok(most <= 300, `at most 300 messages in the page (saw ${most})`);
    assert.ok(requests.every((r) => r.limit === "50"), JSON.stringify(requests.slice(0, 3)));
    // Three days of messages: a separator before each day, none without its messages.
    const days = await page.locator("#messages li.day").count();
    assert.ok(days >= 1 && days <= 2, `${days} day separators`);
    await scrollUntil("bottom", TOTAL);
    assert.ok(most <= 300);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
