// The four frontend apps (docs/decisions.md, "frontend split") as the worker serves them in
// workerd: /admin and /admin/* navigations get admin.html (which boots only the admin wasm),
// the account paths (/settings, /upgrade, /payments: cl_api_types::spa) account.html, the
// trading paths (/portfolio, /trades, /tags, /backtest) trading.html, every other
// extension-less path index.html (only the user wasm); files stay files, and every page
// carries the security headers and no inline script or style.
// Needs a built frontend (FRONTEND_DIST, default frontend/dist) and worker (WORKER_OUT).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, assertSecurityHeaders } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.dispose();
});

async function page(path) {
  const res = await w.fetch(path, { headers: { accept: "text/html", "sec-fetch-mode": "navigate" } });
  assert.equal(res.status, 200, path);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/, path);
  assertSecurityHeaders(assert, res, path);
  const html = await res.text();
  assert.ok(!/<script>(?!<\/script>)/.test(html) && !/ style="/.test(html), `${path}: inline script/style`);
  return html;
}

// Each page names its own boot script and wasm and no other app's.
const OTHERS = { admin: /account|trading|app_bg|"\/boot\.js"/, account: /admin|trading|app_bg|"\/boot\.js"/, trading: /admin|account|app_bg|"\/boot\.js"/ };
const bootsAdmin = (html) => html.includes('src="/admin-boot.js"') && !OTHERS.admin.test(html);
const bootsAccount = (html) => html.includes('src="/account-boot.js"') && !OTHERS.account.test(html);
const bootsTrading = (html) => html.includes('src="/trading-boot.js"') && !OTHERS.trading.test(html);
const bootsUser = (html) => html.includes('src="/boot.js"') && !/admin|account|trading/.test(html);

test("/admin and /admin/* navigations get admin.html, which loads only the admin wasm", async () => {
  for (const path of ["/admin", "/admin/", "/admin/users", "/admin/audit?cursor=x", "/admin/crons/42/runs", "/admin/no-such-page"]) {
    const html = await page(path);
    assert.ok(bootsAdmin(html), `${path}: not the admin app`);
    assert.ok(html.includes('href="/pkg/admin_bg.wasm"') && !html.includes("app_bg.wasm"), `${path}: preloads`);
  }
});

test("the account paths get account.html, which loads only the account wasm", async () => {
  for (const path of ["/settings", "/settings/api-keys", "/settings/billing", "/upgrade?plan=premium", "/payments/7"]) {
    const html = await page(path);
    assert.ok(bootsAccount(html), `${path}: not the account app`);
    assert.ok(html.includes('href="/pkg/account_bg.wasm"'), `${path}: preloads`);
  }
});

test("the trading paths get trading.html, which loads only the trading wasm", async () => {
  for (const path of ["/portfolio", "/portfolio/3", "/portfolio/3/trades/new", "/trades/new?signal=4", "/trades/5", "/tags", "/backtest", "/backtest/9"]) {
    const html = await page(path);
    assert.ok(bootsTrading(html), `${path}: not the trading app`);
    assert.ok(html.includes('href="/pkg/trading_bg.wasm"'), `${path}: preloads`);
  }
});

test("every other extension-less path gets index.html, which loads only the user wasm", async () => {
  for (const path of ["/", "/pricing", "/dashboard", "/chart/BTC-USDT/1h", "/login", "/administrator", "/settingsx", "/x/admin/users", "/x/settings"]) {
    const html = await page(path);
    assert.ok(bootsUser(html), `${path}: not the user app`);
    assert.ok(html.includes('href="/pkg/app_bg.wasm"'), `${path}: preloads`);
  }
});

test("the apps' own files are served as files, with the security headers", async () => {
  for (const [path, type] of [
    ["/pkg/app_bg.wasm", /application\/wasm/],
    ["/pkg/admin_bg.wasm", /application\/wasm/],
    ["/pkg/admin.js", /javascript/],
    ["/pkg/account_bg.wasm", /application\/wasm/],
    ["/account-boot.js", /javascript/],
    ["/pkg/trading_bg.wasm", /application\/wasm/],
    ["/trading-boot.js", /javascript/],
    ["/admin-boot.js", /javascript/],
  ]) {
    const res = await w.fetch(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", type, path);
    assertSecurityHeaders(assert, res, path);
    await res.arrayBuffer();
  }
  // A file-looking path under /admin/ is a file lookup, not the admin page.
  const file = await w.fetch("/admin/app.js");
  const body = await file.text();
  assert.ok(!bootsAdmin(body), "/admin/app.js must not be answered with admin.html");
});
