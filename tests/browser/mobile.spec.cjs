// Small screens (360 × 740): the menu toggle works and no page scrolls sideways.
// The data pages need a signed-in user (the read API is not public): see auth.cjs.
const { test, expect } = require('./auth.cjs');
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
    ['/patterns', 'mobile-patterns'],
    ['/signals', 'mobile-signals'],
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
      if (path === '/api-docs') {
        await expect(page.locator('article.docs-op').first()).toBeVisible();
      }
      if (path === '/patterns' || path === '/signals') {
        await expect(page.locator('.data-table tbody tr').first()).toBeVisible();
      }
      await expectNoHorizontalOverflow(page);
      await screenshot(page, shot);
      expect(await cspViolations(page)).toEqual([]);
    });
  }

  test('/dashboard: the matrix scrolls inside its own box with a sticky symbol column', async ({ page }) => {
    const { pageErrors } = await watchPage(page);
    await page.goto('/dashboard');
    await appReady(page);
    const table = page.locator('table.live-matrix');
    await expect(table).toBeVisible();
    await expectNoHorizontalOverflow(page);

    const scroller = page.locator('.live-matrix-scroll');
    const widths = await scroller.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(widths.scroll).toBeGreaterThan(widths.client);
    const symbol = table.locator('tbody th.lm-symbol').first();
    const x0 = (await symbol.boundingBox()).x;
    await scroller.evaluate((el) => { el.scrollLeft = el.scrollWidth; });
    // Sticky: it stays at the box's left edge (within the 4 px cell spacing) instead of scrolling away.
    await expect.poll(async () => Math.abs((await symbol.boundingBox()).x - x0)).toBeLessThanOrEqual(6);
    await expectNoHorizontalOverflow(page);
    await scroller.evaluate((el) => { el.scrollLeft = 0; });
    await screenshot(page, 'mobile-dashboard');

    // Focus shows a cell's tooltip on small screens too, without widening the page.
    const cell = table.locator('a.lm-cell').first();
    await cell.focus();
    const tip = page.locator(`[id="${await cell.getAttribute('aria-describedby')}"]`);
    await expect(tip).toBeVisible();
    await expectNoHorizontalOverflow(page);

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  test('/chart: the SVG chart fits 360 px', async ({ page }) => {
    const { pageErrors } = await watchPage(page);
    await page.goto('/chart/ETH-USDT/1h');
    await appReady(page);
    const svg = page.locator('svg.chart-svg');
    await expect(svg.locator('g.candle').first()).toBeVisible();
    expect(await svg.locator('rect.zone').count()).toBeGreaterThanOrEqual(1);
    const box = await svg.boundingBox();
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(360);
    await expectNoHorizontalOverflow(page);
    await screenshot(page, 'mobile-chart');
    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
