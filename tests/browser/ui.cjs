// ui.cjs - droverd's web UI in Debian's chromium, driven by playwright-core: log in, see
// the dashboard, run a sleep job and watch its output arrive live, create a schedule
// (with a validation error first), meet an RBAC denial as a viewer, phone width,
// keyboard, log out. Prints TAP; screenshots go to $SHOTS.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require(path.resolve(process.env.NODE_MODULES, 'playwright-core'));

const base = process.env.DROVERD_URL;
const shots = process.env.SHOTS;
let n = 0;
let failed = 0;

function ok(cond, desc, detail) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${desc}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    if (detail !== undefined) {
      console.log('# ' + String(detail).split('\n').slice(0, 20).join('\n# '));
    }
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

async function login(page, user, password) {
  await page.goto(base + '/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(base + '/'), page.getByRole('button', { name: 'Log in' }).click()]);
}

async function main() {
  const profile = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'drover-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  // Answers the test provokes on purpose (wrong password, bad cron, denial) are not errors.
  const expected = /Failed to load resource: the server responded with a status of (401|403|422)/;
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(base + '/');
    ok(page.url().startsWith(base + '/login'), 'an anonymous visit lands on the login page', page.url());
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    ok(await page.getByRole('alert').textContent().then((t) => /Wrong user name or password/.test(t)),
      'a wrong password is shown as an error');
    await shot(page, '01-login-error');
    await login(page, 'admin', process.env.ADMIN_PASSWORD);
    ok(await page.locator('h1').textContent() === 'Dashboard', 'the dashboard follows the login');
    ok(await page.locator('svg.chart').count() === 1, 'with the jobs chart as inline SVG');
    await shot(page, '02-dashboard');

    // Keyboard: the first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    ok(await page.evaluate(() => document.activeElement.textContent) === 'Skip to content',
      'the first Tab focuses "Skip to content"');

    // Run a sleep job from the jobs page and watch its output arrive over SSE.
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByLabel('Kind').fill('sleep');
    await page.getByLabel('Parameters (JSON object)').fill('{"seconds": 4, "lines": 4}');
    await Promise.all([page.waitForURL(/\/ui\/jobs\/\d+$/), page.getByRole('button', { name: 'Run' }).click()]);
    const out = page.locator('#output');
    await out.filter({ hasText: 'line 2 of 4' }).waitFor({ timeout: 10000 });
    const stateWhileLive = await page.locator('#job-state').textContent();
    ok(/running|queued/.test(stateWhileLive), 'output arrives live while the job runs', stateWhileLive);
    await shot(page, '03-job-live');
    await page.locator('#job-state', { hasText: 'succeeded' }).waitFor({ timeout: 15000 });
    const text = await out.textContent();
    ok(/line 1 of 4[\s\S]*line 4 of 4/.test(text), 'every line arrived in order', text);
    ok((text.match(/line 3 of 4/g) || []).length === 1, 'no line arrived twice', text);
    await page.waitForLoadState('load');
    await shot(page, '04-job-done');

    // Schedules: a validation error beside its field, then a good one.
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByLabel('Name').fill('browser-nightly');
    await page.getByLabel('Cron line').fill('61 2 * * *');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByLabel('Job kind').fill('noop');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    const cronError = page.locator('#e-cron');
    ok(await cronError.count() === 1 && /61/.test(await cronError.textContent()),
      'a bad cron line is explained beside the field');
    ok(await page.getByLabel('Name').inputValue() === 'browser-nightly', 'the form keeps what was typed');
    await shot(page, '05-schedule-error');
    await page.getByLabel('Cron line').fill('30 2 * * *');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    const row = page.locator('tr', { hasText: 'browser-nightly' });
    ok(await row.count() === 1, 'the new schedule is listed');
    await row.getByRole('button', { name: 'Disable browser-nightly' }).click();
    ok(/no/.test(await page.locator('tr', { hasText: 'browser-nightly' }).textContent()),
      'it can be disabled');
    await shot(page, '06-schedules');

    // Phone width: nothing runs off the side.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(base + '/ui/jobs');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(overflow <= 391, 'the jobs page fits a phone (390 px)', overflow);
    await shot(page, '07-phone-jobs');
    await page.setViewportSize({ width: 1280, height: 900 });

    // Log out; a viewer meets the denial.
    await page.getByRole('button', { name: 'Log out' }).click();
    ok(page.url().startsWith(base + '/login'), 'logging out returns to the login page');
    await login(page, 'viewer1', 'viewer-pass-1');
    ok(await page.getByRole('link', { name: 'Users' }).count() === 0, 'a viewer has no Users in the navigation');
    await page.goto(base + '/ui/jobs');
    ok(await page.getByRole('button', { name: 'Run' }).count() === 0, 'a viewer has no Run form');
    const resp = await page.goto(base + '/ui/users');
    ok(resp.status() === 403, 'the users page is refused to a viewer (403)', resp.status());
    ok(/lacks the permission users:view/.test(await page.locator('main').textContent()),
      'and the page says which permission is missing');
    await shot(page, '08-viewer-denied');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.goto(base + '/ui/jobs');
    ok(page.url().startsWith(base + '/login'), 'after logout the pages need a login again');
    ok(errors.length === 0, 'no console errors or CSP violations', errors.join('\n'));
  } catch (e) {
    ok(false, 'the browser run completed', e.stack);
    await shot(page, '99-failure').catch(() => {});
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`1..${n}`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
