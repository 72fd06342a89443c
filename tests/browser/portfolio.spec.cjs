// Portfolio pages (product.md §7) against the real worker: the journey dashboard → chart →
// trade from a pattern → open → close → PnL on the trade and the portfolio; manual trades with
// inline field errors; tags; the upgrade prompt for a free user; 360 px. Every test fails on a
// `securitypolicyviolation`, an uncaught page error or an unexpected console error.
const { test, expect, loginAs, USERS, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

const h1 = (page) => page.getByRole('heading', { level: 1 });
/** Creates a portfolio through the page's form; returns its id. */
async function createPortfolio(page, name) {
  await page.goto('/portfolio');
  await appReady(page);
  await expect(h1(page)).toHaveText('Your portfolios');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Starting balance').fill('10000');
  await page.getByRole('button', { name: 'Create portfolio' }).click();
  await expect(page).toHaveURL(/\/portfolio\/\d+$/);
  await expect(h1(page)).toHaveText(name);
  return Number(page.url().match(/\/portfolio\/(\d+)$/)[1]);
}

test.describe('portfolio', () => {
  test('journey: dashboard → chart → a pending trade from a pattern', async ({ page }) => {
    const watch = await watchPage(page);
    const name = `Journey ${Date.now()}`;
    await createPortfolio(page, name);

    // Dashboard → a directional cell → its chart.
    await page.goto('/dashboard');
    const cell = page.locator('table.live-matrix a.lm-cell.lm-bull, table.live-matrix a.lm-cell.lm-bear').first();
    await cell.click();
    await expect(page).toHaveURL(/\/chart\/[A-Z0-9]+-[A-Z0-9]+\/\w+/);
    await expect(page.locator('svg.chart-svg g.candle').first()).toBeVisible();

    // Select a pattern; its levels offer "create a trade".
    await page.locator('.pattern-chips button.chip').first().click();
    await page.getByRole('link', { name: 'Create a trade from this pattern' }).click();
    await expect(page).toHaveURL(/\/trades\/new\?pattern=\d+$/);
    await page.getByLabel('Portfolio').selectOption({ label: name });
    await page.getByRole('button', { name: 'Create the trade' }).click();
    await screenshot(page, 'trade-from-pattern');
    await expect(page).toHaveURL(/\/trades\/\d+$/);
    await expect(page.getByTestId('trade-status')).toHaveText('pending');
    await expect(page.locator('.lead')).toContainText('from pattern #');
    await clean(page, watch);
  });

  test('journey: a trade → open → close → PnL on the trade and the portfolio', async ({ page }) => {
    const watch = await watchPage(page);
    const name = `Closing ${Date.now()}`;
    const portfolioId = await createPortfolio(page, name);
    await expect(page.locator('.equity-panel .empty-state')).toBeVisible();
    await page.getByRole('link', { name: 'New trade' }).click();
    await page.getByLabel('Entry price').fill('100');
    await page.getByLabel('Quantity').fill('2');
    await page.getByLabel('Stop loss (optional)').fill('95');
    await page.getByLabel('Take profit (optional)').fill('110');
    await page.getByRole('button', { name: 'Add the trade' }).click();

    await expect(page).toHaveURL(/\/trades\/\d+$/);
    await expect(page.getByTestId('trade-status')).toHaveText('pending');
    await page.getByRole('button', { name: 'Open now' }).click();
    await expect(page.getByTestId('trade-status')).toHaveText('open');

    // Close at the take profit (prefilled) → +20 with an arrow and a sign, 2 R.
    await expect(page.getByLabel('Exit price')).toHaveValue('110');
    await page.getByRole('button', { name: 'Close the trade' }).click();
    await expect(page.getByTestId('trade-status')).toHaveText('closed');
    const pnl = page.getByTestId('trade-pnl');
    await expect(pnl).toHaveText('▲ +20.0000');
    await expect(pnl).toHaveClass(/pnl-pos/);

    // Journal entry with a mood.
    await page.getByLabel('Kind').selectOption('post_trade');
    await page.getByLabel('Mood').selectOption('confident');
    await page.getByLabel('Entry', { exact: true }).fill('Took profit at the target as planned.');
    await page.getByRole('button', { name: 'Add the entry' }).click();
    await expect(page.locator('.journal-entry')).toContainText('mood: confident');
    await screenshot(page, 'trade-closed');

    // The portfolio shows the PnL, one closed trade and the equity curve.
    await page.getByRole('link', { name: '← Back to the portfolio' }).click();
    await expect(page).toHaveURL(new RegExp(`/portfolio/${portfolioId}$`));
    await expect(page.getByTestId('total-pnl')).toHaveText('▲ +20.0000');
    await expect(page.locator('.equity-panel svg.chart-svg path.series-line')).toHaveCount(1);
    await expect(page.locator('table.trades-table tbody tr')).toHaveCount(1);
    await expect(page.locator('table.trades-table tbody tr td.pnl-pos')).toHaveCount(1);

    // Filters: no open trades now.
    await page.getByLabel('Status', { exact: true }).selectOption('open');
    await expect(page.locator('.list-results .empty-state')).toBeVisible();
    await page.getByLabel('Status', { exact: true }).selectOption('closed');
    await expect(page.locator('table.trades-table tbody tr')).toHaveCount(1);
    await screenshot(page, 'portfolio-detail');
    await clean(page, watch);
  });

  test('manual trade: inline field errors (page and server), cancel', async ({ page }) => {
    const watch = await watchPage(page);
    const id = await createPortfolio(page, `Manual ${Date.now()}`);
    await page.getByRole('link', { name: 'New trade' }).click();
    await expect(page).toHaveURL(new RegExp(`/portfolio/${id}/trades/new$`));

    // Blank entry: the page's own check, next to the input.
    await page.getByLabel('Quantity').fill('1');
    await page.getByRole('button', { name: 'Add the trade' }).click();
    await expect(page.locator('#t-entry-error')).toContainText('Enter a number.');
    await expect(page.getByLabel('Entry price')).toHaveAttribute('aria-invalid', 'true');

    // A stop loss above the entry of a long: the server's field error, inline.
    await page.getByLabel('Entry price').fill('100');
    await page.getByLabel('Stop loss (optional)').fill('120');
    await page.getByRole('button', { name: 'Add the trade' }).click();
    await expect(page.locator('.form-alert')).toBeVisible();
    await expect(page.locator('.field-error').first()).toBeVisible();
    await screenshot(page, 'trade-form-errors');

    await page.getByLabel('Stop loss (optional)').fill('90');
    await page.getByRole('button', { name: 'Add the trade' }).click();
    await expect(page).toHaveURL(/\/trades\/\d+$/);
    await expect(page.getByTestId('trade-status')).toHaveText('pending');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByTestId('trade-status')).toHaveText('cancelled');
    await clean(page, watch);
  });

  test('tags: create, attach to nothing, delete', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/tags');
    await appReady(page);
    await expect(h1(page)).toHaveText('Tags');
    const name = `t${Date.now() % 1e8}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create tag' }).click();
    const item = page.locator('.tag-item', { hasText: name });
    await expect(item).toBeVisible();
    // A duplicate name: the server's error is shown.
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create tag' }).click();
    await expect(page.locator('.form-alert')).toBeVisible();
    await screenshot(page, 'tags');
    await item.getByRole('button', { name: /Delete/ }).click();
    await expect(item).toHaveCount(0);
    await clean(page, watch);
  });

  test('360 px: the portfolio list and a portfolio fit the screen', async ({ page }) => {
    const watch = await watchPage(page);
    await page.setViewportSize({ width: 360, height: 740 });
    const id = await createPortfolio(page, `Mobile ${Date.now()}`);
    for (const path of ['/portfolio', `/portfolio/${id}`, `/portfolio/${id}/trades/new`, '/tags']) {
      await page.goto(path);
      await appReady(page);
      await expect(page.locator('.status-loading')).toHaveCount(0);
      // The page content (the shared header is covered by mobile.spec.cjs).
      const overflow = await page.evaluate(() => {
        const main = document.querySelector('main');
        return Math.max(main.scrollWidth - main.clientWidth, document.body.scrollWidth - document.documentElement.scrollWidth);
      });
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await screenshot(page, 'tags-mobile');
    await page.goto(`/portfolio/${id}`);
    await expect(page.locator('.status-loading')).toHaveCount(0);
    await screenshot(page, 'portfolio-mobile');
    await clean(page, watch);
  });
});

test.describe('portfolio for a free user', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('shows the upgrade prompt linking /upgrade', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/');
    await appReady(page);
    expect(await loginAs(page, USERS.free())).toBe(200);
    await page.goto('/portfolio');
    await appReady(page);
    const prompt = page.locator('.upgrade-prompt');
    await expect(prompt).toBeVisible();
    await expect(prompt.getByRole('heading')).toHaveText('Upgrade to unlock this');
    await expect(prompt.getByRole('link', { name: 'Upgrade' })).toHaveAttribute('href', '/upgrade');
    await expect(page.getByRole('button', { name: 'Create portfolio' })).toHaveCount(0);
    await screenshot(page, 'portfolio-free-upgrade');
    await clean(page, watch);
  });

  test('signed out: /portfolio goes to the login page and back', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/portfolio');
    await expect(page).toHaveURL(/\/login\?next=%2Fportfolio$/);
    // /login belongs to another wasm app: wait for the full navigation to finish.
    await page.waitForLoadState('load');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Log in');
    await clean(page, watch);
  });
});
