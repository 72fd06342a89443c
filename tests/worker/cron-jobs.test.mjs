// The maintenance jobs on the real worker (workerd, local D1/KV) against the fake exchange:
// each job runs from its cron string and records a run; a disabled job does not run; a double
// trigger does the work once; gaps are refetched and confirmed-empty ranges recorded once;
// cleanup deletes by retention with per-table counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { startExchange, MINUTE } from "../fakes/exchange.mjs";
import { addSymbols, count } from "./cron-lib.mjs";
import { readerSession, withCookie } from "./read-auth.mjs";

const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.UTC(2024, 0, 1);
const END = START + 600 * MINUTE;
const at = (min) => START + min * MINUTE;
const CRONS = {
  pipeline: "* * * * *",
  stats: "*/5 * * * *",
  gaps: "0 * * * *",
  "db-health": "0 3 * * *",
  cleanup: "0 3 * * *",
  subscriptions: "0 6 * * *",
};

async function start({ gaps = [], symbols = ["BTCUSDT", "ETHUSDT"] } = {}) {
  const ex = await startExchange({ port: 0, start: START, end: END, seed: 42, symbols, gaps });
  const w = await startWorker({ vars: { EXCHANGE_BASE_URL: ex.url } });
  const db = await w.mf.getD1Database("DB");
  const worker = await w.mf.getWorker();
  return {
    ex,
    w,
    db,
    tick: (ms, cron) => worker.scheduled({ cron, scheduledTime: new Date(ms) }),
    dispose: async () => {
      await w.dispose();
      await ex.close();
    },
  };
}

async function runsOf(db, job) {
  const { results } = await db
    .prepare("SELECT r.id, r.status, r.error, r.counts FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id WHERE j.name = ?1 ORDER BY r.id")
    .bind(job)
    .all();
  return results.map((r) => ({ ...r, counts: r.counts ? JSON.parse(r.counts) : null }));
}

const klines = async (ex) => (await (await fetch(`${ex.url}/__requests`)).json()).filter((r) => r.path === "/api/v3/klines");

test("each job runs from its cron string and records a run with counts", async () => {
  const c = await start();
  try {
    await addSymbols(c.db, ["BTC/USDT", "ETH/USDT"], START);
    await c.tick(at(120), CRONS.pipeline);
    await c.tick(at(125), CRONS.stats);
    const stats = await runsOf(c.db, "stats");
    assert.equal(stats.length, 1);
    assert.equal(stats[0].status, "ok", stats[0].error);
    // global + 2 symbols, and the analytics of pro, premium and the 2 symbols.
    assert.equal(stats[0].counts.stats_keys, 7);
    const global = JSON.parse(await count(c.db, "SELECT data FROM stats_cache WHERE key = 'global'"));
    assert.equal(global.symbols, 2);
    const btc = JSON.parse(await count(c.db, "SELECT data FROM stats_cache WHERE key = 'symbol:BTC/USDT'"));
    assert.equal(btc.last_1m_ts, at(119));

    await c.tick(at(180), CRONS.gaps);
    const gaps = await runsOf(c.db, "gaps");
    assert.deepEqual(gaps.map((r) => r.status), ["ok"], gaps[0]?.error);
    assert.equal(gaps[0].counts.gaps, 0, "no holes after a clean pipeline run");

    await c.tick(at(200), CRONS["db-health"]);
    for (const job of ["db-health", "cleanup"]) {
      const runs = await runsOf(c.db, job);
      assert.equal(runs.length, 1, job);
      assert.equal(runs[0].status, "ok", `${job}: ${runs[0].error}`);
    }
    const cleanup = (await runsOf(c.db, "cleanup"))[0];
    for (const table of ["candles_1m", "logs", "cron_runs", "notifications", "ended_patterns", "sessions_tokens", "webhook_events", "run_queue", "broadcast_deliveries"]) {
      assert.equal(typeof cleanup.counts[`deleted.${table}`], "number", `deleted.${table} reported`);
    }

    await c.tick(at(240), CRONS.subscriptions);
    const subs = await runsOf(c.db, "subscriptions");
    assert.equal(subs.length, 1);
    assert.equal(subs[0].status, "ok", subs[0].error);
    assert.equal(subs[0].counts.expired, 0);
  } finally {
    await c.dispose();
  }
});

test("a disabled job does not run; switched back on it runs", async () => {
  const c = await start();
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    await c.db.prepare("UPDATE cron_jobs SET is_enabled = 0 WHERE name = 'stats'").run();
    await c.tick(at(5), CRONS.stats);
    assert.equal((await runsOf(c.db, "stats")).length, 0);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM stats_cache"), 0);
    await c.db.prepare("UPDATE cron_jobs SET is_enabled = 1 WHERE name = 'stats'").run();
    await c.tick(at(10), CRONS.stats);
    assert.deepEqual((await runsOf(c.db, "stats")).map((r) => r.status), ["ok"]);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM stats_cache"), 5);
  } finally {
    await c.dispose();
  }
});

test("a double trigger works once and writes no duplicates", async () => {
  const c = await start();
  try {
    await addSymbols(c.db, ["BTC/USDT", "ETH/USDT"], START);
    await c.tick(at(60), CRONS.pipeline);
    await Promise.all([c.tick(at(65), CRONS.stats), c.tick(at(65), CRONS.stats)]);
    const runs = await runsOf(c.db, "stats");
    const worked = runs.filter((r) => r.status !== "skipped");
    assert.equal(worked.length, 1, JSON.stringify(runs));
    const skippedInKv = c.w.log.lines.filter((l) => l.includes('"event":"job_skipped"') && l.includes('"job":"stats"')).length;
    assert.equal(runs.length - worked.length + skippedInKv, 1, "the other trigger returned early");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM stats_cache"), 7);
    // A second trigger later only overwrites the same keys.
    await c.tick(at(70), CRONS.stats);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM stats_cache"), 7);
    const computed = await count(c.db, "SELECT computed_at FROM stats_cache WHERE key = 'global'");
    assert.ok(computed >= at(70) && computed < at(71), `recomputed by the later run (${computed})`);
  } finally {
    await c.dispose();
  }
});

test("gaps: a hole the exchange skipped once is refetched; a range it never serves is recorded once", async () => {
  // Minutes 30..34 never exist on the exchange; minutes 50..59 are left out of one answer.
  const c = await start({ gaps: [[at(30), at(34)]], symbols: ["BTCUSDT"] });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    await fetch(`${c.ex.url}/__script`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ steps: [{ gap: [at(50), at(59)] }] }),
    });
    await c.tick(at(120), CRONS.pipeline);
    const ones = () => count(c.db, "SELECT COUNT(*) FROM candles WHERE tf = '1m'");
    assert.equal(await ones(), 120 - 5 - 10);

    await c.tick(at(180), CRONS.gaps);
    const [run] = await runsOf(c.db, "gaps");
    assert.equal(run.status, "ok", run.error);
    assert.equal(run.counts.gaps, 2);
    assert.equal(run.counts.candles, 10, "the skipped minutes were refetched");
    assert.equal(run.counts.known_gaps, 1);
    assert.equal(await ones(), 115);
    const known = await c.db.prepare("SELECT tf, gap_start, gap_end, missing, verified_empty FROM known_gaps").all();
    assert.deepEqual(known.results, [{ tf: "1m", gap_start: at(30), gap_end: at(34), missing: 5, verified_empty: 1 }]);

    // Next hour: the confirmed range is neither fetched again nor recorded twice.
    const before = (await klines(c.ex)).length;
    await c.tick(at(240), CRONS.gaps);
    const again = (await runsOf(c.db, "gaps")).at(-1);
    assert.equal(again.status, "ok", again.error);
    assert.equal(again.counts.gaps, 0);
    assert.equal((await klines(c.ex)).length, before);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM known_gaps"), 1);
  } finally {
    await c.dispose();
  }
});

test("cleanup deletes by the retention settings in batches and reports per-table counts", async () => {
  const c = await start({ symbols: ["BTCUSDT"] });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    const now = START + 40 * DAY;
    const cutoff = now - 30 * DAY;
    const rows = [cutoff - 2 * MINUTE, cutoff - MINUTE, cutoff + MINUTE, cutoff + 2 * MINUTE];
    await c.db.batch(
      rows.map((ts) =>
        c.db.prepare("INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume) VALUES (1, '1m', ?1, 1, 1, 1, 1, 1)").bind(ts),
      ),
    );
    await c.db.prepare("INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume) VALUES (1, '1d', ?1, 1, 1, 1, 1, 1)").bind(START).run();
    await c.db.prepare("INSERT INTO logs (ts, category, level, message) VALUES (?1, 'system', 'info', 'old'), (?2, 'system', 'info', 'new')").bind(now - 31 * DAY, now - DAY).run();
    await c.db.prepare("UPDATE settings SET value = '1' WHERE key = 'retention.batch_size'").run();
    await c.tick(now, CRONS.cleanup);
    const [run] = await runsOf(c.db, "cleanup");
    assert.equal(run.status, "ok", run.error);
    assert.equal(run.counts["deleted.candles_1m"], 2, "older than 30 days, one row per batch");
    assert.equal(run.counts["deleted.logs"], 1);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE tf = '1m'"), 2);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE tf = '1d'"), 1, "higher TFs are kept");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM logs"), 1);
  } finally {
    await c.dispose();
  }
});

test("GET /matrix serves the pipeline's cached copy until the next tick refreshes it", async () => {
  const c = await start({ symbols: ["BTCUSDT"] });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    const reader = readerSession({ tier: "admin" });
    for (const sql of reader.statements) await c.db.prepare(sql).run();
    const matrix = async () => {
      const res = await c.w.fetch("/api/v1/matrix", withCookie(reader));
      assert.equal(res.status, 200);
      return { etag: res.headers.get("etag"), body: await res.json() };
    };
    await c.tick(at(60), CRONS.pipeline);
    const first = await matrix();
    // A pattern written behind the cache's back: a store read would show it at once.
    await c.db
      .prepare(`INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
        expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
        VALUES (1, '4h', 'imbalance', 'bullish', 1, 2, ?1, ?2, 'active', 0, 2, 1, 3, 4, 5, 1, 1, 2, 3, ?1)`)
      .bind(at(59), at(59) + 100 * DAY)
      .run();
    const cached = await matrix();
    assert.equal(cached.etag, first.etag, "served from the cache, not the store");
    assert.deepEqual(cached.body.data, first.body.data);
    // The next tick refreshes the cache as its last step.
    await c.tick(at(61), CRONS.pipeline);
    const fresh = await matrix();
    assert.notEqual(fresh.etag, first.etag);
    const btc = fresh.body.data.rows.find((r) => r.symbol === "BTC/USDT");
    const h4 = btc.cells.find((cell) => cell.tf === "4h");
    assert.equal(h4.direction, "bullish", JSON.stringify(h4));
    assert.equal(h4.type, "imbalance");
  } finally {
    await c.dispose();
  }
});

test("scheduler over HTTP: an admin reads the status, toggles a job (2/min) and reads its runs; a non-admin gets 403", async () => {
  const c = await start({ symbols: ["BTCUSDT"] });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    const admin = readerSession({ id: 9101, tier: "admin" });
    const user = readerSession({ id: 9102, tier: "premium" });
    for (const sql of [...admin.statements, ...user.statements]) await c.db.prepare(sql).run();
    const csrf = async (r) => (await (await c.w.fetch("/api/v1/auth/csrf", withCookie(r))).json()).data.csrf_token;
    const call = async (r, method, path) => {
      const headers = method === "POST" ? { "x-csrf-token": await csrf(r), origin: "http://127.0.0.1:8787" } : {};
      const res = await c.w.fetch(path, withCookie(r, { method, headers }));
      return { status: res.status, body: await res.json() };
    };
    await c.tick(at(5), CRONS.stats);

    const status = await call(admin, "GET", "/api/v1/scheduler/status");
    assert.equal(status.status, 200, JSON.stringify(status.body));
    const names = status.body.data.jobs.map((j) => j.name);
    assert.deepEqual(names, ["pipeline", "dispatch", "stats", "gaps", "db-health", "cleanup", "subscriptions"]);
    const stats = status.body.data.jobs.find((j) => j.name === "stats");
    assert.equal(stats.enabled, true);
    assert.equal(stats.last_run.status, "ok");
    // global + BTC/USDT, and the analytics of pro, premium and BTC/USDT.
    assert.equal(stats.last_run.counts.stats_keys, 5);

    for (const [method, path] of [["GET", "/api/v1/scheduler/status"], ["POST", "/api/v1/scheduler/jobs/stats/toggle"], ["GET", "/api/v1/admin/crons/stats/runs"]]) {
      const denied = await call(user, method, path);
      assert.equal(denied.status, 403, `${method} ${path}: ${JSON.stringify(denied.body)}`);
    }
    assert.equal(await count(c.db, "SELECT is_enabled FROM cron_jobs WHERE name = 'stats'"), 1, "a non-admin changed nothing");

    const unknown = await call(admin, "POST", "/api/v1/scheduler/jobs/nope/toggle");
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.equal(unknown.body.error.code, "validation_failed");

    const off = await call(admin, "POST", "/api/v1/scheduler/jobs/stats/toggle");
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.data.enabled, false);
    await c.tick(at(10), CRONS.stats);
    assert.equal((await runsOf(c.db, "stats")).length, 1, "the disabled job did not run");
    const on = await call(admin, "POST", "/api/v1/scheduler/jobs/stats/toggle");
    assert.equal(on.body.data.enabled, true);
    const third = await call(admin, "POST", "/api/v1/scheduler/jobs/stats/toggle");
    assert.equal(third.status, 429, "2 toggles per minute");
    assert.equal(third.body.error.code, "rate_limited");

    await c.tick(at(15), CRONS.stats);
    const runs = await call(admin, "GET", "/api/v1/admin/crons/stats/runs?limit=1");
    assert.equal(runs.status, 200, JSON.stringify(runs.body));
    assert.equal(runs.body.data.length, 1);
    assert.equal(runs.body.data[0].started_at >= at(15), true);
    const bad = await call(admin, "GET", "/api/v1/admin/crons/stats/runs?limit=0");
    assert.equal(bad.status, 400);
  } finally {
    await c.dispose();
  }
});
