// The first sign-in of an account created by `cryptolens create-user` (scripts/test.sh's
// E2E_FRESH user keeps the forced change, like the first admin of `./run dev`): the one-time
// password opens only the security settings, the API refuses everything else with
// `password_change_required`, and after choosing a new password the app opens normally.
const { anonTest: test, expect, USERS } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

function fresh() {
  const email = process.env.E2E_FRESH_EMAIL;
  const password = process.env.E2E_FRESH_PASSWORD;
  if (!email || !password) throw new Error('E2E_FRESH_EMAIL / E2E_FRESH_PASSWORD are not set');
  return { email, password };
}

test('a one-time password must be changed before anything else', async ({ page }) => {
  const { pageErrors } = await watchPage(page);
  const { email, password } = fresh();
  await page.goto('/login?next=%2Fdashboard');
  await appReady(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();

  // Sent to the security settings, whatever `next` said.
  await expect(page).toHaveURL(/\/settings\/security$/);
  await expect(page.locator('#password-change-required')).toBeVisible();
  await screenshot(page, 'first-login-password-change');

  // The API agrees: the session reaches /auth/me but not the data.
  const blocked = await page.evaluate(async () => {
    const res = await fetch('/api/v1/matrix', { credentials: 'same-origin' });
    return { status: res.status, body: await res.json() };
  });
  expect(blocked.status).toBe(403);
  expect(blocked.body.error.code).toBe('forbidden');
  expect(blocked.body.error.fields.map((f) => f.code)).toEqual(['password_change_required']);

  // A deep link to another page comes back here.
  await page.goto('/dashboard');
  await appReady(page);
  await expect(page).toHaveURL(/\/settings\/security$/);

  // Choose a new password (the ONE policy applies: a weak one is refused inline).
  await page.getByLabel('Current password').fill(password);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Confirm the new password').fill('short');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#password-change-required')).toBeVisible();
  await expect(page.getByText('Password must be at least 8 characters.')).toBeVisible();

  const chosen = `Fresh7${Math.random().toString(36).slice(2, 10)}X`;
  await page.getByLabel('Current password').fill(password);
  await page.getByLabel('New password', { exact: true }).fill(chosen);
  await page.getByLabel('Confirm the new password').fill(chosen);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password changed.')).toBeVisible();
  await expect(page.locator('#password-change-required')).toHaveCount(0);

  const open = await page.evaluate(async () => (await fetch('/api/v1/matrix', { credentials: 'same-origin' })).status);
  expect(open).toBe(200);
  await page.goto('/dashboard');
  await appReady(page);
  await expect(page).toHaveURL(/\/dashboard$/);
  expect(await cspViolations(page)).toEqual([]);
  expect(pageErrors).toEqual([]);
});
