// Notifications end to end in workerd: the scheduled pipeline against the fake exchange raises
// signals, and the per-user fan-out (ONE eligibility query, user_notifications, ntfy through
// the KV breaker) delivers them to the fake ntfy server.
//
// Data: seed 42, BTC/USDT and ETH/USDT from 2024-01-01. The first run (2024-01-03 00:00 UTC,
// after a two-day backfill) raises a BTC short and an ETH long, both from a 4h imbalance with
// confluence 5 (the same signals `cryptolens replay` gives; see cron-replay.test.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNtfy } from "../fakes/ntfy.mjs";
import { startCronWorker, addSymbols, runs, count, MINUTE } from "./cron-lib.mjs";

const START = Date.UTC(2024, 0, 1);
const BACKFILL = 2_880;
const at = (min) => START + min * MINUTE;
const topic = (n) => `cl_${n.toString(16).padStart(16, "0")}`;

/** Users: one per rule. `sub` = [plan, status] of an active subscription, or none (free). */
async function addUser(db, n, { verified = true, sub, prefs = {} } = {}) {
  const cols = { notify_enabled: 1, notify_directions: "both", notify_min_confluence: 2, quiet_start_min: null, quiet_end_min: null, ...prefs };
  const { meta } = await db
    .prepare(
      `INSERT INTO users (email, username, password_hash, is_verified, ntfy_topic, notify_enabled, notify_directions,
         notify_min_confluence, quiet_start_min, quiet_end_min, created_at)
       VALUES (?1, ?2, 'x', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`,
    )
    .bind(`u${n}@example.com`, `user${n}`, verified ? 1 : 0, topic(n), cols.notify_enabled, cols.notify_directions,
      cols.notify_min_confluence, cols.quiet_start_min, cols.quiet_end_min, START)
    .run();
  const id = meta.last_row_id;
  if (sub) {
    await db
      .prepare("INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider, created_at, updated_at) VALUES (?1, ?2, 'active', ?3, ?4, 'admin', ?3, ?3)")
      .bind(id, sub, START, START + 60 * 86_400_000)
      .run();
  }
  return id;
}

const script = (n, body) =>
  fetch(`${n.url}/__script`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const byTopic = (n, t) => n.messages.filter((m) => m.topic === t);

async function start({ symbols }) {
  const ntfy = await startNtfy({ port: 0 });
  const c = await startCronWorker({
    start: START,
    end: at(BACKFILL + 60),
    symbols: symbols.map((s) => s.replace("/", "")),
    vars: { NTFY_BASE_URL: ntfy.url },
  });
  await addSymbols(c.db, symbols, START);
  return { c, ntfy, dispose: async () => { await c.dispose(); await ntfy.close(); } };
}

test("signals reach exactly the eligible users, once, with the §5 format; free waits 10 minutes", async () => {
  const { c, ntfy, dispose } = await start({ symbols: ["BTC/USDT", "ETH/USDT"] });
  try {
    const db = c.db;
    const u = {
      premium: await addUser(db, 1, { sub: "premium" }),
      pro: await addUser(db, 2, { sub: "pro" }),
      free: await addUser(db, 3),
      unverified: await addUser(db, 4, { verified: false, sub: "premium" }),
      // 23:00–01:00 wraps midnight and holds the signals' 00:00.
      quiet: await addUser(db, 5, { sub: "premium", prefs: { quiet_start_min: 1380, quiet_end_min: 60 } }),
      longOnly: await addUser(db, 6, { sub: "premium", prefs: { notify_directions: "long" } }),
      shortOnly: await addUser(db, 7, { sub: "premium", prefs: { notify_directions: "short" } }),
      freeAtCap: await addUser(db, 8),
      mutedBtc: await addUser(db, 9, { sub: "premium" }),
      off: await addUser(db, 10, { sub: "pro", prefs: { notify_enabled: 0 } }),
      picky: await addUser(db, 11, { sub: "lifetime", prefs: { notify_min_confluence: 6 } }),
    };
    const btc = await count(db, "SELECT id FROM symbols WHERE symbol = 'BTC/USDT'");
    await db.prepare("INSERT INTO user_symbol_preferences (user_id, symbol_id, notify_enabled, updated_at) VALUES (?1, ?2, 0, ?3)").bind(u.mutedBtc, btc, START).run();
    // The free user at the cap: one successful send today, for an old signal of another symbol.
    await db.prepare("INSERT INTO symbols (symbol, is_active, created_at) VALUES ('DUM/USDT', 0, ?1)").bind(START).run();
    const dum = await count(db, "SELECT id FROM symbols WHERE symbol = 'DUM/USDT'");
    const { meta } = await db
      .prepare("INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score, timeframes_aligned, status, created_at) VALUES (?1, 'long', 1, 0.9, 1.1, 1.2, 1.3, 3, 7, '1d', 'closed', ?2)")
      .bind(dum, at(BACKFILL) - 1)
      .run();
    await db
      .prepare("INSERT INTO user_notifications (user_id, signal_id, status, deliver_at, sent_at, created_at) VALUES (?1, ?2, 'sent', ?3, ?3, ?3)")
      .bind(u.freeAtCap, meta.last_row_id, at(BACKFILL))
      .run();

    // The backfill run raises the two signals and sends the immediate deliveries.
    await c.tick(at(BACKFILL));
    const signals = (await db.prepare("SELECT g.id, s.symbol, g.direction, g.confluence_score, g.timeframes_aligned, g.status, g.notified_at, g.created_at, g.entry, p.pattern_type, p.tf FROM signals g JOIN symbols s ON s.id = g.symbol_id JOIN patterns p ON p.id = g.pattern_id ORDER BY g.id").all()).results;
    assert.deepEqual(
      signals.map((s) => [s.symbol, s.direction, s.pattern_type, s.tf, s.confluence_score, s.created_at]),
      [["BTC/USDT", "short", "imbalance", "4h", 5, at(BACKFILL)], ["ETH/USDT", "long", "imbalance", "4h", 5, at(BACKFILL)]],
    );
    const expected = {
      [topic(1)]: ["BTC/USDT", "ETH/USDT"],
      [topic(2)]: ["BTC/USDT", "ETH/USDT"],
      [topic(6)]: ["ETH/USDT"],
      [topic(7)]: ["BTC/USDT"],
      [topic(9)]: ["ETH/USDT"],
    };
    const seen = () => Object.fromEntries(
      [...new Set(ntfy.messages.map((m) => m.topic))].map((t) => [t, byTopic(ntfy, t).map((m) => m.title.split(" ")[2]).sort()]),
    );
    assert.deepEqual(seen(), expected, "only the eligible users, one message per signal");
    for (const s of signals) assert.equal(s.status, "notified");

    // The format of §5: marker, side, symbol, abbreviation, TF; levels, R:R, confluence n/7.
    const [btcMsg] = byTopic(ntfy, topic(7));
    assert.equal(btcMsg.title, "🔴 SHORT BTC/USDT FVG 4h");
    assert.deepEqual(btcMsg.tags, ["short", "BTC", "FVG"]);
    assert.equal(btcMsg.priority, 4);
    const lines = btcMsg.message.split("\n");
    assert.equal(lines[0], "Time: 03/01/2024 00:00 UTC");
    assert.match(lines[1], /^Price: [\d,]+\.\d{2,4}$/);
    assert.match(lines[2], /^Entry: [\d,.]+ \([+-]\d+\.\d{2}% vs price\)$/);
    assert.match(lines[3], /^Stop loss: [\d,.]+$/);
    for (const [i, k] of [[4, 1], [5, 2], [6, 3]]) assert.match(lines[i], new RegExp(`^TP${k}: [\\d,.]+ \\(-\\d+\\.\\d{2}%\\)$`));
    assert.match(lines[7], /^R:R 1:\d+\.\d{2}$/);
    const btcSignal = signals[0];
    assert.equal(lines[8], `Confluence: 5/7 (${btcSignal.timeframes_aligned.split(",").join(", ")})`);

    // The free user's delivery waits 10 minutes; minute runs deliver it then, once.
    const freeRow = await db.prepare("SELECT status, deliver_at FROM user_notifications WHERE user_id = ?1").bind(u.free).first();
    assert.deepEqual(freeRow, { status: "queued", deliver_at: at(BACKFILL + 10) });
    for (let m = 1; m <= 9; m++) await c.tick(at(BACKFILL + m));
    assert.equal(byTopic(ntfy, topic(3)).length, 0, "not before 10 minutes");
    await c.tick(at(BACKFILL + 10));
    assert.deepEqual(byTopic(ntfy, topic(3)).map((m) => m.title), ["🔴 SHORT BTC/USDT FVG 4h"]);
    const sentFree = await db.prepare("SELECT status, sent_at FROM user_notifications WHERE user_id = ?1").bind(u.free).first();
    assert.equal(sentFree.status, "sent");
    // The run clock: the scheduled time plus the run's elapsed time.
    assert.ok(sentFree.sent_at >= at(BACKFILL + 10) && sentFree.sent_at < at(BACKFILL + 11), `${sentFree.sent_at}`);

    // Double triggers (one after the other, then two at once) send nothing twice.
    const total = ntfy.messages.length;
    await c.tick(at(BACKFILL + 11));
    await c.tick(at(BACKFILL + 11));
    await Promise.all([c.tick(at(BACKFILL + 12)), c.tick(at(BACKFILL + 12))]);
    assert.equal(ntfy.messages.length, total);
    assert.equal(total, 8);
    assert.equal(await count(db, "SELECT COUNT(*) FROM user_notifications WHERE status = 'sent' AND signal_id IN (SELECT id FROM signals WHERE status = 'notified')"), 8);
    assert.equal(await count(db, "SELECT COUNT(*) FROM user_notifications WHERE status <> 'sent'"), 0);

    // The run records the fan-out.
    const [first] = await runs(db);
    assert.equal(first.status, "ok", first.error);
    assert.equal(first.counts["notify.queued"], 8);
    assert.equal(first.counts["notify.sent"], 7);
  } finally {
    await dispose();
  }
});

test("ntfy 500s: the delivery is recorded failed, the breaker opens, the run is recorded, the rest waits", async () => {
  const { c, ntfy, dispose } = await start({ symbols: ["BTC/USDT"] });
  try {
    for (const n of [1, 2, 3]) await addUser(c.db, n, { sub: "premium" });
    await script(ntfy, { steps: [{ status: 500, times: 1000 }] });
    await c.tick(at(BACKFILL));

    const rows = (await c.db.prepare("SELECT user_id, status, error, attempts FROM user_notifications ORDER BY user_id").all()).results;
    assert.equal(rows.length, 3);
    assert.equal(rows[0].status, "failed");
    assert.match(rows[0].error, /500/);
    // The breaker opened on the 5th failed try (3 + 2): the others are left queued.
    assert.deepEqual(rows.slice(1).map((r) => r.status), ["queued", "queued"]);
    const breaker = JSON.parse(await c.kv.get("breaker:ntfy"));
    assert.equal(breaker.state, "open");
    const run = (await runs(c.db)).at(-1);
    assert.equal(run.status, "ok");
    assert.equal(run.counts.signals, 1);
    assert.equal(run.counts["notify.failed"], 1);
    assert.equal(run.counts["notify.deferred"], 2);
    assert.match(run.error, /notifications deferred/);
    assert.equal(ntfy.messages.length, 0);
    // The exchange's breaker is untouched: one upstream's outage does not stop the other.
    assert.notEqual(JSON.parse((await c.kv.get("breaker:exchange")) ?? '{"state":"closed"}').state, "open");

    // Healthy again: after the claim lease (5 min) the queued two go out, the failed one never.
    await fetch(`${ntfy.url}/__reset`, { method: "POST" });
    await c.tick(at(BACKFILL + 6));
    assert.deepEqual(ntfy.messages.map((m) => m.topic).sort(), [topic(2), topic(3)]);
    const after = (await c.db.prepare("SELECT status FROM user_notifications ORDER BY user_id").all()).results;
    assert.deepEqual(after.map((r) => r.status), ["failed", "sent", "sent"]);
    assert.equal(JSON.parse(await c.kv.get("breaker:ntfy")).state, "closed");
    assert.equal(await count(c.db, "SELECT COUNT(*) FROM signals WHERE status = 'notified'"), 1);
  } finally {
    await dispose();
  }
});
