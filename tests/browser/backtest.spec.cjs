// Backtests and the symbol / exchange settings (product.md §2, §7, §8) against the real worker
// with the demo data (10 days of candles up to 2024-06-01): a premium user runs a backtest from
// the form (15m over the demo range fits the first chunk, which the POST runs inline) and sees
// the statistics, the trades table and the equity curve; a longer 5m run shows its progress and
// is deleted; a free user gets the upgrade prompt; exchange credentials are saved behind the
// re-authentication and read back masked; the symbol toggles render (editable for premium,
// read-only for free). Every test fails on a CSP violation or an uncaught page error.
const { anonTest: test, expect, loginAs, USERS, signIn, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

const h1 = (page) => page.getByRole('heading', { level: 1 });
/** Fills the backtest form (demo range) and submits it. */
async function runBacktest(page, { tf, name }) {
  await page.goto('/backtest');
  await expect(h1(page)).toHaveText('Backtests');
  await page.getByLabel('Symbol').selectOption('BTC/USDT');
  await page.getByLabel('Timeframe').selectOption(tf);
  await page.getByLabel('Pattern').selectOption('imbalance');
  await page.getByLabel('From (UTC)').fill('2024-05-22');
  await page.getByLabel('To (UTC, inclusive)').fill('2024-05-31');
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByRole('button', { name: 'Run backtest' }).click();
  await expect(page).toHaveURL(/\/backtest\/\d+$/);
  await expect(h1(page)).toHaveText(name);
}

test.describe('backtests', () => {
  test('premium: a backtest runs from the form and shows stats, trades and the equity curve', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.premium());
    await page.goto('/backtest');
    await expect(h1(page)).toHaveText('Backtests');
    await expect(page.getByRole('link', { name: 'Backtest', exact: true })).toBeVisible();

    // Server field errors show inline: a range with no stored candles.
    await page.getByLabel('Symbol').selectOption('BTC/USDT');
    await page.getByLabel('From (UTC)').fill('2020-01-01');
    await page.getByLabel('To (UTC, inclusive)').fill('2020-01-31');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    await expect(page.locator('#bt-from-error')).toContainText('no stored candles');
    // A client-side check: the end before the start.
    await page.getByLabel('From (UTC)').fill('2024-05-22');
    await page.getByLabel('To (UTC, inclusive)').fill('2024-05-01');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    await expect(page.locator('#bt-to-error')).toContainText('after the start');
    await screenshot(page, 'backtest-form-errors');

    const name = `e2e 15m ${Date.now().toString(36)}`;
    await runBacktest(page, { tf: '15m', name });
    await expect(page.getByTestId('bt-status')).toHaveText('✓ done');
    const total = Number(await page.getByTestId('bt-total').textContent());
    expect(total).toBeGreaterThan(1);
    await expect(page.getByText('Win rate without inconclusive')).toBeVisible();
    const rows = page.locator('table.bt-trades tbody tr');
    await expect(rows.first()).toBeVisible();
    await expect(page.getByRole('heading', { name: `Trades (${await rows.count()})` })).toBeVisible();
    await expect(page.locator('.equity-panel svg.chart-svg path.series-line')).toBeVisible();
    await screenshot(page, 'backtest-results');

    // Listed, done, and linked.
    await page.getByRole('link', { name: '← All backtests' }).click();
    const row = page.locator('table.bt-table tbody tr', { hasText: name });
    await expect(row).toContainText('✓ done');
    await screenshot(page, 'backtest-list');
    await clean(page, watch);
  });

  test('premium: a long run shows its progress, then is deleted', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.premium());
    // 5m over the demo range is ~2900 candles: the POST runs the first 2000, the job the rest.
    const name = `e2e 5m ${Date.now().toString(36)}`;
    await runBacktest(page, { tf: '5m', name });
    await expect(page.getByTestId('bt-status')).toHaveText(/running|queued|done/);
    if (!/done/.test(await page.getByTestId('bt-status').textContent())) {
      await expect(page.locator('progress.bt-bar-wide')).toBeVisible();
      await expect(page.getByRole('status').filter({ hasText: 'Progress:' })).toBeVisible();
    }
    await screenshot(page, 'backtest-progress');
    await page.getByRole('button', { name: 'Delete backtest' }).click();
    await page.getByRole('button', { name: 'Confirm: delete this backtest' }).click();
    await expect(page).toHaveURL(/\/backtest$/);
    await expect(page.locator('table.bt-table, .bt-list .empty-state').first()).toBeVisible();
    await expect(page.locator('table.bt-table tbody tr', { hasText: name })).toHaveCount(0);
    await clean(page, watch);
  });

  test('free: the upgrade prompt instead of backtests; no portfolio link', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.free());
    await page.goto('/backtest');
    await expect(page.getByRole('heading', { name: 'Upgrade to unlock this' })).toBeVisible();
    await expect(page.getByLabel('Timeframe')).toHaveCount(0);
    await expect(page.locator('.nav-list a[href="/portfolio"]')).toHaveCount(0);
    await expect(page.locator('.nav-list a[href="/backtest"]')).toHaveCount(1);
    await screenshot(page, 'backtest-free');
    // Exchange credentials are pro and up.
    await page.goto('/settings/exchange');
    await expect(page.getByRole('heading', { name: 'Upgrade to unlock this' })).toBeVisible();
    // Symbols render read-only.
    await page.goto('/settings/symbols');
    const box = page.getByRole('checkbox', { name: 'Notifications for BTC/USDT' });
    await expect(box).toBeDisabled();
    await clean(page, watch);
  });
});

test.describe('settings', () => {
  test('premium: exchange credentials are saved behind the re-auth and read back masked', async ({ page }) => {
    const watch = await watchPage(page);
    const user = USERS.premium();
    await signIn(page, user);
    await page.goto('/settings/exchange');
    await expect(h1(page)).toHaveText('Exchange credentials');
    await expect(page.locator('.settings-tabs a[aria-current="page"]')).toHaveText('Exchange');

    const key = `E2EKEY${Date.now().toString(36).toUpperCase()}WXYZ`;
    await page.getByLabel('Exchange').selectOption('kraken');
    await page.getByLabel('Label').fill('e2e');
    await page.getByLabel('API key').fill(key);
    await page.getByLabel('API secret').fill('e2e-secret-1234567890');
    // A wrong password: the re-auth refuses and nothing is stored.
    await page.getByLabel('Current password').fill('not-the-password-1A');
    await page.getByRole('button', { name: 'Save credential' }).click();
    await expect(page.locator('.form-alert')).toBeVisible();
    await expect(page.locator('.cred-item')).toHaveCount(0);

    await page.getByLabel('Current password').fill(user.password);
    await page.getByRole('button', { name: 'Save credential' }).click();
    await expect(page.locator('.form-success')).toContainText('****WXYZ');
    const item = page.getByRole('listitem', { name: 'Credential Kraken · e2e' });
    await expect(item.locator('code.cred-key')).toHaveText('****WXYZ');
    await expect(page.getByLabel('API key')).toHaveValue('');

    // Read back after a reload: still masked; the key and secret are nowhere on the page.
    await page.reload();
    await expect(page.getByRole('listitem', { name: 'Credential Kraken · e2e' }).locator('code.cred-key')).toHaveText('****WXYZ');
    const html = await page.content();
    expect(html).not.toContain(key);
    expect(html).not.toContain('e2e-secret-1234567890');
    await screenshot(page, 'settings-exchange');

    await page.getByRole('button', { name: 'Delete all credentials' }).click();
    await page.getByRole('button', { name: 'Confirm: delete all credentials' }).click();
    await expect(page.getByText('No exchange credentials stored.')).toBeVisible();
    await clean(page, watch);
  });

  test('premium: symbol notification toggles render and save', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.premium());
    await page.goto('/settings/symbols');
    await expect(h1(page)).toHaveText('Symbols');
    const box = page.getByRole('checkbox', { name: 'Notifications for ETH/USDT' });
    await expect(box).toBeEnabled();
    await expect(box).toBeChecked();
    await box.uncheck();
    await expect(page.getByRole('checkbox', { name: 'Notifications for ETH/USDT' })).not.toBeChecked();
    await page.reload();
    const again = page.getByRole('checkbox', { name: 'Notifications for ETH/USDT' });
    await expect(again).not.toBeChecked();
    await screenshot(page, 'settings-symbols');
    await again.check();
    await expect(page.getByRole('checkbox', { name: 'Notifications for ETH/USDT' })).toBeChecked();
    await clean(page, watch);
  });

  test('360 px: backtests and the exchange settings fit the screen', async ({ page }) => {
    const watch = await watchPage(page);
    await page.setViewportSize({ width: 360, height: 780 });
    await signIn(page, USERS.premium());
    await runBacktest(page, { tf: '1h', name: `e2e mobile ${Date.now().toString(36)}` });
    await expect(page.getByTestId('bt-status')).toHaveText('✓ done');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(360);
    await screenshot(page, 'backtest-results-360');
    await page.goto('/settings/exchange');
    await expect(h1(page)).toHaveText('Exchange credentials');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, 'settings-exchange-360');
    await clean(page, watch);
  });
});
