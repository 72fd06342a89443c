// Admin pages (product.md §9) against the real worker: users (search, verify, unlock), the
// error tracker and the audit log that records the admin's action. (There is no cron route
// yet, so no cron toggle here.) Fails on any CSP violation.
const { test, expect, loginAs, USERS, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

test.describe('admin', () => {
  test('users: search and unlock; the audit log records it', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/admin/users');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
    const email = USERS.free().email;
    await page.getByLabel('Email or username starts with').fill(email.split('@')[0]);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator('table.admin-users tbody tr', { hasText: email });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('✓ active');
    await screenshot(page, 'admin-users');
    await row.getByRole('button', { name: /^Unlock/ }).click();
    await expect(page.locator('.form-alert')).toHaveCount(0);

    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect(page).toHaveURL(/\/admin\/audit$/);
    await expect(page.locator('table.admin-audit, .empty-state').first()).toBeVisible();
    await screenshot(page, 'admin-audit');

    await page.getByRole('link', { name: 'Errors' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Error tracker');
    await expect(page.locator('table.admin-errors, .empty-state').first()).toBeVisible();
    await clean(page, watch);
  });
});

test.describe('admin navigation', () => {
  const SECTIONS = {
    'Users & messaging': ['Users', 'Subscriptions', 'Notifications'],
    Operations: ['Crons', 'Symbols', 'Optimizer', 'Settings'],
    Insights: ['Stats', 'Logs', 'Errors', 'Audit log'],
  };

  async function groups(nav) {
    const out = {};
    for (const list of await nav.getByRole('list').all()) {
      const name = await list.evaluate((el) => document.getElementById(el.getAttribute('aria-labelledby')).textContent);
      out[name] = await list.getByRole('link').allTextContents();
    }
    return out;
  }

  test('desktop: a grouped sidebar beside the page, the open section marked', async ({ page }) => {
    const watch = await watchPage(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/admin/crons');
    await appReady(page);
    const nav = page.getByRole('navigation', { name: 'Admin sections' });
    expect(await groups(nav)).toEqual(SECTIONS);
    await expect(nav.locator('a[aria-current="page"]')).toHaveText('Crons');
    await expect(page.locator('table.admin-crons').first()).toBeVisible();
    // Beside the page: the sidebar ends left of the heading, both start near the same top.
    const side = await nav.boundingBox();
    const h1 = await page.getByRole('heading', { level: 1 }).boundingBox();
    expect(side.x + side.width).toBeLessThanOrEqual(h1.x);
    expect(side.height).toBeLessThan(600);
    await screenshot(page, 'admin-nav-desktop');
    // The signed-in header (eleven links) fits too: the menu toggle below 1280 px, one row above.
    for (const width of [1100, 1280, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    }

    // Every section is one client-side click away (the nav stays, the marker moves).
    await nav.getByRole('link', { name: 'Logs' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Logs');
    await expect(nav.locator('a[aria-current="page"]')).toHaveText('Logs');
    await clean(page, watch);
  });

  test('360 px: the groups sit above the page and nothing overflows', async ({ page }) => {
    const watch = await watchPage(page);
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto('/admin/subscriptions');
    await appReady(page);
    const nav = page.getByRole('navigation', { name: 'Admin sections' });
    expect(await groups(nav)).toEqual(SECTIONS);
    await expect(nav.locator('a[aria-current="page"]')).toHaveText('Subscriptions');
    await expect(page.locator('table.admin-subscriptions, .empty-state').first()).toBeVisible();
    const box = await nav.boundingBox();
    const h1 = await page.getByRole('heading', { level: 1 }).boundingBox();
    expect(box.y + box.height).toBeLessThanOrEqual(h1.y);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, 'admin-nav-360');
    await page.setViewportSize({ width: 768, height: 900 });
    await screenshot(page, 'admin-nav-768');
    await clean(page, watch);
  });
});

test.describe('admin for a non-admin', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('is refused', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/');
    await appReady(page);
    expect(await loginAs(page, USERS.premium())).toBe(200);
    await page.goto('/admin/users');
    await expect(page.locator('.error-banner')).toBeVisible();
    await expect(page.locator('table.admin-users')).toHaveCount(0);
    await clean(page, watch);
  });
});
