// Observability in workerd: `/health` reports the circuit breakers read from KV, and
// `/api/v1/metrics` (admins only) serves Prometheus text built from the request counters
// (flushed per isolate to KV), the store snapshot and the breakers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";

const ORIGIN = "http://127.0.0.1:8787";
const PASSWORD = "Correct7Horse";
let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.dispose();
});

async function session(ip, email, username) {
  let cookie = null;
  let csrf = null;
  const send = async (method, path, body) => {
    const headers = { origin: ORIGIN, "cf-connecting-ip": ip };
    if (cookie) headers.cookie = `__Host-cl_session=${cookie}`;
    if (csrf) headers["x-csrf-token"] = csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await w.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0].split("=")[1] || null;
    const json = text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : null;
    if (json?.data?.csrf_token) csrf = json.data.csrf_token;
    return { res, text, json };
  };
  await send("GET", "/api/v1/auth/csrf");
  let r = await send("POST", "/api/v1/auth/register", { email, username, password: PASSWORD });
  assert.equal(r.res.status, 202, r.text);
  r = await send("POST", "/api/v1/auth/login", { email, password: PASSWORD });
  assert.equal(r.res.status, 200, r.text);
  return send;
}

test("health reports each breaker; an open one degrades without taking the service down", async () => {
  let body = await (await w.fetch("/api/v1/health")).json();
  const names = body.data.checks.map((c) => c.name);
  for (const b of ["exchange_breaker", "ntfy_breaker", "lemonsqueezy_breaker", "nowpayments_breaker"]) {
    assert.ok(names.includes(b), `${b} in ${names}`);
  }
  assert.equal(body.data.status, "ok");
  const kv = await w.mf.getKVNamespace("KV");
  const now = Date.now();
  await kv.put("breaker:exchange", JSON.stringify({ state: "open", until_ms: now + 600_000, since_ms: now }));
  const res = await w.fetch("/api/v1/health/ready");
  assert.equal(res.status, 200, "an open breaker is not a readiness failure");
  body = await res.json();
  assert.equal(body.data.status, "degraded");
  assert.deepEqual(body.data.checks.find((c) => c.name === "exchange_breaker"), { name: "exchange_breaker", ok: false, critical: false });
  const text = JSON.stringify(body);
  assert.ok(!/https?:\/\/|version|binance/i.test(text), `no hosts or versions: ${text}`);
});

test("metrics: admins only, Prometheus text with requests, stored counts and breakers", async () => {
  assert.equal((await w.fetch("/api/v1/metrics")).status, 401);
  const send = await session("198.51.100.40", "ops@example.com", "ops");
  let r = await send("GET", "/api/v1/metrics");
  assert.equal(r.res.status, 403, r.text);

  const db = await w.mf.getD1Database("DB");
  await db.prepare("UPDATE users SET is_admin = 1 WHERE email = ?").bind("ops@example.com").run();
  for (let i = 0; i < 3; i++) await w.fetch("/api/v1/health/live");
  r = await send("GET", "/api/v1/metrics");
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const lines = r.text.split("\n").filter(Boolean);
  for (const l of lines) assert.ok(l.startsWith("# ") || l.startsWith("cryptolens_"), l);
  const live = lines.find((l) => l.startsWith('cryptolens_http_requests_total{route="/api/v1/health/live",status="200"}'));
  assert.ok(live && Number(live.split(" ").pop()) >= 3, live);
  assert.ok(lines.includes('cryptolens_breaker_state{upstream="exchange"} 2'), r.text);
  assert.ok(lines.some((l) => l.startsWith('cryptolens_http_request_duration_ms_bucket{route="/api/v1/health/live",le="+Inf"}')));
  assert.ok(lines.includes("# TYPE cryptolens_patterns_active gauge"));
  assert.ok(!r.text.includes(PASSWORD) && !r.text.includes("ops@example.com"));

  // The isolate flushed its counters to KV (first request, then at most every 10 s).
  const kv = await w.mf.getKVNamespace("KV");
  const keys = (await kv.list({ prefix: "metrics:isolate:" })).keys;
  assert.ok(keys.length >= 1, "a per-isolate copy in KV");
  const copy = JSON.parse(await kv.get(keys[0].name));
  assert.ok(Object.keys(copy.routes).length >= 1);
});
