// The scheduled pipeline under failure, against the fake exchange: an outage opens the KV
// breaker and is recorded, then the next run catches up with nothing lost; a double trigger
// does the work once; a 429's Retry-After is honoured; a bad candle is skipped and logged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateCandles } from "../fakes/exchange.mjs";
import { startCronWorker, addSymbols, runs, count, MINUTE } from "./cron-lib.mjs";

const START = Date.UTC(2024, 0, 1);
const END = START + 600 * MINUTE;
const at = (min) => START + min * MINUTE;
const candles1m = (db) => count(db, "SELECT COUNT(*) FROM candles WHERE tf = '1m'");
const script = (ex, body) =>
  fetch(`${ex.url}/__script`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const requests = async (ex) => (await (await fetch(`${ex.url}/__requests`)).json()).filter((r) => r.path === "/api/v3/klines");

test("an outage opens the breaker, is recorded, keeps health up; the next run catches up", async () => {
  const c = await startCronWorker({ start: START, end: END, symbols: ["BTCUSDT", "ETHUSDT"] });
  try {
    await addSymbols(c.db, ["BTC/USDT", "ETH/USDT"], START);
    await c.tick(at(60));
    assert.equal(await candles1m(c.db), 120);

    await script(c.ex, { steps: [{ status: 500, times: 1000 }] });
    await c.tick(at(70));
    const failed = (await runs(c.db)).at(-1);
    assert.equal(failed.status, "failed");
    assert.match(failed.error, /500|breaker|exchange unavailable/);
    assert.equal(failed.counts.candles, 0);
    const breaker = JSON.parse(await c.kv.get("breaker:exchange"));
    assert.equal(breaker.state, "open");
    assert.ok(breaker.until_ms > at(70), "open until after the failing run's clock");
    const health = await c.w.fetch("/api/v1/health");
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    const tries = (await requests(c.ex)).length;

    // While open, a run sends nothing and is recorded failed with the breaker as reason.
    await c.tick(at(70) + 5_000);
    const blocked = (await runs(c.db)).at(-1);
    assert.equal(blocked.status, "failed");
    assert.match(blocked.error, /breaker|open/i);
    assert.equal((await requests(c.ex)).length, tries);

    // Recovery: the fake answers again and the breaker's 30 s are over (run clock).
    await fetch(`${c.ex.url}/__reset`, { method: "POST" });
    await c.tick(at(75));
    const recovered = (await runs(c.db)).at(-1);
    assert.equal(recovered.status, "ok", recovered.error);
    assert.equal(JSON.parse(await c.kv.get("breaker:exchange")).state, "closed");
    // Nothing lost: every candle the fake has before the open minute, per symbol.
    for (const s of ["BTC/USDT", "ETH/USDT"]) {
      const stored = await count(c.db, "SELECT COUNT(*) FROM candles c JOIN symbols s ON s.id = c.symbol_id WHERE s.symbol = ?1 AND c.tf = '1m'", s);
      const served = generateCandles({ symbol: s.replace("/", ""), start: START, end: END }).filter((r) => r[0] < at(75)).length;
      assert.equal(stored, served, s);
    }
  } finally {
    await c.dispose();
  }
});

test("two triggers for the same minute: one run works, the other skips; no duplicates", async () => {
  const c = await startCronWorker({ start: START, end: END, symbols: ["BTCUSDT", "ETHUSDT"] });
  try {
    await addSymbols(c.db, ["BTC/USDT", "ETH/USDT"], START);
    const [a, b] = await Promise.all([c.tick(at(300)), c.tick(at(300))]);
    assert.deepEqual([a.outcome, b.outcome], ["ok", "ok"]);
    const history = await runs(c.db);
    const worked = history.filter((r) => r.status !== "skipped");
    assert.equal(worked.length, 1, JSON.stringify(history));
    assert.equal(worked[0].status, "ok");
    assert.equal(worked[0].counts.candles, 600);
    const skippedInD1 = history.filter((r) => r.status === "skipped").length;
    const skippedInKv = c.w.log.lines.filter((l) => l.includes('"event":"job_skipped"')).length;
    assert.equal(skippedInD1 + skippedInKv, 1, "the other trigger returned early");
    assert.equal(await candles1m(c.db), 600);
    const patterns = await count(c.db, "SELECT COUNT(*) FROM patterns");
    const keys = await count(c.db, "SELECT COUNT(*) FROM (SELECT DISTINCT symbol_id, tf, pattern_type, direction, detected_at FROM patterns)");
    assert.equal(patterns, keys);
    const signals = await count(c.db, "SELECT COUNT(*) FROM signals");

    // The same minute again, after the first finished: no candle is fetched or stored twice
    // and no key is stored twice. (The tick itself still runs: a pattern that ended in the
    // first run may unblock a suppressed candidate, as in minute-by-minute replay.)
    await c.tick(at(300));
    assert.equal((await runs(c.db)).at(-1).counts.candles, 0);
    assert.equal(await candles1m(c.db), 600);
    const distinct = "SELECT COUNT(*) FROM (SELECT DISTINCT symbol_id, tf, pattern_type, direction, detected_at FROM patterns)";
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM patterns"), await count(c.db, distinct));
    assert.ok((await count(c.db, "SELECT COUNT(*) FROM patterns")) >= patterns);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM signals"), signals, "the cooldown holds");
    const lease = await c.db.prepare("SELECT lease_until FROM cron_jobs WHERE name = 'pipeline'").first();
    assert.equal(lease.lease_until, null, "the lease is released after each run");
  } finally {
    await c.dispose();
  }
});

test("a 429 with Retry-After is honoured, then the run completes", async () => {
  const c = await startCronWorker({ start: START, end: END });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    await script(c.ex, { status: 429, retryAfter: 1 });
    await c.tick(at(30));
    const run = (await runs(c.db)).at(-1);
    assert.equal(run.status, "ok", run.error);
    assert.equal(await candles1m(c.db), 30);
    const [limited, retried] = await requests(c.ex);
    assert.ok(retried, "retried after the 429");
    assert.ok(retried.at - limited.at >= 950, `waited ${retried.at - limited.at} ms for Retry-After: 1`);
    assert.ok(run.duration_ms >= 950);
  } finally {
    await c.dispose();
  }
});

test("a bad candle in the feed is skipped and logged, not fatal", async () => {
  const c = await startCronWorker({ start: START, end: END });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    const rows = generateCandles({ symbol: "BTCUSDT", start: START, end: at(10) });
    rows[5] = [rows[5][0], rows[5][1], "1.00000000", "99999.00000000", rows[5][4], rows[5][5], ...rows[5].slice(6)];
    await script(c.ex, { body: JSON.stringify(rows) });
    await c.tick(at(10));
    const run = (await runs(c.db)).at(-1);
    assert.equal(run.status, "ok", run.error);
    assert.equal(run.counts.bad_rows, 1);
    assert.equal(run.counts.candles, 9);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE tf = '1m' AND ts = ?1", rows[5][0]), 0);
    const logged = c.w.log.lines.filter((l) => l.includes('"event":"bad_candle"'));
    assert.equal(logged.length, 1);
    assert.match(logged[0], new RegExp(`"open_ms":${rows[5][0]}`));
    // The next minute continues after the last stored candle.
    await c.tick(at(11));
    assert.equal((await runs(c.db)).at(-1).status, "ok");
    assert.equal(await candles1m(c.db), 10);
  } finally {
    await c.dispose();
  }
});
