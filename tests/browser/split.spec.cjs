// The frontend split (docs/decisions.md, "frontend split"; issue #9): four wasm apps (user,
// account, trading, admin), each page served with only its own app. A deep link to
// /admin/users boots the admin app alone, public pages never fetch another app's wasm (and
// vice versa), moving between apps is a full page load that lands on the right app, and no
// wasm holds another app's pages. Zero CSP violations in every document.
const { test, anonTest, expect } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

const WASM = {
  user: '/pkg/app_bg.wasm',
  account: '/pkg/account_bg.wasm',
  trading: '/pkg/trading_bg.wasm',
  admin: '/pkg/admin_bg.wasm',
};

/** Records the wasm files the page requests, in order (a preload and its use count once). */
function watchWasm(page) {
  const seen = [];
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (path.endsWith('.wasm') && seen[seen.length - 1] !== path) seen.push(path);
  });
  return seen;
}

/** No CSP violation in the current document nor reported in any earlier one (console). */
async function noCsp(page, watch) {
  expect(await cspViolations(page)).toEqual([]);
  expect(watch.consoleErrors.filter((e) => /Content Security Policy/i.test(e.text))).toEqual([]);
  expect(watch.pageErrors).toEqual([]);
}

const h1 = (page) => page.getByRole('heading', { level: 1 });

test.describe('frontend split', () => {
  test('a deep link to /admin/users loads only the admin app; the header leads back to the user app', async ({ page }) => {
    const watch = await watchPage(page);
    const wasm = watchWasm(page);
    await page.goto('/admin/users');
    await appReady(page);
    await expect(h1(page)).toHaveText('Users');
    await expect(page).toHaveTitle('Admin · Users · CryptoLens Edge');
    expect(wasm).toEqual([WASM.admin]);
    await noCsp(page, watch);
    await screenshot(page, 'split-admin-users');

    // Inside the admin app, admin tabs stay client-side (no other wasm fetched).
    await page.getByRole('link', { name: 'Errors' }).click();
    await expect(h1(page)).toHaveText('Error tracker');
    expect(wasm).toEqual([WASM.admin]);

    // A header link to a user page is a full load of the user app.
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Dashboard' }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(h1(page)).toHaveText('Live pattern matrix');
    expect(wasm).toEqual([WASM.admin, WASM.user]);
    await noCsp(page, watch);

    // The account link leads into the account app.
    await page.locator('a.account-link').click();
    await expect(page).toHaveURL(/\/settings\/account$/);
    await expect(h1(page)).toBeVisible();
    expect(wasm).toEqual([WASM.admin, WASM.user, WASM.account]);
    await noCsp(page, watch);
    await screenshot(page, 'split-account');

    // A deep link into the trading app loads the trading wasm alone.
    wasm.length = 0;
    await page.goto('/portfolio');
    await expect(h1(page)).toHaveText('Your portfolios');
    expect(wasm).toEqual([WASM.trading]);
    await noCsp(page, watch);
    await screenshot(page, 'split-trading');
  });

  test('the user app browses its pages without ever fetching the account or admin wasm', async ({ page }) => {
    const watch = await watchPage(page);
    const wasm = watchWasm(page);
    await page.goto('/');
    await appReady(page);
    await page.evaluate(() => { window.__spaMarker = 'same-document'; });
    const nav = page.getByRole('navigation', { name: 'Primary' });
    for (const [name, heading] of [['Pricing', 'Plans for every kind of trader'], ['Dashboard', 'Live pattern matrix']]) {
      await nav.getByRole('link', { name }).click();
      await expect(h1(page)).toHaveText(heading);
    }
    expect(await page.evaluate(() => window.__spaMarker)).toBe('same-document');
    expect(wasm).toEqual([WASM.user]);
    await noCsp(page, watch);
  });

  test('each wasm holds only its own pages', async ({ request }) => {
    const text = async (path) => Buffer.from(await (await request.get(path)).body()).toString('latin1');
    const apps = Object.keys(WASM);
    const bytes = Object.fromEntries(await Promise.all(apps.map(async (a) => [a, await text(WASM[a])])));
    // One page text per app, compiled into that app's wasm only.
    const marker = {
      user: 'Plans for every kind of trader',
      account: 'Security settings',
      trading: 'Your portfolios',
      admin: 'Error tracker',
    };
    for (const app of apps) {
      for (const page of apps) {
        expect(bytes[app].includes(marker[page]), `${app} wasm holds the ${page} page`).toBe(app === page);
      }
    }
  });
});

anonTest.describe('frontend split, signed out', () => {
  anonTest('a trading page sends a signed-out visitor to the user app\'s login', async ({ page }) => {
    const watch = await watchPage(page);
    const wasm = watchWasm(page);
    await page.goto('/portfolio');
    await expect(page).toHaveURL(/\/login\?next=(%2F|\/)portfolio$/);
    await expect(page.locator('#auth-title')).toBeVisible();
    expect(wasm).toEqual([WASM.trading, WASM.user]);
    await noCsp(page, watch);
  });
});
