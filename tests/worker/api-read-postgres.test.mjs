// The read endpoints in the built worker over Postgres (STORAGE=postgres, HYPERDRIVE bound to
// a throwaway database of the scripts/pg.sh cluster). Skipped when no cluster runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readerSession, withCookie } from "./read-auth.mjs";
import { startWorker, assertSecurityHeaders, ROOT } from "./harness.mjs";

const T0 = 1_699_999_200_000;
const H = 3_600_000;
const DB_NAME = "cl_api_read_test";

function clusterUrl() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  try {
    return execFileSync(join(ROOT, "scripts", "pg.sh"), ["url"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

const base = clusterUrl();
const skip = base ? false : "no PostgreSQL cluster (scripts/pg.sh start)";
const dbUrl = base && `${base.slice(0, base.lastIndexOf("/"))}/${DB_NAME}`;
const psql = (url, args) => execFileSync("psql", [url, "-q", "-v", "ON_ERROR_STOP=1", ...args], { encoding: "utf8" });

const SEED = `
INSERT INTO symbols (id, symbol, exchange, is_active, notify_enabled, created_at) VALUES
  (1, 'BTC/USDT', 'binance', true, true, ${T0}), (2, 'ETH/USDT', 'binance', true, true, ${T0}),
  (3, 'DOGE/USDT', 'binance', false, true, ${T0});
INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume)
  SELECT 1, '1h', ${T0} + i * ${H}, 100, 102, 98, 101, i FROM generate_series(0, 299) AS i;
INSERT INTO patterns (id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
  expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at) VALUES
  (1, 1, '1h', 'imbalance',   'bullish', 100, 102, ${T0 + 10 * H},  ${T0 + 999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
  (2, 1, '1h', 'order_block', 'bearish', 100, 102, ${T0 + 20 * H},  ${T0 + 999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
  (3, 2, '1h', 'imbalance',   'bearish', 100, 102, ${T0 + 20 * H},  ${T0 + 999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
  (4, 1, '1h', 'imbalance',   'bearish', 100, 102, ${T0 + 250 * H}, ${T0 + 999 * H}, 'filled', 100, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0});
INSERT INTO signals (id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
  confluence_score, timeframes_aligned, pattern_id, status, created_at) VALUES
  (1, 1, 'long',  101, 99, 103, 105, 107, 2, 3, '5m,1h', 1, 'pending', ${T0 + H}),
  (2, 2, 'short', 101, 99, 103, 105, 107, 2, 2, '1h', NULL, 'pending', ${T0 + 2 * H}),
  (3, 1, 'short', 101, 99, 103, 105, 107, 2, 2, '1h', NULL, 'notified', ${T0 + 2 * H});
`;

// The read routes need a session or an API key: an admin's session (no tier limits).
const READER = readerSession();
let w;
before(async () => {
  if (skip) return;
  psql(base, ["-c", `DROP DATABASE IF EXISTS ${DB_NAME}`, "-c", `CREATE DATABASE ${DB_NAME}`]);
  const dir = join(ROOT, "migrations", "postgres");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) psql(dbUrl, ["-f", join(dir, f)]);
  psql(dbUrl, ["-c", SEED]);
  for (const s of READER.statements) psql(dbUrl, ["-c", s]);
  w = await startWorker({ vars: { STORAGE: "postgres" }, hyperdrive: dbUrl });
});
after(async () => {
  await w?.dispose();
  if (!skip) psql(base, ["-c", `DROP DATABASE IF EXISTS ${DB_NAME}`]);
});

const json = async (path, init) => {
  const res = await w.fetch(path, withCookie(READER, init));
  return { res, body: res.status === 304 ? null : await res.json() };
};

test("symbols, candles and chart read from Postgres", { skip }, async () => {
  const { res, body } = await json("/api/v1/symbols?active=true");
  assert.equal(res.status, 200);
  assertSecurityHeaders(assert, res, "symbols");
  assert.deepEqual(body.data.map((s) => s.symbol), ["BTC/USDT", "ETH/USDT"]);

  const c = await json("/api/v1/candles/BTC-USDT/1h");
  assert.equal(c.res.status, 200);
  assert.equal(c.body.data.candles.length, 250);
  assert.equal(c.body.data.has_more, true);
  assert.equal(c.body.data.candles.at(-1).ts, T0 + 299 * H);
  const older = await json(`/api/v1/candles/BTC%2FUSDT/1h?before=${c.body.data.candles[0].ts}`);
  assert.equal(older.body.data.candles.length, 50);
  assert.equal(older.body.data.has_more, false);

  const chart = await json("/api/v1/chart/BTC-USDT/1h?limit=100");
  assert.deepEqual(chart.body.data.patterns.map((p) => p.id), [2, 1]);
  assert.equal((await json("/api/v1/candles/XRP-USDT/1h")).res.status, 404);
});

test("patterns and signals page by keyset; ids 404 when missing", { skip }, async () => {
  const first = await json("/api/v1/patterns?limit=2");
  assert.deepEqual(first.body.data.map((p) => p.id), [3, 2]);
  assert.ok(first.body.meta.next_cursor);
  const last = await json(`/api/v1/patterns?limit=2&cursor=${first.body.meta.next_cursor}`);
  assert.deepEqual(last.body.data.map((p) => p.id), [1]);
  assert.equal(last.body.meta.next_cursor, null);

  const one = await json("/api/v1/patterns/4");
  assert.equal(one.body.data.status, "filled");
  assert.equal((await json("/api/v1/patterns/99")).res.status, 404);

  const sigs = await json("/api/v1/signals");
  assert.deepEqual(sigs.body.data.map((s) => s.id), [3, 2, 1]);
  assert.equal(sigs.body.meta.next_cursor, null);
  assert.deepEqual(sigs.body.data[2].timeframes_aligned, ["5m", "1h"]);
  const short = await json("/api/v1/signals?direction=short&status=notified");
  assert.deepEqual(short.body.data.map((s) => s.id), [3]);
  assert.equal((await json("/api/v1/signals/99")).res.status, 404);
});

test("the matrix carries an ETag and revalidates to 304", { skip }, async () => {
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
});
