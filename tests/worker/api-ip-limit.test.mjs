// The per-client-IP API limit (product.md §11.13: API 10/s per IP, as 30 per 3-second window) in the BUILT worker over KV
// (workerd via Miniflare), for every /api/v1 caller: anonymous, session and API key alike.
// The subject is CF-Connecting-IP only (X-Forwarded-For never changes it), another address has
// its own budget, and in development the loopback address the local server stamps on header-less
// requests is exempt (crates/api/src/client_limit.rs). No timing: a burst of 100 at once from
// one address cannot all fit in 3-second windows of 30 (it would need 4 windows, 9+ seconds).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { readerSession } from "./read-auth.mjs";

const READER = readerSession({ id: 301, tier: "premium" });

let w;
before(async () => {
  w = await startWorker();
  const db = await w.mf.getD1Database("DB");
  await db.batch(READER.statements.map((s) => db.prepare(s)));
});
after(async () => {
  await w?.dispose();
});

async function get(path, headers) {
  const r = await w.fetch(path, { headers });
  const text = await r.text();
  return { status: r.status, retry: r.headers.get("retry-after"), json: text ? JSON.parse(text) : null };
}

/** 100 requests at once; returns their answers. */
function burst(path, headers) {
  return Promise.all(Array.from({ length: 100 }, (_, i) => get(path, headers(i))));
}

function assertLimited(all, what) {
  const statuses = all.map((r) => r.status);
  const limited = all.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, `${what}: no 429 in ${statuses}`);
  assert.ok(all.every((r) => r.status === 200 || r.status === 429), `${what}: ${statuses}`);
  for (const r of limited) {
    assert.ok(Number(r.retry) >= 1, `${what}: Retry-After ${r.retry}`);
    assert.equal(r.json.error.code, "rate_limited");
  }
}

test("anonymous requests: past 30 in 3 s from one IP → 429 + Retry-After, whatever X-Forwarded-For says", async () => {
  const all = await burst("/api/v1/health/live", (i) => ({
    "cf-connecting-ip": "203.0.113.50",
    "x-forwarded-for": `198.51.100.${i + 1}`,
  }));
  assertLimited(all, "anonymous");
  // Another address is unaffected by that burst.
  const other = await get("/api/v1/health/live", { "cf-connecting-ip": "203.0.113.51" });
  assert.equal(other.status, 200);
});

test("session reads are counted per IP too; IPv6 clients share their /64", async () => {
  const all = await burst("/api/v1/matrix", (i) => ({
    ...READER.headers,
    "cf-connecting-ip": `2001:db8:7:7::${(i + 1).toString(16)}`,
  }));
  assertLimited(all, "session /64");
  const elsewhere = await get("/api/v1/matrix", { ...READER.headers, "cf-connecting-ip": "2001:db8:7:8::1" });
  assert.equal(elsewhere.status, 200);
});

test("invalid API keys are counted per IP before the key is looked at", async () => {
  const all = await burst("/api/v1/symbols", () => ({
    "cf-connecting-ip": "203.0.113.52",
    authorization: "Bearer cle_abcdefgh_not-a-real-key",
  }));
  const statuses = all.map((r) => r.status);
  assert.ok(statuses.includes(429), `${statuses}`);
  assert.ok(all.every((r) => r.status === 401 || r.status === 429), `${statuses}`);
});

test("in development the local server's own address is exempt (header-less local requests)", async () => {
  const all = await burst("/api/v1/health/live", () => ({}));
  assert.ok(all.every((r) => r.status === 200), `${all.map((r) => r.status)}`);
  const loop = await burst("/api/v1/health/live", () => ({ "cf-connecting-ip": "127.0.0.1" }));
  assert.ok(loop.every((r) => r.status === 200), `${loop.map((r) => r.status)}`);
});
