// The data views against the real worker and its demo data (BTC/ETH/SOL/XRP/BNB on every TF):
// dashboard matrix (+ tooltips, 304 polling, click → chart), the SVG chart (candles, zones,
// tooltip, zoom, pan, load earlier), the patterns and signals lists, a signal's detail and
// the API reference. Zero CSP violations and no page errors everywhere.
// The data pages need a signed-in user (the read API is not public): see auth.cjs.
const { test, expect, unexpected } = require('./auth.cjs');
const { watchPage, cspViolations, screenshot, appReady } = require('./helpers.cjs');

function h1(page) {
  return page.getByRole('heading', { level: 1 });
}

/** The tooltip element a cell points at with aria-describedby. */
async function tipOf(page, cell) {
  const id = await cell.getAttribute('aria-describedby');
  expect(id).toBeTruthy();
  return page.locator(`[id="${id}"]`);
}

/** The texts of one column (1-based, the row header counts) of a results table. */
async function column(page, table, n) {
  return page.locator(`table.${table} tbody tr > :nth-child(${n})`).allTextContents();
}

/** Selects a filter value and waits for the list request it triggers. */
async function filter(page, path, label, value) {
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === path);
  await page.getByLabel(label, { exact: true }).selectOption(value);
  await answered;
}

async function visibleCandles(page) {
  return Number(await page.locator('.chart-count').getAttribute('data-visible'));
}

async function loadedCandles(page) {
  const text = await page.locator('.chart-total').textContent();
  return Number((text || '').replace(/[^0-9]/g, ''));
}

test.describe('data views', () => {
  test('dashboard: live matrix with accessible tooltips, 304 refresh, recent signals, click opens the chart', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/dashboard');
    await appReady(page);
    await expect(h1(page)).toHaveText('Live pattern matrix');
    await expect(page).toHaveTitle('Dashboard · CryptoLens Edge');
    await expect(page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Dashboard' }))
      .toHaveAttribute('aria-current', 'page');

    const table = page.locator('table.live-matrix');
    await expect(table).toBeVisible();
    await expect(table.locator('thead th')).toHaveText(['Symbol', '5m', '15m', '30m', '1h', '2h', '4h', '1d']);
    expect(await table.locator('tbody tr').count()).toBeGreaterThanOrEqual(1);
    await expect(table.locator('tbody th.lm-symbol').first()).toHaveText(/^[A-Z0-9]+\/[A-Z0-9]+$/);

    // Direction is colour AND an arrow AND text (type abbreviation, count).
    const directional = table.locator('a.lm-cell.lm-bull, a.lm-cell.lm-bear');
    expect(await directional.count()).toBeGreaterThan(0);
    const first = directional.first();
    await expect(first).toContainText(/[▲▼]/);
    await expect(first).toContainText(/FVG|OB|LS/);
    await expect(first).toContainText(/×\d+/);
    await expect(first).toHaveAttribute('aria-label', /(bullish|bearish) (FVG|OB|LS), \d+ active/);
    for (const cell of await table.locator('a.lm-cell.lm-neutral').all()) {
      await expect(cell).toContainText('·');
    }

    // Hover shows the zone tooltip…
    const tip = await tipOf(page, first);
    await expect(tip).toHaveAttribute('role', 'tooltip');
    await expect(tip).toBeHidden();
    await first.hover();
    await expect(tip).toBeVisible();
    await expect(tip).toContainText(/Zone [\d,.]+ – [\d,.]+/);
    await screenshot(page, 'dashboard-tooltip');

    // …and so does keyboard focus (Tab order reaches the cells).
    await page.mouse.move(0, 0);
    await expect(tip).toBeHidden();
    const second = directional.nth(Math.min(1, (await directional.count()) - 1));
    const tip2 = await tipOf(page, second);
    await second.focus();
    await expect(second).toBeFocused();
    await expect(tip2).toBeVisible();
    await expect(tip2).toContainText('Zone');
    await page.keyboard.press('Tab');
    await expect(tip2).toBeHidden();

    // Recent signals beside it.
    const signals = page.locator('.signals-panel');
    await expect(signals.locator('.signal-item, .empty-state').first()).toBeVisible();
    const items = await signals.locator('.signal-item').count();
    expect(items).toBeLessThanOrEqual(10);

    // A refresh sends If-None-Match and the 304 keeps the view (a visibility change refreshes
    // at once, instead of waiting for the 15 s poll).
    const conditional = page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/matrix') && r.request().headers()['if-none-match'] !== undefined,
      { timeout: 5_000 },
    );
    // (The real event bubbles from the document to the window, as the spec says.)
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange', { bubbles: true })));
    const answer = await conditional;
    expect(answer.status()).toBe(304);
    await expect(directional.first()).toBeVisible();
    await expect(page.locator('.panel-note')).toHaveText('Live · refreshes every 15 s');

    await page.mouse.move(0, 0);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await screenshot(page, 'dashboard');

    // Clicking a cell opens that symbol/TF's chart.
    const label = await first.getAttribute('aria-label');
    const [, symbol, tf] = label.match(/^(\S+) (\S+):/);
    await first.click();
    await expect(page).toHaveURL(new RegExp(`/chart/${symbol.replace('/', '-')}/${tf}(\\?pattern=\\d+)?$`));
    await expect(h1(page)).toHaveText(`${symbol} · ${tf}`);
    await expect(page.locator('svg.chart-svg g.candle').first()).toBeVisible();

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('chart: candles, zones, levels, tooltip, zoom, pan and load earlier', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/chart/BTC-USDT/15m');
    await appReady(page);
    await expect(h1(page)).toHaveText('BTC/USDT · 15m');
    await expect(page.locator('.tf-switch a[aria-current="page"]')).toHaveText('15m');

    const svg = page.locator('svg.chart-svg');
    const candles = svg.locator('g.candle');
    await expect(candles.first()).toBeVisible();
    expect(await candles.count()).toBeGreaterThan(20);
    expect(await svg.locator('g.candle-up').count()).toBeGreaterThan(0);
    expect(await svg.locator('g.candle-down').count()).toBeGreaterThan(0);
    // Every candle is a wick line plus a body rect with real geometry.
    const body = candles.first().locator('rect.body');
    expect(Number(await body.getAttribute('width'))).toBeGreaterThan(0);
    expect(Number(await body.getAttribute('height'))).toBeGreaterThan(0);

    const zones = svg.locator('rect.zone');
    expect(await zones.count()).toBeGreaterThanOrEqual(1);
    expect(Number(await zones.first().getAttribute('width'))).toBeGreaterThan(0);
    // The selected pattern's entry / SL / TP lines.
    await expect(svg.locator('g.level-entry')).toHaveCount(1);
    await expect(svg.locator('g.level-stop')).toHaveCount(1);
    expect(await svg.locator('g.level-target').count()).toBeGreaterThanOrEqual(1);
    await expect(page.locator('.levels-grid')).toContainText('Entry');

    // Hovering a candle shows the OHLC tooltip.
    const canvas = page.locator('.chart-canvas');
    const box = await canvas.boundingBox();
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    const tip = svg.locator('g.chart-tip');
    await expect(tip).toBeVisible();
    await expect(tip).toContainText(/O [\d,.]+/);
    await expect(tip).toContainText(/C [\d,.]+/);
    await expect(svg.locator('line.crosshair')).toHaveCount(1);
    await screenshot(page, 'chart-hover');

    // A zone is focusable and its tooltip shows the zone; Enter selects it.
    const zone = zones.last();
    await zone.focus();
    await expect(zone).toBeFocused();
    await expect(tip).toContainText(/Zone [\d,.]+ – [\d,.]+/);
    await page.keyboard.press('Enter');
    await expect(svg.locator('rect.zone-selected')).toHaveCount(1);
    await expect(page.locator('#chart-readout')).toContainText('Zone');

    // Zoom: the + button shows fewer candles, the wheel and "−" more again.
    await page.mouse.move(0, 0);
    const initial = await visibleCandles(page);
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await expect.poll(() => visibleCandles(page)).toBeLessThan(initial);
    const zoomed = await visibleCandles(page);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.mouse.wheel(0, 400);
    await expect.poll(() => visibleCandles(page)).toBeGreaterThan(zoomed);
    await page.getByRole('button', { name: 'Zoom out' }).click();

    // Pan with the keyboard and by dragging: the newest visible candle changes.
    await page.getByRole('button', { name: 'Reset view' }).click();
    const lastTs = async () => page.locator('#chart-readout').textContent();
    await canvas.focus();
    const before = await lastTs();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(lastTs).not.toBe(before);
    // Keyboard users get the tooltip (and crosshair) for the newest visible candle.
    await expect(tip).toBeVisible();
    await expect(tip).toContainText(/O [\d,.]+/);
    await expect(svg.locator('line.crosshair')).toHaveCount(1);
    await page.keyboard.press('End');
    await expect.poll(lastTs).toBe(before);
    await page.keyboard.press('-');
    await page.keyboard.press('+');
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.6, { steps: 5 });
    await page.mouse.up();
    await page.mouse.move(0, 0);
    await expect.poll(lastTs).not.toBe(before);

    // Load earlier candles (the `before` cursor) grows the series.
    const loaded = await loadedCandles(page);
    expect(loaded).toBeGreaterThan(0);
    const earlier = page.getByRole('button', { name: 'Load earlier candles' });
    await expect(earlier).toBeEnabled();
    const request = page.waitForRequest((r) => /\/api\/v1\/candles\/BTC-USDT\/15m\?before=\d+/.test(r.url()));
    await earlier.click();
    await request;
    await expect.poll(() => loadedCandles(page)).toBeGreaterThan(loaded);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'chart');

    // The TF switcher loads another series client-side.
    await page.locator('.tf-switch').getByRole('link', { name: '1h' }).click();
    await expect(page).toHaveURL(/\/chart\/BTC-USDT\/1h$/);
    await expect(h1(page)).toHaveText('BTC/USDT · 1h');
    await expect(candles.first()).toBeVisible();

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('dashboard: error and empty states (matrix answers replaced in the browser)', async ({ page }) => {
    const { pageErrors } = await watchPage(page);
    const envelope = (body) => ({ ...body, meta: { request_id: 'test', timestamp: 0 } });
    await page.route('**/api/v1/matrix', (route) => route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify(envelope({ success: false, data: null, error: { code: 'service_unavailable', message: 'Store down.' } })),
    }));
    await page.goto('/dashboard');
    await appReady(page);
    const alert = page.locator('.matrix-panel [role="alert"]');
    await expect(alert).toContainText('Could not load the matrix');
    await expect(alert).toContainText('service_unavailable');
    await screenshot(page, 'dashboard-error');

    // "Try again" with every cell neutral: the empty state.
    await page.unroute('**/api/v1/matrix');
    const tfs = ['5m', '15m', '30m', '1h', '2h', '4h', '1d'];
    const neutral = (tf) => ({ tf, direction: 'neutral', type: null, count: 0, zone: null, pattern_id: null, detected_at: null });
    await page.route('**/api/v1/matrix', (route) => route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify(envelope({ success: true, data: { timeframes: tfs, rows: [{ symbol: 'BTC/USDT', cells: tfs.map(neutral) }] }, error: null })),
    }));
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.locator('.matrix-panel .empty-state')).toContainText('No patterns yet');
    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  test('patterns: filters and keyset pages link to the chart', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/patterns');
    await appReady(page);
    await expect(h1(page)).toHaveText('Detected patterns');
    const rows = page.locator('table.patterns-table tbody tr');
    await expect(rows.first()).toBeVisible();
    expect(await rows.count()).toBeLessThanOrEqual(50);
    await screenshot(page, 'patterns');

    // Symbol + TF + type + direction filters narrow every row.
    const P = '/api/v1/patterns';
    const every = (want) => (texts) => texts.length > 0 && texts.every((t) => t === want);
    await filter(page, P, 'Symbol', 'ETH/USDT');
    await expect.poll(async () => every('ETH/USDT')(await column(page, 'patterns-table', 1))).toBe(true);
    await filter(page, P, 'Timeframe', '5m');
    await expect.poll(async () => every('5m')(await column(page, 'patterns-table', 2))).toBe(true);
    await filter(page, P, 'Direction', 'bullish');
    await expect.poll(async () => every('▲ bullish')(await column(page, 'patterns-table', 4))).toBe(true);
    expect(every('ETH/USDT')(await column(page, 'patterns-table', 1))).toBe(true);
    await filter(page, P, 'Type', 'imbalance');
    await expect
      .poll(async () => {
        const types = await column(page, 'patterns-table', 3);
        return types.every((t) => t === 'FVG') && (types.length > 0 || (await page.locator('.list-results .empty-state').count()) > 0);
      })
      .toBe(true);
    await filter(page, P, 'Type', '');
    await filter(page, P, 'Direction', '');
    await filter(page, P, 'Timeframe', '');

    // Keyset paging: 50 per page, "Older" follows next_cursor, "Newer" goes back.
    await expect(rows).toHaveCount(50);
    const firstRow = await rows.first().textContent();
    const older = page.getByRole('button', { name: 'Older →' });
    await expect(older).toBeEnabled();
    await older.click();
    await expect(page.locator('.pager-page')).toHaveText('Page 2');
    await expect(rows.first()).not.toHaveText(firstRow);
    await page.getByRole('button', { name: '← Newer' }).click();
    await expect(page.locator('.pager-page')).toHaveText('Page 1');
    await expect(rows.first()).toHaveText(firstRow);

    // A row links to its chart with the pattern selected.
    await rows.first().getByRole('link', { name: /Chart of pattern/ }).click();
    await expect(page).toHaveURL(/\/chart\/ETH-USDT\/[0-9a-z]+\?pattern=\d+$/);
    await expect(page.locator('svg.chart-svg rect.zone-selected')).toHaveCount(1);

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('signals: list, filters and detail with levels and the source pattern', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/signals');
    await appReady(page);
    await expect(h1(page)).toHaveText('Confluence signals');
    const rows = page.locator('table.signals-table tbody tr');
    await expect(rows.first()).toBeVisible();
    await screenshot(page, 'signals');

    const S = '/api/v1/signals';
    await filter(page, S, 'Direction', 'short');
    await expect
      .poll(async () => {
        const dirs = await column(page, 'signals-table', 2);
        return dirs.every((t) => t === '▼ SHORT') && (dirs.length > 0 || (await page.locator('.list-results .empty-state').count()) > 0);
      })
      .toBe(true);
    await filter(page, S, 'Direction', '');
    await filter(page, S, 'Symbol', 'BTC/USDT');
    await expect
      .poll(async () => {
        const names = await column(page, 'signals-table', 1);
        return names.length > 0 && names.every((t) => t.startsWith('BTC/USDT #'));
      })
      .toBe(true);

    await rows.first().locator('th a').click();
    await expect(page).toHaveURL(/\/signals\/\d+$/);
    await expect(h1(page)).toContainText('BTC/USDT');
    await expect(page.locator('.levels-grid')).toContainText('Entry (limit)');
    await expect(page.locator('.levels-grid')).toContainText('TP3');
    await expect(page.locator('.tf-chips .tf-chip')).toHaveCount(7);
    expect(await page.locator('.tf-chips .tf-on').count()).toBeGreaterThanOrEqual(1);
    await expect(page.getByRole('heading', { name: 'Source pattern' })).toBeVisible();
    await screenshot(page, 'signal-detail');
    await page.getByRole('link', { name: 'Open the chart' }).click();
    await expect(page).toHaveURL(/\/chart\/BTC-USDT\//);
    await expect(page.locator('svg.chart-svg g.candle').first()).toBeVisible();

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('api-docs renders the OpenAPI document with our own component', async ({ page }) => {
    const { consoleErrors, pageErrors } = await watchPage(page);
    await page.goto('/api-docs');
    await appReady(page);
    await expect(h1(page)).toHaveText('REST API reference');
    const matrix = page.locator('article.docs-op', { has: page.locator('.docs-path', { hasText: /^\/api\/v1\/matrix$/ }) });
    await expect(matrix).toHaveCount(1);
    await expect(matrix.locator('.method')).toHaveText('GET');
    await expect(matrix).toContainText('304');
    await expect(page.locator('article.docs-op .docs-path', { hasText: '/api/v1/candles/{symbol}/{tf}' })).toBeVisible();
    await expect(page.locator('.docs-params').first()).toBeVisible();
    await expect(page.locator('#error-codes')).toContainText('not_found');
    await expect(page.locator('#error-codes')).toContainText('rate_limited');
    // The table of contents jumps to an operation (an in-page link, not a route change).
    await page.getByRole('navigation', { name: 'Endpoints' }).getByRole('link', { name: /GET \/api\/v1\/matrix$/ }).click();
    await expect(page).toHaveURL(/\/api-docs#op-get-api-v1-matrix$/);
    await expect(matrix).toBeInViewport();
    await expect(h1(page)).toHaveText('REST API reference');
    // No third-party script: only our own module scripts are on the page.
    const scripts = await page.evaluate(() => [...document.scripts].map((s) => s.src));
    for (const src of scripts) expect(new URL(src).origin).toBe(new URL(page.url()).origin);
    await screenshot(page, 'api-docs');

    expect(await cspViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(unexpected(consoleErrors)).toEqual([]);
  });
});
