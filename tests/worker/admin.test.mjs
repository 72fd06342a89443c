// The admin routes in the BUILT worker over D1 (workerd via Miniflare): the gate (anonymous
// 401, non-admin 403, CSRF 403), re-auth for sensitive actions, one audit row per write,
// deactivation and privilege changes ending the target's sessions, the admin signal override,
// and the error tracker grouping repeated 5xx answers. The first admin is made with D1 SQL
// (the bootstrap CLI is tested elsewhere); re-auth expiry is simulated by ageing the stored
// `reauth_at`, never by waiting.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { Browser, PASSWORD } from "./browser-client.mjs";

let w;
let db;
before(async () => {
  w = await startWorker();
  db = await w.mf.getD1Database("DB");
});
after(async () => {
  await w?.dispose();
});

async function auditActions() {
  const { results } = await db.prepare("SELECT action FROM audit_log ORDER BY id").all();
  return results.map((r) => r.action);
}

/** Makes every session's last re-authentication older than the 10-minute window. */
async function ageReauth() {
  await db.prepare("UPDATE sessions SET reauth_at = reauth_at - 11 * 60000").run();
}

test("anonymous → 401, a non-admin → 403, no CSRF token → 403; nothing is audited", async () => {
  const anon = await Browser.open("198.51.100.20", w);
  assert.equal((await anon.send("GET", "/api/v1/admin/users")).status, 401);
  assert.equal((await anon.send("GET", "/api/v1/admin/audit")).status, 401);

  const u = await Browser.user(w, "198.51.100.21", "plain");
  let r = await u.send("GET", "/api/v1/admin/users");
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, "forbidden");
  r = await u.send("POST", `/api/v1/admin/users/${u.id}/verify`);
  assert.equal(r.status, 403);
  r = await u.send("PATCH", "/api/v1/signals/1", { status: "cancelled" });
  assert.equal(r.status, 403);

  const a = await Browser.user(w, "198.51.100.22", "gatekeeper", { admin: true });
  const csrf = a.csrf;
  a.csrf = null;
  r = await a.send("POST", `/api/v1/admin/users/${u.id}/verify`);
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "csrf_failed");
  a.csrf = csrf;
  r = await a.send("POST", `/api/v1/admin/users/${u.id}/verify`, undefined, { headers: { origin: "https://evil.example" } });
  assert.equal(r.status, 403);
  assert.deepEqual(await auditActions(), []);

  r = await a.send("POST", `/api/v1/admin/users/${u.id}/verify`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.is_verified, true);
  r = await a.send("GET", "/api/v1/admin/users?q=plain");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 1);
  assert.equal(r.json.data[0].email, "plain@example.com");
  assert.ok(!("password_hash" in r.json.data[0]));
  const rows = (await db.prepare("SELECT actor_id, action, target, ip, request_id FROM audit_log").all()).results;
  assert.deepEqual(rows.map((x) => [x.actor_id, x.action, x.target]), [[a.id, "user.verify", `user:${u.id}`]]);
  assert.equal(rows[0].ip, "198.51.100.22");
  assert.ok(rows[0].request_id);
});

test("deactivation needs a recent re-auth, is audited, and kills the user's sessions", async () => {
  const a = await Browser.user(w, "198.51.100.30", "warden", { admin: true });
  const u = await Browser.user(w, "198.51.100.31", "inmate");
  const before = (await auditActions()).length;
  await ageReauth();
  let r = await a.send("POST", `/api/v1/admin/users/${u.id}/deactivate`);
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.json.error.fields.map((f) => f.code), ["reauth_required"]);
  assert.equal((await u.send("GET", "/api/v1/auth/me")).status, 200, "a refusal changes nothing");
  assert.equal((await auditActions()).length, before, "a refusal is not audited");

  r = await a.send("POST", "/api/v1/auth/reauth", { password: PASSWORD });
  assert.equal(r.status, 200, r.text);
  r = await a.send("POST", `/api/v1/admin/users/${u.id}/deactivate`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.is_active, false);
  assert.equal((await u.send("GET", "/api/v1/auth/me")).status, 401, "the old cookie is dead");
  const { n } = await db.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?1").bind(u.id).first();
  assert.equal(n, 0);
  assert.equal((await auditActions()).at(-1), "user.deactivate");

  // An admin cannot deactivate or demote themself.
  for (const action of ["deactivate", "revoke-admin"]) {
    r = await a.send("POST", `/api/v1/admin/users/${a.id}/${action}`);
    assert.equal(r.status, 409, `${action}: ${r.text}`);
  }
});

test("a privilege change ends the target's sessions (the id rotates through a new login)", async () => {
  const a = await Browser.user(w, "198.51.100.40", "crown", { admin: true });
  const u = await Browser.user(w, "198.51.100.41", "heir");
  const old = u.cookie;
  let r = await a.send("POST", `/api/v1/admin/users/${u.id}/make-admin`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.is_admin, true);
  assert.equal((await u.send("GET", "/api/v1/auth/me")).status, 401, "the pre-promotion id is dead");
  r = await u.send("POST", "/api/v1/auth/login", { email: "heir@example.com", password: PASSWORD });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(u.cookie, old);
  assert.equal((await u.send("GET", "/api/v1/admin/users")).status, 200, "the new session is an admin's");

  r = await a.send("POST", `/api/v1/admin/users/${u.id}/subscription`, { plan: "premium", days: 30 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.subscription.plan, "premium");
  r = await a.send("POST", `/api/v1/admin/users/${u.id}/subscription`, { plan: "premium", days: 30, user_id: 1 });
  assert.equal(r.status, 400, "unknown members are refused");
  const actions = await auditActions();
  assert.deepEqual(actions.slice(-2), ["user.make_admin", "user.set_subscription"]);
});

test("the admin signal override and symbol edits are audited; a user cannot override", async () => {
  const a = await Browser.user(w, "198.51.100.50", "oracle", { admin: true });
  let r = await a.send("POST", "/api/v1/admin/symbols", { symbol: "SOL-USDT", notify_enabled: false });
  assert.equal(r.status, 201, r.text);
  const sym = r.json.data;
  assert.equal(sym.symbol, "SOL/USDT");
  assert.equal(sym.notify_enabled, false);
  r = await a.send("PATCH", `/api/v1/admin/symbols/${sym.id}`, { is_active: false });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.is_active, false);

  const t = Date.now();
  const ins = await db
    .prepare(
      "INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score, timeframes_aligned, status, created_at) VALUES (?1, 'long', 10, 9, 11, 12, 13, 1, 3, '1h', 'pending', ?2) RETURNING id",
    )
    .bind(sym.id, t)
    .first();
  r = await a.send("PATCH", `/api/v1/signals/${ins.id}`, { status: "cancelled" });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data, { id: ins.id, status: "cancelled" });
  const row = await db.prepare("SELECT status FROM signals WHERE id = ?1").bind(ins.id).first();
  assert.equal(row.status, "cancelled");
  r = await a.send("GET", `/api/v1/admin/audit?target=signal:${ins.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 1);
  assert.equal(r.json.data[0].action, "signal.set_status");
  assert.equal(r.json.data[0].actor_id, a.id);
  assert.ok(r.json.data[0].details.includes("cancelled"));
  r = await a.send("PATCH", `/api/v1/signals/${ins.id}`, { status: "won" });
  assert.equal(r.status, 400);
});

test("the error tracker groups repeated 5xx answers by fingerprint; ack and resolve are audited", async () => {
  // A separate worker: this test breaks a table on purpose.
  const w2 = await startWorker();
  try {
    const db2 = await w2.mf.getD1Database("DB");
    const a = await Browser.user(w2, "198.51.100.60", "medic", { admin: true });
    await db2.prepare("DROP TABLE logs").run();
    for (let i = 0; i < 3; i++) {
      const r = await a.send("GET", "/api/v1/admin/logs");
      assert.equal(r.status, 503, r.text);
      assert.ok(!r.text.includes("logs"), "no internals in the body");
    }
    const r = await a.send("GET", "/api/v1/admin/errors");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.length, 1, JSON.stringify(r.json.data));
    const g = r.json.data[0];
    assert.equal(g.occurrences, 3);
    assert.equal(g.source, "/api/v1/admin/logs");
    assert.equal(g.kind, "service_unavailable");
    assert.equal(g.status, "new");
    assert.match(g.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(!g.message.includes("no such table"), `only the cause class: ${g.message}`);

    let t = await a.send("POST", `/api/v1/admin/errors/${g.id}/ack`);
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.data.status, "acknowledged");
    t = await a.send("POST", `/api/v1/admin/errors/${g.id}/resolve`);
    assert.equal(t.json.data.status, "resolved");
    const { results } = await db2.prepare("SELECT action FROM audit_log ORDER BY id").all();
    assert.deepEqual(results.map((x) => x.action), ["error.acknowledge", "error.resolve"]);
  } finally {
    await w2.dispose();
  }
});
