// The optimizer and trading preferences against the real worker (product.md §2, §8, §9): a
// premium user saves risk per trade and the default R:R on /settings/trading (a server field
// error shown inline first), sees the values after a reload and resets them; a free user gets
// the upgrade prompt there; the admin queues an optimizer job on /admin/optimizer (the server's
// field error for an unknown symbol shown inline first) and the page renders the job with its
// progress and detail. Zero CSP violations and no page errors.
const { anonTest: test, expect, loginAs, USERS, signIn, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

test.describe('optimizer and trading preferences', () => {
  test('premium: save trading preferences with inline field errors, reload, reset', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.premium());
    await page.goto('/settings/trading');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Trading preferences');
    await expect(page.locator('.settings-tabs a[aria-current="page"]')).toHaveText('Trading');
    const risk = page.getByLabel('Risk per trade (%)');
    const rr = page.getByLabel('Default R:R');
    await risk.fill('20');
    await rr.fill('2.5');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#trading-risk-error')).toContainText('between 0.1 and 10');
    await expect(risk).toHaveAttribute('aria-invalid', 'true');
    await screenshot(page, 'settings-trading-error');

    await risk.fill('1.5');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Saved.')).toBeVisible();
    await page.reload();
    await expect(page.getByLabel('Risk per trade (%)')).toHaveValue('1.5');
    await expect(page.getByLabel('Default R:R')).toHaveValue('2.5');
    await expect(page.getByRole('heading', { name: 'Tuned parameters' })).toBeVisible();
    await screenshot(page, 'settings-trading');

    await page.getByRole('button', { name: 'Reset to defaults' }).first().click();
    await expect(page.getByText('Back to the defaults.')).toBeVisible();
    await expect(page.getByLabel('Risk per trade (%)')).toHaveValue('');
    await clean(page, watch);
  });

  test('free: the trading preferences show the upgrade prompt', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.free());
    await page.goto('/settings/trading');
    await expect(page.locator('.upgrade-prompt')).toContainText('Pro and Premium');
    await expect(page.getByLabel('Risk per trade (%)')).toHaveCount(0);
    await clean(page, watch);
  });

  test('admin: queue an optimizer job and see it with its progress', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.admin());
    await page.goto('/admin/optimizer');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Optimizer');
    await expect(page.locator('.admin-nav a[aria-current="page"]')).toHaveText('Optimizer');

    const symbols = page.getByLabel('Symbols');
    await symbols.fill('NOPE/USDT');
    await page.getByRole('button', { name: 'Queue job' }).click();
    await expect(page.locator('#opt-symbols-error')).toContainText('unknown symbol');

    await symbols.fill('BTC/USDT');
    await page.getByLabel('4h').check();
    await page.getByRole('button', { name: 'Queue job' }).click();
    await expect(page.getByText(/Job \d+ queued: 210 runs\./)).toBeVisible();
    const jobs = page.locator('table.opt-jobs tbody tr');
    await expect(jobs.first()).toContainText('BTC/USDT');
    await expect(jobs.first()).toContainText('queued');
    await expect(jobs.first().locator('progress')).toHaveCount(1);
    await expect(page.getByRole('heading', { name: /Job #\d+/ })).toBeVisible();
    await expect(page.getByTestId('opt-job-status')).toContainText('queued');
    await expect(page.getByLabel('Rank by')).toHaveValue('total_profit');
    await page.getByLabel('Rank by').selectOption('win_rate');
    await expect(page.getByText('No run with 10 trades or more yet.')).toBeVisible();
    await screenshot(page, 'admin-optimizer');

    // Apply needs a user id: the client says so inline before anything is sent.
    await page.getByRole('button', { name: 'Apply best params' }).click();
    await expect(page.locator('#opt-user-error')).toContainText('user id');

    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, 'admin-optimizer-360');
    await clean(page, watch);
  });
});
