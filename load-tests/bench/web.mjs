// The web client's benchmark, in headless Chromium (playwright-core, from tests/js):
//
// 1. First load, RUNS times in a fresh context each (empty cache): bytes transferred over the
//    wire, and the Performance API's timings: responseEnd, domInteractive,
//    domContentLoadedEventEnd (module scripts have run: the forms work), loadEventEnd; plus
//    the time a returning user (refresh cookie) takes to be signed in and connected.
// 2. Scrolling a conversation of MESSAGES messages to its top: every request for history is
//    counted, with its `limit`; the page must load one page per request, never more, and keep
//    a bounded number of messages in the page however far it scrolls.
//
//   node load-tests/bench/web.mjs URL USERNAME PASSWORD CONVERSATION_TITLE [RUNS] [PAGES]
import { createRequire } from "node:module";

const require = createRequire(new URL("../../tests/js/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [url, username, password, title, runsArg = "3", pagesArg = "40"] = process.argv.slice(2);
const runs = Number(runsArg);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--disable-gpu", "--disable-quic"],
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function firstLoad() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "load" });
  await page.getByRole("button", { name: "Log in" }).waitFor();
  const timing = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType("navigation");
    const resources = performance.getEntriesByType("resource");
    const all = [nav, ...resources];
    return {
      transferBytes: all.reduce((sum, e) => sum + e.transferSize, 0),
      bodyBytes: all.reduce((sum, e) => sum + e.encodedBodySize, 0),
      files: all.length,
      responseEnd: nav.responseEnd,
      domInteractive: nav.domInteractive,
      domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
    };
  });
  // Signed in through the form, then a reload: the refresh cookie signs the user back in.
  await page.getByRole("textbox", { name: "Username or email" }).fill(username);
  await page.getByLabel("Password").first().fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("connected", { exact: true }).waitFor();
  await page.addInitScript(() => {
    new MutationObserver(() => {
      const state = document.getElementById("connection")?.textContent;
      if (state === "connected" && !("connectedAt" in window)) window.connectedAt = performance.now();
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.reload();
  await page.waitForFunction(() => "connectedAt" in window);
  timing.returningConnected = await page.evaluate(() => window.connectedAt);
  await context.close();
  return timing;
}

const loads = [];
for (let run = 0; run < runs; run++) loads.push(await firstLoad());
const summary = {};
for (const key of Object.keys(loads[0])) summary[key] = median(loads.map((l) => l[key]));
console.log(JSON.stringify({ firstLoad: { median: summary, runs: loads } }, null, 1));

// --- Scrolling a long conversation ---------------------------------------------------------
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
const requests = [];
page.on("request", (req) => {
  const u = new URL(req.url());
  if (/\/api\/conversations\/[^/]+\/messages$/.test(u.pathname)) requests.push(Object.fromEntries(u.searchParams));
});
await page.goto(url);
await page.getByRole("textbox", { name: "Username or email" }).fill(username);
await page.getByLabel("Password").first().fill(password);
await page.getByRole("button", { name: "Log in" }).click();
await page.getByRole("button", { name: title, exact: true }).click();
const count = () => page.locator("#messages li.message").count();
const oldestShown = () =>
  page.evaluate(() => Number(/** @type {HTMLElement} */ (document.querySelector("#messages li.message"))?.dataset.seq ?? 0));
await page.waitForFunction(() => document.querySelectorAll("#messages li.message").length > 0);
const scrolls = [];
const pages = Number(pagesArg);
for (let i = 0; i < pages; i++) {
  const before = await oldestShown();
  const asked = requests.length;
  const started = Date.now();
  await page.locator("#messages").evaluate((list) => (list.scrollTop = 0));
  await page.waitForFunction(
    (seq) => Number(/** @type {HTMLElement} */ (document.querySelector("#messages li.message"))?.dataset.seq) < seq,
    before,
  );
  const ms = Date.now() - started;
  // The page settles: no second request for one scroll.
  await page.waitForTimeout(100);
  scrolls.push({ shown: await count(), oldest: await oldestShown(), requests: requests.length - asked, ms });
}
const limits = [...new Set(requests.map((r) => r.limit))];
// How much of a page's time is the request itself (the rest is the page drawing it).
const fetchMs = await page.evaluate(() =>
  performance
    .getEntriesByType("resource")
    .filter((e) => /\/messages\?/.test(e.name))
    .map((e) => e.duration),
);
console.log(
  JSON.stringify(
    {
      scroll: {
        requests: requests.length,
        limits,
        maxRequestsPerScroll: Math.max(...scrolls.map((s) => s.requests)),
        oldestShownAfter: scrolls.at(-1).oldest,
        mostShown: Math.max(...scrolls.map((s) => s.shown)),
        medianMsPerPage: median(scrolls.map((s) => s.ms)),
        medianRequestMs: median(fetchMs),
        // The last tenth of the scrolls, with the most messages in the page.
        medianMsPerPageLast: median(scrolls.slice(-Math.ceil(scrolls.length / 10)).map((s) => s.ms)),
      },
    },
    null,
    1,
  ),
);
await browser.close();
