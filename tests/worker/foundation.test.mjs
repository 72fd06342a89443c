// The Foundation slice against the real worker in workerd, with local D1 and KV.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, assertSecurityHeaders, DEV_SECRETS } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.dispose();
});

test("health reports d1, kv and config checks without versions, hosts or config", async () => {
  const res = await w.fetch("/api/v1/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.success, true);
  assert.equal(body.data.status, "ok");
  assert.deepEqual(
    body.data.checks.map((c) => [c.name, c.ok]),
    [
      ["config", true], ["d1", true], ["kv", true],
      ["exchange_breaker", true], ["ntfy_breaker", true], ["lemonsqueezy_breaker", true], ["nowpayments_breaker", true],
    ],
  );
  const text = JSON.stringify(body);
  for (const leak of ["version", "127.0.0.1", "development", DEV_SECRETS.SESSION_KEY]) {
    assert.ok(!text.includes(leak), `health leaked ${leak}`);
  }
  assertSecurityHeaders(assert, res, "health");
  assert.equal(res.headers.get("cache-control"), "no-store");
});

test("live and ready exist", async () => {
  const live = await w.fetch("/api/v1/health/live");
  assert.equal(live.status, 200);
  assert.deepEqual((await live.json()).data, { live: true });
  const ready = await w.fetch("/api/v1/health/ready");
  assert.equal(ready.status, 200);
});

test("a well-formed X-Request-ID is echoed in the header and the envelope", async () => {
  const res = await w.fetch("/api/v1/health", { headers: { "X-Request-ID": "trace-abc-12345" } });
  assert.equal(res.headers.get("x-request-id"), "trace-abc-12345");
  assert.equal((await res.json()).meta.request_id, "trace-abc-12345");
});

test("a malformed X-Request-ID is replaced, so it cannot inject into logs", async () => {
  const res = await w.fetch("/api/v1/health", { headers: { "X-Request-ID": "bad id with spaces" } });
  const id = res.headers.get("x-request-id");
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal((await res.json()).meta.request_id, id);
});

test("unknown API routes and wrong methods get the JSON envelope with stable codes", async () => {
  const nf = await w.fetch("/api/v1/no-such-route");
  assert.equal(nf.status, 404);
  const nfBody = await nf.json();
  assert.equal(nfBody.success, false);
  assert.equal(nfBody.error.code, "not_found");
  assert.ok(nfBody.meta.request_id);
  assertSecurityHeaders(assert, nf, "404");

  const ma = await w.fetch("/api/v1/health", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  assert.equal(ma.status, 405);
  assert.equal((await ma.json()).error.code, "method_not_allowed");
  assert.equal(ma.headers.get("allow"), "GET, HEAD");
});

test("the frontend is served with the same security headers, and deep links fall back to the SPA", async () => {
  for (const path of ["/", "/pricing", "/health"]) {
    const res = await w.fetch(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/, path);
    assertSecurityHeaders(assert, res, path);
    const html = await res.text();
    assert.ok(!/<script>(?!<\/script>)/.test(html) && !/ style="/.test(html), `${path}: inline script/style`);
  }
  const wasm = await w.fetch("/pkg/app_bg.wasm");
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assertSecurityHeaders(assert, wasm, "wasm");
});

test("build files, dotfiles and secrets are never served, even through the SPA fallback", async () => {
  for (const path of ["/.dev.vars", "/.env", "/.git/config", "/wrangler.toml", "/Cargo.toml", "/%2e%2e/Cargo.toml"]) {
    const res = await w.fetch(path);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).error.code, "not_found", path);
  }
});

test("every request is logged as one JSON line with request id, route, status and latency", async () => {
  await w.fetch("/api/v1/health", { headers: { "X-Request-ID": "log-check-0001", Cookie: "sid=topsecretcookie" } });
  const line = w.log.lines.find((l) => l.includes("log-check-0001"));
  assert.ok(line, "no access log line");
  const json = JSON.parse(line.slice(line.indexOf("{")));
  assert.equal(json.route, "/api/v1/health");
  assert.equal(json.status, 200);
  assert.equal(typeof json.latency_ms, "number");
  assert.ok(!line.includes("topsecretcookie"));
});
