// Issue #7 in workerd: the pipeline's global-topic sends follow the admin broadcast rules, and
// the every-minute dispatch copes with a missing exchange.
//
// - The topic is the STORED setting (`notify.global_topic` + `notify.global_topic_enabled`),
//   read once per tick; each signal becomes ONE broadcast with one delivery row, sent by the
//   dispatch step against the fake ntfy: a failing ntfy leaves it queued for the next tick,
//   a double trigger sends nothing twice, and the admin broadcast list shows it.
// - Without EXCHANGE_BASE_URL a queued fetch is failed ONCE with `exchange_not_configured`
//   (a scan still runs) and nothing is logged every minute.
//
// Data: seed 42, BTC/USDT from 2024-01-01; the first run (2024-01-03 00:00 UTC, after a
// two-day backfill) raises one BTC short (see notify.test.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNtfy } from "../fakes/ntfy.mjs";
import { startWorker } from "./harness.mjs";
import { Browser } from "./browser-client.mjs";
import { startCronWorker, addSymbols, runs, count, MINUTE, EVERY_MINUTE } from "./cron-lib.mjs";

const START = Date.UTC(2024, 0, 1);
const BACKFILL = 2_880;
const at = (min) => START + min * MINUTE;
const script = (n, body) =>
  fetch(`${n.url}/__script`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const setting = (db, key, value) => db.prepare("UPDATE settings SET value = ?2 WHERE key = ?1").bind(key, value).run();

test("the global topic setting: one recorded broadcast per signal, kept queued through an outage, sent once", async () => {
  const ntfy = await startNtfy({ port: 0 });
  const c = await startCronWorker({ start: START, end: at(BACKFILL + 60), symbols: ["BTCUSDT"], vars: { NTFY_BASE_URL: ntfy.url } });
  try {
    await addSymbols(c.db, ["BTC/USDT"], START);
    await setting(c.db, "notify.global_topic", '"cryptolens-all"');
    await setting(c.db, "notify.global_topic_enabled", "true");
    // ntfy fails one send (its 3 tries), then is healthy: the breaker (5 failures) stays closed.
    await script(ntfy, { steps: [{ status: 500, times: 3 }] });
    await c.tick(at(BACKFILL));

    const run = (await runs(c.db)).at(-1);
    assert.equal(run.counts.signals, 1);
    assert.equal(run.counts["notify.global_queued"], 1);
    const b = await c.db.prepare("SELECT id, status, audience, topics, signal_id FROM broadcast_notifications").all();
    assert.equal(b.results.length, 1);
    assert.equal(b.results[0].audience, "topics");
    assert.equal(b.results[0].topics, "cryptolens-all");
    assert.ok(b.results[0].signal_id > 0);
    let d = (await c.db.prepare("SELECT status, attempts, error FROM broadcast_deliveries").all()).results;
    assert.deepEqual(d.map((r) => [r.status, r.attempts]), [["queued", 1]], "the outage leaves it queued");
    assert.match(d[0].error, /500/);
    assert.equal(ntfy.messages.length, 0);

    // The next tick sends it, once; a double trigger and later ticks add nothing.
    await c.tick(at(BACKFILL + 1));
    await Promise.all([c.tick(at(BACKFILL + 1)), c.tick(at(BACKFILL + 1))]);
    await c.tick(at(BACKFILL + 2));
    const global = ntfy.messages.filter((m) => m.topic === "cryptolens-all");
    assert.equal(global.length, 1);
    assert.match(global[0].title, /SHORT BTC\/USDT/);
    assert.equal(global[0].priority, 3);
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM broadcast_notifications"), 1);
    d = (await c.db.prepare("SELECT status, attempts FROM broadcast_deliveries").all()).results;
    assert.deepEqual(d.map((r) => [r.status, r.attempts]), [["sent", 2]]);

    // Admins see it in the broadcast list like their own broadcasts.
    const admin = await Browser.user(c.w, "198.51.100.91", "globalboss", { admin: true });
    const res = await admin.send("GET", "/api/v1/admin/notifications/broadcasts");
    assert.equal(res.status, 200);
    const list = res.json.data;
    assert.equal(list.length, 1);
    assert.equal(list[0].status, "done");
    assert.equal(list[0].sent, 1);
    assert.equal(list[0].signal_id, b.results[0].signal_id, "the row names its signal");
    assert.match(list[0].title, /SHORT BTC\/USDT/);

    // Switched off: the next signal (if any) gets no broadcast.
    await setting(c.db, "notify.global_topic_enabled", "false");
    await c.tick(at(BACKFILL + 3));
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM broadcast_notifications"), 1);
  } finally {
    await c.dispose();
    await ntfy.close();
  }
});

test("without EXCHANGE_BASE_URL a queued fetch fails once with exchange_not_configured; no log every minute", async () => {
  const w = await startWorker();
  try {
    const db = await w.mf.getD1Database("DB");
    const worker = await w.mf.getWorker();
    const tick = (ms) => worker.scheduled({ cron: EVERY_MINUTE, scheduledTime: new Date(ms) });
    await addSymbols(db, ["BTC/USDT"], START);
    const sym = await count(db, "SELECT id FROM symbols WHERE symbol = 'BTC/USDT'");
    for (const kind of ["fetch", "scan"]) {
      await db.prepare("INSERT INTO run_queue (kind, symbol_id, source, created_at) VALUES (?1, ?2, 'admin', ?3)").bind(kind, sym, START).run();
    }
    const before = w.log.lines.length;
    for (const k of [1, 2, 3]) await tick(at(BACKFILL + k));
    const rows = (await db.prepare("SELECT kind, status, error, attempts FROM run_queue ORDER BY id").all()).results;
    assert.deepEqual(
      rows.map((r) => [r.kind, r.status, r.error, r.attempts]),
      [
        ["fetch", "failed", "exchange_not_configured", 1],
        ["scan", "ok", null, 1],
      ],
    );
    const lines = w.log.lines.slice(before).join("\n");
    assert.doesNotMatch(lines, /run_queue_failed/);
    assert.equal((lines.match(/exchange_not_configured/g) ?? []).length, 1, "logged once, with its run");
  } finally {
    await w.dispose();
  }
});
