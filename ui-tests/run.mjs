// PostPilot's pages in headless Chromium (Debian's, driven by playwright-core): a merchant's
// journeys through the running server at BASE_URL, axe-core on every page in light and dark at
// 375 and 1440 px, and with --screenshots a PNG of every page at both widths in docs/screenshots.
// Run through .ci/ui-tests, which builds and starts the server.

import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const SCREENSHOTS = process.argv.includes('--screenshots');
const SHOTS_DIR = join(here, '..', 'docs', 'screenshots');
const AXE = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const WIDTHS = [375, 1440];
const PASSWORD = 'correct horse battery';

let failures = 0;
let passed = 0;
async function test(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}\n     ${String(e.stack ?? e).split('\n').slice(0, 6).join('\n     ')}`);
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage'],
});

/** A fresh browser (no cookies) at `width`, in `scheme`. */
async function fresh(width = 1440, scheme = 'light', timezoneId = undefined) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: scheme, timezoneId });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

let merchants = 0;
/** Registers a new merchant through the form; returns their e-mail. */
async function register(page) {
  merchants += 1;
  const email = `merchant-${Date.now()}-${merchants}@example.com`;
  await page.goto(`${BASE}/register`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${BASE}/app`);
  return email;
}

/** Adds an account by its id on the Accounts page (no OAuth app configured in the test server). */
async function addAccount(page, platform, name) {
  await page.goto(`${BASE}/app/accounts`);
  const card = page.getByRole('article').filter({ has: page.getByRole('heading', { name: platform, exact: true }) });
  await card.getByLabel('Account name').fill(name);
  await card.getByLabel(`Account id on ${platform}`).fill(`${name}-id`);
  await card.getByRole('button', { name: `Add ${platform} account` }).click();
  await page.waitForURL(/\/app\/accounts/);
}

/** Generates a queue item for Facebook from the queue's form; returns its page's URL. */
async function generateItem(page, title = 'Aurora Desk Lamp') {
  await page.goto(`${BASE}/app/queue`);
  const form = page.locator('details').first();
  if (!(await form.evaluate((d) => d.open))) await form.locator('summary').click();
  await page.getByLabel('Product title').fill(title);
  await page.getByLabel('Price').fill('39.00');
  await page.getByLabel('Currency').fill('USD');
  await page.getByLabel('Instagram').uncheck();
  await page.getByLabel('Facebook').check();
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForURL(/\/app\/queue\/[0-9a-f-]{36}$/);
  return page.url();
}

/** axe-core's serious and critical violations on the current page. */
async function violations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

// --- the checker itself ----------------------------------------------------------------------

await test('axe reports a page built to break the rules (so a clean report means something)', async () => {
  const { context, page } = await fresh();
  await page.setContent('<!doctype html><html><body><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button></body></html>');
  const found = await violations(page);
  expect(found.some((v) => v.startsWith('image-alt')), `image-alt not found: ${found}`);
  expect(found.some((v) => v.startsWith('button-name')), `button-name not found: ${found}`);
  await context.close();
});

// --- journeys -------------------------------------------------------------------------------

await test('the landing page shows every plan from the plan configuration and leads to registration', async () => {
  const { context, page, errors } = await fresh();
  const plans = await (await fetch(`${BASE}/api/v1/billing/plans`)).json();
  await page.goto(`${BASE}/`);
  for (const plan of plans) {
    const card = page.getByRole('article', { name: plan.name });
    expect(await card.count() === 1, `no card for ${plan.name}`);
    const text = await card.innerText();
    expect(text.includes(String(plan.price_monthly)), `${plan.name} card lacks its price: ${text}`);
  }
  await page.getByRole('link', { name: 'Create your free account' }).click();
  await page.waitForURL(`${BASE}/register`);
  expect(errors.length === 0, `console errors: ${errors}`);
  await context.close();
});

await test('a merchant registers, lands on the dashboard with their figures, signs out and is asked to sign in again', async () => {
  const { context, page, errors } = await fresh();
  const email = await register(page);
  expect(await page.getByRole('heading', { level: 1, name: 'Dashboard' }).isVisible(), 'no dashboard heading');
  expect((await page.getByText(`Signed in as ${email}`).count()) === 1, 'the dashboard does not name the merchant');
  for (const label of ['Scheduled', 'Posts this month', 'Engagement', 'Needs reconnection']) {
    expect(await page.getByRole('heading', { name: label }).isVisible(), `no ${label} figure`);
  }
  expect(await page.getByText('of 10 this month').isVisible(), 'the free plan limit is not shown');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${BASE}/`);
  await page.goto(`${BASE}/app`);
  await page.waitForURL(`${BASE}/login`);
  expect(errors.length === 0, `console errors: ${errors}`);
  await context.close();
});

await test('a wrong password is shown next to the password field and keeps the e-mail typed', async () => {
  const { context, page } = await fresh();
  const email = await register(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const password = page.getByLabel('Password');
  expect(await password.getAttribute('aria-invalid') === 'true', 'the password field is not marked invalid');
  const described = await password.getAttribute('aria-describedby');
  expect(/wrong e-mail or password/.test(await page.locator(`#${described}`).innerText()), 'no error next to the password');
  expect(await page.getByLabel('Email').inputValue() === email, 'the e-mail was not kept');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE}/app`);
  await context.close();
});

await test('registering an e-mail that has an account says so next to the e-mail field', async () => {
  const { context, page } = await fresh();
  const email = await register(page);
  const other = await fresh();
  await other.page.goto(`${BASE}/register`);
  await other.page.getByLabel('Email').fill(email);
  await other.page.getByLabel('Password').fill(PASSWORD);
  await other.page.getByRole('button', { name: 'Create account' }).click();
  const message = await other.page.locator('#email-error').innerText();
  expect(/already exists/.test(message), `the e-mail error says: ${message}`);
  await other.context.close();
  await context.close();
});

await test('a form posted without its CSRF token, or from another site, is refused and signs nobody in', async () => {
  const { context, page } = await fresh();
  const email = await register(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  // The browser holds a CSRF cookie now; a post without the matching field is refused.
  const missing = await page.request.post(`${BASE}/login`, { form: { email, password: PASSWORD }, maxRedirects: 0 });
  expect(missing.status() === 403, `without the token: ${missing.status()}`);
  const cookies = await context.cookies();
  const csrf = cookies.find((c) => c.name === 'pp_csrf')?.value;
  expect(csrf, 'no CSRF cookie');
  const crossSite = await page.request.post(`${BASE}/login`, {
    form: { email, password: PASSWORD, csrf }, headers: { 'Sec-Fetch-Site': 'cross-site' }, maxRedirects: 0,
  });
  expect(crossSite.status() === 403, `cross-site: ${crossSite.status()}`);
  expect(!(await context.cookies()).some((c) => c.name === 'pp_session' && c.value), 'a session was opened');
  const good = await page.request.post(`${BASE}/login`, { form: { email, password: PASSWORD, csrf }, maxRedirects: 0 });
  expect(good.status() === 303, `with the token: ${good.status()}`);
  await context.close();
});

/** Drags `from` onto `to` with the mouse (HTML drag and drop, as a merchant does it). */
async function drag(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  await page.mouse.move(a.x + 10, a.y + 8);
  await page.mouse.down();
  await page.mouse.move(b.x + 20, b.y + Math.min(30, b.height / 2), { steps: 12 });
  await page.mouse.up();
}

/** The browser's local `YYYY-MM-DDTHH:MM`, `hours` from now. */
async function localIn(page, hours) {
  return page.evaluate((h) => {
    const t = new Date(Date.now() + h * 3600 * 1000);
    return new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }, hours);
}

await test('a merchant connects an account, generates a caption, edits it, approves it, and moves it on the calendar in their zone', async () => {
  // The browser is in New York: the account starts in its zone, and every time is read in it.
  const { context, page, errors } = await fresh(1440, 'light', 'America/New_York');
  await register(page);
  await addAccount(page, 'Facebook', 'aurora-shop');
  expect(await page.getByRole('cell', { name: 'aurora-shop', exact: true }).isVisible(), 'the account is not listed');
  expect(await page.getByText('Connected', { exact: true }).isVisible(), 'the account is not connected');
  await generateItem(page);
  const caption = page.getByLabel('Caption for every platform');
  expect(/Aurora Desk Lamp/.test(await caption.inputValue()), 'the generated caption does not name the product');
  await caption.fill('Meet Aurora: warm light for late nights 😀');
  const counter = page.locator('#counters-shared li[data-platform="facebook"]');
  expect(/^Facebook: 41 \/ 63206$/.test(await counter.innerText()), `the counter says: ${await counter.innerText()}`);
  await page.getByRole('button', { name: 'Save caption' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  expect(await caption.inputValue() === 'Meet Aurora: warm light for late nights 😀', 'the edit was not kept');
  const local = await localIn(page, 26);
  expect(await page.getByLabel('Publish at, America/New_York time (empty: keep as drafts)').count() === 1, 'the zone used is not shown');
  await page.getByLabel(/Publish at/).fill(local);
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.getByText('Approved: 1 post(s) scheduled.').waitFor();
  expect(await page.locator('.lead .status').innerText() === 'approved', 'the item is not approved');

  // The month: the post is on the day it was approved for; it moves two days on.
  await page.getByRole('link', { name: 'Calendar' }).click();
  await page.waitForURL(/\/app\/calendar$/);
  const day = local.slice(0, 10);
  await page.goto(`${BASE}/app/calendar?month=${day.slice(0, 7)}`);
  const chip = page.locator(`.day[data-date="${day}"] .chip[draggable]`);
  expect(await chip.count() === 1, `no post on ${day}`);
  expect(await chip.locator('.when').innerText() === local.slice(11, 16), 'the post is not at its local time');
  const target = (await localIn(page, 26 + 48)).slice(0, 10);
  if (await page.locator(`.day[data-date="${target}"]`).count()) {
    await drag(page, chip, page.locator(`.day[data-date="${target}"]`));
    await page.getByText(`Moved to ${target} at ${local.slice(11, 16)}`).waitFor();
  } else {
    // The keyboard's way (and the way across months): the post's own page.
    await chip.click();
    await page.getByLabel(/Publish at/).fill(`${target}T${local.slice(11, 16)}`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved: the post is scheduled.').waitFor();
  }

  // The week: it moves to 15:00 that day, its minutes kept (the whole day in view: a mouse
  // drags only what is on the screen).
  await page.setViewportSize({ width: 1440, height: 2200 });
  await page.goto(`${BASE}/app/calendar?week=${target}`);
  const moving = page.locator('.slot .chip[draggable]');
  expect(await moving.count() === 1, 'the post is not in its week');
  await drag(page, moving, page.locator(`.slot[data-date="${target}"][data-hour="15"]`));
  await page.getByText(`Moved to ${target} at 15:${local.slice(14, 16)}`).waitFor();
  expect(await page.locator(`.slot[data-date="${target}"][data-hour="15"] .chip`).count() === 1, 'the post is not at its new hour');

  // Click to edit: the post's page brings it to a minute from now; the server's worker publishes
  // it, and the analytics count it on today's bar.
  await page.locator(`.slot[data-date="${target}"][data-hour="15"] .chip`).click();
  await page.waitForURL(/\/app\/posts\//);
  const soon = (await localIn(page, 75 / 3600)).slice(0, 16);
  await page.getByLabel(/Publish at/).fill(soon);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved: the post is scheduled.').waitFor();
  const deadline = Date.now() + 150_000;
  while (!(await page.locator('.lead .status.posted').count())) {
    expect(Date.now() < deadline, 'the worker did not publish the post');
    await page.waitForTimeout(2000);
    await page.reload();
  }
  expect(await page.getByRole('cell', { name: 'posted' }).count() === 1, 'no publication attempt in the history');
  await page.getByRole('link', { name: 'Analytics' }).click();
  const published = page.locator('.kpi').filter({ has: page.getByRole('heading', { name: 'Published posts' }) });
  expect(await published.locator('.value').innerText() === '1', 'the analytics do not count the post');
  const today = soon.slice(0, 10);
  expect(await page.locator('#chart-interactions ~ svg title').filter({ hasText: /: \d+ interactions, 1 post$/ }).count() === 1,
    `no bar for the post's day (${today})`);
  expect(errors.length === 0, `console errors: ${errors}`);
  await context.close();
});

await test('an action over the plan shows the plan limit error', async () => {
  const { context, page } = await fresh();
  await register(page);
  await addAccount(page, 'Facebook', 'first-shop');
  await addAccount(page, 'Instagram', 'second-shop');
  const alert = page.getByRole('alert');
  expect(/Your plan allows 1 connected accounts: upgrade/.test(await alert.innerText()), `the alert says: ${await alert.innerText()}`);
  expect(await page.getByRole('cell', { name: 'second-shop', exact: true }).count() === 0, 'the second account was connected');
  await context.close();
});

await test('a merchant upgrades from the billing page and the new plan is in force', async () => {
  const { context, page } = await fresh();
  await register(page);
  await page.goto(`${BASE}/app/billing`);
  expect(/free plan/i.test(await page.locator('.lead').innerText()), 'not on the free plan');
  await page.getByRole('button', { name: 'Choose Pro' }).click();
  await page.waitForURL(/\/billing\/mock\/checkout\//);
  await page.getByRole('link', { name: 'your billing' }).click();
  await page.waitForURL(`${BASE}/app/billing`);
  expect(/pro plan/i.test(await page.locator('.lead').innerText()), `the plan is: ${await page.locator('.lead').innerText()}`);
  await page.goto(`${BASE}/app`);
  expect(await page.getByText('of 200 this month').isVisible(), "the dashboard does not show pro's limit");
  await context.close();
});

await test('a pro merchant creates an API key, sees it once, and revokes it', async () => {
  const { context, page } = await fresh();
  await register(page);
  await page.goto(`${BASE}/app/billing`);
  await page.getByRole('button', { name: 'Choose Pro' }).click();
  await page.waitForURL(/\/billing\/mock\/checkout\//);
  await page.goto(`${BASE}/app/api-keys`);
  await page.getByLabel('Name').fill('Shop backend');
  await page.getByLabel(/Read posts and the calendar/).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = await page.getByLabel('API key').inputValue();
  const answer = await fetch(`${BASE}/api/v1/posts`, { headers: { 'x-api-key': key } });
  expect(answer.status === 200, `the key answered ${answer.status}`);
  await page.goto(`${BASE}/app/api-keys`);
  expect((await page.content()).indexOf(key) === -1, 'the key was shown again');
  await page.getByRole('button', { name: 'Revoke Shop backend' }).click();
  await page.getByText('Key revoked: it no longer works.').waitFor();
  const after = await fetch(`${BASE}/api/v1/posts`, { headers: { 'x-api-key': key } });
  expect(after.status === 401, `the revoked key answered ${after.status}`);
  await context.close();
});

/** A Pro merchant with a Facebook account `shop` and an API key: the headers its backend sends. */
async function proMerchantWithKey(page, shop) {
  await register(page);
  await page.goto(`${BASE}/app/billing`);
  await page.getByRole('button', { name: 'Choose Pro' }).click();
  await page.waitForURL(/\/billing\/mock\/checkout\//);
  await addAccount(page, 'Facebook', shop);
  await page.goto(`${BASE}/app/api-keys`);
  await page.getByLabel('Name').fill('Shop backend');
  await page.getByRole('button', { name: 'Create key' }).click();
  return { 'x-api-key': await page.getByLabel('API key').inputValue(), 'content-type': 'application/json' };
}

/** Schedules a post for tomorrow through the API on the merchant's first account. */
async function scheduleTomorrow(headers, content) {
  const accounts = await (await fetch(`${BASE}/api/v1/accounts`, { headers })).json();
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
  const created = await fetch(`${BASE}/api/v1/posts`, {
    method: 'POST', headers, body: JSON.stringify({ account_id: accounts.items[0].id, content, scheduled_for: tomorrow }),
  });
  const post = await created.json();
  expect(created.status === 201, `creating the post answered ${created.status}: ${JSON.stringify(post)}`);
  return post;
}

/** Polls `check` every 200 ms for up to 15 s. */
async function eventually(what, check) {
  for (let i = 0; i < 75; i += 1) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

await test('a webhook endpoint that answers 410 is shown stopped on the dashboard and enabled again from it', async () => {
  const received = [];
  let answer = 410;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { received.push({ id: req.headers['webhook-id'], body }); res.writeHead(answer).end(); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
  const { context, page } = await fresh();
  try {
    const headers = await proMerchantWithKey(page, 'hooked-shop');
    const made = await fetch(`${BASE}/api/v1/webhook-endpoints`, { method: 'POST', headers, body: JSON.stringify({ url, event_types: ['post.scheduled'] }) });
    const endpoint = await made.json();
    expect(made.status === 201, `registering the endpoint answered ${made.status}: ${JSON.stringify(endpoint)}`);
    await scheduleTomorrow(headers, 'The Aurora lamp is back');
    const read = async () => (await fetch(`${BASE}/api/v1/webhook-endpoints/${endpoint.id}`, { headers })).json();
    await eventually('the 410 disables the endpoint', async () => (await read()).enabled === false);
    expect(received.length === 1 && JSON.parse(received[0].body).type === 'post.scheduled', `received ${JSON.stringify(received)}`);

    await page.goto(`${BASE}/app`);
    await page.getByRole('heading', { name: 'A webhook endpoint stopped receiving events' }).waitFor();
    expect(await page.getByText('the endpoint answered 410 Gone').count() === 1, 'the reason is not shown');
    for (const width of WIDTHS) {
      // The banner's URL wraps: nothing makes the page scroll sideways, at either width.
      await page.setViewportSize({ width, height: 900 });
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(scrollWidth <= width, `the page is ${scrollWidth} px wide at ${width} px`);
      if (SCREENSHOTS) await page.screenshot({ path: join(SHOTS_DIR, `dashboard-endpoint-stopped-${width}.png`), fullPage: true });
    }
    await page.getByRole('button', { name: 'It is fixed: send events again' }).click();
    await page.getByText(`${url} receives events again.`).waitFor();
    expect(await page.getByRole('heading', { name: 'A webhook endpoint stopped receiving events' }).count() === 0, 'the banner stayed');
    expect((await read()).enabled === true, 'the endpoint is still disabled');

    // The event it refused is a dead letter in its log; re-sent, it arrives under the same id.
    answer = 204;
    const log = await (await fetch(`${BASE}/api/v1/webhook-endpoints/${endpoint.id}/deliveries?status=dead`, { headers })).json();
    expect(log.total === 1, `dead letters: ${JSON.stringify(log)}`);
    const resent = await fetch(`${BASE}/api/v1/webhook-endpoints/${endpoint.id}/deliveries/${log.items[0].id}/resend`, { method: 'POST', headers });
    expect(resent.status === 202, `re-sending answered ${resent.status}`);
    await eventually('the re-sent event arrives', async () => received.length === 2);
    expect(received[1].id === received[0].id, 'a re-send changed the webhook-id');
  } finally {
    receiver.close();
    await context.close();
  }
});

await test('a paused post says why on its page and is resumed from there', async () => {
  const { context, page } = await fresh();
  const headers = await proMerchantWithKey(page, 'paused-shop');
  const post = await scheduleTomorrow(headers, 'The Aurora lamp, now 29.00');
  const paused = await fetch(`${BASE}/api/v1/posts/${post.id}/pause`, { method: 'POST', headers, body: JSON.stringify({ reason: 'the price changed' }) });
  expect(paused.status === 200, `pausing answered ${paused.status}`);
  await page.goto(`${BASE}/app/posts/${post.id}`);
  await page.getByText('Paused: the price changed').waitFor();
  await page.getByRole('button', { name: 'Resume at its time' }).click();
  await page.getByText('Resumed: the post is scheduled again.').waitFor();
  expect(await page.getByText('Paused: the price changed').count() === 0, 'the page still says paused');
  expect(/scheduled/.test(await page.locator('.lead').innerText()), 'the post is not scheduled again');
  await context.close();
});

await test('a rejected caption can be written again', async () => {
  const { context, page } = await fresh();
  await register(page);
  await generateItem(page, 'Nimbus Mug');
  await page.getByLabel('Why (optional)').fill('too long');
  await page.getByRole('button', { name: 'Reject' }).click();
  await page.getByText('Rejected.', { exact: true }).waitFor();
  expect(await page.getByText('Rejected: too long').isVisible(), 'the reason is not shown');
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByText('A new caption was written.').waitFor();
  expect(await page.locator('.lead .status').innerText() === 'pending', 'the item is not pending again');
  await context.close();
});

await test('a catalogue of 1,500 products imports in the background, its page follows the progress, and the items wait in the queue', async () => {
  const { context, page, errors } = await fresh();
  await register(page);
  await page.goto(`${BASE}/app/imports`);
  const rows = Array.from({ length: 1500 }, (_, i) => `Lamp no. ${i + 1},${(19 + i / 100).toFixed(2)},instagram,lamp-${i + 1}`);
  await page.getByLabel('A product, to the content queue').check();
  await page.getByLabel('Or paste its rows').fill(`title,price,platforms,external_id\n${rows.join('\n')}\n`);
  await page.getByLabel('Import the other rows').check();
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.waitForURL(/\/app\/imports\/[0-9a-f-]{36}$/);
  // Running or already done: the page reloads itself until the report is there.
  await page.getByText('Imported: 1500 queue item(s) created, 0 imported before, 0 refused.').waitFor({ timeout: 30000 });
  expect(await page.locator('progress').count() === 0, 'an ended import still shows its progress bar');
  await page.getByRole('link', { name: 'See your content queue' }).click();
  await page.getByText(/^Lamp no\. \d+$/).first().waitFor();
  expect(errors.length === 0, `console errors: ${errors}`);
  await context.close();
});

// --- every page: accessibility, and screenshots ---------------------------------------------

const PAGES = [
  { name: 'landing', path: '/' },
  { name: 'pricing', path: '/pricing' },
  { name: 'register', path: '/register' },
  { name: 'login', path: '/login' },
  { name: 'dashboard', path: '/app', signedIn: true },
  { name: 'accounts', path: '/app/accounts' },
  // The account's posting schedule, from its link on the accounts page, saved with three slots
  // so the page lists upcoming ones.
  { name: 'schedule', path: 'account-schedule' },
  { name: 'queue', path: '/app/queue' },
  // A generated item, then approved for tomorrow at 10:00 so the calendar, posts and post pages
  // have something to show.
  { name: 'queue-item', path: null, then: approveTomorrow },
  { name: 'calendar', path: () => `/app/calendar?month=${tomorrow().slice(0, 7)}` },
  { name: 'calendar-week', path: () => `/app/calendar?week=${tomorrow()}` },
  { name: 'posts', path: '/app/posts' },
  { name: 'post', path: 'first-post' },
  { name: 'imports', path: '/app/imports' },
  // Two rows pasted and imported (one refused), landing on the import's report.
  { name: 'import-report', path: 'import-rows' },
  { name: 'analytics', path: '/app/analytics' },
  { name: 'templates', path: '/app/templates' },
  { name: 'billing', path: '/app/billing' },
  { name: 'api-keys', path: '/app/api-keys' },
  { name: 'settings', path: '/app/settings' },
];

/** Tomorrow's date in the browser's (here UTC) zone. */
function tomorrow() {
  return new Date(Date.now() + 86400000).toISOString().slice(0, 10);
}

/** Approves the item on screen onto its account for tomorrow at 10:00. */
async function approveTomorrow(page) {
  await page.getByLabel(/Publish at/).fill(`${tomorrow()}T10:00`);
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.getByText('Approved: 1 post(s) scheduled.').waitFor();
}

/** Opens the first account's posting schedule from the accounts page and saves three slots. */
async function saveSchedule(page) {
  await page.getByRole('link', { name: /^Posting schedule of/ }).first().click();
  await page.getByLabel('Slots').fill('mon 09:00\nwed 12:30\nfri 18:00');
  await page.getByRole('button', { name: 'Save schedule' }).click();
  await page.getByText(/Schedule saved: 3 slot/).waitFor();
}

/** On the import page, pastes two rows for `account` (the second without a caption) and imports the other onto its next free slot. */
async function importRows(page, account) {
  await page.getByLabel('Or paste its rows').fill(`account,caption,time\n${account},Imported from a file,next\n${account},,\n`);
  await page.getByLabel('Import the other rows').check();
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByRole('heading', { name: 'Refused rows' }).waitFor();
}

if (SCREENSHOTS) mkdirSync(SHOTS_DIR, { recursive: true });
for (const scheme of ['light', 'dark']) {
  for (const width of WIDTHS) {
    await test(`every page has no serious or critical axe violation and fits ${width} px, ${scheme}`, async () => {
      const { context, page, errors } = await fresh(width, scheme);
      const found = [];
      for (const p of PAGES) {
        if (p.signedIn) {
          await register(page);
          await addAccount(page, 'Facebook', `shop-${width}-${scheme}`);
        }
        if (p.path === null) await generateItem(page);
        else if (p.path === 'first-post') await page.goto(await page.locator('a[href^="/app/posts/"]').first().getAttribute('href').then((h) => `${BASE}${h}`));
        else if (p.path === 'account-schedule') await saveSchedule(page);
        else if (p.path === 'import-rows') await importRows(page, `shop-${width}-${scheme}`);
        else await page.goto(`${BASE}${typeof p.path === 'function' ? p.path() : p.path}`);
        found.push(...(await violations(page)).map((v) => `${p.name}: ${v}`));
        // Nothing makes the page itself scroll sideways (wide parts scroll in their own box).
        const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        if (scrollWidth > width) found.push(`${p.name}: the page is ${scrollWidth} px wide at ${width} px`);
        if (SCREENSHOTS && scheme === 'light') {
          await page.screenshot({ path: join(SHOTS_DIR, `${p.name}-${width}.png`), fullPage: true });
        }
        if (SCREENSHOTS && scheme === 'dark' && width === 1440) {
          await page.screenshot({ path: join(SHOTS_DIR, `${p.name}-${width}-dark.png`), fullPage: true });
        }
        if (p.then) await p.then(page);
      }
      expect(found.length === 0, found.join('\n'));
      expect(errors.length === 0, `console errors: ${errors}`);
      await context.close();
    });
  }
}

await browser.close();
console.log(`\n${passed} passed, ${failures} failed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
process.exit(failures === 0 ? 0 : 1);
