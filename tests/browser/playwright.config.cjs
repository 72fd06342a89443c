// Playwright config for the browser tests of the web app (Debian chromium, no browser download).
//
// BASE_URL is required: the project's test command starts the real worker (which serves
// frontend/dist and /api/v1) and points the tests at it. There is deliberately no webServer here.
//
//   BASE_URL=http://127.0.0.1:8787 npx playwright test -c tests/browser/playwright.config.cjs
const path = require('node:path');
const { defineConfig } = require('@playwright/test');

const baseURL = process.env.BASE_URL;
if (!baseURL) {
  throw new Error('BASE_URL is not set (e.g. BASE_URL=http://127.0.0.1:8787); start the worker first');
}

module.exports = defineConfig({
  testDir: __dirname,
  testMatch: '*.spec.cjs',
  outputDir: path.join(__dirname, '..', '..', 'test-results', 'browser'),
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  use: {
    baseURL,
    browserName: 'chromium',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
