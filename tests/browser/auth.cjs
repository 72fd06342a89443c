// A signed-in browser for the specs that open the data pages (the read API needs a session or
// an API key, product.md §3). The user comes from `cryptolens create-user` in the test command
// (scripts/test.sh exports E2E_EMAIL / E2E_PASSWORD: a verified admin; E2E_PREMIUM_* and
// E2E_FREE_* are a premium and a free user).
//
// The login runs ONCE per worker, through the API from inside the page (same-origin fetch: the
// browser keeps the __Host- session cookie exactly as the app's own login does), and the
// signed-in storage state is reused by every test: the login limit (5/min per IP) is never hit.
//
//   const { test, expect } = require('./auth.cjs');   // instead of '@playwright/test'
const { test: base, expect } = require('@playwright/test');
const { cspViolations, appReady } = require('./helpers.cjs');

/** The e2e accounts of scripts/test.sh. */
const USERS = {
  admin: () => account('E2E'),
  premium: () => account('E2E_PREMIUM'),
  free: () => account('E2E_FREE'),
};

function account(prefix) {
  const email = process.env[`${prefix}_EMAIL`];
  const password = process.env[`${prefix}_PASSWORD`];
  if (!email || !password) {
    throw new Error(`${prefix}_EMAIL / ${prefix}_PASSWORD are not set (scripts/test.sh creates the e2e users)`);
  }
  return { email, password };
}

// Sessions of this runner by email: the login limit (5/min per ACCOUNT as well as per IP) is
// product behaviour, and many specs signing in the same e2e user within a minute would trip
// it. A cached session is reused only while /auth/me still accepts it (a logout, a rotation or
// an expiry falls back to a real login).
const sessions = new Map();

/**
 * Logs `page` in through the API (pre-session CSRF token, then POST /auth/login); returns the
 * login answer's status. The page must be on the app's origin.
 */
async function loginAs(page, user) {
  const cached = sessions.get(user.email);
  if (cached) {
    await page.context().addCookies(cached);
    const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me', { credentials: 'same-origin' })).status);
    if (me === 200) return 200;
    await page.context().clearCookies();
  }
  const status = await login(page, user);
  if (status === 200) {
    sessions.set(user.email, (await page.context().cookies()).filter((c) => c.name === '__Host-cl_session'));
  }
  return status;
}

async function login(page, { email, password }) {
  return page.evaluate(async ({ email, password }) => {
    const pre = await fetch('/api/v1/auth/csrf', { credentials: 'same-origin' });
    const token = (await pre.json()).data.csrf_token;
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: JSON.stringify({ email, password }),
    });
    return res.status;
  }, { email, password });
}

// Every browser context gets its own client address (`CF-Connecting-IP`, which the local
// worker reads exactly as the edge sets it): the login limit of 5/min per IP is product
// behaviour, and one runner playing many users from one address would trip it.
let ipCounter = 0;
const runId = Math.floor(Math.random() * 200) + 1;
function nextIp() {
  ipCounter += 1;
  return `10.${runId}.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}

/** `test` without a session, but with a client address of its own per test. */
const anonTest = base.extend({
  context: async ({ context }, use) => {
    await context.setExtraHTTPHeaders({ 'cf-connecting-ip': nextIp() });
    await use(context);
  },
});

const test = anonTest.extend({
  // One login per runner (the session is cached by loginAs), checked before every test: a test
  // may end or rotate the admin's session (view-as, re-authentication), and the next one must
  // not start signed out.
  signedInState: async ({ browser }, use, testInfo) => {
    const context = await browser.newContext({
      baseURL: testInfo.project.use.baseURL,
      extraHTTPHeaders: { 'cf-connecting-ip': nextIp() },
    });
    const page = await context.newPage();
    await page.goto('/');
    const status = await loginAs(page, USERS.admin());
    if (status !== 200) throw new Error(`e2e login answered ${status}`);
    const state = await context.storageState();
    await context.close();
    await use(state);
  },
  storageState: async ({ signedInState }, use) => {
    await use(signedInState);
  },
});

/** Chromium logs every non-2xx fetch ("Failed to load resource"): the specs' 4xx are expected. */
const unexpected = (errors) => errors.filter((e) => !e.text.startsWith('Failed to load resource'));

/** Signs `user` in from the home page (the user app loaded first). */
async function signIn(page, user) {
  await page.goto('/');
  await appReady(page);
  expect(await loginAs(page, user)).toBe(200);
}

/** Zero CSP violations, page errors and console errors but failed fetches (`watchPage`'s). */
async function clean(page, watch) {
  expect(await cspViolations(page)).toEqual([]);
  expect(watch.pageErrors).toEqual([]);
  expect(unexpected(watch.consoleErrors)).toEqual([]);
}

module.exports = { test, anonTest, expect, loginAs, USERS, nextIp, signIn, clean, unexpected };
