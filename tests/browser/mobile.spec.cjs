// Small screens (360 × 740): the menu toggle works and no page scrolls sideways.
const { test, expect } = require('@playwright/test');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

test.use({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });

/** The document is never wider than the viewport. */
async function expectNoHorizontalOverflow(page) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(clientWidth).toBe(360);
  expect(scrollWidth).toBeLessThanOrEqual(360);
}

test.describe('mobile 360 px', () => {
  test('the menu toggle opens and closes the navigation', async ({ page }) => {
    const { pageErrors } = await watchPage(page);
    await page.goto('/');
    await appReady(page);

    const toggle = page.getByRole('button', { name: 'Menu' });
    const nav = page.getByRole('navigation', { name: 'Primary' });
    const pricing = nav.getByRole('link', { name: 'Pricing' });

    await expect(toggle).toBeVisible();
    await expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await expect(pricing).toBeHidden();
    await screenshot(page, 'mobile-home');

    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await expect(pricing).toBeVisible();
    await screenshot(page, 'mobile-menu-open');

    await pricing.click();
    await expect(page).toHaveURL(/\/pricing$/);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Plans for every kind of trader');
    await expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await expect(pricing).toBeHidden();

    // Escape closes the menu too, and focus stays on the toggle.
    await toggle.click();
    await expect(pricing).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(pricing).toBeHidden();

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  for (const [path, shot] of [
    ['/', 'mobile-home-full'],
    ['/features', 'mobile-features'],
    ['/pricing', 'mobile-pricing'],
    ['/health', 'mobile-health'],
    ['/privacy', 'mobile-privacy'],
    ['/api-docs', 'mobile-api-docs'],
    ['/no-such-page', 'mobile-not-found'],
  ]) {
    test(`${path} has no horizontal overflow`, async ({ page }) => {
      await watchPage(page);
      await page.goto(path);
      await appReady(page);
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      if (path === '/health') {
        await expect(page.locator('.health-panel .status-banner')).toBeVisible();
      }
      await expectNoHorizontalOverflow(page);
      await screenshot(page, shot);
      expect(await cspViolations(page)).toEqual([]);
    });
  }
});
