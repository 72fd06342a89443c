// The app shell under the production CSP: navigation, deep links, the health page, the 404 page.
const { anonTest: test, expect } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

/**
 * Console errors that are not failures: Chromium logs every non-2xx fetch as "Failed to load
 * resource"; a degraded/down worker legitimately answers /api/v1/health with 503, and the
 * header's session check answers /api/v1/auth/me with 401 for a visitor.
 */
function unexpectedConsoleErrors(errors) {
  const expected = ['/api/v1/health', '/api/v1/auth/me'];
  return errors.filter((e) => !(e.text.startsWith('Failed to load resource') && expected.some((p) => e.url.includes(p))));
}

function h1(page) {
  return page.getByRole('heading', { level: 1 });
}

test.describe('app shell', () => {
  test('navigates Home → Features → Pricing → Health client-side with zero CSP violations', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);

    await page.goto('/');
    await appReady(page);
    await expect(h1(page)).toContainText('institutional footprints');
    await expect(page).toHaveTitle(/CryptoLens Edge/);
    await expect(page.locator('table.matrix tbody tr')).toHaveCount(4);
    // Survives only if the following navigations stay client-side (no reload).
    await page.evaluate(() => { window.__spaMarker = 'still-here'; });
    await screenshot(page, 'home');

    const nav = page.getByRole('navigation', { name: 'Primary' });

    await nav.getByRole('link', { name: 'Features' }).click();
    await expect(page).toHaveURL(/\/features$/);
    await expect(h1(page)).toHaveText('Everything CryptoLens Edge does');
    await expect(nav.getByRole('link', { name: 'Features' })).toHaveAttribute('aria-current', 'page');
    await expect(page).toHaveTitle('Features · CryptoLens Edge');
    await screenshot(page, 'features');

    await nav.getByRole('link', { name: 'Pricing' }).click();
    await expect(page).toHaveURL(/\/pricing$/);
    await expect(h1(page)).toHaveText('Plans for every kind of trader');
    await expect(page.locator('.plan')).toHaveCount(3);
    await expect(page.locator('table.compare tbody tr')).toHaveCount(13);
    await expect(page.locator('table.compare')).toContainText('$19/month, $190/year');
    await screenshot(page, 'pricing');

    await nav.getByRole('link', { name: 'Health' }).click();
    await expect(page).toHaveURL(/\/health$/);
    await expect(h1(page)).toHaveText('Is CryptoLens Edge up?');
    // The API answered: a summary and at least one check rendered from the envelope.
    const banner = page.locator('.health-panel .status-banner');
    await expect(banner).toBeVisible();
    await expect(banner).toContainText(/All systems operational|Degraded|Down/);
    const checks = page.locator('ul.checks > li.check');
    await expect(checks.first()).toBeVisible();
    expect(await checks.count()).toBeGreaterThan(0);
    for (const verdict of await page.locator('.check-verdict').allTextContents()) {
      expect(['OK', 'Failing']).toContain(verdict);
    }
    await expect(page.locator('.health-panel')).toContainText(/\d+ of \d+ checks passing/);
    await screenshot(page, 'health');

    // "Check again" refetches and renders the report again.
    await page.getByRole('button', { name: 'Check again' }).click();
    await expect(page.getByRole('button', { name: 'Check again' })).toBeEnabled();
    await expect(checks.first()).toBeVisible();

    await nav.getByRole('link', { name: 'API docs' }).click();
    await expect(page).toHaveURL(/\/api-docs$/);
    await expect(h1(page)).toHaveText('REST API reference');

    await nav.getByRole('link', { name: 'Home' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(h1(page)).toContainText('institutional footprints');

    expect(await page.evaluate(() => window.__spaMarker)).toBe('still-here');
    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpectedConsoleErrors(consoleErrors)).toEqual([]);
  });

  for (const [path, title, shot] of [
    ['/health', 'Is CryptoLens Edge up?', 'deeplink-health'],
    ['/pricing', 'Plans for every kind of trader', 'deeplink-pricing'],
    ['/privacy', 'Privacy policy', 'privacy'],
    ['/terms', 'Terms of service', 'terms'],
    ['/api-docs', 'REST API reference', 'deeplink-api-docs'],
  ]) {
    test(`deep link ${path} renders directly`, async ({ page }) => {
      const { consoleErrors, pageErrors } = await watchPage(page);
      const response = await page.goto(path);
      expect(response && response.status()).toBe(200);
      await appReady(page);
      await expect(h1(page)).toHaveText(title);
      if (path === '/health') {
        await expect(page.locator('ul.checks > li.check').first()).toBeVisible();
      }
      await screenshot(page, shot);
      expect(await cspViolations(page)).toEqual([]);
      expect(pageErrors).toEqual([]);
      expect(unexpectedConsoleErrors(consoleErrors)).toEqual([]);
    });
  }

  test('an unknown path shows the 404 page', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/no/such/page');
    await appReady(page);
    await expect(h1(page)).toHaveText('Page not found');
    await expect(page.locator('code.path')).toHaveText('/no/such/page');
    await expect(page).toHaveTitle('Page not found · CryptoLens Edge');
    await screenshot(page, 'not-found');

    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(h1(page)).toContainText('institutional footprints');

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpectedConsoleErrors(consoleErrors)).toEqual([]);
  });

  test('the skip link moves keyboard focus to the main landmark', async ({ page }) => {
    await page.goto('/features');
    await appReady(page);
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to main content' });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();
    await page.keyboard.press('Enter');
    await expect(page.locator('main#main')).toBeFocused();
    await expect(page).toHaveURL(/\/features$/);
  });
});
