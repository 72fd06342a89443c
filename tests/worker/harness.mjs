// Starts the BUILT worker (crates/worker/build) in workerd through Miniflare, with local
// in-memory D1 and KV, the D1 migrations applied, and the built frontend as assets.
import { Miniflare, Log, LogLevel } from "miniflare";
import { readdirSync, readFileSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

// Fresh, strong, per-run test secrets (never the documented examples).
const rnd = () => [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
export const DEV_SECRETS = {
  SESSION_KEY: rnd(),
  API_KEY_PEPPER: rnd(),
  TOTP_ENCRYPTION_KEY: rnd(),
  CREDENTIALS_ENCRYPTION_KEY: rnd(),
  LEMONSQUEEZY_WEBHOOK_SECRET: rnd(),
  NOWPAYMENTS_IPN_SECRET: rnd(),
  LEMONSQUEEZY_API_KEY: rnd(),
  NOWPAYMENTS_API_KEY: rnd(),
};

/** Captures everything the worker logs, so tests can assert on log lines. */
class CaptureLog extends Log {
  constructor() {
    super(LogLevel.DEBUG);
    this.lines = [];
  }
  log(message) {
    this.lines.push(message);
  }
}

/** Splits a migration file into statements (our migrations hold no triggers or bodies). */
export function statements(sql) {
  return sql
    .split("\n")
    .filter((l) => !l.trim().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function applyMigrations(db) {
  const dir = join(ROOT, "migrations");
  const files = readdirSync(dir).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  for (const f of files) {
    const stmts = statements(readFileSync(join(dir, f), "utf8"));
    await db.batch(stmts.map((s) => db.prepare(s)));
  }
  return files.length;
}

/**
 * @param {object} opts
 * @param {Record<string,string>} [opts.vars] vars/secrets overriding the development defaults
 * @param {string} [opts.hyperdrive] a postgres:// URL for the HYPERDRIVE binding
 * @param {string[]} [opts.omit] binding names to leave unset
 * @param {boolean} [opts.migrate] apply the D1 migrations (default true)
 */
export async function startWorker({ vars = {}, omit = [], hyperdrive, migrate = true } = {}) {
  const bindings = { ENVIRONMENT: "development", APP_URL: "http://127.0.0.1:8787", STORAGE: "d1", ...DEV_SECRETS, ...vars };
  for (const name of omit) delete bindings[name];
  const log = new CaptureLog();
  // WORKER_OUT (relative to crates/worker) lets parallel builds keep separate outputs.
  const build = join(ROOT, "crates", "worker", process.env.WORKER_OUT || "build");
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(build, "index.js"),
    modulesRoot: build,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-01",
    cf: false,
    log,
    // The worker's console output (access logs, config refusals) arrives on workerd's stdio.
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        stream.setEncoding("utf8");
        let buf = "";
        stream.on("data", (chunk) => {
          buf += chunk;
          const parts = buf.split("\n");
          buf = parts.pop();
          log.lines.push(...parts);
        });
      }
    },
    kvNamespaces: ["KV"],
    d1Databases: ["DB"],
    assets: {
      // FRONTEND_DIST (relative to the repo) is the dist scripts/build-frontend.sh wrote.
      directory: resolve(ROOT, process.env.FRONTEND_DIST || join("frontend", "dist")),
      binding: "ASSETS",
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
      assetConfig: { not_found_handling: "single-page-application" },
    },
    bindings,
    ...(hyperdrive ? { hyperdrives: { HYPERDRIVE: hyperdrive } } : {}),
  });
  await mf.ready;
  if (migrate) await applyMigrations(await mf.getD1Database("DB"));
  const fetch = (path, init) => mf.dispatchFetch(`http://127.0.0.1:8787${path}`, init);
  return { mf, fetch, log, dispose: () => mf.dispose() };
}

/** The security headers every response must carry. */
export function assertSecurityHeaders(assert, res, where) {
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.ok(csp.includes("default-src 'self'"), `${where}: CSP missing`);
  assert.ok(!csp.includes("unsafe-inline"), `${where}: CSP allows unsafe-inline`);
  assert.ok(csp.includes("frame-ancestors 'none'"), `${where}: frame-ancestors`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff", `${where}: nosniff`);
  assert.ok((res.headers.get("strict-transport-security") ?? "").startsWith("max-age=31536000"), `${where}: HSTS`);
  assert.equal(res.headers.get("referrer-policy"), "strict-origin-when-cross-origin", `${where}: referrer`);
  assert.ok(res.headers.get("permissions-policy"), `${where}: permissions-policy`);
  assert.ok(res.headers.get("x-request-id"), `${where}: x-request-id`);
}
