// Admin notifications against the real worker (product.md §9 "Notifications"; issue #9's admin
// notifications page): a template is refused with the server's field error inline (an unknown
// placeholder), then created; a notification is scheduled from it with the audience count
// previewed and confirmed, shows up in the scheduled list, and is cancelled there. The test send
// is queued. A 360 px run of the page. (Labels are checked by name: a heading once shared the
// title input's id, which broke the label.) Zero CSP violations and no page errors.
const { test, expect, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

/** `YYYY-MM-DDTHH:MM` one day ahead, UTC (the form reads it as UTC). */
function tomorrow() {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
}

test.describe('admin notifications', () => {
  test('create a template, schedule from it with a count preview, cancel it', async ({ page }) => {
    const watch = await watchPage(page);
    await page.goto('/admin/notifications');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Notifications');
    await expect(page.getByRole('link', { name: 'Notifications' })).toBeVisible();

    const name = `digest_${Date.now().toString(36)}`;
    const form = page.locator('form', { has: page.locator('#tpl-name') });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Title').fill('Hello {user}');
    await form.getByLabel('Message').fill('Weekly digest from {app} on {date}');
    await form.getByLabel('Priority').selectOption('4');
    await form.getByRole('button', { name: 'Save template' }).click();
    // The server's field error, inline on the title.
    await expect(form.locator('.form-field.has-error', { has: page.locator('#tpl-title') })).toContainText('unknown placeholder');
    await form.getByLabel('Title').fill('{app} weekly');
    await form.getByRole('button', { name: 'Save template' }).click();
    await expect(form.locator('.form-success')).toContainText(`Template “${name}” saved.`);
    const tplRow = page.locator('table.templates-table tbody tr', { hasText: name });
    await expect(tplRow).toHaveCount(1);

    // Schedule from the template: preview the count, then confirm.
    const bc = page.locator('section', { has: page.locator('#bc-audience') });
    await bc.getByLabel('Audience').selectOption('premium');
    await bc.getByLabel('Start from a template (optional)').selectOption({ label: name });
    await expect(bc.getByLabel('Title')).toHaveValue('{app} weekly');
    await bc.getByLabel(/^Send at/).fill(tomorrow());
    await bc.getByRole('button', { name: 'Preview audience' }).click();
    const count = bc.getByTestId('audience-count');
    await expect(count).toContainText(/\d+ recipients? right now\. Schedule this notification\?/);
    await screenshot(page, 'admin-notify-confirm');
    await bc.getByRole('button', { name: 'Confirm schedule' }).click();
    await expect(bc.locator('.form-success')).toContainText('Scheduled for');

    const row = page.locator('table.schedules-table tbody tr', { hasText: '{app} weekly' }).filter({ hasText: 'scheduled' });
    await expect(row.first()).toBeVisible();
    await expect(row.first()).toContainText('premium');
    await row.first().getByRole('button', { name: /^Cancel/ }).click();
    await expect(page.locator('table.schedules-table tbody tr', { hasText: '{app} weekly' }).first()).toContainText('✕ cancelled');

    // The ntfy test send is queued.
    const test = page.locator('section', { has: page.locator('#test-topic') });
    await test.getByLabel(/^Topic/).fill('e2e_admin_test');
    await test.getByRole('button', { name: 'Send test' }).click();
    await expect(test.locator('.form-success')).toContainText('Test queued for “e2e_admin_test”');

    await screenshot(page, 'admin-notify');
    expect(await cspViolations(page)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(unexpected(watch.consoleErrors)).toEqual([]);
  });

  test('the page works 360 px wide', async ({ page }) => {
    const watch = await watchPage(page);
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto('/admin/notifications');
    await appReady(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Notifications');
    await expect(page.getByRole('button', { name: 'Preview audience' })).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'admin-notify-360');
    expect(await cspViolations(page)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});
