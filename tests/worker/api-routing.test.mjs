// The /api/v1 route table in the built worker, independent of stored data: the OpenAPI
// document, field-level validation, unknown parameters, 404 and 405.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, assertSecurityHeaders } from "./harness.mjs";
import { readerSession, withCookie } from "./read-auth.mjs";

// The read routes need a session: parameters are checked after the gate.
const READER = readerSession();
let w;
before(async () => {
  w = await startWorker();
  const db = await w.mf.getD1Database("DB");
  await db.batch(READER.statements.map((q) => db.prepare(q)));
});
after(async () => {
  await w?.dispose();
});

const fieldsOf = (body) => (body.error?.fields ?? []).map((f) => `${f.field}:${f.code}`).sort();

test("the OpenAPI document is served raw and lists every route and error code", async () => {
  const res = await w.fetch("/api/v1/openapi.json");
  assert.equal(res.status, 200);
  assertSecurityHeaders(assert, res, "openapi");
  const doc = await res.json();
  assert.equal(doc.openapi, "3.1.0");
  // The document and the router agree: every documented path template is served (with
  // sample values for its `{…}` segments, no template answers `not_found`), and the core
  // routes are there. The full list lives in the route table, whose host tests pin it.
  const paths = Object.keys(doc.paths);
  for (const core of ["/api/v1/health", "/api/v1/candles/{symbol}/{tf}", "/api/v1/matrix", "/api/v1/auth/login", "/api/v1/openapi.json"]) {
    assert.ok(paths.includes(core), core);
  }
  for (const path of paths) {
    const concrete = path.replace(/\{symbol\}/g, "BTC-USDT").replace(/\{tf\}/g, "1h").replace(/\{[a-z_]+\}/g, "1");
    for (const method of Object.keys(doc.paths[path])) {
      const res = await w.fetch(concrete, { method: method.toUpperCase(), headers: { "cf-connecting-ip": "192.0.2.77" } });
      const body = res.status === 204 || method === "head" ? null : await res.text();
      const code = body && res.headers.get("content-type")?.includes("json") ? JSON.parse(body).error?.code : null;
      assert.ok(!(res.status === 404 && code === "not_found" && !/\{/.test(path)), `${method} ${path} is documented but not served`);
      assert.notEqual(res.status, 405, `${method} ${path} is documented but not routed`);
      assert.ok(res.status < 500 || res.status === 503, `${method} ${concrete}: ${res.status}`);
    }
  }
  const codes = doc.components.schemas.ErrorCode.enum;
  for (const code of ["validation_failed", "unauthorized", "not_found", "method_not_allowed", "rate_limited", "internal_error"]) {
    assert.ok(codes.includes(code), code);
  }
  const candles = doc.paths["/api/v1/candles/{symbol}/{tf}"].get;
  assert.deepEqual(candles.parameters.map((p) => `${p.in}:${p.name}`), ["path:symbol", "path:tf", "query:limit", "query:before"]);
  assert.ok(doc.paths["/api/v1/matrix"].get.responses["304"]);
});

test("bad parameters answer validation_failed with every bad field at once", async () => {
  const cases = [
    ["/api/v1/candles/btc-usdt/2w?limit=0&sort=asc", ["limit:out_of_range", "sort:unknown_field", "symbol:invalid_format", "tf:invalid_choice"]],
    ["/api/v1/chart/BTC-USDT/1h?limit=2001&before=x", ["before:invalid_format", "limit:out_of_range"]],
    ["/api/v1/patterns?tf=3h&type=fvg&direction=long&limit=1001&cursor=zz&is_admin=1", ["cursor:invalid_format", "direction:invalid_choice", "is_admin:unknown_field", "limit:out_of_range", "tf:invalid_choice", "type:invalid_choice"]],
    ["/api/v1/signals?direction=bullish&status=done&limit=501", ["direction:invalid_choice", "limit:out_of_range", "status:invalid_choice"]],
    ["/api/v1/symbols?active=yes&active=no", ["active:duplicate_field", "active:invalid_choice"]],
    ["/api/v1/patterns/abc", ["id:invalid_format"]],
    ["/api/v1/signals/0", ["id:out_of_range"]],
    ["/api/v1/matrix?symbol=BTC-USDT", ["symbol:unknown_field"]],
    ["/api/v1/health?cachebust=1", ["cachebust:unknown_field"]],
  ];
  for (const [path, fields] of cases) {
    const res = await w.fetch(path, withCookie(READER));
    assert.equal(res.status, 400, path);
    const body = await res.json();
    assert.equal(body.success, false, path);
    assert.equal(body.error.code, "validation_failed", path);
    assert.deepEqual(fieldsOf(body), fields, path);
    assert.equal(res.headers.get("cache-control"), "no-store", path);
  }
});

test("wrong methods on read routes are 405 with Allow, unknown paths 404", async () => {
  for (const [method, path] of [["POST", "/api/v1/matrix"], ["DELETE", "/api/v1/patterns/1"], ["PUT", "/api/v1/candles/BTC-USDT/1h"]]) {
    const res = await w.fetch(path, { method, body: method === "DELETE" ? undefined : "{}", headers: { "content-type": "application/json" } });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assert.equal((await res.json()).error.code, "method_not_allowed");
  }
  for (const path of ["/api/v1/patterns/1/extra", "/api/v1/candles/BTC-USDT", "/api/v1/signal/1"]) {
    const res = await w.fetch(path);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).error.code, "not_found");
  }
});

test("the access log names the route template, never the raw path", async () => {
  await w.fetch("/api/v1/patterns/12345", { headers: { "X-Request-ID": "route-log-0001" } });
  // Console output reaches the harness through workerd's stdout, asynchronously.
  let line;
  for (let i = 0; i < 50 && !line; i++) {
    line = w.log.lines.find((l) => l.includes("route-log-0001"));
    if (!line) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(line, "no access log line");
  const json = JSON.parse(line.slice(line.indexOf("{")));
  assert.equal(json.route, "/api/v1/patterns/{id}");
  assert.ok(!line.includes("/patterns/12345"));
});

test("methods the platform does not know are refused, never served as GET", async () => {
  for (const method of ["QUERY", "PROPFIND", "PURGE"]) {
    const res = await w.fetch("/api/v1/health", { method });
    assert.equal(res.status, 405, method);
    assert.equal((await res.json()).error.code, "method_not_allowed", method);
    assert.ok(res.headers.get("allow")?.includes("GET"), method);
  }
});
