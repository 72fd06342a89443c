// Benchmark: GET /api/v1/matrix through the real worker (workerd), on D1 and on Postgres via
// Hyperdrive, with 200 symbols × 8 TFs and 100 000 patterns (10 % active). Prints a markdown
// fragment with p50/p95/p99. Usage: node tests/bench/matrix.mjs [postgres-url]
//
// The requests are signed in as an admin reader (no tier limits), so every one of the 200 rows
// is served: an anonymous or free reader sees only the free symbols (product.md §3), which
// would measure the same query but a tiny response. The run fails if a row is missing.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startWorker, ROOT } from "../worker/harness.mjs";
import { createHash, randomBytes } from "node:crypto";

const SYMBOLS = 200;
const PATTERNS = 100_000;
const REQUESTS = Number(process.env.MATRIX_BENCH_REQUESTS ?? 200);
const TFS = ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"];

// One statement, valid in SQLite and Postgres, generating the whole data set server-side.
function seedSql(series) {
  const tf = `CASE (i / ${SYMBOLS}) % 8 ${TFS.map((t, k) => `WHEN ${k} THEN '${t}'`).join(" ")} END`;
  return `INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high,
      detected_at, expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
    SELECT s.id, ${tf},
      CASE (i / 1600) % 3 WHEN 0 THEN 'imbalance' WHEN 1 THEN 'order_block' ELSE 'liquidity_sweep' END,
      CASE (i / 4800) % 2 WHEN 0 THEN 'bullish' ELSE 'bearish' END,
      100.0, 101.0, 1700000000000 + CAST(i AS BIGINT) * 60000, 1800000000000,
      CASE WHEN i % 10 = 0 THEN 'active' ELSE 'filled' END, 0,
      101.0, 99.0, 103.0, 105.0, 107.0, 2.0, 1.0, 2.0, 3.0, 1700000000000
    FROM ${series} JOIN symbols s ON s.symbol = 'S' || ((i % ${SYMBOLS}) + 1) || '/USDT'`;
}
const symbolsSql = (series) =>
  `INSERT INTO symbols (symbol, created_at) SELECT 'S' || (i + 1) || '/USDT', 0 FROM ${series}`;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** An admin user and a full session, as the worker stores them (id = SHA-256 of the cookie). */
function adminReader() {
  const token = randomBytes(32).toString("base64url");
  const hash = createHash("sha256").update(token).digest("hex");
  const now = Date.now();
  const day = 86_400_000;
  return {
    statements: [
      `INSERT INTO users (id, email, username, password_hash, is_active, is_verified, is_admin,
         ntfy_topic, created_at) VALUES (9001, 'bench@example.com', 'bench_reader', 'x', TRUE, TRUE,
         TRUE, 'cl_bench_reader', ${now})`,
      `INSERT INTO sessions (token_hash, user_id, csrf_secret, stage, created_at, last_seen_at,
         expires_at, absolute_expires_at) VALUES ('${hash}', 9001, 'derived:v1', 'full', ${now},
         ${now}, ${now + day}, ${now + day})`,
    ],
    headers: { cookie: `__Host-cl_session=${token}` },
  };
}
const reader = adminReader();

async function measure(label, vars, prepare, hyperdrive) {
  const w = await startWorker({ vars, hyperdrive, migrate: vars.STORAGE === "d1" });
  try {
    await prepare(w);
    const init = { headers: reader.headers };
    const first = await w.fetch("/api/v1/matrix", init);
    const body = await first.json();
    if (first.status !== 200) throw new Error(`${label}: matrix answered ${first.status}: ${JSON.stringify(body)}`);
    const served = body.data?.rows?.length ?? 0;
    if (served !== SYMBOLS) throw new Error(`${label}: the matrix served ${served} of ${SYMBOLS} rows`);
    const times = [];
    for (let k = 0; k < REQUESTS; k++) {
      const t0 = performance.now();
      const res = await w.fetch("/api/v1/matrix", init);
      await res.arrayBuffer();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const cells = JSON.stringify(body.data).length;
    return `| ${label} | ${REQUESTS} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 95).toFixed(1)} | ${percentile(times, 99).toFixed(1)} | ${cells.toLocaleString()} |`;
  } finally {
    await w.dispose();
  }
}

const BACKENDS = (process.env.MATRIX_BENCH_BACKENDS ?? "d1,postgres").split(",");
const rows = [];
if (BACKENDS.includes("d1")) rows.push(
  await measure("D1 (local workerd)", { STORAGE: "d1" }, async (w) => {
    const db = await w.mf.getD1Database("DB");
    const series = `(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${SYMBOLS - 1}) SELECT i FROM n) AS g`;
    await db.prepare(symbolsSql(series)).run();
    const pseries = `(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${PATTERNS - 1}) SELECT i FROM n) AS g`;
    await db.prepare(seedSql(pseries)).run();
    for (const sql of reader.statements) await db.prepare(sql).run();
  }),
);

const pgUrl = process.argv[2];
if (pgUrl && BACKENDS.includes("postgres")) {
  const dbName = "cl_bench_matrix";
  const admin = (sql) => execFileSync("psql", [pgUrl, "-qAtc", sql], { stdio: ["ignore", "pipe", "inherit"] });
  admin(`DROP DATABASE IF EXISTS ${dbName}`);
  admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(pgUrl);
  url.pathname = `/${dbName}`;
  const psql = (args) => execFileSync("psql", [url.toString(), "-qAt", "-v", "ON_ERROR_STOP=1", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const dir = join(ROOT, "migrations", "postgres");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) psql(["-f", join(dir, f)]);
  psql(["-c", symbolsSql(`generate_series(0, ${SYMBOLS - 1}) AS g(i)`)]);
  psql(["-c", seedSql(`generate_series(0, ${PATTERNS - 1}) AS g(i)`)]);
  for (const sql of reader.statements) psql(["-c", sql]);
  psql(["-c", "ANALYZE"]);
  rows.push(await measure("Postgres via Hyperdrive (local)", { STORAGE: "postgres" }, async () => {}, url.toString()));
  admin(`DROP DATABASE IF EXISTS ${dbName}`);
}

console.log(`## Matrix query (GET /api/v1/matrix through the worker; ${SYMBOLS} symbols × 8 TFs, ${PATTERNS.toLocaleString()} patterns, 10 % active)

| backend | requests | p50 ms | p95 ms | p99 ms | body bytes (data) |
|---|---|---|---|---|---|
${rows.join("\n")}

One SQL statement per request on both backends (asserted by the contract suites). Latency includes
the worker, the envelope and, for Postgres, a fresh Hyperdrive connection per request.
`);
