// The admin optimizer and the trading preferences in the BUILT worker over D1 (workerd via
// Miniflare): admin only (403) with CSRF, field-level 400s that write nothing, a job that
// advances chunk by chunk on the every-minute dispatch trigger to `done`, results, compare,
// apply to a user's preferences (source + run recorded, visible read-only to the user), clear
// and the user's own reset; trading prefs are pro+ (free: 403 tier_required) and validated.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { seedHourlyWalk } from "./seed-candles.mjs";
import { Browser, addresses } from "./browser-client.mjs";

const EVERY_MINUTE = "* * * * *";

let w;
let db;
let worker;
before(async () => {
  w = await startWorker();
  db = await w.mf.getD1Database("DB");
  worker = await w.mf.getWorker();
});
after(async () => {
  await w?.dispose();
});

const tick = () => worker.scheduled({ cron: EVERY_MINUTE, scheduledTime: new Date() });
const count = async (sql, ...args) => Object.values(await db.prepare(sql).bind(...args).first())[0];

let seq = 0;
async function user(name, { plan, admin } = {}) {
  // Each request its own client address: one "browser" here sends more than the 10/s per-IP
  // API limit allows (the limit is not what this suite tests).
  seq += 1;
  return Browser.user(w, addresses(`10.70.${seq}`), name, { plan, admin });
}

// Inactive: the pipeline of the same trigger leaves it alone (no exchange here).
const seed = (symbol, n) => seedHourlyWalk(db, symbol, n, { active: false });

const JOBS = "/api/v1/admin/optimizer/jobs";

test("optimizer: admin only, CSRF, validation, chunked progress to done, results, compare, apply, clear", async () => {
  const [from, to] = await seed("OPT/USDT", 1500);
  const body = { symbols: ["OPT/USDT"], tfs: ["1h"], pattern_types: ["imbalance"], from, to };
  const admin = await user("optadmin", { admin: true });
  const kim = await user("optkim", { plan: "premium" });

  // Non-admin: 403 on reads and writes, nothing written.
  for (const [m, p, b] of [["GET", JOBS], ["POST", JOBS, body], ["DELETE", `/api/v1/admin/optimizer/users/${kim.id}/params`]]) {
    const r = await kim.send(m, p, b);
    assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
  }
  // CSRF: an admin write without the token is refused.
  let r = await admin.send("POST", JOBS, body, { csrf: false });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, "csrf_failed");
  // Validation: field errors, nothing written.
  r = await admin.send("POST", JOBS, { ...body, symbols: ["NOPE/USDT"], tfs: ["1m"], pattern_types: ["nope"], slippage_pct: 9 });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, "validation_failed");
  const fields = r.json.error.fields.map((f) => f.field).sort();
  assert.deepEqual(fields, ["pattern_types", "slippage_pct", "symbols", "tfs"]);
  r = await admin.send("POST", JOBS, { ...body, grid: [1] });
  assert.equal(r.status, 400, "unknown member");
  r = await admin.send("POST", JOBS, { ...body, from: to, to: from });
  assert.equal(r.status, 400, r.text);
  assert.equal(await count("SELECT count(*) FROM optimization_jobs"), 0, "nothing written");

  // Create: 202 queued, the detection.md grid (5 × 7 × 3 = 105 runs), audited.
  r = await admin.send("POST", JOBS, body);
  assert.equal(r.status, 202, r.text);
  const job = r.json.data;
  assert.equal(job.status, "queued");
  assert.equal(job.total_runs, 105);
  assert.deepEqual(job.rr, [1, 2, 3, 4, 5]);
  assert.deepEqual(job.expiry_multiplier, [0.5, 1, 2]);
  assert.equal(await count("SELECT count(*) FROM audit_log WHERE action = 'optimizer.create'"), 1);

  // The dispatch trigger advances it chunk by chunk (2 chunks of 35 points per run).
  await tick();
  r = await admin.send("GET", `${JOBS}/${job.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.job.status, "running");
  const p1 = r.json.data.job.progress;
  assert.ok(p1 > 0 && p1 < 100, `progress ${p1}`);
  assert.equal(await count("SELECT count(*) FROM optimization_runs WHERE job_id = ?1", job.id), 70);
  await tick();
  r = await admin.send("GET", `${JOBS}/${job.id}?metric=win_rate`);
  assert.equal(r.status, 200, r.text);
  const detail = r.json.data;
  assert.equal(detail.job.status, "done");
  assert.equal(detail.job.progress, 100);
  assert.equal(detail.metric, "win_rate");
  assert.equal(detail.results.length, 100, "top 100 of 105");
  assert.ok(detail.best.length === 1 && detail.best[0].trade_count >= 10, JSON.stringify(detail.best));
  const wr = detail.results.map((x) => x.win_rate);
  assert.deepEqual(wr, [...wr].sort((a, b) => b - a), "best-first");
  await tick();
  assert.equal(await count("SELECT count(*) FROM optimization_runs WHERE job_id = ?1", job.id), 105, "nothing twice");

  r = await admin.send("GET", `${JOBS}/${job.id}?metric=nope`);
  assert.equal(r.status, 400);
  r = await admin.send("GET", `${JOBS}/999999`);
  assert.equal(r.status, 404);

  // List (keyset page) and compare.
  r = await admin.send("GET", `${JOBS}?limit=1`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data.map((j) => j.id), [job.id]);
  r = await admin.send("GET", `${JOBS}/${job.id}/compare/${job.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 1);
  assert.deepEqual(r.json.data[0].a, r.json.data[0].b);

  // Apply to kim: 200; the row records the source and the run; kim sees it read-only.
  r = await admin.send("POST", `${JOBS}/${job.id}/apply`, { user_id: kim.id, metric: "bogus" });
  assert.equal(r.status, 400, r.text);
  r = await admin.send("POST", `${JOBS}/${job.id}/apply`, { user_id: 999999, metric: "total_profit" });
  assert.equal(r.status, 404, r.text);
  r = await admin.send("POST", `${JOBS}/${job.id}/apply`, { user_id: kim.id, metric: "total_profit" });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data, { user_id: kim.id, symbols: 1 });
  const row = await db
    .prepare("SELECT params_source, optimization_run_id, pattern_params FROM user_symbol_preferences WHERE user_id = ?1")
    .bind(kim.id)
    .first();
  assert.equal(row.params_source, "optimizer");
  assert.ok(row.optimization_run_id > 0);
  assert.equal(JSON.parse(row.pattern_params).job_id, job.id);
  r = await kim.send("GET", "/api/v1/me/preferences/trading");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.tuned.length, 1);
  assert.equal(r.json.data.tuned[0].symbol, "OPT/USDT");
  assert.equal(r.json.data.tuned[0].run_id, row.optimization_run_id);
  assert.equal(r.json.data.tuned[0].entries[0].tf, "1h");

  // Clear (admin), then apply again and let kim reset her own.
  r = await admin.send("DELETE", `/api/v1/admin/optimizer/users/${kim.id}/params`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.symbols, 1);
  r = await kim.send("GET", "/api/v1/me/preferences/trading");
  assert.equal(r.json.data.tuned.length, 0);
  r = await admin.send("POST", `${JOBS}/${job.id}/apply`, { user_id: kim.id, metric: "total_profit" });
  assert.equal(r.status, 200, r.text);
  r = await kim.send("DELETE", "/api/v1/me/preferences/tuned", undefined, { csrf: false });
  assert.equal(r.status, 403, "CSRF on the user's reset");
  r = await kim.send("DELETE", "/api/v1/me/preferences/tuned");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.tuned.length, 0);
  for (const a of ["optimizer.apply", "optimizer.clear"]) {
    assert.ok((await count("SELECT count(*) FROM audit_log WHERE action = ?1", a)) >= 1, a);
  }
});

test("trading prefs: free is denied (tier_required), pro is validated field by field, null resets", async () => {
  const free = await user("tpfree");
  const pro = await user("tppro", { plan: "pro" });
  const TP = "/api/v1/me/preferences/trading";
  let r = await free.send("GET", TP);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.editable, false);
  assert.equal(r.json.data.risk_per_trade_pct, null);
  r = await free.send("PUT", TP, { risk_per_trade_pct: 1, default_rr: 2 });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, "tier_required");

  r = await pro.send("PUT", TP, { risk_per_trade_pct: 11, default_rr: 2.345 });
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(
    r.json.error.fields.map((f) => [f.field, f.code]),
    [["risk_per_trade_pct", "out_of_range"], ["default_rr", "too_many_decimals"]],
  );
  r = await pro.send("PUT", TP, { risk_per_trade_pct: "1" });
  assert.equal(r.status, 400, "wrong JSON type");
  r = await pro.send("PUT", TP, { risk_per_trade_pct: 1, leverage: 3 });
  assert.equal(r.status, 400, "unknown member");
  const stored = () => db.prepare("SELECT risk_per_trade, default_rr FROM users WHERE id = ?1").bind(pro.id).first();
  assert.deepEqual(await stored(), { risk_per_trade: null, default_rr: null }, "nothing written");

  r = await pro.send("PUT", TP, { risk_per_trade_pct: 1.5, default_rr: 2.5 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.risk_per_trade_pct, 1.5);
  assert.equal(r.json.data.default_rr, 2.5);
  assert.equal(r.json.data.editable, true);
  assert.deepEqual(await stored(), { risk_per_trade: 1.5, default_rr: 2.5 });
  r = await pro.send("PUT", TP, { risk_per_trade_pct: null });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(await stored(), { risk_per_trade: null, default_rr: null }, "null/absent = default");
});
