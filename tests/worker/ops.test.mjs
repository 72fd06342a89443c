// On-demand runs and admin operations in the BUILT worker over D1 and KV (workerd via
// Miniflare) with the fake exchange (product.md §3 `/scan`, `/scan/run`, `/fetch`, `/runs/{id}`;
// §9 quick actions, historical fetch, candle import): a POST only RECORDS a run (202 + id); the
// every-minute dispatch trigger executes it, once even when triggered twice; scope, tier and
// session denials; 1/min and 5/min limits with Retry-After; field-level 400s that write nothing;
// a historical fetch advancing page by page across ticks; CSV/JSON import with bad rows listed,
// idempotent, aggregated, and 413 above 5 MiB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { startExchange, MINUTE } from "../fakes/exchange.mjs";
import { readerSession } from "./read-auth.mjs";

const ORIGIN = "http://127.0.0.1:8787";
const START = Date.UTC(2024, 0, 1);
const END = START + 3000 * MINUTE;
const at = (min) => START + min * MINUTE;
const EVERY_MINUTE = "* * * * *";

async function start(vars = {}) {
  const ex = await startExchange({ port: 0, start: START, end: END, seed: 7, symbols: ["BTCUSDT"] });
  const w = await startWorker({ vars: { EXCHANGE_BASE_URL: ex.url, ...vars } });
  const db = await w.mf.getD1Database("DB");
  const worker = await w.mf.getWorker();
  const sessions = {
    admin: readerSession({ id: 201, tier: "admin" }),
    premium: readerSession({ id: 202, tier: "premium", reauth: true }),
    other: readerSession({ id: 203, tier: "premium", reauth: true }),
    pro: readerSession({ id: 204, tier: "pro" }),
    free: readerSession({ id: 205, tier: "free" }),
  };
  const seed = [
    `INSERT INTO symbols (id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at)
       VALUES (1, 'BTC/USDT', 'binance', 1, 1, ${START}, ${START}),
              (2, 'ETH/USDT', 'binance', 0, 1, ${START}, ${START}),
              (3, 'SOL/USDT', 'binance', 1, 1, ${START}, ${START})`,
    // The pipeline stays off: these tests look at the dispatch job alone.
    "UPDATE cron_jobs SET is_enabled = 0 WHERE name = 'pipeline'",
    ...Object.values(sessions).flatMap((s) => s.statements),
  ];
  await db.batch(seed.map((s) => db.prepare(s)));
  return {
    ex,
    w,
    db,
    sessions,
    tick: (ms) => worker.scheduled({ cron: EVERY_MINUTE, scheduledTime: new Date(ms) }),
    dispose: async () => {
      await w.dispose();
      await ex.close();
    },
  };
}

/** A signed-in browser (cookie, CSRF token, app Origin) with its own client IP. */
async function browser(c, session, ip) {
  const res = await c.w.fetch("/api/v1/auth/csrf", { headers: { cookie: session.cookie } });
  assert.equal(res.status, 200);
  const csrf = (await res.json()).data.csrf_token;
  return (method, path, body, extra = {}) => send(c, method, path, body, {
    cookie: session.cookie, origin: ORIGIN, "x-csrf-token": csrf, "cf-connecting-ip": ip, ...extra,
  });
}

async function send(c, method, path, body, headers) {
  const h = { ...headers };
  if (body !== undefined) h["content-type"] = "application/json";
  const r = await c.w.fetch(path, { method, headers: h, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

/** An API key of `session`'s user with `scopes`; returns a sender using only the key. */
async function keyOf(c, session, scopes, ip) {
  const b = await browser(c, session, ip);
  const r = await b("POST", "/api/v1/keys", { name: `k ${scopes}`.slice(0, 40), scopes });
  assert.equal(r.status, 201, r.text);
  const key = r.json.data.secret;
  return (method, path, body) => send(c, method, path, body, { authorization: `Bearer ${key}`, "cf-connecting-ip": ip });
}

const count = async (db, sql, ...args) => Object.values(await db.prepare(sql).bind(...args).first())[0];
const queued = (db) => count(db, "SELECT COUNT(*) FROM run_queue");
const runRow = (db, id) => db.prepare("SELECT * FROM run_queue WHERE id = ?1").bind(id).first();

test("POSTs record a queued run (202 + id) and deny by session, scope and tier", async () => {
  const c = await start();
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.1");
    let r = await admin("POST", "/api/v1/scan", { symbol: "BTC/USDT", tf: "1h" });
    assert.equal(r.status, 202, r.text);
    const run = r.json.data;
    assert.equal(run.kind, "scan");
    assert.equal(run.status, "queued");
    assert.equal(run.symbol, "BTC/USDT");
    assert.equal(run.tf, "1h");
    const row = await runRow(c.db, run.id);
    assert.equal(row.status, "queued", "recorded, not run in the request");
    assert.equal(row.started_at, null);

    // A free or pro session is not an admin: forbidden, nothing written.
    const before = await queued(c.db);
    for (const s of [c.sessions.free, c.sessions.pro, c.sessions.premium]) {
      const b = await browser(c, s, "198.51.100.2");
      r = await b("POST", "/api/v1/fetch", { symbol: "BTC/USDT" });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json.error.code, "forbidden");
    }
    // A premium key without write:scan → scope_missing; with write:fetch only, /scan too.
    const reader = await keyOf(c, c.sessions.premium, "read:symbols", "198.51.100.3");
    r = await reader("POST", "/api/v1/scan", { symbol: "BTC/USDT" });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, "scope_missing");
    const fetcher = await keyOf(c, c.sessions.premium, "write:fetch", "198.51.100.4");
    r = await fetcher("POST", "/api/v1/scan/run", { symbol: "BTC/USDT" });
    assert.equal(r.json.error.code, "scope_missing");
    assert.equal(await queued(c.db), before, "denials write nothing");

    r = await fetcher("POST", "/api/v1/fetch", { symbol: "BTC-USDT" });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.data.kind, "fetch");
    assert.equal(r.json.data.source, "api");

    // The owner reads it; another user (key or session) gets 404; an admin session reads all.
    const id = r.json.data.id;
    assert.equal((await fetcher("GET", `/api/v1/runs/${id}`)).status, 200);
    const other = await keyOf(c, c.sessions.other, "all", "198.51.100.5");
    assert.equal((await other("GET", `/api/v1/runs/${id}`)).status, 404);
    const free = await browser(c, c.sessions.free, "198.51.100.6");
    assert.equal((await free("GET", `/api/v1/runs/${id}`)).status, 404);
    assert.equal((await admin("GET", `/api/v1/runs/${id}`)).status, 200);
    assert.equal((await admin("GET", "/api/v1/runs/999999")).status, 404);
  } finally {
    await c.dispose();
  }
});

test("rate limits: scan and full cycle 1/min, fetch 5/min per caller, 429 with Retry-After", async () => {
  const c = await start();
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.10");
    assert.equal((await admin("POST", "/api/v1/scan/run", { symbol: "BTC/USDT" })).status, 202);
    let r = await admin("POST", "/api/v1/scan/run", { symbol: "BTC/USDT" });
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, "rate_limited");
    assert.ok(Number(r.headers.get("retry-after")) > 0);
    const key = await keyOf(c, c.sessions.premium, "all", "198.51.100.11");
    for (let i = 0; i < 5; i++) assert.equal((await key("POST", "/api/v1/fetch", { symbol: "BTC/USDT" })).status, 202);
    r = await key("POST", "/api/v1/fetch", { symbol: "BTC/USDT" });
    assert.equal(r.status, 429);
    assert.ok(r.headers.get("retry-after"));
    // Another caller has its own budget.
    assert.equal((await key("POST", "/api/v1/scan", { symbol: "BTC/USDT" })).status, 202);
  } finally {
    await c.dispose();
  }
});

test("validation: field errors, 400, nothing written, no budget spent", async () => {
  const c = await start();
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.20");
    const cases = [
      [{ symbol: "NOPE/USDT" }, "symbol", "unknown_symbol"],
      [{ symbol: "ETH/USDT" }, "symbol", "inactive_symbol"],
      [{ symbol: "btc/usdt;drop" }, "symbol", "invalid_format"],
      [{ symbol: "BTC/USDT", tf: "7m" }, "tf", "invalid_choice"],
      [{ symbol: "BTC/USDT", run_now: true }, "run_now", "unknown_field"],
      [{}, "symbol", "required"],
    ];
    for (const [body, fieldName, code] of cases) {
      const r = await admin("POST", "/api/v1/scan", body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, "validation_failed");
      const f = r.json.error.fields.find((x) => x.field === fieldName);
      assert.ok(f, `${fieldName} in ${r.text}`);
      assert.equal(f.code, code, r.text);
    }
    assert.equal(await queued(c.db), 0, "nothing written");
    assert.equal((await admin("POST", "/api/v1/scan", { symbol: "BTC/USDT" })).status, 202, "the budget is intact");
  } finally {
    await c.dispose();
  }
});

test("the dispatch tick runs each queued run exactly once, even triggered twice", async () => {
  const c = await start();
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.30");
    const key = await keyOf(c, c.sessions.premium, "all", "198.51.100.31");
    const fetchRun = (await key("POST", "/api/v1/fetch", { symbol: "BTC/USDT" })).json.data.id;
    const scanRun = (await admin("POST", "/api/v1/scan", { symbol: "BTC/USDT" })).json.data.id;
    const fullRun = (await admin("POST", "/api/v1/scan/run", { symbol: "SOL/USDT" })).json.data.id;
    const T = at(2000);
    await Promise.all([c.tick(T), c.tick(T)]);
    await c.tick(T + MINUTE);

    const f = await runRow(c.db, fetchRun);
    assert.equal(f.status, "ok", JSON.stringify(f));
    assert.equal(f.attempts, 1, "claimed once");
    assert.equal(f.progress, 100);
    const counts = JSON.parse(f.counts);
    assert.equal(counts.candles, 2000, "every closed minute up to the tick, once");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 1 AND tf = '1m'"), 2000);
    assert.ok(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 1 AND tf = '5m'") > 0, "aggregated");

    const s = await runRow(c.db, scanRun);
    assert.equal(s.status, "ok", JSON.stringify(s));
    assert.equal(s.attempts, 1);
    // SOL/USDT is not served by the fake exchange: the full cycle fails with its reason.
    const full = await runRow(c.db, fullRun);
    assert.equal(full.status, "failed");
    assert.match(full.error, /SOL\/USDT/);
    assert.equal(full.attempts, 1);

    const r = await key("GET", `/api/v1/runs/${fetchRun}`);
    assert.equal(r.json.data.status, "ok");
    assert.equal(r.json.data.counts.candles, 2000);
    assert.ok(r.json.data.started_at && r.json.data.ended_at);
  } finally {
    await c.dispose();
  }
});

test("admin quick actions: audited, 202, run by dispatch with their own cron run; toggles audited; history pages", async () => {
  const c = await start();
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.40");
    let r = await admin("POST", "/api/v1/admin/crons/stats/run");
    assert.equal(r.status, 202, r.text);
    const id = r.json.data.id;
    assert.equal(r.json.data.kind, "stats");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'cron.run_now' AND target = 'cron:stats' AND actor_id = 201"), 1);
    assert.equal((await admin("POST", "/api/v1/admin/crons/reboot/run")).status, 400);
    const pro = await browser(c, c.sessions.pro, "198.51.100.41");
    assert.equal((await pro("POST", "/api/v1/admin/crons/stats/run")).status, 403);

    await c.tick(at(100));
    const row = await runRow(c.db, id);
    assert.equal(row.status, "ok", JSON.stringify(row));
    assert.ok(row.cron_run_id);
    const cron = await c.db.prepare("SELECT trigger, status FROM cron_runs WHERE id = ?1").bind(row.cron_run_id).first();
    assert.deepEqual({ ...cron }, { trigger: "manual", status: "ok" });

    r = await admin("POST", "/api/v1/scheduler/jobs/gaps/toggle");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.enabled, false);
    const audit = await c.db.prepare("SELECT details FROM audit_log WHERE action = 'cron.toggle' AND target = 'cron:gaps'").first();
    assert.deepEqual(JSON.parse(audit.details), { enabled: false });

    // Keyset pages of the history: a second manual stats run, then one per page.
    await c.db.prepare("UPDATE cron_jobs SET lease_until = NULL WHERE name = 'stats'").run();
    assert.equal((await admin("POST", "/api/v1/admin/crons/stats/run")).status, 202);
    await c.tick(at(103));
    r = await admin("GET", "/api/v1/admin/crons/stats/runs?limit=1");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.length, 1);
    const next = r.json.meta.next_cursor;
    assert.ok(next, r.text);
    const second = await admin("GET", `/api/v1/admin/crons/stats/runs?limit=1&cursor=${next}`);
    assert.equal(second.json.data.length, 1);
    assert.ok(second.json.data[0].id < r.json.data[0].id, "newest first");
    assert.equal(second.json.meta.next_cursor, null);
    assert.equal((await admin("GET", "/api/v1/admin/crons/stats/runs?cursor=zz")).status, 400);
  } finally {
    await c.dispose();
  }
});

test("a historical fetch advances a bounded number of pages per tick until it is complete", async () => {
  const c = await start({ HISTORICAL_FETCH_PAGES: "1" });
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.50");
    assert.equal((await admin("POST", "/api/v1/admin/symbols/1/historical-fetch", { from_ms: 1 })).status, 400);
    assert.equal((await admin("POST", "/api/v1/admin/symbols/99/historical-fetch", {})).status, 404);
    let r = await admin("POST", "/api/v1/admin/symbols/1/historical-fetch", { from_ms: START });
    assert.equal(r.status, 202, r.text);
    const id = r.json.data.id;
    assert.equal(r.json.data.from_ms, START);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'symbol.historical_fetch'"), 1);

    const T = at(2500);
    await c.tick(T);
    let row = await runRow(c.db, id);
    assert.equal(row.status, "running");
    assert.equal(row.cursor, at(999), "one page of 1000 minutes");
    assert.equal(row.lease_until, null, "released between ticks");
    assert.ok(row.progress > 0 && row.progress < 100, `progress ${row.progress}`);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 1 AND tf = '1m'"), 1000);

    await c.tick(T + MINUTE);
    row = await runRow(c.db, id);
    assert.equal(row.cursor, at(1999));
    r = await admin("GET", `/api/v1/runs/${id}`);
    assert.equal(r.json.data.status, "running");
    assert.ok(r.json.data.progress > 50);

    await c.tick(T + 2 * MINUTE);
    row = await runRow(c.db, id);
    assert.equal(row.status, "ok", JSON.stringify(row));
    assert.equal(row.progress, 100);
    // The third tick runs at minute 2502: every closed minute before it, each stored once.
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 1 AND tf = '1m'"), 2502);
    assert.equal(JSON.parse(row.counts).candles, 2502);
  } finally {
    await c.dispose();
  }
});

test("candle import: CSV and JSON through the CLI's parser, bad rows listed, idempotent, aggregated, 413", async () => {
  const c = await start();
  try {
    const admin = await browser(c, c.sessions.admin, "198.51.100.60");
    const H = 60 * MINUTE;
    const rows = [];
    for (let i = 0; i < 60; i++) {
      const o = 100 + i;
      rows.push(`${START + i * MINUTE},${o},${o + 2},${o - 1},${o + 1},${i}`);
    }
    const lines = ["timestamp,open,high,low,close,volume", ...rows.slice(0, 10), "bad,1,2,0.5,1,1",
      `${START + 10 * MINUTE},10,9,9,10,1`, ...rows.slice(10)];
    let r = await admin("POST", "/api/v1/admin/symbols/3/import", { format: "csv", data: lines.join("\n") });
    assert.equal(r.status, 200, r.text);
    const d = r.json.data;
    assert.equal(d.valid, 60);
    assert.equal(d.imported, 60);
    assert.equal(d.skipped, 2);
    assert.deepEqual(d.errors.map((e) => [e.row, e.line]), [[11, 12], [12, 13]]);
    assert.equal(d.first_ts, START);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 3 AND tf = '1m'"), 60);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 3 AND tf = '5m'"), 12, "aggregated");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 3 AND tf = '1h'"), 1);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'symbol.import' AND target = 'symbol:SOL/USDT'"), 1);

    // The same candles as JSON: nothing new.
    const json = JSON.stringify({ candles: rows.map((l) => l.split(",").map(Number)) });
    r = await admin("POST", "/api/v1/admin/symbols/3/import", { format: "json", data: json });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.data.imported, r.json.data.duplicates, r.json.data.skipped], [0, 60, 0]);

    // Bad shapes and inputs: 400 with the field; unknown symbol 404; non-admin 403.
    r = await admin("POST", "/api/v1/admin/symbols/3/import", { format: "csv", data: "ts,o\n1,2" });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.fields[0].field, "data");
    r = await admin("POST", "/api/v1/admin/symbols/3/import", { format: "xml", data: "" });
    assert.equal(r.json.error.fields[0].field, "format");
    r = await admin("POST", "/api/v1/admin/symbols/3/import", { format: "csv", data: "x", symbol_id: 1 });
    assert.equal(r.json.error.fields[0].code, "unknown_field");
    assert.equal((await admin("POST", "/api/v1/admin/symbols/77/import", { format: "csv", data: lines.join("\n") })).status, 404);
    const premium = await browser(c, c.sessions.premium, "198.51.100.61");
    assert.equal((await premium("POST", "/api/v1/admin/symbols/3/import", { format: "csv", data: "x" })).status, 403);

    // A body above 5 MiB plus the envelope: 413, nothing read.
    const big = JSON.stringify({ format: "csv", data: "x".repeat(5 * 1024 * 1024 + 70 * 1024) });
    r = await admin("POST", "/api/v1/admin/symbols/3/import", big);
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.equal(r.json.error.code, "payload_too_large");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE symbol_id = 3 AND tf = '1m'"), 60);
  } finally {
    await c.dispose();
  }
});
