// The read endpoints in the built worker over D1 (STORAGE=d1, the default): rows are seeded
// through Miniflare's D1 binding, then every read route is exercised through the worker:
// happy paths, validation errors, 404s, keyset paging and the matrix ETag/304.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readerSession, withCookie } from "./read-auth.mjs";
import { startWorker, assertSecurityHeaders } from "./harness.mjs";

const T0 = 1_699_999_200_000;
const H = 3_600_000;

const SEED = [
  `INSERT INTO symbols (id, symbol, exchange, is_active, notify_enabled, created_at) VALUES
    (1, 'BTC/USDT', 'binance', 1, 1, ${T0}), (2, 'ETH/USDT', 'binance', 1, 1, ${T0}),
    (3, 'DOGE/USDT', 'binance', 0, 1, ${T0})`,
  `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299)
   INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume)
   SELECT 1, '1h', ${T0} + i * ${H}, 100, 102, 98, 101, i FROM n`,
  `INSERT INTO patterns (id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
    expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at) VALUES
    (1, 1, '1h', 'imbalance',   'bullish', 100, 102, ${T0 + 10 * H},  ${T0 + 999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
    (2, 1, '1h', 'order_block', 'bearish', 100, 102, ${T0 + 20 * H},  ${T0 + 999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
    (3, 2, '1h', 'imbalance',   'bearish', 100, 102, ${T0 + 20 * H},  ${T0 + 999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
    (4, 1, '1h', 'imbalance',   'bearish', 100, 102, ${T0 + 250 * H}, ${T0 + 999 * H}, 'filled', 100, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0})`,
  `INSERT INTO signals (id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
    confluence_score, timeframes_aligned, pattern_id, status, created_at) VALUES
    (1, 1, 'long',  101, 99, 103, 105, 107, 2, 3, '5m,1h', 1, 'pending', ${T0 + H}),
    (2, 2, 'short', 101, 99, 103, 105, 107, 2, 2, '1h', NULL, 'pending', ${T0 + 2 * H}),
    (3, 1, 'short', 101, 99, 103, 105, 107, 2, 2, '1h', NULL, 'notified', ${T0 + 2 * H})`,
];

// The read routes need a session or an API key: an admin's session (no tier limits).
const READER = readerSession();
let w;
before(async () => {
  w = await startWorker();
  const db = await w.mf.getD1Database("DB");
  await db.batch([...SEED, ...READER.statements].map((s) => db.prepare(s)));
});
after(async () => {
  await w?.dispose();
});

const json = async (path, init) => {
  const res = await w.fetch(path, withCookie(READER, init));
  return { res, body: res.status === 304 ? null : await res.json() };
};

test("symbols, candles and chart read from D1", async () => {
  const { res, body } = await json("/api/v1/symbols?active=true");
  assert.equal(res.status, 200);
  assertSecurityHeaders(assert, res, "symbols");
  assert.deepEqual(body.data.map((s) => s.symbol), ["BTC/USDT", "ETH/USDT"]);
  const all = await json("/api/v1/symbols");
  assert.deepEqual(all.body.data.map((s) => s.symbol).sort(), ["BTC/USDT", "DOGE/USDT", "ETH/USDT"]);

  const c = await json("/api/v1/candles/BTC-USDT/1h");
  assert.equal(c.res.status, 200);
  assert.equal(c.body.data.candles.length, 250);
  assert.equal(c.body.data.has_more, true);
  assert.equal(c.body.data.candles.at(-1).ts, T0 + 299 * H);
  const older = await json(`/api/v1/candles/BTC%2FUSDT/1h?before=${c.body.data.candles[0].ts}`);
  assert.equal(older.body.data.candles.length, 50);
  assert.equal(older.body.data.has_more, false);
  const limited = await json("/api/v1/candles/BTC-USDT/1h?limit=10");
  assert.equal(limited.body.data.candles.length, 10);
  const empty = await json("/api/v1/candles/ETH-USDT/5m");
  assert.equal(empty.res.status, 200);
  assert.equal(empty.body.data.candles.length, 0);

  const chart = await json("/api/v1/chart/BTC-USDT/1h?limit=100");
  assert.equal(chart.res.status, 200);
  assert.deepEqual(chart.body.data.patterns.map((p) => p.id), [2, 1]);
  for (const path of ["/api/v1/candles/XRP-USDT/1h", "/api/v1/chart/XRP-USDT/1h"]) {
    const miss = await json(path);
    assert.equal(miss.res.status, 404, path);
    assert.equal(miss.body.error.code, "not_found", path);
  }
});

test("patterns and signals page by keyset and filter; ids 404 when missing", async () => {
  const first = await json("/api/v1/patterns?limit=2");
  assert.equal(first.res.status, 200);
  assert.deepEqual(first.body.data.map((p) => p.id), [3, 2]);
  assert.ok(first.body.meta.next_cursor);
  const last = await json(`/api/v1/patterns?limit=2&cursor=${first.body.meta.next_cursor}`);
  assert.deepEqual(last.body.data.map((p) => p.id), [1]);
  assert.equal(last.body.meta.next_cursor, null);

  const one = await json("/api/v1/patterns/4");
  assert.equal(one.res.status, 200);
  assert.equal(one.body.data.status, "filled");
  assert.equal((await json("/api/v1/patterns/99")).res.status, 404);

  const sigs = await json("/api/v1/signals");
  assert.deepEqual(sigs.body.data.map((s) => s.id), [3, 2, 1]);
  assert.equal(sigs.body.meta.next_cursor, null);
  assert.deepEqual(sigs.body.data[2].timeframes_aligned, ["5m", "1h"]);
  const short = await json("/api/v1/signals?direction=short&status=notified");
  assert.deepEqual(short.body.data.map((s) => s.id), [3]);
  const paged = await json("/api/v1/signals?limit=1");
  assert.deepEqual(paged.body.data.map((s) => s.id), [3]);
  const rest = await json(`/api/v1/signals?limit=2&cursor=${paged.body.meta.next_cursor}`);
  assert.deepEqual(rest.body.data.map((s) => s.id), [2, 1]);
  const sig = await json("/api/v1/signals/1");
  assert.equal(sig.body.data.pattern_id, 1);
  const missing = await json("/api/v1/signals/99");
  assert.equal(missing.res.status, 404);
  assert.equal(missing.body.error.code, "not_found");
});

test("bad parameters on D1 routes answer 400 validation_failed before any query", async () => {
  for (const path of [
    "/api/v1/candles/btc-usdt/2w",
    "/api/v1/chart/BTC-USDT/1h?limit=0",
    "/api/v1/patterns?tf=3h",
    "/api/v1/patterns?cursor=zz",
    "/api/v1/signals?direction=bullish",
    "/api/v1/symbols?active=yes",
    "/api/v1/patterns/abc",
    "/api/v1/signals/0",
    "/api/v1/matrix?symbol=BTC-USDT",
  ]) {
    const { res, body } = await json(path);
    assert.equal(res.status, 400, path);
    assert.equal(body.error.code, "validation_failed", path);
  }
});

test("the matrix carries an ETag and revalidates to 304", async () => {
  const { res, body } = await json("/api/v1/matrix");
  assert.equal(res.status, 200);
  assert.deepEqual(body.data.rows.map((r) => r.symbol), ["BTC/USDT", "ETH/USDT"]);
  assert.equal(body.data.rows[0].cells[3].pattern_id, 2);
  const etag = res.headers.get("etag");
  assert.match(etag, /^W\/"[0-9a-f]{32}"$/);
  assert.equal(res.headers.get("cache-control"), "private, max-age=0, must-revalidate");
  const again = await w.fetch("/api/v1/matrix", withCookie(READER, { headers: { "If-None-Match": etag } }));
  assert.equal(again.status, 304);
  assert.equal(await again.text(), "");
  assert.equal(again.headers.get("etag"), etag);
  const stale = await w.fetch("/api/v1/matrix", withCookie(READER, { headers: { "If-None-Match": 'W/"00000000000000000000000000000000"' } }));
  assert.equal(stale.status, 200);
  await stale.arrayBuffer();
});

test("reads log one access line per request, without storage errors", async () => {
  await json("/api/v1/symbols");
  assert.ok(!w.log.lines.some((l) => l.includes("service_unavailable")));
});

test("the reads refuse anonymous callers (401) and a key in the query string", async () => {
  for (const path of ["/api/v1/symbols", "/api/v1/matrix", "/api/v1/candles/BTC-USDT/1h", "/api/v1/signals"]) {
    const res = await w.fetch(path);
    assert.equal(res.status, 401, path);
    assert.equal((await res.json()).error.code, "unauthorized", path);
  }
  const res = await w.fetch("/api/v1/symbols?api_key=cle_x", withCookie(READER));
  assert.equal(res.status, 401);
});
