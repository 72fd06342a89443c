// Billing pages (product.md §6) against the real worker: the plan and payment history, the
// checkout form (coin only for crypto, cycle not for lifetime; the answer is a redirect to the
// provider or an inline error), and a payment that does not exist. Fails on any CSP violation.
const { test, expect, clean, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

test.describe('billing', () => {
  test('settings/billing: plan and payment history', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/settings/billing');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Subscription and payments');
    await expect(page.getByTestId('tier')).toHaveText('premium');
    // Either rows or the empty state, never a spinner or an error.
    await expect(page.locator('table.payments-table, #pay-title ~ * .empty-state, section .empty-state').first()).toBeVisible();
    await expect(page.locator('.error-banner')).toHaveCount(0);
    await screenshot(page, 'billing');
    await clean(page, watch);
  });

  test('upgrade: the form adapts to plan and method, and posts the checkout', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/upgrade?plan=pro');
    await appReady(page);
    await expect(page.getByLabel('Plan')).toHaveValue('pro');
    await expect(page.getByLabel('Coin')).toHaveCount(0);
    await page.getByLabel('Payment method').selectOption('nowpayments');
    await expect(page.getByLabel('Coin')).toBeVisible();
    await page.getByLabel('Plan').selectOption('lifetime');
    await expect(page.getByLabel('Billing cycle')).toHaveCount(0);
    await page.getByLabel('Plan').selectOption('premium');
    await page.getByLabel('Billing cycle').selectOption('yearly');
    await screenshot(page, 'upgrade');

    // The request carries the CSRF token and exactly the fields of the choice.
    const request = page.waitForRequest((r) => r.url().endsWith('/api/v1/payments/checkout'));
    const response = page.waitForResponse((r) => r.url().endsWith('/api/v1/payments/checkout'));
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    const req = await request;
    expect(req.headers()['x-csrf-token']).toBeTruthy();
    expect(JSON.parse(req.postData())).toEqual({ provider: 'nowpayments', plan: 'premium', cycle: 'yearly', crypto: 'BTC' });
    const res = await response;
    if (res.status() === 201) {
      const { data } = await res.json();
      await page.waitForURL((u) => u.href.startsWith(data.url.split('?')[0]), { waitUntil: 'commit' });
    } else {
      // No provider in this environment: the server's reason is shown, the form stays usable.
      await expect(page.locator('.form-alert')).toBeVisible();
      await expect(page.getByRole('button', { name: 'Continue to payment' })).toBeEnabled();
      await clean(page, watch);
    }
  });

  test('a payment that is not mine (or missing) answers not found', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/payments/999999999');
    await appReady(page);
    await expect(page.locator('.error-banner')).toContainText(/not found|not_found/i);
    await clean(page, watch);
  });
});
