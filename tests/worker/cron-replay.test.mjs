// The scheduled pipeline, minute by minute, against the fake exchange, compared with
// `cryptolens replay` over the same candles, steps, clock and settings: both run the one
// pipeline code path (cl_app::pipeline), so the stored patterns and signals must be equal.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./harness.mjs";
import { generateCandles } from "../fakes/exchange.mjs";
import { startCronWorker, addSymbols, runs, count, asCandles, MINUTE } from "./cron-lib.mjs";
import { readerSession, withCookie } from "./read-auth.mjs";

const START = Date.UTC(2024, 0, 1);
const BACKFILL = 2_880; // the first run catches up two days (3 pages)
const MINUTES = 90; // then one run per simulated minute
const END = START + (BACKFILL + MINUTES) * MINUTE;
const SYMBOLS = ["BTC/USDT", "ETH/USDT"];
const SEED = 42;

// Always (re)build: a binary lying around from an older checkout would compare against stale
// code. When the test command has just built it, this is a no-op of about a second.
function cliBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
  execFileSync("cargo", ["build", "-q", "-p", "cryptolens-cli"], { cwd: ROOT, stdio: "inherit" });
  return join(target, "debug", "cryptolens");
}

let c;
before(async () => {
  c = await startCronWorker({ start: START, end: END, symbols: SYMBOLS.map((s) => s.replace("/", "")), seed: SEED });
  await addSymbols(c.db, SYMBOLS, START);
});
after(async () => {
  await c?.dispose();
});

const PATTERN_SQL = `SELECT p.id, s.symbol, p.tf, p.pattern_type, p.direction, p.zone_low, p.zone_high,
  p.detected_at, p.expires_at, p.status, p.fill_pct, p.filled_at, p.entry, p.stop_loss, p.tp1, p.tp2, p.tp3,
  p.risk, p.rr1, p.rr2, p.rr3 FROM patterns p JOIN symbols s ON s.id = p.symbol_id ORDER BY p.id`;
const SIGNAL_SQL = `SELECT g.id, s.symbol, g.direction, g.entry, g.stop_loss, g.tp1, g.tp2, g.tp3, g.risk_reward,
  g.confluence_score, g.timeframes_aligned, g.status, g.created_at, g.pattern_id
  FROM signals g JOIN symbols s ON s.id = g.symbol_id ORDER BY g.id`;

test("minute-by-minute scheduled runs equal `cryptolens replay` over the same candles", async () => {
  // Run 1 at START + BACKFILL min sees [0, BACKFILL); run k adds one candle.
  const steps = [[0, BACKFILL]];
  for (let m = 1; m <= MINUTES; m++) steps.push([BACKFILL + m - 1, BACKFILL + m]);
  for (const [, to] of steps) {
    const r = await c.tick(START + to * MINUTE);
    assert.equal(r.outcome, "ok");
  }
  const history = await runs(c.db);
  assert.equal(history.length, steps.length);
  assert.deepEqual([...new Set(history.map((r) => r.status))], ["ok"], JSON.stringify(history.find((r) => r.status !== "ok")));
  assert.equal(history[0].counts.candles, BACKFILL * SYMBOLS.length);
  assert.ok(history.slice(1).every((r) => r.counts.candles === SYMBOLS.length));

  // The same candles, steps, clock (last fed open + 60 s) and default settings through the CLI.
  const dir = mkdtempSync(join(tmpdir(), "cl-cron-replay-"));
  const args = ["replay"];
  for (const s of SYMBOLS) {
    const file = join(dir, `${s.replace("/", "")}.json`);
    writeFileSync(file, JSON.stringify(asCandles(generateCandles({ symbol: s.replace("/", ""), start: START, end: END, seed: SEED }))));
    args.push("--candles", `${s}=${file}`);
  }
  writeFileSync(join(dir, "steps.json"), JSON.stringify(steps));
  args.push("--steps", join(dir, "steps.json"));
  const out = JSON.parse(execFileSync(cliBinary(), args, { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] }));
  assert.equal(out.steps.length, steps.length * SYMBOLS.length);

  const stored = (await c.db.prepare(PATTERN_SQL).all()).results;
  const replayed = out.patterns.map((p) => ({
    id: p.id, symbol: p.symbol, tf: p.timeframe, pattern_type: p.pattern_type, direction: p.direction,
    zone_low: p.zone_low, zone_high: p.zone_high, detected_at: p.detected_at, expires_at: p.expires_at,
    status: p.status, fill_pct: p.fill_percentage, filled_at: p.filled_at, entry: p.entry, stop_loss: p.stop_loss,
    tp1: p.take_profit_1, tp2: p.take_profit_2, tp3: p.take_profit_3, risk: p.risk,
    rr1: p.risk_reward_1, rr2: p.risk_reward_2, rr3: p.risk_reward_3,
  }));
  assert.ok(replayed.length > 50, `a meaningful comparison (${replayed.length} patterns)`);
  assert.deepEqual(stored, replayed);

  const signals = (await c.db.prepare(SIGNAL_SQL).all()).results;
  const replayedSignals = out.signals.map((s) => ({
    id: s.id, symbol: s.symbol, direction: s.direction, entry: s.entry_price, stop_loss: s.stop_loss,
    tp1: s.take_profit_1, tp2: s.take_profit_2, tp3: s.take_profit_3, risk_reward: s.risk_reward,
    confluence_score: s.confluence_score, timeframes_aligned: s.timeframes_aligned.join(","), status: s.status,
    created_at: s.created_at, pattern_id: s.pattern?.id ?? null,
  }));
  assert.deepEqual(signals, replayedSignals);

  // Every TF's candles, and nothing past the last scheduled minute.
  const last = START + (BACKFILL + MINUTES) * MINUTE;
  assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE tf = '1m'"), (BACKFILL + MINUTES) * SYMBOLS.length);
  assert.equal(await count(c.db, "SELECT COUNT(*) FROM candles WHERE ts >= ?1", last), 0);
  // The matrix needs a session (an admin's: every symbol).
  const reader = readerSession();
  await c.db.batch(reader.statements.map((q) => c.db.prepare(q)));
  const matrix = await (await c.w.fetch("/api/v1/matrix", withCookie(reader))).json();
  assert.deepEqual(matrix.data.rows.map((r) => r.symbol), SYMBOLS);
  // Every run logged one job_run line.
  assert.equal(c.w.log.lines.filter((l) => l.includes('"event":"job_run"')).length, steps.length);
});
