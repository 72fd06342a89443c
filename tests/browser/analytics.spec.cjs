// The analytics page and the admin stats/subscriptions/logs/settings pages against the real
// worker with the demo data (tests/browser/auth.cjs users): a premium user sees the analytics
// tables (the stats cache may be empty before the first stats run: the page then says so); a
// free user gets the upgrade prompt; the admin pages render, filter and the settings form shows
// the server's field error inline and saves a valid change. Zero CSP violations and no page
// errors.
const { anonTest: test, expect, loginAs, USERS, signIn, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

test.describe('analytics and admin operations', () => {
  test('premium: /analytics renders its tables, a symbol filter narrows it', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.premium());
    await page.goto('/analytics');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Analytics');
    await expect(page.getByText('Fill rate')).toBeVisible();
    await screenshot(page, 'analytics-premium');
    await page.getByLabel(/Symbol/).fill('BTC/USDT');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page.getByText(/Fill rate|No analytics for this symbol yet/).first()).toBeVisible();
    await page.setViewportSize({ width: 360, height: 780 });
    await screenshot(page, 'analytics-premium-360');
    await clean(page, watch);
  });

  test('free: /analytics shows the upgrade prompt', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.free());
    await page.goto('/analytics');
    await expect(page.getByRole('heading', { name: 'Upgrade to unlock this' })).toBeVisible();
    await screenshot(page, 'analytics-free');
    await clean(page, watch);
  });

  test('admin: stats, subscriptions, logs and settings pages', async ({ page }) => {
    const watch = await watchPage(page);
    await signIn(page, USERS.admin());

    await page.goto('/admin/stats');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Global stats');
    await expect(page.getByText('Active premium')).toBeVisible();
    await screenshot(page, 'admin-stats');

    await page.goto('/admin/subscriptions');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Subscriptions');
    await expect(page.getByRole('table').or(page.getByText('No subscriptions match.'))).toBeVisible();
    await page.getByLabel('Plan').selectOption('premium');
    await expect(page.getByRole('table').or(page.getByText('No subscriptions match.'))).toBeVisible();
    await screenshot(page, 'admin-subscriptions');

    await page.goto('/admin/logs');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Logs');
    await page.getByLabel('Level').selectOption('error');
    await expect(page.getByRole('table').or(page.getByText('No log rows match.'))).toBeVisible();
    await screenshot(page, 'admin-logs');

    await page.goto('/admin/settings');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Global settings');
    const confluence = page.getByLabel(/Minimum confluence/);
    await expect(confluence).toHaveValue(/\d/);
    const before = await confluence.inputValue();
    await confluence.fill('9');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('must be between 1 and 7')).toBeVisible();
    await screenshot(page, 'admin-settings-error');
    await confluence.fill(before === '4' ? '3' : '4');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('Settings saved.')).toBeVisible();
    await confluence.fill(before);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('Settings saved.')).toBeVisible();
    await screenshot(page, 'admin-settings');
    await clean(page, watch);
  });
});
