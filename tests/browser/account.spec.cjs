// Account journeys against the real worker and the mail fake (MAIL_URL, started by the test
// command with the worker's MAIL_BASE_URL pointing at it): register → verify by the mailed
// link → log in (honouring `next`) → enable 2FA (QR drawn in WASM, code computed here from
// the manual key) → log out → log in with a TOTP code; protected pages redirect to the login
// page. Zero CSP violations and no page errors everywhere.
const { anonTest: test, expect, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady, mailToken, totp } = require('./helpers.cjs');

const PASSWORD = 'Correct7Horse';

function h1(page) {
  return page.getByRole('heading', { level: 1 });
}

async function expectClean(page, pageErrors, consoleErrors) {
  expect(await cspViolations(page)).toEqual([]);
  expect(pageErrors).toEqual([]);
  expect(unexpected(consoleErrors)).toEqual([]);
}

test.describe('account', () => {
  test('a protected page sends a visitor to the login page with next', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/settings/security');
    await appReady(page);
    await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Fsecurity$/);
    await expect(h1(page)).toHaveText('Log in');
    const header = page.locator('header.site-header');
    await expect(header.getByRole('link', { name: 'Log in' })).toBeVisible();
    await expect(header.getByRole('link', { name: 'Sign up' })).toBeVisible();

    // Wrong credentials: one generic answer, shown as an alert; the form stays.
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByLabel('Password').fill('Wrong7Password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await expect(page.getByLabel('Email')).toBeVisible();
    await screenshot(page, 'login-error');

    // The reset page without its link explains what is missing.
    await page.goto('/reset-password');
    await expect(page.getByRole('alert')).toContainText('needs the link');
    await expectClean(page, pageErrors, consoleErrors);
  });

  test('register → verify → login → enable 2FA → logout → login with TOTP', async ({ page }) => {
    test.skip(!process.env.MAIL_URL, 'needs the mail fake (MAIL_URL), started by the test command');
    const { consoleErrors, pageErrors } = await watchPage(page);
    const stamp = Date.now().toString(36);
    const email = `fe_${stamp}@example.com`;
    const username = `fe_${stamp}`;

    // Register: the page checks the confirmation itself, the server's field errors show inline.
    await page.goto('/register');
    await appReady(page);
    await expect(h1(page)).toHaveText('Create your account');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill('alllowercase');
    await page.getByLabel('Confirm password').fill('different');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('#reg-confirm-error')).toHaveText(/do not match/);
    await expect(page.locator('#reg-terms-error')).toHaveText(/accept the terms/);
    await expect(page.getByLabel('Confirm password')).toHaveAttribute('aria-invalid', 'true');

    await page.getByLabel('Confirm password').fill('alllowercase');
    await page.getByLabel(/I accept the/).check();
    await page.getByRole('button', { name: 'Create account' }).click();
    const passwordError = page.locator('#reg-password-error');
    await expect(passwordError).toContainText(/uppercase/i);
    await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('aria-describedby', /reg-password-error/);
    await screenshot(page, 'register-errors');

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
    await expect(page.locator('.check-email')).toContainText(email);
    await screenshot(page, 'register-check-email');

    // Verify with the mailed token: it travels in the fragment, which the page then drops.
    let token = null;
    await expect.poll(async () => (token = await mailToken(email, 'verify_email'))).toBeTruthy();
    await page.goto(`/verify-email#t=${token}`);
    await expect(page.locator('.form-success')).toContainText('Email verified');
    expect(new URL(page.url()).hash).toBe('');
    await screenshot(page, 'verify-email');

    // Log in; `next` brings us back to the security settings.
    await page.goto('/login?next=%2Fsettings%2Fsecurity');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL(/\/settings\/security$/);
    await expect(h1(page)).toHaveText('Security');
    const header = page.locator('header.site-header');
    await expect(header.getByRole('button', { name: 'Log out' })).toBeVisible();
    await expect(header.getByRole('link', { name: `Account settings of ${username}` })).toBeVisible();

    // The sessions table lists this browser.
    await expect(page.locator('table.sessions-table tbody tr')).toHaveCount(1);
    await expect(page.locator('table.sessions-table')).toContainText('this device');

    // Enrol 2FA: password, then the QR code (our own SVG) and the manual key.
    const twofa = page.getByRole('region', { name: /^Two-factor authentication/ });
    await twofa.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await twofa.getByLabel('Current password').fill(PASSWORD);
    await twofa.getByRole('button', { name: 'Continue' }).click();
    const qr = page.getByRole('img', { name: 'QR code of your two-factor key' });
    await expect(qr).toBeVisible();
    expect((await qr.locator('path.qr-dark').getAttribute('d')).length).toBeGreaterThan(500);
    const key = await page.locator('code.manual-key').getAttribute('data-key');
    expect(key).toMatch(/^[A-Z2-7]+=*$/);
    await screenshot(page, 'settings-2fa-enrol');

    await page.getByLabel('6-digit code').fill('000000');
    await page.getByRole('button', { name: 'Turn on 2FA' }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await page.getByLabel('6-digit code').fill(totp(key));
    await page.getByRole('button', { name: 'Turn on 2FA' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await expect(codes).toHaveCount(10);
    await screenshot(page, 'settings-2fa-recovery-codes');
    await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await expect(page.locator('#totp-title')).toContainText('on');

    // Log out from the header.
    await header.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(header.getByRole('link', { name: 'Log in' })).toBeVisible();

    // Log in again: the password step, then the TOTP step (the next step's code: the one
    // used for enrolment cannot be replayed).
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    const code = page.getByLabel('Authentication code');
    await expect(code).toBeVisible();
    await expect(code).toBeFocused();
    await screenshot(page, 'login-totp');
    await code.fill(totp(key, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(header.getByRole('button', { name: 'Log out' })).toBeVisible();

    // The account page shows the profile.
    await page.goto('/settings/account');
    await expect(page.locator('.profile-username')).toHaveText(username);
    await expect(page.locator('.profile-list')).toContainText('verified');
    await screenshot(page, 'settings-account');

    await expectClean(page, pageErrors, consoleErrors);
  });
});

test.describe('account pages at 360 px', () => {
  test.use({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });

  test('login, register and forgot-password fit a small screen', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    for (const [path, title] of [['/login', 'Log in'], ['/register', 'Create your account'], ['/forgot-password', 'Reset your password']]) {
      await page.goto(path);
      await appReady(page);
      await expect(h1(page)).toHaveText(title);
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
      await screenshot(page, `mobile${path.replace(/\//g, '-')}`);
    }
    await expectClean(page, pageErrors, consoleErrors);
  });
});
