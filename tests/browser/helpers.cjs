// Shared helpers for the browser specs: CSP-violation and console-error capture, screenshots,
// the mail fake's tokens and TOTP codes.
const path = require('node:path');
const { createHmac } = require('node:crypto');

/** Where the specs save their full-page screenshots (the test run's artifacts). */
const SCREENSHOT_DIR = path.join(__dirname, '..', '..', 'target', 'screenshots');

/**
 * Records every `securitypolicyviolation` event on `window.__cspViolations` (from before any
 * page script runs) and collects console errors and uncaught page errors into the returned arrays.
 */
async function watchPage(page) {
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push({
        directive: e.violatedDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
        sample: e.sample,
      });
    });
  });
  const consoleErrors = [];
  const pageErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push({ text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  return { consoleErrors, pageErrors };
}

/** The CSP violations recorded in the current document. */
async function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations || []);
}

/** Saves a full-page screenshot as target/screenshots/<name>.png. */
async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Waits until the wasm app has mounted (the header exists). */
async function appReady(page) {
  await page.locator('header.site-header').waitFor();
}

/**
 * The newest one-time token the worker mailed to `to` (kind `verify_email`, `password_reset`,
 * …), read from the mail fake (tests/fakes/mail.mjs) at MAIL_URL. Null when none arrived.
 */
async function mailToken(to, kind) {
  const url = `${process.env.MAIL_URL}/__messages?to=${encodeURIComponent(to)}&kind=${kind}`;
  const messages = await (await fetch(url)).json();
  const last = messages[messages.length - 1];
  return last ? last.params.token : null;
}

/**
 * RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 key, `stepOffset` steps from now. The
 * server accepts ±1 step and refuses a step at or before the last one used, so a login right
 * after enrolment uses the next step's code.
 */
function totp(base32, stepOffset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/[=\s]+/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + stepOffset));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

module.exports = { watchPage, cspViolations, screenshot, appReady, mailToken, totp, SCREENSHOT_DIR };
