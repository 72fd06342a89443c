// Shared helpers for the browser specs: CSP-violation and console-error capture, screenshots.
const path = require('node:path');

/** Where the specs save their full-page screenshots (next to Playwright's own output). */
const SCREENSHOT_DIR = path.join(__dirname, '..', '..', 'test-results', 'browser', 'screenshots');

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

/** Saves a full-page screenshot as test-results/browser/screenshots/<name>.png. */
async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Waits until the wasm app has mounted (the header exists). */
async function appReady(page) {
  await page.locator('header.site-header').waitFor();
}

module.exports = { watchPage, cspViolations, screenshot, appReady, SCREENSHOT_DIR };
