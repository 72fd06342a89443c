// Benchmark: one scheduled pipeline tick for 100 symbols × 8 TFs in workerd (Miniflare, local
// D1/KV) against the fake exchange: wall time and D1 round trips per tick (from the run's
// cron_runs counts, which come from D1Store's counters), before and after 16,000 extra active
// patterns are stored. Prints a markdown fragment. Usage: node tests/bench/pipeline-tick.mjs
import { startCronWorker, addSymbols, runs, count, MINUTE } from "../worker/cron-lib.mjs";

const SYMBOLS = Number(process.env.PIPELINE_BENCH_SYMBOLS ?? 100);
const WARM = Number(process.env.PIPELINE_BENCH_WARM_MINUTES ?? 600);
const T0 = Date.UTC(2024, 0, 1);
const TFS = ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"];
const names = Array.from({ length: SYMBOLS }, (_, i) => `S${i + 1}/USDT`);

async function measure(c, min, label) {
  const t0 = performance.now();
  await c.tick(T0 + min * MINUTE);
  const wall = performance.now() - t0;
  const run = (await runs(c.db)).at(-1);
  if (run.status === "failed") throw new Error(`${label}: run failed: ${run.error}`);
  const patterns = await count(c.db, "SELECT COUNT(*) FROM patterns WHERE status = 'active'");
  const q = run.counts.queries;
  return {
    row: `| ${label} | ${run.status} | ${run.counts.symbols} | ${patterns.toLocaleString()} | ${wall.toFixed(0)} | ${q} | ${(q / run.counts.symbols).toFixed(1)} |`,
    perSymbol: q / run.counts.symbols,
  };
}

const c = await startCronWorker({
  start: T0,
  end: T0 + (WARM + 3) * MINUTE,
  symbols: names.map((s) => s.replace("/", "")),
  // One pass over every symbol per tick, so the tick's full cost is measured.
  vars: { PIPELINE_MAX_QUERIES: "100000", PIPELINE_BUDGET_MS: "25000" },
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

  const perSymbol = Math.max(a.perSymbol, b.perSymbol);
  const fitPaid = Math.floor((1000 - 8) / perSymbol);
  const fitFree = Math.floor((50 - 8) / perSymbol);
  console.log(`### Pipeline tick: ${SYMBOLS} symbols × 8 TFs (workerd, local D1, fake exchange)

| tick | status | symbols done | active patterns | wall ms | D1 round trips | per symbol |
|---|---|---|---|---|---|---|
${a.row}
${b.row}

- D1 round trips per tick do not grow with the number of stored patterns (a batch counts once;
  the run's own bookkeeping — job, lease, run start/finish, release — is included): each symbol
  stays within 1 + 22 calls, and the small difference between the rows comes from that minute's
  own candidates (the \`pattern_keys\`, insert and status calls are 0–1 each), not from the
  16,000 loaded patterns.
- D1 allows 1,000 queries per Worker invocation on Workers Paid and 50 on Free. At about
  ${perSymbol.toFixed(1)} round trips per symbol, one invocation fits about ${fitPaid} symbols (Paid) or ${fitFree} (Free):
  ${SYMBOLS} symbols ${fitPaid >= SYMBOLS ? "fit" : "do NOT fit"} in one Paid invocation. The job therefore stops at a query budget
  (\`PIPELINE_MAX_QUERIES\`, default 950) and stores a symbol cursor; the next tick continues there
  (docs/pipeline.md, "Symbol batches"). Each symbol also costs at least one exchange subrequest.
- Local workerd timings; production D1 adds network latency per round trip.`);
} finally {
  await c.dispose();
}
