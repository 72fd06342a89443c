// The storage contract suite (crates/store-contract) against the D1 adapter (crates/store-d1),
// inside workerd: the test-only worker tests/d1-contract runs one case per request over a local
// D1 with migrations/ applied. Build it first: tests/d1-contract/build.sh (this file builds
// nothing).
//
// Isolation: the migrations run ONCE into a template database on disk; every case gets its own
// copy of it and its own Miniflare instance (~0.3 s). A case that fails panics inside wasm,
// which aborts the request (500) — a fresh instance per case means an aborted case can leak
// neither rows nor a poisoned isolate into the next, and its panic message is read from that
// instance's stderr and reported as the failure.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Miniflare, Log, LogLevel } from "miniflare";
import { existsSync, mkdtempSync, cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ROOT, applyMigrations } from "./harness.mjs";
import { startMail } from "../fakes/mail.mjs";

const BUILD = join(ROOT, "tests", "d1-contract", process.env.D1_CONTRACT_OUT || "build");
const MAX_EXACT = 2n ** 53n;

if (!existsSync(join(BUILD, "index.js"))) {
  throw new Error("tests/d1-contract/build/index.js is missing: run tests/d1-contract/build.sh first");
}

const base = mkdtempSync(join(tmpdir(), "cl-d1-contract-"));
after(() => rmSync(base, { recursive: true, force: true }));

/** Quiet logger: the worker's output is captured from workerd's stdio instead. */
class QuietLog extends Log {
  constructor() {
    super(LogLevel.WARN);
  }
  log() {}
}

function options(persist, lines) {
  return {
    modules: true,
    scriptPath: join(BUILD, "index.js"),
    modulesRoot: BUILD,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-01",
    cf: false,
    log: new QuietLog(),
    d1Databases: ["DB"],
    d1Persist: persist,
    kvNamespaces: ["RATE_LIMITS"],
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        stream.setEncoding("utf8");
        stream.on("data", (chunk) => lines.push(...chunk.split("\n").filter(Boolean)));
      }
    },
  };
}

// The template: migrated once, copied per case (copying a directory of Miniflare's own
// files, whatever their layout).
const template = join(base, "template");
{
  const mf = new Miniflare(options(template, []));
  await applyMigrations(await mf.getD1Database("DB"));
  await mf.dispose();
}

let seq = 0;
/** Runs `fn` against a fresh worker on a fresh copy of the migrated database. */
async function withWorker(fn) {
  const dir = join(base, `db-${seq++}`);
  cpSync(template, dir, { recursive: true });
  const lines = [];
  const mf = new Miniflare(options(dir, lines));
  try {
    const call = (path, init) => mf.dispatchFetch(`http://d1-contract.test${path}`, init);
    return await fn({ call, lines, db: () => mf.getD1Database("DB"), kv: () => mf.getKVNamespace("RATE_LIMITS") });
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The worker's stderr after a failed request (the panic message lands there). */
async function failureText(res, lines) {
  const body = await res.text();
  await new Promise((r) => setTimeout(r, 50)); // let workerd's stdio drain
  // From the panic on (its message and location), else everything the instance printed.
  const at = lines.findIndex((l) => l.includes("panicked at"));
  const stderr = (at >= 0 ? lines.slice(at) : lines).slice(0, 40);
  return `HTTP ${res.status}: ${body.slice(0, 300)}\n${stderr.join("\n")}`;
}

async function json(res, lines) {
  if (res.status !== 200) assert.fail(await failureText(res, lines));
  return res.json();
}

const cases = await withWorker(async ({ call, lines }) => (await json(await call("/cases"), lines)).cases);

test("the contract lists its cases", () => {
  assert.ok(Array.isArray(cases) && cases.length >= 14, `cases: ${cases}`);
  assert.equal(new Set(cases).size, cases.length, "case names are unique");
});

for (const name of cases) {
  test(`contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const res = await call(`/run/${name}`, { method: "POST" });
      const body = await json(res, lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
      assert.equal(res.headers.get("x-round-trips"), String(body.round_trips));
    }));
}

test("an unknown case is a 404 with ok:false", () =>
  withWorker(async ({ call }) => {
    const res = await call("/run/no_such_case", { method: "POST" });
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.ok, false);
    assert.match(body.error, /unknown case/);
  }));

test("a panicking case is reported as a 500 with its panic message on stderr", () =>
  withWorker(async ({ call, lines }) => {
    const res = await call("/probe/panic", { method: "POST" });
    assert.equal(res.status, 500);
    const text = await failureText(res, lines);
    assert.match(text, /deliberate panic from \/probe\/panic/);
    // The instance recovers: the next request is served normally.
    const again = await call("/cases");
    assert.equal(again.status, 200);
  }));

test("timestamps above 2^31 and up to 2^53 round-trip exactly and are stored as INTEGER", () =>
  withWorker(async ({ call, lines, db }) => {
    const stamps = [2n ** 31n + 7n, 2n ** 32n + 1n, 1_700_000_000_000n, MAX_EXACT - 1n, MAX_EXACT];
    const res = await call("/probe/timestamps", {
      method: "POST",
      body: JSON.stringify({ stamps: stamps.map(String) }),
      headers: { "content-type": "application/json" },
    });
    const body = await json(res, lines);
    assert.equal(body.ok, true);
    assert.equal(body.inserted, stamps.length);
    // Read back through the adapter (as decimal strings, so JSON cannot round them).
    assert.deepEqual(body.candles, stamps.map(String));
    assert.deepEqual(body.pattern, {
      detected_at: String(MAX_EXACT),
      expires_at: String(MAX_EXACT),
      created_at: String(MAX_EXACT),
    });
    assert.deepEqual(body.signal, { created_at: String(MAX_EXACT) });
    assert.equal(body.max_plus_one, "invalid", "2^53 + 1 is refused before anything is sent");

    // And what D1 holds: INTEGER values (not REAL), exact to the last digit.
    const d1 = await db();
    const rows = (
      await d1.prepare("SELECT CAST(ts AS TEXT) AS s, typeof(ts) AS t FROM candles ORDER BY candles.ts").all()
    ).results;
    assert.deepEqual(rows.map((r) => r.s), stamps.map(String));
    assert.deepEqual(new Set(rows.map((r) => r.t)), new Set(["integer"]));
    const p = await d1
      .prepare("SELECT CAST(detected_at AS TEXT) AS d, typeof(detected_at) AS t FROM patterns")
      .first();
    assert.deepEqual(p, { d: String(MAX_EXACT), t: "integer" });
    const s = await d1.prepare("SELECT CAST(created_at AS TEXT) AS c, typeof(created_at) AS t FROM signals").first();
    assert.deepEqual(s, { c: String(MAX_EXACT), t: "integer" });
    const beyond = await d1.prepare("SELECT count(*) AS n FROM candles WHERE tf = '5m'").first("n");
    assert.equal(beyond, 0);
  }));

test("the matrix of 25 symbols is ONE query (one round trip, one statement)", () =>
  withWorker(async ({ call, lines }) => {
    const body = await json(await call("/probe/matrix", { method: "POST" }), lines);
    assert.equal(body.ok, true);
    assert.equal(body.round_trips, 1, JSON.stringify(body));
    assert.equal(body.statements, 1, JSON.stringify(body));
    assert.equal(body.cells, body.symbols * 7, "active symbols × 5m..1d");
    assert.equal(body.filled, body.cells, "every cell has its latest pattern");
    assert.equal(body.counts_ok, true, "3 active patterns per cell");
    assert.equal(body.latest_ok, true, "the latest by detected_at");
  }));

// ---------------------------------------------------------------------------------------------
// The account contract (crates/store-contract/src/accounts.rs) on D1, one test per case.
// ---------------------------------------------------------------------------------------------

const accountCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/account-cases"), lines)).cases,
);

test("the account contract lists its cases", () => {
  assert.ok(Array.isArray(accountCases) && accountCases.length >= 10, `cases: ${accountCases}`);
  assert.equal(new Set(accountCases).size, accountCases.length, "case names are unique");
});

for (const name of accountCases) {
  test(`account contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-account/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

const T0 = 1_700_000_000_000;
const post = (call, path, body) =>
  call(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

test("lockout: 50 reservations in flight on one store allow at most 5 (exactly 2 at one instant)", () =>
  withWorker(async ({ call, lines, db }) => {
    const same = await json(await post(call, "/lockout-race", { key: "race-same", n: 50, now: T0 }), lines);
    assert.equal(same.ok, true, JSON.stringify(same));
    assert.equal(same.calls, 50);
    assert.equal(same.allowed, 2, "the 1 s rule locks after the second: " + JSON.stringify(same));
    const spread = await json(
      await post(call, "/lockout-race", { key: "race-spread", n: 50, now: T0, spread_ms: 2000 }),
      lines,
    );
    assert.equal(spread.ok, true, JSON.stringify(spread));
    assert.ok(spread.allowed >= 1 && spread.allowed <= 5, JSON.stringify(spread));
    assert.ok(spread.state.locked_until !== null, "the account ends up locked");
    // One row per key, stored as integers.
    const rows = (
      await (await db()).prepare("SELECT acct_hash, typeof(locked_until) AS t FROM auth_lockouts ORDER BY 1").all()
    ).results;
    assert.deepEqual(rows, [
      { acct_hash: "race-same", t: "integer" },
      { acct_hash: "race-spread", t: "integer" },
    ]);
  }));

test("lockout: 50 parallel requests (one reservation each) at the workerd D1 allow at most 5", () =>
  withWorker(async ({ call, lines }) => {
    for (const [key, spread] of [
      ["parallel-same", 0],
      ["parallel-spread", 2000],
    ]) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => post(call, "/probe/reserve", { key, now: T0 + i * spread })),
      );
      const bodies = await Promise.all(answers.map((r) => json(r, lines)));
      const allowed = bodies.filter((b) => b.ok && b.allowed).length;
      assert.equal(bodies.filter((b) => b.ok).length, 50);
      assert.ok(allowed >= 1 && allowed <= 5, `${key}: ${allowed} allowed`);
      if (spread === 0) assert.equal(allowed, 2, `${key}: the 1 s rule`);
    }
  }));

// ---------------------------------------------------------------------------------------------
// The worker's WebCrypto PasswordHasher (crates/worker/src/webcrypto_hasher.rs), in workerd.
// ---------------------------------------------------------------------------------------------

// docs/security-primitives.md: the known-answer vector shared by cl-auth, WebCrypto and OpenSSL.
const KAT = {
  password: "Correct7HorseBatteryStaple",
  salt: "0123456789abcdef",
  iterations: 600_000,
  hex: "fc7496bc775e10345e11e1bd2ae24260121d602caa1fa3501dddb8baeb646df4",
};

test("WebCrypto PBKDF2 gives cl-auth's known-answer PHC string at 600,000 iterations", () =>
  withWorker(async ({ call, lines }) => {
    const body = await json(await post(call, "/pbkdf2", KAT), lines);
    const b64 = (s) => Buffer.from(s, "utf8").toString("base64").replace(/=+$/, "");
    const hash = Buffer.from(KAT.hex, "hex").toString("base64").replace(/=+$/, "");
    assert.equal(body.phc, `$pbkdf2-sha256$i=600000,l=32$${b64(KAT.salt)}$${hash}`);
    assert.equal(Buffer.from(body.hash_b64, "base64").toString("hex"), KAT.hex);
  }));

test("the WebCrypto PasswordHasher: hash, verify, rehash, dummy, and parity with cl-auth", () =>
  withWorker(async ({ call, lines }) => {
    const body = await json(await post(call, "/pbkdf2/hasher", { password: "Tr0ub4dor&3", iterations: 1000 }), lines);
    assert.equal(body.ok, true, JSON.stringify(body.checks));
    for (const name of [
      "params",
      "phc_shape",
      "verify_right",
      "verify_wrong",
      "fresh_salt",
      "cl_auth_verifies_webcrypto",
      "webcrypto_verifies_cl_auth",
      "identical_phc",
      "malformed_is_an_error",
      "needs_rehash_when_weaker",
      "no_rehash_at_params",
      "dummy_returns",
    ]) {
      assert.equal(body.checks[name], true, name);
    }
  }));

test("time per 600,000-iteration WebCrypto hash in workerd (printed; bounded loosely)", () =>
  withWorker(async ({ call, lines }) => {
    const time = async (iterations) => {
      const t = performance.now();
      await json(await post(call, "/pbkdf2", { ...KAT, iterations }), lines);
      return performance.now() - t;
    };
    await time(1); // warm-up
    const base = [];
    const full = [];
    for (let i = 0; i < 3; i++) {
      base.push(await time(1));
      full.push(await time(600_000));
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ms = median(full) - median(base);
    console.log(
      `# WebCrypto PBKDF2-SHA256 600k in workerd: ${ms.toFixed(0)} ms per hash ` +
        `(requests: ${full.map((x) => x.toFixed(0)).join(", ")} ms; 1-iteration baseline ${median(base).toFixed(0)} ms)`,
    );
    assert.ok(ms < 5000, `${ms} ms`);
  }));

// ---------------------------------------------------------------------------------------------
// The KV rate limiter (crates/worker/src/kv_ratelimit.rs) over a workerd KV namespace.
// ---------------------------------------------------------------------------------------------

test("KV rate limits: isolates write their own shard, sum all shards, and enforce the rule", () =>
  withWorker(async ({ call, lines, kv }) => {
    const M = 1_700_000_080_000; // 40 s into a minute
    const step = (isolate, now, subject = "203.0.113.7") => ({ isolate, now, subject, scope: "login_ip_m" });
    const body = await json(
      await post(call, "/ratelimit", {
        steps: [
          step(0, M),
          step(0, M + 10),
          step(0, M + 20),
          step(1, M + 1_100), // reads isolate 0's first write only (1), the rest is pending
          step(2, M + 1_200, "198.51.100.1"), // another subject: its own budget
        ],
        flush_at: M + 1_500,
      }),
      lines,
    );
    assert.deepEqual(
      body.answers.map((a) => a.allowed),
      [true, true, true, true, true],
      JSON.stringify(body),
    );
    assert.equal(body.flushed, 1, "isolate 0's two pending hits");
    assert.equal(body.pending, 0);
    const ns = await kv();
    const keys = (await ns.list({ prefix: "rl:login_ip_m:" })).keys.map((k) => k.name).sort();
    const start = Math.floor(M / 60_000) * 60;
    assert.deepEqual(keys, [
      `rl:login_ip_m:${start}:198.51.100.1#2`,
      `rl:login_ip_m:${start}:203.0.113.7#0`,
      `rl:login_ip_m:${start}:203.0.113.7#1`,
    ]);
    assert.equal(await ns.get(`rl:login_ip_m:${start}:203.0.113.7#0`), "3");
    assert.equal(await ns.get(`rl:login_ip_m:${start}:203.0.113.7#1`), "1");
    const expiring = (await ns.list({ prefix: "rl:" })).keys.every((k) => typeof k.expiration === "number");
    assert.ok(expiring, "every shard key has a TTL");

    // A later isolate sees all four and allows one more, then refuses with the wait to the window's end.
    const later = await json(
      await post(call, "/ratelimit", { steps: [step(3, M + 5_000), step(3, M + 5_010)] }),
      lines,
    );
    assert.deepEqual(later.answers, [
      { allowed: true, remaining: 0 },
      { allowed: false, retry_after_secs: 15 },
    ]);
    assert.equal(await ns.get(`rl:login_ip_m:${start}:203.0.113.7#3`), "1", "written at once: the limit was reached");
  }));

test("KV rate limits: a subject the key format refuses is an error, not a decision", () =>
  withWorker(async ({ call, lines }) => {
    const body = await json(
      await post(call, "/ratelimit", { steps: [{ isolate: 0, now: 1_700_000_000_000, subject: "a b", scope: "login_ip_m" }] }),
      lines,
    );
    assert.match(body.answers[0].error, /^Invalid/);
  }));

// ---------------------------------------------------------------------------------------------
// The worker's HTTP Mailer over fetch (crates/worker/src/mailer.rs, fetch_transport.rs), from
// workerd to the fake mail provider (tests/fakes/mail.mjs) on loopback.
// ---------------------------------------------------------------------------------------------

test("HTTP mailer: delivers {to, kind, params} with the bearer key; 4xx final; 5xx retried; timeouts abort", () =>
  withWorker(async ({ call, lines }) => {
    const fake = await startMail({ port: 0, apiKey: "mail-key-1" });
    try {
      const send = (extra = {}) =>
        post(call, "/mail", {
          base_url: fake.url,
          api_key: "mail-key-1",
          timeout_ms: 400,
          to: "alice@example.com",
          token: "tok-abc",
          ...extra,
        }).then((r) => json(r, lines));

      assert.deepEqual((await send()).ok, true);
      const [m] = await (await fetch(`${fake.url}/__messages`)).json();
      assert.deepEqual(
        { to: m.to, kind: m.kind, params: m.params },
        { to: "alice@example.com", kind: "verify_email", params: { token: "tok-abc", username: "alice" } },
      );
      const [req] = await (await fetch(`${fake.url}/__requests`)).json();
      assert.equal(req.headers.authorization, "Bearer mail-key-1");
      assert.equal(req.headers["content-type"], "application/json");

      const reset = () => fetch(`${fake.url}/__reset`, { method: "POST" });
      const requests = async () => (await (await fetch(`${fake.url}/__requests`)).json()).length;

      await reset();
      const refused = await send({ api_key: "wrong" });
      assert.equal(refused.ok, false);
      assert.match(refused.error, /401/);
      assert.doesNotMatch(refused.error, /wrong|tok-abc/, "no secret in the error");
      assert.equal(await requests(), 1, "a 4xx is not retried");

      await reset();
      await fetch(`${fake.url}/__script`, { method: "POST", body: JSON.stringify({ status: 503 }) });
      assert.equal((await send()).ok, true, "a 5xx is tried once more");
      assert.equal(await requests(), 2);

      await reset();
      await fetch(`${fake.url}/__script`, { method: "POST", body: JSON.stringify({ hang: true, times: 2 }) });
      const t = performance.now();
      const hung = await send();
      const took = performance.now() - t;
      assert.equal(hung.ok, false);
      assert.match(hung.error, /timed out/);
      assert.equal(await requests(), 2, "two tries, each aborted at the timeout");
      assert.ok(took >= 700 && took < 5000, `${took} ms for 2 × 400 ms`);

      const insecure = await send({ base_url: "http://mail.example.com" });
      assert.equal(insecure.ok, false);
      assert.match(insecure.error, /https/);
    } finally {
      await fake.close();
    }
  }));

// ---------------------------------------------------------------------------------------------
// The billing and portfolio contracts (crates/store-contract/src/{billing,portfolio}.rs) on
// D1, one test per case, like the account contract above.
// ---------------------------------------------------------------------------------------------

for (const family of ["billing", "portfolio"]) {
  const names = await withWorker(
    async ({ call, lines }) => (await json(await call(`/${family}-cases`), lines)).cases,
  );

  test(`the ${family} contract lists its cases`, () => {
    assert.ok(Array.isArray(names) && names.length >= 5, `cases: ${names}`);
    assert.equal(new Set(names).size, names.length, "case names are unique");
  });

  for (const name of names) {
    test(`${family} contract on D1: ${name}`, () =>
      withWorker(async ({ call, lines }) => {
        const body = await json(await call(`/run-${family}/${name}`, { method: "POST" }), lines);
        assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
      }));
  }
}

// The exchange-credentials contract (crates/store-contract/src/exchange_credentials.rs) on D1.
const credentialCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/credentials-cases"), lines)).cases,
);

test("the credentials contract lists its cases", () => {
  assert.ok(Array.isArray(credentialCases) && credentialCases.length >= 3, `cases: ${credentialCases}`);
});

for (const name of credentialCases) {
  test(`credentials contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-credentials/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// The backtest contract (crates/store-contract/src/backtests.rs) on D1.
const backtestCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/backtest-cases"), lines)).cases,
);

test("the backtest contract lists its cases", () => {
  assert.ok(Array.isArray(backtestCases) && backtestCases.length >= 3, `cases: ${backtestCases}`);
});

for (const name of backtestCases) {
  test(`backtest contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-backtest/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// The admin notification contract (crates/store-contract/src/notification_admin.rs) on D1.
const notificationAdminCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/notification-admin-cases"), lines)).cases,
);

test("the admin notification contract lists its cases", () => {
  assert.ok(
    Array.isArray(notificationAdminCases) && notificationAdminCases.length >= 3,
    `cases: ${notificationAdminCases}`,
  );
});

for (const name of notificationAdminCases) {
  test(`admin notification contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-notification-admin/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// The run-queue contract (crates/store-contract/src/run_queue.rs) on D1.
const runQueueCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/run-queue-cases"), lines)).cases,
);

test("the run-queue contract lists its cases", () => {
  assert.ok(Array.isArray(runQueueCases) && runQueueCases.length >= 3, `cases: ${runQueueCases}`);
});

for (const name of runQueueCases) {
  test(`run-queue contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-run-queue/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// The broadcast delivery contract (crates/store-contract/src/broadcast_delivery.rs) on D1.
const broadcastDeliveryCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/broadcast-delivery-cases"), lines)).cases,
);

test("the broadcast delivery contract lists its cases", () => {
  assert.ok(
    Array.isArray(broadcastDeliveryCases) && broadcastDeliveryCases.length >= 3,
    `cases: ${broadcastDeliveryCases}`,
  );
});

for (const name of broadcastDeliveryCases) {
  test(`broadcast delivery contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-broadcast-delivery/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// The optimizer contract (crates/store-contract/src/optimization.rs) on D1.
const optimizationCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/optimization-cases"), lines)).cases,
);

test("the optimizer contract lists its cases", () => {
  assert.ok(Array.isArray(optimizationCases) && optimizationCases.length >= 2, `cases: ${optimizationCases}`);
});

for (const name of optimizationCases) {
  test(`optimizer contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-optimization/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// ---------------------------------------------------------------------------------------------
// The API-key contract (crates/store-contract/src/api_keys.rs) on D1, one test per case.
// ---------------------------------------------------------------------------------------------

const apiKeyCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/api-key-cases"), lines)).cases,
);

test("the api key contract lists its cases", () => {
  assert.ok(Array.isArray(apiKeyCases) && apiKeyCases.length >= 5, `cases: ${apiKeyCases}`);
});

for (const name of apiKeyCases) {
  test(`api key contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-api-key/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// ---------------------------------------------------------------------------------------------
// The maintenance contract (crates/store-contract/src/maintenance.rs) on D1, one test per case.
// ---------------------------------------------------------------------------------------------

const maintenanceCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/maintenance-cases"), lines)).cases,
);

test("the maintenance contract lists its cases", () => {
  assert.ok(Array.isArray(maintenanceCases) && maintenanceCases.length >= 4, `cases: ${maintenanceCases}`);
});

for (const name of maintenanceCases) {
  test(`maintenance contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-maintenance/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// ---------------------------------------------------------------------------------------------
// The notification contract (crates/store-contract/src/notifications.rs) on D1, one test per
// case; the worker passes D1's round-trip counter, so the eligibility query and the due read
// are proven ONE round trip each.
// ---------------------------------------------------------------------------------------------

const notificationCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/notification-cases"), lines)).cases,
);

test("the notification contract lists its cases", () => {
  assert.ok(Array.isArray(notificationCases) && notificationCases.length >= 3, `cases: ${notificationCases}`);
});

for (const name of notificationCases) {
  test(`notification contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-notification/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

// ---------------------------------------------------------------------------------------------
// The admin contract (crates/store-contract/src/admin.rs) on D1, one test per case.
// ---------------------------------------------------------------------------------------------

const adminCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/admin-cases"), lines)).cases,
);

test("the admin contract lists its cases", () => {
  assert.ok(Array.isArray(adminCases) && adminCases.length >= 7, `cases: ${adminCases}`);
});

for (const name of adminCases) {
  test(`admin contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-admin/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}

test("single billing, portfolio and pattern-list calls cost what the design promises", () =>
  withWorker(async ({ call, lines }) => {
    const body = await json(await call("/probe/one-call", { method: "POST" }), lines);
    assert.equal(body.ok, true);
    // The webhook apply (event + payment + subscription, guards and marker) is ONE batch.
    assert.equal(body.apply_webhook.outcome, "Applied { payment_id: Some(PaymentId(1)) }");
    assert.equal(body.apply_webhook.round_trips, 1, JSON.stringify(body));
    assert.equal(body.apply_webhook_replay.outcome, "Replay");
    assert.equal(body.apply_webhook_replay.round_trips, 1, JSON.stringify(body));
    // A trade write with its quota / compare-and-set and the balance is ONE batch.
    assert.equal(body.create_trade.round_trips, 1, JSON.stringify(body));
    assert.equal(body.save_trade.round_trips, 1, JSON.stringify(body));
    // The pattern list is ONE statement.
    assert.deepEqual(body.list_patterns, { round_trips: 1, statements: 1 });
  }));

// The stats contract (crates/store-contract/src/stats.rs) on D1.
const statsCases = await withWorker(
  async ({ call, lines }) => (await json(await call("/stats-cases"), lines)).cases,
);

test("the stats contract lists its cases", () => {
  assert.ok(Array.isArray(statsCases) && statsCases.length >= 3, `cases: ${statsCases}`);
});

for (const name of statsCases) {
  test(`stats contract on D1: ${name}`, () =>
    withWorker(async ({ call, lines }) => {
      const body = await json(await call(`/run-stats/${name}`, { method: "POST" }), lines);
      assert.deepEqual({ ok: body.ok, case: body.case }, { ok: true, case: name }, JSON.stringify(body));
    }));
}
