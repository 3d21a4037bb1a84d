// The web console in a real browser: Debian's headless Chromium driven by
// playwright-core. Run by tests/console.rs, which serves the console on a cluster
// "shop" with a service "web" of two tasks on two instances, and sets ECS_ENDPOINT,
// ECS_ACCESS_KEY, ECS_SECRET_KEY, ECS_REGION, ECS_CHROMIUM and ECS_SCREENSHOTS.
// Exits non-zero, saying why, at the first check that fails.
"use strict";

const { chromium } = require("playwright-core");
const assert = require("node:assert/strict");
const path = require("node:path");

const endpoint = process.env.ECS_ENDPOINT;
const shots = process.env.ECS_SCREENSHOTS;
const TIMEOUT = 30000;

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/// Waits until `text` shows in `locator` (the console refreshes every two seconds).
async function sees(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.ECS_CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  // Signing in: a wrong secret is refused, saying so; the right one lists the clusters.
  await page.goto(endpoint + "/");
  await page.locator("#login").waitFor({ timeout: TIMEOUT });
  assert.equal(await page.locator('#login input[name="region"]').inputValue(), process.env.ECS_REGION);
  await page.fill('#login input[name="key"]', process.env.ECS_ACCESS_KEY);
  await page.fill('#login input[name="secret"]', "x".repeat(40));
  await page.click('#login button[type="submit"]');
  await sees(page.locator("#login-error"), "InvalidSignatureException");
  await shot(page, "0-sign-in-refused");
  // The refused request's 403 was the point; from here on the page must report none.
  errors.length = 0;
  await page.fill('#login input[name="secret"]', process.env.ECS_SECRET_KEY);
  await page.click('#login button[type="submit"]');
  await sees(page.locator("#view table"), "shop");
  assert.equal(await page.locator("#login").isVisible(), false, "the sign-in form is gone");
  // A cluster's capacity providers and default strategy; a task waiting for capacity.
  await sees(page.locator("#view table"), "spare (default: base 0, weight 1)");
  await shot(page, "1-clusters");
  await page.goto(endpoint + "/#/cluster/grow/tasks");
  await sees(page.locator("#view table"), "waiting for spare");
  await sees(page.locator("#view table"), "PROVISIONING");
  await shot(page, "1b-waiting-task");
  await page.goto(endpoint + "/");
  await sees(page.locator("#view table"), "shop");

  // The cluster's services, then the service: deployments, tasks, events.
  await page.click('a:has-text("shop")');
  await sees(page.locator("#view table"), "web");
  await page.click('#view a:has-text("web")');
  await sees(page.locator("h1"), "Service web");
  await sees(page.locator("#counts"), "2 / 2 / 0");
  await sees(page.locator("#view"), "has reached a steady state");
  await sees(page.locator("#view table").nth(0), "COMPLETED");
  await shot(page, "2-service");

  // Action: the desired count, followed live until the third task runs.
  await page.fill("#desired", "3");
  await page.click('button[data-action="set-desired"]');
  await sees(page.locator("#counts"), "3 / 3 / 0");

  // Action: a new deployment: a second deployment shows, then the old one goes.
  await page.click('button[data-action="force-deploy"]');
  await sees(page.locator("#view table").nth(0), "ACTIVE");
  await shot(page, "3-deploying");
  await page.waitForFunction(
    () => document.querySelectorAll("#view table")[0]?.querySelectorAll("tbody tr").length === 1,
    null, { timeout: TIMEOUT });
  await sees(page.locator("#counts"), "3 / 3 / 0");

  // A task: its containers and ports; action: stop it.
  await page.goto(endpoint + "/#/cluster/shop/tasks");
  await sees(page.locator("#view table"), "RUNNING");
  await page.locator('#view table tbody tr:has(span.pill.RUNNING) a').first().click();
  await sees(page.locator("h1"), "Task");
  await sees(page.locator("#view table"), "80/tcp");
  await shot(page, "4-task");
  await page.click('button[data-action="stop-task"]');
  await sees(page.locator("#stop-code"), "UserInitiated");
  await sees(page.locator("#stopped-reason"), "Stopped from the console");
  await sees(page.locator("h1"), "STOPPED");
  await shot(page, "5-task-stopped");

  // The instances: resources and attributes; action: drain one.
  await page.goto(endpoint + "/#/cluster/shop/instances");
  await sees(page.locator("#view table"), "i-one");
  await sees(page.locator("#view table"), "zone=a");
  await page.click('button[data-action="drain"][data-instance="i-one"]');
  await sees(page.locator('#view table tr:has-text("i-one")'), "DRAINING");
  await shot(page, "6-instances");

  // Task definitions: the family, its revisions, the JSON.
  await page.click('header a:has-text("Task definitions")');
  await sees(page.locator("#view table"), "web");
  await page.click('#view a:has-text("web")');
  await sees(page.locator("#taskdef-json"), '"containerDefinitions"');
  await shot(page, "7-task-definition");

  assert.deepEqual(errors, [], "the page reported errors");
  await browser.close();
  console.log("console: every check passed");
})().catch(async (e) => {
  console.error(e);
  process.exit(1);
});
