// Backtests in the BUILT worker over D1 (workerd via Miniflare): premium only; POST answers
// 202 and runs the first chunk (2000 candles) in the request; a longer run stays `running`
// (the scheduled job continues it) and holds the 1-running quota; results are the owner's
// only; bad input is a 400 with fields and writes nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { seedHourlyWalk } from "./seed-candles.mjs";
import { Browser } from "./browser-client.mjs";


let w;
let db;
before(async () => {
  w = await startWorker();
  db = await w.mf.getD1Database("DB");
});
after(async () => {
  await w?.dispose();
});

let seq = 0;
async function user(name, plan) {
  return Browser.user(w, `198.51.100.${++seq}`, name, { plan });
}

const seed = (symbol, n) => seedHourlyWalk(db, symbol, n);

test("premium runs a backtest: 202, results, owner-only, quotas, validation", async () => {
  const [from, to] = await seed("SOL/USDT", 1500);
  const body = { symbol: "SOL/USDT", tf: "1h", from, to, pattern_type: "imbalance", rr: 2, sl_buffer_pct: 10, name: "sol" };
  const pro = await user("btpro", "pro");
  let r = await pro.send("POST", "/api/v1/backtests", body);
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, "tier_required");

  const a = await user("btprem", "premium");
  r = await a.send("POST", "/api/v1/backtests", body);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.data.status, "done", "1500 candles fit the first chunk");
  const id = r.json.data.id;
  r = await a.send("GET", `/api/v1/backtests/${id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.backtest.progress, 100);
  assert.ok(r.json.data.trades.length > 0);
  assert.equal(r.json.data.stats.total, r.json.data.trades.length);
  const stored = await db.prepare("SELECT count(*) AS n FROM backtest_trades WHERE backtest_id = ?1").bind(id).first();
  assert.equal(stored.n, r.json.data.trades.length);

  // A long run stays running after its first chunk and holds the running quota.
  const [lf, lt] = await seed("AVAX/USDT", 2600);
  r = await a.send("POST", "/api/v1/backtests", { ...body, symbol: "AVAX/USDT", from: lf, to: lt });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.data.status, "running");
  assert.ok(r.json.data.progress > 70 && r.json.data.progress < 80, `${r.json.data.progress}`);
  r = await a.send("POST", "/api/v1/backtests", body);
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "quota_exceeded");

  const b = await user("btother", "premium");
  for (const [m, p] of [["GET", `/api/v1/backtests/${id}`], ["DELETE", `/api/v1/backtests/${id}`]]) {
    r = await b.send(m, p);
    assert.equal(r.status, 404, `${m} ${p}`);
  }
  const before = (await db.prepare("SELECT count(*) AS n FROM backtests").first()).n;
  r = await b.send("POST", "/api/v1/backtests", { ...body, tf: "1m", rr: 50, slippage_pct: 0.000000001, user_id: 1 });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.error.fields.map((f) => [f.field, f.code]), [["user_id", "unknown_field"]]);
  r = await b.send("POST", "/api/v1/backtests", { ...body, tf: "1m", rr: 50, slippage_pct: 0.000000001 });
  assert.equal(r.status, 400);
  assert.deepEqual(
    r.json.error.fields.map((f) => [f.field, f.code]).sort(),
    [["rr", "out_of_range"], ["slippage_pct", "too_many_decimals"], ["tf", "invalid_choice"]],
  );
  assert.equal((await db.prepare("SELECT count(*) AS n FROM backtests").first()).n, before);

  r = await a.send("DELETE", `/api/v1/backtests/${id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await db.prepare("SELECT count(*) AS n FROM backtest_trades WHERE backtest_id = ?1").bind(id).first()).n, 0);
});
