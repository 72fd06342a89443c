// The bounded load run of `./run load` (scripts/load.sh starts the worker and the account).
// Against 127.0.0.1 only, with fixed durations and connection counts, it drives wrk
// (tests/load/wrk.lua) route by route and prints, per route, throughput, p50/p95/p99 and the
// statuses seen, then checks what must hold under concurrency:
//   - no 5xx on any route;
//   - the per-IP API limit from one address (about 10 allowed a second, the rest 429);
//   - the matrix p99 against its 20 ms goal (reported, not asserted: the machine is shared);
//   - a parallel guess storm on one account gets at most the allowed attempts past the rate
//     limit and the lockout (counted, asserted).
// Usage: node tests/load/run.mjs --url http://127.0.0.1:PORT [--seconds 10] [--out FILE]
// Env: LOAD_EMAIL / LOAD_PASSWORD (a premium account, from `cryptolens create-user`).
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const BASE = args.url;
const SECONDS = Number(args.seconds ?? 10);
if (!/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(BASE ?? "")) {
  console.error("usage: run.mjs --url http://127.0.0.1:PORT (loopback only)");
  process.exit(2);
}
const ORIGIN = BASE;

/** A browser-like session through the API: CSRF, then login. */
async function login(email, password) {
  let cookie = "";
  let csrf = "";
  const send = async (method, path, body) => {
    const headers = { origin: ORIGIN, "cf-connecting-ip": "198.51.100.250" };
    if (cookie) headers.cookie = `__Host-cl_session=${cookie}`;
    if (csrf) headers["x-csrf-token"] = csrf;
    if (body) headers["content-type"] = "application/json";
    const res = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0].split("=")[1];
    const json = await res.json().catch(() => null);
    if (json?.data?.csrf_token) csrf = json.data.csrf_token;
    return { status: res.status, json };
  };
  await send("GET", "/api/v1/auth/csrf");
  const r = await send("POST", "/api/v1/auth/login", { email, password });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.json)}`);
  return { cookie, csrf, send };
}

/** Runs wrk on one route; returns the parsed LOAD_RESULT line. */
function wrk(name, path, { headers = {}, method = "GET", body, connections = 64, spreadIps = true, seconds = SECONDS } = {}) {
  const env = {
    ...process.env,
    LOAD_HEADERS: Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\n"),
    LOAD_METHOD: method,
    LOAD_SPREAD_IPS: spreadIps ? "1" : "0",
    ...(body ? { LOAD_BODY: body } : {}),
  };
  const threads = Math.min(2, connections);
  const out = spawnSync(
    "wrk",
    ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", join(HERE, "wrk.lua"), BASE + path],
    { env, encoding: "utf8" },
  );
  const line = (out.stdout || "").split("\n").find((l) => l.startsWith("LOAD_RESULT "));
  if (!line) throw new Error(`wrk ${name}: no result\n${out.stdout}\n${out.stderr}`);
  const r = JSON.parse(line.slice("LOAD_RESULT ".length));
  r.route = name;
  r.connections = connections;
  r.rps = r.requests / (r.duration_us / 1e6);
  r.server_errors = Object.entries(r.statuses).filter(([s]) => Number(s) >= 500).reduce((n, [, k]) => n + k, 0);
  return r;
}

const email = process.env.LOAD_EMAIL;
const password = process.env.LOAD_PASSWORD;
if (!email || !password) {
  console.error("LOAD_EMAIL and LOAD_PASSWORD must name a premium account (scripts/load.sh creates one)");
  process.exit(2);
}
const s = await login(email, password);
const sessionHeaders = { cookie: `__Host-cl_session=${s.cookie}` };

// An API key for the key-authenticated reads (premium; creation needs a recent re-auth,
// which the fresh login is).
let keyHeaders = null;
const created = await s.send("POST", "/api/v1/keys", { name: "load", scopes: "all" });
if (created.status === 201 || created.status === 200) {
  keyHeaders = { "x-api-key": created.json.data.secret };
} else {
  console.error(`note: no API key (${created.status} ${created.json?.error?.code}); key reads skipped`);
}

const results = [];
const run = (...a) => {
  const r = wrk(...a);
  results.push(r);
  const st = Object.entries(r.statuses).map(([k, v]) => `${k}:${v}`).join(" ");
  console.log(
    `${r.route.padEnd(22)} c=${String(r.connections).padStart(3)} ${r.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${r.p50_ms.toFixed(1)} ms  p95 ${r.p95_ms.toFixed(1)} ms  p99 ${r.p99_ms.toFixed(1)} ms  [${st}]`,
  );
  return r;
};

run("matrix (session)", "/api/v1/matrix", { headers: sessionHeaders });
run("patterns (session)", "/api/v1/patterns?limit=50", { headers: sessionHeaders });
run("candles (session)", "/api/v1/candles/BTC-USDT/1h", { headers: sessionHeaders });
run("health/live", "/api/v1/health/live", {});
// One client address: the per-IP API limit (10/s, every caller) answers the rest with 429.
const oneIp = run("matrix (one IP)", "/api/v1/matrix", { headers: sessionHeaders, connections: 8, spreadIps: false, seconds: 3 });
console.log(`  per-IP limit: ${((oneIp.statuses["200"] ?? 0) / (oneIp.duration_us / 1e6)).toFixed(1)} allowed/s from one IP (limit 10/s)`);
if (keyHeaders) {
  // One key: its 10/s limit answers most of this with 429, as designed.
  run("symbols (API key)", "/api/v1/symbols", { headers: keyHeaders, connections: 8 });
}
// Login under load from one IP: the 5/min limit turns nearly all of it into 429s.
const storm = run("login (one IP)", "/api/v1/auth/login", {
  method: "POST",
  body: JSON.stringify({ email, password: "Wrong-guess-123" }),
  headers: { "content-type": "application/json", origin: ORIGIN, cookie: `__Host-cl_session=${s.cookie}`, "x-csrf-token": s.csrf },
  connections: 32,
  spreadIps: false,
  seconds: 5,
});

// The guess storm on the load account from 49 IPs at once, then the RIGHT password: the
// per-account limit and the lockout (reserve, then verify) must refuse it. Success = a 200.
async function presession(ip) {
  // The dev server may drop a kept-alive socket right after a wrk run: retry a few times.
  for (let tries = 0; ; tries++) {
    try {
      const c = await fetch(BASE + "/api/v1/auth/csrf", { headers: { "cf-connecting-ip": ip } });
      return { ip, cookie: c.headers.get("set-cookie").split(";")[0].split("=")[1], token: (await c.json()).data.csrf_token };
    } catch (e) {
      if (tries >= 5) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
async function attempt({ ip, cookie, token }, pw) {
  try {
    const r = await fetch(BASE + "/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN, cookie: `__Host-cl_session=${cookie}`, "x-csrf-token": token, "cf-connecting-ip": ip },
      body: JSON.stringify({ email, password: pw }),
    });
    return r.status;
  } catch {
    return "connection_error";
  }
}
// Pre-sessions first (one per IP), then every guess at once.
const ips = [];
for (let i = 0; i < 49; i++) ips.push(await presession(`192.0.2.${i + 1}`));
const guesses = await Promise.all(ips.map((p, i) => attempt(p, `Guess-${i}-Aa1`)));
guesses.push(await attempt(await presession("192.0.2.200"), password));
const stormSummary = guesses.reduce((m, st) => ({ ...m, [st]: (m[st] ?? 0) + 1 }), {});
console.log(`guess storm (49 wrong in parallel from 49 IPs, then the right password): ${JSON.stringify(stormSummary)}; successes: ${stormSummary[200] ?? 0}`);

const matrix = results[0];
const serverErrors = results.reduce((n, r) => n + r.server_errors, 0);
const report = {
  base: BASE,
  seconds: SECONDS,
  cores: (await import("node:os")).cpus().length,
  routes: results,
  guess_storm: stormSummary,
  matrix_p99_goal_ms: 20,
  matrix_p99_ms: matrix.p99_ms,
  server_errors: serverErrors,
};
if (args.out) {
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify(report, null, 2));
}
console.log(`5xx: ${serverErrors}; matrix p99 ${matrix.p99_ms.toFixed(1)} ms (goal < 20 ms at 64 clients)`);
const ok = serverErrors === 0 && (stormSummary[200] ?? 0) === 0 && storm.server_errors === 0;
if (!ok) {
  console.error("FAILED: a 5xx, or a guess that logged in");
  process.exit(1);
}
