// API keys and tiers in the BUILT worker over D1 and KV (workerd via Miniflare), product.md §1,
// §3, §11.10: the key is shown once and only its HMAC-SHA256(API_KEY_PEPPER) is stored (read
// back from D1), Bearer / X-API-Key with cookies ignored, a key in the URL refused, scopes,
// revocation and expiry on the next request, IP deny/allow (v4, v6), 429 + Retry-After from
// the per-key limit, another user's key id → 404, the tier filters (free: BTC/USDT and
// imbalance only; lists → tier_required) and the admin view-as.
//
// Users and sessions are rows written the way the worker stores them (read-auth.mjs): the
// password flows are covered by auth.test.mjs; here the sessions only carry the tiers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startWorker, DEV_SECRETS } from "./harness.mjs";
import { readerSession } from "./read-auth.mjs";

const ORIGIN = "http://127.0.0.1:8787";
const T0 = 1_699_999_200_000;
const H = 3_600_000;

const SEED = [
  `INSERT INTO symbols (id, symbol, exchange, is_active, notify_enabled, created_at) VALUES
    (1, 'BTC/USDT', 'binance', 1, 1, ${T0}), (2, 'ETH/USDT', 'binance', 1, 1, ${T0})`,
  `INSERT INTO patterns (id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
    expires_at, status, fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at) VALUES
    (1, 1, '1h', 'imbalance',   'bullish', 100, 102, ${T0 + H},     ${T0 + 99999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
    (2, 1, '4h', 'order_block', 'bearish', 100, 102, ${T0 + 2 * H}, ${T0 + 99999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0}),
    (3, 2, '1h', 'imbalance',   'bearish', 100, 102, ${T0 + 3 * H}, ${T0 + 99999 * H}, 'active', 0, 101, 99, 103, 105, 107, 2, 1, 2, 3, ${T0})`,
];

const PREMIUM = readerSession({ id: 101, tier: "premium", reauth: true });
const OTHER = readerSession({ id: 102, tier: "premium", reauth: true });
const FREE = readerSession({ id: 103, tier: "free", reauth: true });
const ADMIN = readerSession({ id: 104, tier: "admin" });

let w;
let db;
before(async () => {
  w = await startWorker();
  db = await w.mf.getD1Database("DB");
  const all = [...SEED, ...PREMIUM.statements, ...OTHER.statements, ...FREE.statements, ...ADMIN.statements];
  await db.batch(all.map((s) => db.prepare(s)));
});
after(async () => {
  await w?.dispose();
});

/** A signed-in browser: the session cookie, the session's CSRF token, the app's Origin. Each
 * request comes from an address of its own: these tests make more than the 10 requests a second
 * the per-IP API limit allows one address (api-ip-limit.test.mjs covers that limit). */
let browserIps = 0;
async function browser(session) {
  const res = await w.fetch("/api/v1/auth/csrf", { headers: { cookie: session.cookie } });
  assert.equal(res.status, 200);
  const csrf = (await res.json()).data.csrf_token;
  return async (method, path, body) => {
    browserIps += 1;
    const ip = `198.51.${100 + Math.floor(browserIps / 250)}.${(browserIps % 250) + 1}`;
    const headers = { cookie: session.cookie, origin: ORIGIN, "x-csrf-token": csrf, "cf-connecting-ip": ip };
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await w.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null, text, headers: r.headers };
  };
}

/** A request with only a key header (and a client IP). */
async function keyed(path, headers, ip = "192.0.2.10") {
  const r = await w.fetch(path, { headers: { "cf-connecting-ip": ip, ...headers } });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
}
const bearer = (key) => ({ authorization: `Bearer ${key}` });

async function createKey(send, body = { name: "bot", scopes: "all" }) {
  const r = await send("POST", "/api/v1/keys", body);
  assert.equal(r.status, 201, r.text);
  return { id: r.json.data.key.id, key: r.json.data.secret, text: r.text };
}

test("a key is shown once; D1 holds only HMAC-SHA256(pepper, key); it reads with Bearer or X-API-Key", async () => {
  const send = await browser(PREMIUM);
  const { id, key } = await createKey(send);
  assert.match(key, /^cle_[0-9a-z]{8}_[A-Za-z0-9_-]{43}$/);
  const row = await db.prepare("SELECT * FROM api_keys WHERE id = ?1").bind(id).first();
  const expected = createHmac("sha256", DEV_SECRETS.API_KEY_PEPPER).update(key).digest("hex");
  assert.equal(row.key_hmac, expected);
  const secretPart = key.slice(13);
  for (const [col, value] of Object.entries(row)) {
    assert.ok(!String(value).includes(secretPart), `api_keys.${col} holds the key`);
  }
  const list = await send("GET", "/api/v1/keys");
  assert.equal(list.status, 200);
  assert.ok(!list.text.includes(secretPart), "the list never shows the key again");
  assert.equal(list.json.data[0].display, `cle_${row.prefix}_…${key.slice(-4)}`);

  for (const headers of [bearer(key), { "x-api-key": key }]) {
    const r = await keyed("/api/v1/matrix", headers);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.data.rows.map((x) => x.symbol), ["BTC/USDT", "ETH/USDT"]);
  }
  const usage = await send("GET", `/api/v1/keys/${id}/usage`);
  assert.equal(usage.status, 200);
  assert.ok(usage.json.data.hours.reduce((n, h) => n + h.requests, 0) >= 2);
  assert.ok(usage.json.data.last_used_at > 0);
});

test("cookies are ignored with a key; a key in the URL, a wrong key or a missing scope is refused", async () => {
  const send = await browser(PREMIUM);
  const { key } = await createKey(send, { name: "matrix only", scopes: "read:matrix" });
  // The free user's cookie rides along: the key (premium) decides what is seen.
  const mixed = await keyed("/api/v1/matrix", { ...bearer(key), cookie: FREE.cookie });
  assert.equal(mixed.status, 200);
  assert.equal(mixed.json.data.rows.length, 2);
  const me = await keyed("/api/v1/auth/me", { ...bearer(key), cookie: PREMIUM.cookie });
  assert.equal(me.status, 403);
  assert.equal(me.json.error.code, "forbidden");
  assert.equal(me.headers.get("set-cookie"), null);

  assert.equal((await keyed(`/api/v1/matrix?api_key=${key}`, {})).status, 401);
  assert.equal((await keyed(`/api/v1/matrix?key=${key}`, bearer(key))).status, 401);
  const wrong = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
  assert.equal((await keyed("/api/v1/matrix", bearer(wrong))).status, 401);
  assert.equal((await keyed("/api/v1/matrix", { authorization: `Basic ${key}` })).status, 401);
  const scope = await keyed("/api/v1/symbols", bearer(key));
  assert.equal(scope.status, 403);
  assert.equal(scope.json.error.code, "scope_missing");
  assert.ok(w.log.lines.some((l) => l.includes('"event":"key_denied"')));
});

test("revocation and expiry take effect on the next request", async () => {
  const send = await browser(PREMIUM);
  const a = await createKey(send);
  assert.equal((await keyed("/api/v1/symbols", bearer(a.key))).status, 200);
  assert.equal((await send("DELETE", `/api/v1/keys/${a.id}`)).status, 200);
  assert.equal((await keyed("/api/v1/symbols", bearer(a.key))).status, 401);

  const b = await createKey(send, { name: "short", scopes: "all", expires_at: String(Date.now() + 3_600_000) });
  assert.equal((await keyed("/api/v1/symbols", bearer(b.key))).status, 200);
  await db.prepare("UPDATE api_keys SET expires_at = ?1 WHERE id = ?2").bind(Date.now() - 1, b.id).run();
  assert.equal((await keyed("/api/v1/symbols", bearer(b.key))).status, 401);
});

test("IP rules: deny wins, allow narrows, IPv4 and IPv6", async () => {
  const send = await browser(PREMIUM);
  const { id, key } = await createKey(send);
  let r = await send("POST", `/api/v1/keys/${id}/ip-rules`, { action: "deny", cidr: "203.0.113.0/24" });
  assert.equal(r.status, 201, r.text);
  assert.equal((await keyed("/api/v1/symbols", bearer(key), "203.0.113.77")).status, 401);
  assert.equal((await keyed("/api/v1/symbols", bearer(key), "192.0.2.77")).status, 200);
  r = await send("POST", `/api/v1/keys/${id}/ip-rules`, { action: "allow", cidr: "2001:db8:5::/48" });
  assert.equal(r.status, 201, r.text);
  assert.equal((await keyed("/api/v1/symbols", bearer(key), "192.0.2.77")).status, 401);
  assert.equal((await keyed("/api/v1/symbols", bearer(key), "2001:db8:5:1::9")).status, 200);
  // X-Forwarded-For never changes the client address.
  assert.equal(
    (await keyed("/api/v1/symbols", { ...bearer(key), "x-forwarded-for": "2001:db8:5::1" }, "192.0.2.77")).status,
    401,
  );
  r = await send("POST", `/api/v1/keys/${id}/ip-rules`, { action: "allow", cidr: "10.0.0.0/33" });
  assert.equal(r.status, 400);
});

test("a key gets 429 with Retry-After past 10 requests a second", async () => {
  const send = await browser(PREMIUM);
  const { key } = await createKey(send);
  // 40 at once from different addresses: at most 10 per one-second window pass the per-key limit.
  const all = await Promise.all(
    Array.from({ length: 40 }, (_, i) => keyed("/api/v1/symbols", bearer(key), `192.0.2.${100 + i}`)),
  );
  const limited = all.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, `statuses: ${all.map((r) => r.status)}`);
  for (const r of limited) {
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
    assert.equal(r.json.error.code, "rate_limited");
  }
  assert.ok(all.every((r) => r.status === 200 || r.status === 429));
});

test("another user's key id answers 404; management needs CSRF", async () => {
  const mine = await browser(PREMIUM);
  const { id } = await createKey(mine);
  const other = await browser(OTHER);
  for (const [method, path, body] of [
    ["GET", `/api/v1/keys/${id}`],
    ["DELETE", `/api/v1/keys/${id}`],
    ["PATCH", `/api/v1/keys/${id}`, { name: "mine now" }],
    ["GET", `/api/v1/keys/${id}/ip-rules`],
    ["POST", `/api/v1/keys/${id}/ip-rules`, { action: "allow", cidr: "0.0.0.0/0" }],
    ["GET", `/api/v1/keys/${id}/usage`],
  ]) {
    const r = await other(method, path, body);
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
  }
  const noCsrf = await w.fetch(`/api/v1/keys/${id}`, { method: "DELETE", headers: { cookie: PREMIUM.cookie, origin: ORIGIN } });
  assert.equal(noCsrf.status, 403);
  assert.equal((await mine("GET", `/api/v1/keys/${id}`)).status, 200);
});

test("free: only BTC/USDT and imbalance; lists, charts and keys need a higher tier", async () => {
  const send = await browser(FREE);
  const matrix = await send("GET", "/api/v1/matrix");
  assert.equal(matrix.status, 200, matrix.text);
  assert.deepEqual(matrix.json.data.rows.map((r) => r.symbol), ["BTC/USDT"]);
  const types = matrix.json.data.rows[0].cells.map((c) => c.type).filter(Boolean);
  assert.deepEqual(types, ["imbalance"], JSON.stringify(matrix.json.data.rows[0]));
  const symbols = await send("GET", "/api/v1/symbols");
  assert.deepEqual(symbols.json.data.map((s) => s.symbol), ["BTC/USDT"]);
  for (const path of ["/api/v1/patterns", "/api/v1/signals?limit=20", "/api/v1/chart/BTC-USDT/1h"]) {
    const r = await send("GET", path);
    assert.equal(r.status, 403, path);
    assert.equal(r.json.error.code, "tier_required", path);
    assert.equal(r.json.error.fields[0].code, "pro", path);
  }
  const eth = await send("GET", "/api/v1/candles/ETH-USDT/1h");
  assert.equal(eth.json.error.code, "tier_required");
  assert.equal(eth.json.error.fields[0].code, "pro");
  const key = await send("POST", "/api/v1/keys", { name: "bot", scopes: "all" });
  assert.equal(key.status, 403);
  assert.equal(key.json.error.fields[0].code, "premium");
  const me = await send("GET", "/api/v1/auth/me");
  assert.equal(me.json.data.tier, "free");
  assert.deepEqual(me.json.data.limits.symbols, ["BTC/USDT"]);
});

test("an admin views the app as a tier on the server session", async () => {
  const send = await browser(ADMIN);
  let me = await send("GET", "/api/v1/auth/me");
  assert.equal(me.json.data.tier, "premium");
  assert.equal(me.json.data.viewing_as, null);
  const r = await send("POST", "/api/v1/admin/view-as", { tier: "free" });
  assert.equal(r.status, 200, r.text);
  // The session id rotated: use the new cookie.
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const headers = { cookie, origin: ORIGIN, "x-csrf-token": r.json.data.csrf_token };
  me = await (await w.fetch("/api/v1/auth/me", { headers })).json();
  assert.equal(me.data.tier, "free");
  assert.equal(me.data.viewing_as, "free");
  const matrix = await (await w.fetch("/api/v1/matrix", { headers })).json();
  assert.deepEqual(matrix.data.rows.map((x) => x.symbol), ["BTC/USDT"]);
  const stored = await db.prepare("SELECT view_as FROM sessions WHERE user_id = 104").first();
  assert.equal(stored.view_as, "free");
  // A non-admin cannot.
  const user = await browser(PREMIUM);
  assert.equal((await user("POST", "/api/v1/admin/view-as", { tier: "pro" })).status, 403);
});
