// Benchmark: one scheduled pipeline tick for 100 symbols × 8 TFs in workerd (Miniflare, local
// D1/KV) against the fake exchange: wall time, D1 round trips (the run's cron_runs counts, from
// D1Store's counter; a batch is one) and D1 statements (the invocation's `job_run` log line,
// every statement of a batch counted) per tick, with the natural active patterns, after 16,000
// extra active patterns are stored, and when those 16,000 all expire in the same tick.
// Prints a markdown fragment. Usage: node tests/bench/pipeline-tick.mjs
import { startCronWorker, addSymbols, runs, count, MINUTE } from "../worker/cron-lib.mjs";

const SYMBOLS = Number(process.env.PIPELINE_BENCH_SYMBOLS ?? 100);
const WARM = Number(process.env.PIPELINE_BENCH_WARM_MINUTES ?? 600);
const T0 = Date.UTC(2024, 0, 1);
const TFS = ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"];
const names = Array.from({ length: SYMBOLS }, (_, i) => `S${i + 1}/USDT`);

/** The D1 statements of the last pipeline invocation, from its `job_run` log line. */
function lastStatements(c) {
  for (let i = c.w.log.lines.length - 1; i >= 0; i--) {
    const line = String(c.w.log.lines[i]);
    const m = line.includes('"job_run"') && line.match(/"d1_statements":(\d+)/);
    if (m) return Number(m[1]);
  }
  return NaN;
}

async function measure(c, min, label) {
  const t0 = performance.now();
  await c.tick(T0 + min * MINUTE);
  const wall = performance.now() - t0;
  const st = lastStatements(c);
  const run = (await runs(c.db)).at(-1);
  if (run.status === "failed") throw new Error(`${label}: run failed: ${run.error}`);
  const patterns = await count(c.db, "SELECT COUNT(*) FROM patterns WHERE status = 'active'");
  const q = run.counts.queries;
  return {
    row: `| ${label} | ${run.status} | ${run.counts.symbols} | ${patterns.toLocaleString()} | ${run.counts.signals} | ${wall.toFixed(0)} | ${q} | ${(q / run.counts.symbols).toFixed(1)} | ${st} |`,
    perSymbol: q / run.counts.symbols,
    stPer: st / run.counts.symbols,
    wallPer: wall / run.counts.symbols,
  };
}

const c = await startCronWorker({
  start: T0,
  end: T0 + (WARM + 4) * MINUTE,
  symbols: names.map((s) => s.replace("/", "")),
  // One pass over every symbol per tick, so the tick's full cost is measured.
  vars: { PIPELINE_MAX_QUERIES: "100000", PIPELINE_BUDGET_MS: "50000" },
});
try {
  await addSymbols(c.db, names, T0);
  // Warm-up: the backfill of WARM minutes per symbol (may take several runs).
  for (let k = 0; k < 20; k++) {
    await c.tick(T0 + WARM * MINUTE);
    if ((await runs(c.db)).at(-1).status === "ok") break;
  }
  const a = await measure(c, WARM + 1, "steady minute");

  // 20 active patterns per symbol and TF, far below price: loaded every tick, never changed.
  const tf = `CASE r.i % 8 ${TFS.map((t, k) => `WHEN ${k} THEN '${t}'`).join(" ")} END`;
  await c.db.exec(`WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < 159)
    INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
      expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
    SELECT s.id, ${tf}, 'imbalance', 'bullish', 1.0 + (r.i / 8) * 0.001, 1.0005 + (r.i / 8) * 0.001,
      ${T0} + (r.i / 8) * 60000 + (r.i % 8) + 1, ${T0 + 10 * 86_400_000}, 'active', 0, 1.0, 0.9, 1.1, 1.2, 1.3, 0.1,
      1, 2, 3, ${T0}
    FROM symbols s CROSS JOIN r`.replace(/\s+/g, " "));
  const b = await measure(c, WARM + 2, "steady minute, +16k active patterns");

  // The same 16,000 all expire at the next tick: 16,000 status changes in one tick.
  await c.db.exec(`UPDATE patterns SET expires_at = ${T0 + (WARM + 3) * MINUTE - 1} WHERE created_at = ${T0} AND status = 'active'`);
  const e = await measure(c, WARM + 3, "the 16k expire in this tick");

  const perSymbol = Math.max(a.perSymbol, b.perSymbol, e.perSymbol);
  const fitPaid = Math.floor((1000 - 8) / perSymbol);
  const fitFree = Math.floor((50 - 8) / perSymbol);
  console.log(`### Pipeline tick: ${SYMBOLS} symbols × 8 TFs (workerd, local D1, fake exchange)

| tick | status | symbols done | active patterns | signals | wall ms | D1 round trips | per symbol | D1 statements |
|---|---|---|---|---|---|---|---|---|
${a.row}
${b.row}
${e.row}

Per symbol done, as ratios to the first row (same run; rows 2 / 3): round trips
×${(b.perSymbol / a.perSymbol).toFixed(2)} / ×${(e.perSymbol / a.perSymbol).toFixed(2)}, statements ×${(b.stPer / a.stPer).toFixed(2)} / ×${(e.stPer / a.stPer).toFixed(2)}, wall ×${(b.wallPer / a.wallPer).toFixed(2)} / ×${(e.wallPer / a.wallPer).toFixed(2)}.

- Neither D1 round trips nor statements grow with the number of stored patterns: new
  patterns, status changes and candles are one JSON statement per call, and the notification
  fan-out reads every new signal's context and eligibility in one statement each (issue #7;
  pinned by tests/worker/pipeline-queries.test.mjs). The run's own bookkeeping — job, lease,
  run start/finish, release — is included; the notifier's per-signal global-topic queue (when
  configured) and per-sent-row writes are not patterns but deliveries.
- D1 allows 1,000 queries per Worker invocation on Workers Paid and 50 on Free. At about
  ${perSymbol.toFixed(1)} round trips per symbol, one invocation fits about ${fitPaid} symbols (Paid) or ${fitFree} (Free):
  ${SYMBOLS} symbols ${fitPaid >= SYMBOLS ? "fit" : "do NOT fit"} in one Paid invocation. The job therefore stops at a query budget
  (\`PIPELINE_MAX_QUERIES\`, default 950) and stores a symbol cursor; the next tick continues there
  (docs/pipeline.md, "Symbol batches"). Each symbol also costs at least one exchange subrequest.
- Local workerd timings; production D1 adds network latency per round trip.`);
} finally {
  await c.dispose();
}
