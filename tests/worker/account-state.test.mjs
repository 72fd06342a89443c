// Account-state gates in the BUILT worker (workerd via Miniflare, local D1 and KV):
// - an account holding a one-time password (`must_change_password`, set by
//   `cryptolens create-user`) reaches only /auth/me, its sessions and /auth/change-password,
//   the new password passes the ONE policy, and the change lifts the gate;
// - with ADMIN_REQUIRE_2FA (always on in production) the admin routes refuse an admin without
//   2FA, and accept the same admin once 2FA is on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { Browser, markers } from "./browser-client.mjs";

const PASSWORD = "Correct7Horse";
let w;
let db;
before(async () => {
  w = await startWorker({ vars: { ADMIN_REQUIRE_2FA: "true" } });
  db = await w.mf.getD1Database("DB");
});
after(async () => {
  await w?.dispose();
});

test("a one-time password opens nothing but the password change", async () => {
  const b = await Browser.user(w, "203.0.113.10", "fresh_one", { password: PASSWORD });
  await db.prepare("UPDATE users SET must_change_password = 1 WHERE id = ?1").bind(b.id).run();

  let r = await b.send("GET", "/api/v1/auth/me");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.user.must_change_password, true);
  assert.equal((await b.send("GET", "/api/v1/auth/sessions")).status, 200);
  for (const [method, path, body] of [
    ["GET", "/api/v1/matrix"],
    ["GET", "/api/v1/symbols"],
    ["GET", "/api/v1/keys"],
    ["GET", "/api/v1/me/preferences"],
    ["POST", "/api/v1/auth/2fa/setup", { password: PASSWORD }],
  ]) {
    r = await b.send(method, path, body);
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.deepEqual(markers(r), ["password_change_required"], `${method} ${path}`);
  }

  // The ONE password policy holds here too; a refused change leaves the gate in place.
  r = await b.send("POST", "/api/v1/auth/change-password", { current_password: PASSWORD, new_password: "password" });
  assert.equal(r.status, 400, r.text);
  assert.equal((await b.send("GET", "/api/v1/matrix")).status, 403);

  r = await b.send("POST", "/api/v1/auth/change-password", { current_password: PASSWORD, new_password: "Another9Horse" });
  assert.equal(r.status, 200, r.text);
  const row = await db.prepare("SELECT must_change_password FROM users WHERE id = ?1").bind(b.id).first();
  assert.equal(row.must_change_password, 0);
  r = await b.send("GET", "/api/v1/auth/me");
  assert.equal(r.json.data.user.must_change_password, false);
  assert.equal((await b.send("GET", "/api/v1/symbols")).status, 200);
});

test("the admin area needs 2FA when the config requires it", async () => {
  const admin = await Browser.user(w, "203.0.113.11", "admin_no2fa", { password: PASSWORD });
  await db.prepare("UPDATE users SET is_admin = 1 WHERE id = ?1").bind(admin.id).run();

  let r = await admin.send("GET", "/api/v1/admin/users");
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(markers(r), ["two_factor_required"]);
  // Non-admin routes are unaffected.
  assert.equal((await admin.send("GET", "/api/v1/auth/me")).status, 200);
  const logged = w.log.lines.some((l) => l.includes('"reason":"two_factor_required"'));
  assert.ok(logged, "the refusal is logged as an authorization failure");

  await db.prepare("UPDATE users SET totp_enabled = 1 WHERE id = ?1").bind(admin.id).run();
  r = await admin.send("GET", "/api/v1/admin/users");
  assert.equal(r.status, 200, r.text);
});
