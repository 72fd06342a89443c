// The analytics read (`/stats`) and the admin stats, subscriptions and settings in the BUILT
// worker over D1 (workerd via Miniflare): the tier gate (free → tier_required, pro OK, a symbol
// above the tier refused), the admin gate (anonymous 401, non-admin 403, CSRF on the PUT),
// keyset pages and filters of the subscription list, settings validation that writes nothing,
// and one audit row per settings change. The stats cache is filled by the real stats job,
// triggered through the worker's scheduled handler.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { Browser, addresses } from "./browser-client.mjs";

const DAY = 86_400_000;

let w;
let db;
before(async () => {
  w = await startWorker();
  db = await w.mf.getD1Database("DB");
});
after(async () => {
  await w?.dispose();
});

/**
 * A browser-like client: keeps the session cookie and the CSRF token. Each request comes from
 * the next address of its /24 (`prefix`), so a test's burst stays under the 10/s per-IP API
 * limit without waiting.
 */
async function seedMarket() {
  const now = Date.now();
  for (const s of ["BTC/USDT", "DOGE/USDT"]) {
    await db.prepare("INSERT INTO symbols (symbol, created_at) VALUES (?1, ?2)").bind(s, now).run();
  }
  const id = async (s) => (await db.prepare("SELECT id FROM symbols WHERE symbol = ?1").bind(s).first()).id;
  const btc = await id("BTC/USDT");
  const doge = await id("DOGE/USDT");
  const pattern = (sym, tf, type, dir, status, at) =>
    db
      .prepare(
        `INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at, expires_at,
           status, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
         VALUES (?1, ?2, ?3, ?4, 100, 101, ?5, ?6, ?7, 101, 99, 102, 103, 104, 2, 1, 2, 3, ?5)`,
      )
      .bind(sym, tf, type, dir, at, at + DAY, status)
      .run();
  await pattern(btc, "1h", "imbalance", "bullish", "filled", now - 5000);
  await pattern(btc, "1h", "imbalance", "bullish", "filled", now - 4000);
  await pattern(btc, "4h", "order_block", "bearish", "expired", now - 3000);
  await pattern(btc, "4h", "order_block", "bearish", "active", now - 2000);
  await pattern(doge, "1h", "liquidity_sweep", "bullish", "invalidated", now - 1000);
  await db
    .prepare(
      `INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score,
         timeframes_aligned, status, created_at) VALUES (?1, 'long', 101, 99, 102, 103, 104, 3, 4, '1h,4h,1d', ?2, ?3)`,
    )
    .bind(btc, "closed", now)
    .run();
  // The real stats job, through the scheduled handler.
  const worker = await w.mf.getWorker();
  await worker.scheduled({ cron: "*/5 * * * *", scheduledTime: new Date(now) });
  const run = await db
    .prepare("SELECT r.status, r.error FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id WHERE j.name = 'stats'")
    .first();
  assert.equal(run?.status, "ok", JSON.stringify(run));
}

async function auditActions() {
  const { results } = await db.prepare("SELECT action, details FROM audit_log ORDER BY id").all();
  return results;
}

async function settingsRows() {
  const { results } = await db.prepare("SELECT key, value, updated_at FROM settings ORDER BY key").all();
  return results;
}

let free;
let pro;
let premium;
let admin;

test("analytics: free → 403 tier_required, pro sees its tier's symbols, premium sees all", async () => {
  await seedMarket();
  free = await Browser.user(w, addresses("10.60.0"), "freeuser");
  pro = await Browser.user(w, addresses("10.61.0"), "prouser", { plan: "pro", planDays: 3, createdAt: 1_000 });
  premium = await Browser.user(w, addresses("10.62.0"), "premiumuser", { plan: "premium", planDays: 40, createdAt: 2_000 });

  const anon = new Browser(addresses("10.63.0"), w);
  assert.equal((await anon.send("GET", "/api/v1/stats")).status, 401);

  let r = await free.send("GET", "/api/v1/stats");
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, "tier_required");

  r = await pro.send("GET", "/api/v1/stats");
  assert.equal(r.status, 200, r.text);
  const a = r.json.data;
  assert.equal(a.scope, "pro");
  assert.ok(a.computed_at > 0);
  // DOGE/USDT is premium-only: the pro totals leave it out.
  assert.equal(a.patterns.total, 4);
  assert.equal(a.rates.ended, 3);
  assert.equal(a.rates.fill, 0.6667);
  assert.equal(a.rates.invalidation, 0);
  assert.deepEqual(
    a.by_type.map((t) => [t.key, t.total]),
    [["imbalance", 2], ["order_block", 2], ["liquidity_sweep", 0]],
  );
  assert.equal(a.by_tf.length, 8);
  assert.equal(a.by_direction.find((d) => d.key === "bearish").active, 1);
  assert.equal(a.signals_total, 1);
  assert.equal(a.signals_by_status.find((s) => s.key === "closed").count, 1);

  r = await pro.send("GET", "/api/v1/stats?symbol=DOGE-USDT");
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, "tier_required");
  r = await pro.send("GET", "/api/v1/stats?symbol=BTC%2FUSDT");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.scope, "BTC/USDT");
  r = await pro.send("GET", "/api/v1/stats?symbol=ETH-USDT");
  assert.equal(r.status, 404, "a pro symbol the job has not seen");
  r = await pro.send("GET", "/api/v1/stats?symbol=nope");
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, "validation_failed");
  r = await pro.send("GET", "/api/v1/stats?tf=1h");
  assert.equal(r.status, 400);

  r = await premium.send("GET", "/api/v1/stats");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.scope, "premium");
  assert.equal(r.json.data.patterns.total, 5);
  assert.equal(r.json.data.rates.invalidation, 0.25);
  r = await premium.send("GET", "/api/v1/stats?symbol=DOGE-USDT");
  assert.equal(r.status, 200, r.text);
});

test("admin routes: anonymous 401, non-admin 403 on every one", async () => {
  const anon = new Browser(addresses("10.64.0"), w);
  for (const p of ["/api/v1/admin/stats", "/api/v1/admin/subscriptions", "/api/v1/admin/settings"]) {
    assert.equal((await anon.send("GET", p)).status, 401, p);
    const r = await premium.send("GET", p);
    assert.equal(r.status, 403, p);
    assert.equal(r.json.error.code, "forbidden");
  }
  const r = await premium.send("PUT", "/api/v1/admin/settings", { min_confluence: 4 });
  assert.equal(r.status, 403);
  assert.deepEqual(await auditActions(), []);
});

test("admin stats and the subscription list: counts, filters, keyset pages", async () => {
  admin = await Browser.user(w, addresses("10.65.0"), "chief", { admin: true, plan: "lifetime", createdAt: 3_000 });
  let r = await admin.send("GET", "/api/v1/admin/stats");
  assert.equal(r.status, 200, r.text);
  const s = r.json.data;
  assert.equal(s.users.total, 4);
  assert.equal(s.users.admins, 1);
  assert.deepEqual(
    [s.subscriptions.active_pro, s.subscriptions.active_premium, s.subscriptions.active_lifetime],
    [1, 1, 1],
  );
  assert.equal(s.subscriptions.expiring_in_window, 1, "the pro plan ends in 3 days");
  assert.equal(s.window_days, 7);
  assert.equal(s.analytics.patterns.total, 5);

  // Newest first, one per page.
  const seen = [];
  let cursor = null;
  for (let i = 0; i < 5; i++) {
    r = await admin.send("GET", `/api/v1/admin/subscriptions?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
    assert.equal(r.status, 200, r.text);
    seen.push(...r.json.data.map((x) => x.username));
    cursor = r.json.meta.next_cursor;
    if (!cursor) break;
  }
  assert.deepEqual(seen, ["chief", "premiumuser", "prouser"]);

  r = await admin.send("GET", "/api/v1/admin/subscriptions?plan=pro");
  assert.deepEqual(r.json.data.map((x) => x.email), ["prouser@example.com"]);
  r = await admin.send("GET", "/api/v1/admin/subscriptions?expiring_within_days=7");
  assert.deepEqual(r.json.data.map((x) => x.username), ["prouser"]);
  r = await admin.send("GET", "/api/v1/admin/subscriptions?status=suspended");
  assert.deepEqual(r.json.data, []);
  r = await admin.send("GET", "/api/v1/admin/subscriptions?plan=gold&limit=0&expiring_within_days=999");
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.error.fields.map((f) => f.field).sort(), ["expiring_within_days", "limit", "plan"]);
  r = await admin.send("GET", "/api/v1/admin/subscriptions?cursor=zz");
  assert.equal(r.status, 400);
});

test("settings: CSRF on PUT, every bad field reported with nothing written, a change audited", async () => {
  let r = await admin.send("GET", "/api/v1/admin/settings");
  assert.equal(r.status, 200, r.text);
  const before = r.json.data;
  assert.equal(before.min_confluence, 3);
  assert.equal(before.retention_logs_days, 30);
  assert.equal(before.global_topic, null);
  assert.equal(before.log_level, "info");
  const rowsBefore = await settingsRows();

  const csrf = admin.csrf;
  admin.csrf = null;
  r = await admin.send("PUT", "/api/v1/admin/settings", { min_confluence: 4 });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "csrf_failed");
  admin.csrf = csrf;
  r = await admin.send("PUT", "/api/v1/admin/settings", { min_confluence: 4 }, { headers: { origin: "https://evil.example" } });
  assert.equal(r.status, 403);

  r = await admin.send("PUT", "/api/v1/admin/settings", {
    min_confluence: 9,
    cooldown_hours: -1,
    global_topic: "has spaces",
    log_level: "loud",
    retention_logs_days: 0,
    retention_batch_size: 6000,
  });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, "validation_failed");
  assert.deepEqual(
    r.json.error.fields.map((f) => f.field),
    ["min_confluence", "cooldown_hours", "global_topic", "log_level", "retention_logs_days", "retention_batch_size"],
  );
  r = await admin.send("PUT", "/api/v1/admin/settings", { global_topic_enabled: true });
  assert.equal(r.status, 400, "enabling needs a topic");
  r = await admin.send("PUT", "/api/v1/admin/settings", { surprise: 1 });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.fields[0].code, "unknown_field");
  r = await admin.send("PUT", "/api/v1/admin/settings", { min_confluence: "4" });
  assert.equal(r.status, 400);
  assert.deepEqual(await settingsRows(), rowsBefore, "nothing written");
  assert.deepEqual(await auditActions(), []);

  r = await admin.send("PUT", "/api/v1/admin/settings", {
    min_confluence: 4,
    global_topic: "cryptolens-all",
    global_topic_enabled: true,
    retention_logs_days: null,
    log_level: "warn",
  });
  assert.equal(r.status, 200, r.text);
  const after = r.json.data;
  assert.equal(after.min_confluence, 4);
  assert.equal(after.global_topic, "cryptolens-all");
  assert.equal(after.retention_logs_days, null);
  assert.equal(after.retention_cron_runs_days, 30, "absent members keep their value");
  assert.ok(after.updated_at > 0);
  const stored = Object.fromEntries((await settingsRows()).map((x) => [x.key, x.value]));
  assert.equal(stored["signal.min_confluence"], "4");
  assert.equal(stored["retention.logs_days"], "null");
  assert.equal(stored["notify.global_topic"], '"cryptolens-all"');
  const audit = await auditActions();
  assert.equal(audit.length, 1);
  assert.equal(audit[0].action, "settings.update");
  assert.deepEqual(JSON.parse(audit[0].details).changed.sort(), [
    "log.level",
    "notify.global_topic",
    "notify.global_topic_enabled",
    "retention.logs_days",
    "signal.min_confluence",
  ]);

  // The same values again change nothing and write no audit row.
  r = await admin.send("PUT", "/api/v1/admin/settings", { min_confluence: 4 });
  assert.equal(r.status, 200);
  assert.equal((await auditActions()).length, 1);
  r = await admin.send("GET", "/api/v1/admin/settings");
  assert.equal(r.json.data.log_level, "warn");
});
