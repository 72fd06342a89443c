// Tier journeys with the e2e users of the test command (tests/browser/auth.cjs): a premium
// user creates an API key in /settings/api-keys (shown once), calls the API with it, adds an IP
// rule and revokes it; a free user gets the upgrade prompt on premium pages. Zero CSP
// violations and no page errors.
const { anonTest: test, expect, loginAs, USERS, signIn, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

test.describe('tiers', () => {
  test('premium: create an API key, call the API with it, add an IP rule, revoke it', async ({ page, request }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    const user = USERS.premium();
    await signIn(page, user);
    await page.goto('/settings/api-keys');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('API keys');
    await expect(page.locator('.settings-tabs a[aria-current="page"]')).toHaveText('API keys');

    const name = `e2e bot ${Date.now().toString(36)}`;
    await page.getByLabel('Name').fill(name);
    await expect(page.getByLabel('Matrix')).toBeChecked();
    await page.getByLabel('Current password').fill(user.password);
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretBox = page.locator('.secret-once');
    await expect(secretBox).toContainText('shown only once');
    const secret = await page.locator('code.api-secret').getAttribute('data-secret');
    expect(secret.length).toBeGreaterThan(30);
    const item = page.getByRole('listitem', { name: `Key ${name}` });
    await expect(item).toContainText('✓ active');
    await screenshot(page, 'settings-api-keys');

    // The key works as a Bearer token and as X-API-Key (no cookies: a fresh request context).
    const bearer = await request.get('/api/v1/symbols', { headers: { Authorization: `Bearer ${secret}` } });
    expect(bearer.status()).toBe(200);
    expect((await bearer.json()).success).toBe(true);
    const header = await request.get('/api/v1/matrix', { headers: { 'X-API-Key': secret } });
    expect(header.status()).toBe(200);

    // IP rules: add one, see it listed.
    await item.getByRole('button', { name: 'IP rules' }).click();
    await item.getByLabel('Rule').selectOption('deny');
    await item.getByLabel('Address or CIDR').fill('203.0.113.7');
    await item.getByRole('button', { name: 'Add rule' }).click();
    await expect(item.locator('.rule-item')).toContainText('203.0.113.7');
    await expect(item.locator('.rule-item')).toContainText('deny');

    // Revoke takes two clicks; afterwards the key is refused.
    await item.getByRole('button', { name: 'Revoke' }).click();
    await item.getByRole('button', { name: 'Confirm revoke' }).click();
    await expect(item).toContainText('✕ revoked');
    const refused = await request.get('/api/v1/symbols', { headers: { Authorization: `Bearer ${secret}` } });
    expect(refused.status()).toBe(401);

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('premium: notification preferences are saved and read back', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await signIn(page, USERS.premium());
    await page.goto('/settings/notifications');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Notifications');
    await expect(page.locator('code.topic-name')).toHaveText(/^cl_[0-9a-f]{16}$/);

    await page.getByLabel('Directions').selectOption('long');
    await page.getByLabel(/Minimum confluence/).selectOption('3');
    await page.getByLabel('Hold notifications during quiet hours').check();
    await page.getByLabel('From').fill('22:00');
    await page.getByLabel('Until').fill('07:00');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await expect(page.locator('.form-success')).toContainText('Preferences saved');
    await screenshot(page, 'settings-notifications');

    await page.reload();
    await expect(page.getByLabel('Directions')).toHaveValue('long');
    await expect(page.getByLabel(/Minimum confluence/)).toHaveValue('3');
    await expect(page.getByLabel('From')).toHaveValue('22:00');
    await expect(page.getByLabel('Until')).toHaveValue('07:00');

    // Premium may mute a symbol: the toggles live on /settings/symbols alone, linked from here.
    await page.getByRole('link', { name: 'Choose your symbols →' }).click();
    await expect(page).toHaveURL(/\/settings\/symbols$/);
    const btc = page.getByRole('checkbox', { name: 'Notifications for BTC/USDT' });
    await expect(btc).toBeEnabled();
    const was = await btc.isChecked();
    const put = page.waitForResponse((r) => r.url().endsWith('/api/v1/me/symbols') && r.request().method() === 'PUT');
    await btc.setChecked(!was);
    expect((await put).status()).toBe(200);
    await page.reload();
    await expect(page.getByRole('checkbox', { name: 'Notifications for BTC/USDT' })).toBeChecked({ checked: !was });
    await page.getByRole('link', { name: 'Notification settings' }).click();
    await expect(page).toHaveURL(/\/settings\/notifications$/);
    await expect(page.getByRole('checkbox', { name: /BTC\/USDT/ })).toHaveCount(0);

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('free: premium pages show the upgrade prompt', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await signIn(page, USERS.free());

    await page.goto('/patterns');
    const prompt = page.getByRole('region', { name: 'Upgrade to unlock this' });
    await expect(prompt).toBeVisible();
    await expect(prompt.getByRole('link', { name: 'Compare plans' })).toHaveAttribute('href', '/pricing');
    await screenshot(page, 'free-patterns-upgrade');

    await page.goto('/chart/ETH-USDT/1h');
    await expect(page.getByRole('region', { name: 'Upgrade to unlock this' })).toBeVisible();

    await page.goto('/settings/api-keys');
    await expect(page.getByRole('region', { name: 'Upgrade to unlock this' })).toContainText('Premium');
    await expect(page.getByRole('button', { name: 'Create key' })).toHaveCount(0);

    // The dashboard stays open to free users.
    await page.goto('/dashboard');
    await expect(page.locator('table.live-matrix, .matrix-panel .empty-state').first()).toBeVisible();

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });
});
