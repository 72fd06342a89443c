// Admin operations against the real worker (product.md §9; issue #9's journey "admin: unlock a
// user and toggle a cron"): a fresh account is locked by failed logins through the API (the
// lockout rules of §11.4: locked answers exactly like a wrong password), the admin unlocks it
// on /admin/users, and the account logs in again; a cron is switched off on /admin/crons with
// the in-row confirmation and stays off after a reload (then back on). The symbols page adds a
// symbol (the server's field error shown inline first), switches it, and imports a small CSV
// with one bad row. Zero CSP violations and no page errors everywhere.
const { test, expect, nextIp, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

const PASSWORD = 'Correct7Horse';

/** A signed-out page on the app's origin with a client address of its own. */
async function visitor(browser, baseURL) {
  const context = await browser.newContext({ baseURL, extraHTTPHeaders: { 'cf-connecting-ip': nextIp() } });
  const page = await context.newPage();
  await page.goto('/');
  return { context, page };
}

/** A same-origin POST with a pre-session CSRF token, from inside `page`; returns the status. */
async function post(page, path, body) {
  return page.evaluate(async ({ path, body }) => {
    const pre = await fetch('/api/v1/auth/csrf', { credentials: 'same-origin' });
    const token = (await pre.json()).data.csrf_token;
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: JSON.stringify(body),
    });
    return res.status;
  }, { path, body });
}

/** One login attempt from a fresh client address (the login limit is per address). */
async function loginStatus(browser, baseURL, email, password) {
  const { context, page } = await visitor(browser, baseURL);
  const status = await post(page, '/api/v1/auth/login', { email, password });
  await context.close();
  return status;
}

function jobRow(page, name) {
  return page.locator('table.admin-crons tbody tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${name}$`) }) });
}

test.describe('admin operations', () => {
  test('admin: unlock a user and toggle a cron', async ({ page, browser }, testInfo) => {
    test.setTimeout(180_000);
    const baseURL = testInfo.project.use.baseURL;
    const watch = await watchPage(page);

    // Crons: the tab, the jobs table and a switch with its confirmation.
    await page.goto('/admin/crons');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Crons');
    const stats = jobRow(page, 'stats');
    await expect(stats).toContainText('✓ enabled');
    await expect(stats).toContainText('*/5 * * * *');
    await stats.getByRole('button', { name: 'Disable stats' }).click();
    const confirm = stats.getByRole('button', { name: 'Yes, disable' });
    await expect(confirm).toBeFocused();
    await stats.getByRole('button', { name: 'Cancel' }).click();
    await expect(confirm).toHaveCount(0);
    await stats.getByRole('button', { name: 'Disable stats' }).click();
    await confirm.click();
    await expect(page.getByRole('status').filter({ hasText: 'is now disabled' })).toBeVisible();
    await expect(stats).toContainText('○ disabled');

    // Persisted: a reload reads it back from the server.
    await page.reload();
    await appReady(page);
    await expect(jobRow(page, 'stats')).toContainText('○ disabled');
    await expect(page.locator('table.admin-runs, .empty-state').first()).toBeVisible();
    await screenshot(page, 'admin-crons');

    // And back on (the second of the two toggles a minute).
    await jobRow(page, 'stats').getByRole('button', { name: 'Enable stats' }).click();
    await jobRow(page, 'stats').getByRole('button', { name: 'Yes, enable' }).click();
    await expect(jobRow(page, 'stats')).toContainText('✓ enabled');

    // Run history of another job, chosen from its row.
    await jobRow(page, 'cleanup').getByRole('button', { name: 'History of cleanup' }).click();
    await expect(page.locator('#history-title')).toContainText('cleanup');
    await expect(page.locator('table.admin-runs, .empty-state').first()).toBeVisible();
    // A fresh account, locked by five wrong passwords from one address.
    const stamp = Date.now().toString(36);
    const username = `lock_${stamp}`;
    const email = `${username}@example.com`;
    const guest = await visitor(browser, baseURL);
    expect(await post(guest.page, '/api/v1/auth/register', { email, username, password: PASSWORD })).toBeLessThan(300);
    for (let i = 0; i < 5; i += 1) {
      expect(await post(guest.page, '/api/v1/auth/login', { email, password: 'Wrong7Password' })).toBe(401);
    }
    await guest.context.close();
    // Locked: the right password is refused like a wrong one (or the per-account login limit
    // answers first).
    expect([401, 429]).toContain(await loginStatus(browser, baseURL, email, PASSWORD));

    // The admin unlocks it on /admin/users.
    await page.goto('/admin/users');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
    await page.getByLabel('Email or username starts with').fill(username);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator('table.admin-users tbody tr', { hasText: email });
    await expect(row).toHaveCount(1);
    const unlocked = page.waitForResponse((r) => r.url().endsWith('/unlock') && r.request().method() === 'POST');
    await row.getByRole('button', { name: /^Unlock/ }).click();
    expect((await unlocked).status()).toBe(200);
    await expect(page.locator('.form-alert')).toHaveCount(0);
    // Unlocked: the right password works again once the login limit's minute has passed.
    await expect.poll(() => loginStatus(browser, baseURL, email, PASSWORD), { timeout: 100_000, intervals: [20_000] }).toBe(200);

    await clean(page, watch);
  });

  test('symbols: add with an inline server error, switch, import a CSV', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/admin/symbols');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Symbols');
    await expect(page.locator('table.admin-symbols')).toBeVisible();

    // The page's own check, then the server's field error (a fetch start in the future).
    await page.getByRole('button', { name: 'Add symbol' }).click();
    await expect(page.locator('#sym-symbol-error')).toContainText('BTC/USDT');
    const symbol = `T${Date.now().toString(36).toUpperCase()}/USDT`;
    await page.getByLabel('Symbol', { exact: true }).fill(symbol.toLowerCase());
    await page.getByLabel('Fetch candles from').fill('2099-01-01');
    await page.getByRole('button', { name: 'Add symbol' }).click();
    await expect(page.locator('#sym-start-error')).toContainText(/between 2017-01-01 and now/);
    await expect(page.getByLabel('Fetch candles from')).toHaveAttribute('aria-invalid', 'true');

    await page.getByLabel('Fetch candles from').fill('2024-06-01');
    await page.getByRole('button', { name: 'Add symbol' }).click();
    await expect(page.getByRole('status').filter({ hasText: `Added ${symbol}.` })).toBeVisible();
    const row = page.locator('table.admin-symbols tbody tr').filter({ has: page.locator('th', { hasText: symbol }) });
    await expect(row).toContainText('✓ active');
    await expect(row).toContainText('● on');
    await expect(row.getByLabel(`Fetch start of ${symbol}`)).toHaveValue('2024-06-01');

    await row.getByRole('button', { name: `Deactivate ${symbol}` }).click();
    await expect(row).toContainText('✕ inactive');
    await row.getByRole('button', { name: `Mute ${symbol}` }).click();
    await expect(row).toContainText('○ off');
    await row.getByRole('button', { name: `Activate ${symbol}` }).click();
    await expect(row).toContainText('✓ active');

    // Import: three good 1m candles and one row whose high is below its open.
    await page.locator('#ops-symbol').selectOption({ label: symbol });
    const csv = [
      'timestamp,open,high,low,close,volume',
      '1717200000000,10,11,9,10.5,1',
      '1717200060000,10.5,12,10,11,2',
      '1717200120000,11,10,9,10,1',
      '1717200180000,11,11.5,10.5,11.2,3',
      '',
    ].join('\n');
    await page.getByLabel('File').setInputFiles({ name: 'candles.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await expect(page.locator('#import-format')).toHaveValue('csv');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(page.getByTestId('import-imported')).toHaveText('3');
    await expect(page.getByTestId('import-skipped')).toHaveText('1');
    await expect(page.getByTestId('import-duplicates')).toHaveText('0');
    const bad = page.locator('table.import-errors tbody tr');
    await expect(bad).toHaveCount(1);
    await expect(bad.locator('th')).toHaveText('3');
    await expect(bad.locator('td').first()).toHaveText('4');
    await screenshot(page, 'admin-symbols');

    // The same file again: everything is a duplicate.
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(page.getByTestId('import-duplicates')).toHaveText('3');
    await expect(page.getByTestId('import-imported')).toHaveText('0');
    await clean(page, watch);
  });

  test('symbols: a file over 5 MiB is refused before it is sent', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/admin/symbols');
    await appReady(page);
    let sent = false;
    page.on('request', (r) => { if (r.url().includes('/import')) sent = true; });
    await page.locator('#ops-symbol').selectOption({ index: 1 });
    await page.getByLabel('File').setInputFiles({ name: 'big.json', mimeType: 'application/json', buffer: Buffer.alloc(5 * 1024 * 1024 + 1, 32) });
    await expect(page.locator('#import-file-error')).toContainText('the limit is 5 MiB');
    await expect(page.locator('#import-format')).toHaveValue('json');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(page.locator('#import-file-error')).toContainText('the limit is 5 MiB');
    expect(sent).toBe(false);
    await clean(page, watch);
  });
});
