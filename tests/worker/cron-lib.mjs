// Shared helpers of the tests/worker/cron-*.test.mjs suites: the worker with the fake exchange
// as EXCHANGE_BASE_URL, symbol seeding, scheduled triggers, and reads of cron_runs / KV.
import { startWorker } from "./harness.mjs";
import { startExchange, MINUTE } from "../fakes/exchange.mjs";

export { MINUTE };
export const EVERY_MINUTE = "* * * * *";

/** The fake exchange (serving [start, end)) and the worker pointed at it. */
export async function startCronWorker({ start, end, symbols = ["BTCUSDT"], seed = 42, vars = {} }) {
  const ex = await startExchange({ port: 0, start, end, seed, symbols });
  const w = await startWorker({ vars: { EXCHANGE_BASE_URL: ex.url, ...vars } });
  const db = await w.mf.getD1Database("DB");
  const kv = await w.mf.getKVNamespace("KV");
  const worker = await w.mf.getWorker();
  return {
    ex,
    w,
    db,
    kv,
    /** One scheduled trigger at `ms`. */
    tick: (ms, cron = EVERY_MINUTE) => worker.scheduled({ cron, scheduledTime: new Date(ms) }),
    dispose: async () => {
      await w.dispose();
      await ex.close();
    },
  };
}

/** Adds active symbols (`BTC/USDT` form) that start fetching at `fetchStart`. */
export async function addSymbols(db, names, fetchStart) {
  const stmts = names.map((name) =>
    db
      .prepare("INSERT INTO symbols (symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at) VALUES (?1, 'binance', 1, 1, ?2, ?2)")
      .bind(name, fetchStart),
  );
  await db.batch(stmts);
}

/** The pipeline's runs, oldest first, with counts parsed. */
export async function runs(db) {
  const { results } = await db
    .prepare("SELECT r.id, r.status, r.error, r.counts, r.started_at, r.ended_at, r.duration_ms FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id WHERE j.name = 'pipeline' ORDER BY r.id")
    .all();
  return results.map((r) => ({ ...r, counts: r.counts ? JSON.parse(r.counts) : null }));
}

export async function count(db, sql, ...args) {
  const row = await db.prepare(sql).bind(...args).first();
  return Object.values(row)[0];
}

/** The exchange's rows as CLI candle JSON: [[ts, o, h, l, c, v], ...]. */
export const asCandles = (rows) => rows.map((r) => [r[0], ...r.slice(1, 6).map(Number)]);
