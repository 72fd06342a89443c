// Issue #7: the D1 queries of a pipeline tick do not grow with the number of patterns. Two
// worlds get the same symbols, the same fake exchange (same seed) and the same triggers; before
// the measured tick, world "few" holds 1 extra active pattern per symbol and TF (16), world
// "many" 150 (2,400). Every extra pattern expires in the
// measured tick and they make the same signals, so both worlds take the same steps: the D1
// round trips (cron_runs counts, a batch counts once) AND the statements (the invocation's
// `job_run` log line, every statement of a batch counted) must be equal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startCronWorker, addSymbols, runs, count, MINUTE } from "./cron-lib.mjs";

const T0 = Date.UTC(2024, 0, 1);
const WARM = 240;
const at = (min) => T0 + min * MINUTE;
const TFS = ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"];
const NAMES = ["BTC/USDT", "ETH/USDT"];

/** D1 statements of the last pipeline invocation, from its `job_run` log line. */
function lastStatements(c) {
  for (let i = c.w.log.lines.length - 1; i >= 0; i--) {
    const line = String(c.w.log.lines[i]);
    const m = line.includes('"job_run"') && line.match(/"d1_statements":(\d+)/);
    if (m) return Number(m[1]);
  }
  return NaN;
}

/** Warms a fresh world up, stores `perTf` extra bullish patterns per symbol and TF far below
 * the price that expire during the next tick, runs that tick and reports its cost. */
async function world(perTf) {
  const c = await startCronWorker({
    start: T0,
    end: at(WARM + 3),
    symbols: NAMES.map((s) => s.replace("/", "")),
    vars: { PIPELINE_MAX_QUERIES: "100000", PIPELINE_BUDGET_MS: "600000" },
  });
  try {
    await addSymbols(c.db, NAMES, T0);
    await c.tick(at(WARM));
    assert.equal((await runs(c.db)).at(-1).status, "ok");
    const n = perTf * TFS.length;
    const tf = `CASE r.i % 8 ${TFS.map((t, k) => `WHEN ${k} THEN '${t}'`).join(" ")} END`;
    await c.db.exec(`WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < ${n - 1})
      INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
        expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
      SELECT s.id, ${tf}, 'imbalance', 'bullish', 1.0 + (r.i / 8) * 0.001, 1.0005 + (r.i / 8) * 0.001,
        ${T0} + (r.i / 8) * 60000 + (r.i % 8) + 1, ${at(WARM + 1) - 1}, 'active', 0, 1.0, 0.9, 1.1, 1.2,
        1.3, 0.1, 1, 2, 3, ${T0}
      FROM symbols s CROSS JOIN r`.replace(/\s+/g, " "));
    const extra = `SELECT COUNT(*) FROM patterns WHERE created_at = ${T0} AND status = 'active'`;
    assert.equal(await count(c.db, extra), n * NAMES.length);

    await c.tick(at(WARM + 1));
    const run = (await runs(c.db)).at(-1);
    assert.equal(run.status, "ok", run.error);
    assert.equal(await count(c.db, extra), 0, "every extra pattern expired in the tick");
    return { roundTrips: run.counts.queries, statements: lastStatements(c), signals: run.counts.signals, expired: n * NAMES.length };
  } finally {
    await c.dispose();
  }
}

test("a tick's D1 round trips and statements are the same with 16 or 2,400 expiring patterns", async () => {
  const few = await world(1);
  const many = await world(150);
  assert.equal(many.expired, 150 * few.expired);
  assert.equal(many.signals, few.signals, "the same signals in both worlds");
  assert.ok(Number.isFinite(few.statements), "the job_run log line carries d1_statements");
  assert.deepEqual(
    { roundTrips: many.roundTrips, statements: many.statements },
    { roundTrips: few.roundTrips, statements: few.statements },
    `few: ${JSON.stringify(few)}, many: ${JSON.stringify(many)}`,
  );
});
