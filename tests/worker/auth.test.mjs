// The auth HTTP layer in the BUILT worker over D1 (workerd via Miniflare): the key journeys of
// crates/api/tests/api/auth.rs against the real adapters (D1 account ports, WebCrypto hasher,
// KV rate limits). Without MAIL_* the first journey logs in unverified (login does not require a
// verified address) and checks the `mail_skipped` log line; the last test runs a second worker
// against the fake mail provider (tests/fakes/mail.mjs) for verify, reset and 2FA.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startWorker, assertSecurityHeaders } from "./harness.mjs";
import { startMail, latestToken } from "../fakes/mail.mjs";
import { Browser, ORIGIN, PASSWORD } from "./browser-client.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.dispose();
});

test("register, login, me, logout; the old cookie is dead; flags and headers", async () => {
  const b = await Browser.open("198.51.100.1", w);
  let r = await b.send("POST", "/api/v1/auth/register", { email: "Ann@Example.com", username: "ann", password: PASSWORD });
  assert.equal(r.res.status, 202, r.text);
  assert.ok(w.log.lines.some((l) => l.includes("mail_skipped")), "mail is skipped, not faked");
  assert.ok(!w.log.lines.some((l) => l.includes("ann@example.com")), "no address in the logs");

  r = await b.send("POST", "/api/v1/auth/login", { email: "ann@example.com", password: PASSWORD });
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.json.data.status, "logged_in");
  const attrs = r.set.split(";").slice(1).map((a) => a.trim());
  for (const want of ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"]) {
    assert.ok(attrs.includes(want), `${want} in ${r.set}`);
  }
  // 7 days from the session's creation, less the time the login took (real clock).
  const maxAge = Number(attrs.find((a) => a.startsWith("Max-Age=")).slice(8));
  assert.ok(maxAge > 604_700 && maxAge <= 604_800, r.set);
  assert.ok(!/domain/i.test(r.set));
  assertSecurityHeaders(assert, r.res, "login");
  assert.equal(r.res.headers.get("cache-control"), "no-store");
  const session = b.cookie;

  r = await b.send("GET", "/api/v1/auth/me");
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.json.data.user.email, "ann@example.com");
  assert.equal(r.json.data.tier, "free");

  r = await b.send("POST", "/api/v1/auth/logout");
  assert.equal(r.res.status, 200, r.text);
  assert.match(r.set, /Max-Age=0/);
  b.cookie = session;
  r = await b.send("GET", "/api/v1/auth/me");
  assert.equal(r.res.status, 401);

  const secrets = [PASSWORD, session, b.csrf];
  for (const s of secrets) {
    assert.ok(!w.log.lines.some((l) => l.includes(s)), "a secret reached the logs");
  }
  assert.ok(w.log.lines.some((l) => l.includes('"event":"login_succeeded"')));
});

test("CSRF: no token, a wrong Origin and no cookie are all 403 csrf_failed", async () => {
  const b = await Browser.open("198.51.100.2", w);
  const body = { email: "x@example.com", password: PASSWORD };
  let r = await b.send("POST", "/api/v1/auth/login", body, { headers: { origin: "https://evil.example" } });
  assert.equal(r.res.status, 403);
  assert.equal(r.json.error.code, "csrf_failed");
  const csrf = b.csrf;
  b.csrf = null;
  r = await b.send("POST", "/api/v1/auth/login", body);
  assert.equal(r.res.status, 403);
  b.csrf = csrf;
  b.cookie = null;
  r = await b.send("POST", "/api/v1/auth/login", body);
  assert.equal(r.res.status, 403);
});

test("unknown and wrong-password logins answer the same 401", async () => {
  const a = await Browser.open("198.51.100.3", w);
  await a.send("POST", "/api/v1/auth/register", { email: "bo@example.com", username: "bob", password: PASSWORD });
  const strip = (r) => ({ status: r.res.status, error: r.json.error, retry: r.res.headers.get("retry-after"), cookie: r.set });
  const wrong = await (await Browser.open("198.51.100.4", w)).send("POST", "/api/v1/auth/login", { email: "bo@example.com", password: "Wrong7Password" });
  const unknown = await (await Browser.open("198.51.100.5", w)).send("POST", "/api/v1/auth/login", { email: "nobody@example.com", password: PASSWORD });
  assert.equal(wrong.res.status, 401);
  assert.deepEqual(strip(wrong), strip(unknown));
  assert.equal(wrong.json.error.code, "invalid_credentials");
});

test("register is limited to 3/h per IP; X-Forwarded-For does not change the IP", async () => {
  const b = await Browser.open("198.51.100.6", w);
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    const r = await b.send(
      "POST",
      "/api/v1/auth/register",
      { email: `r${i}@example.com`, username: `reg${i}`, password: PASSWORD },
      { "x-forwarded-for": `10.0.0.${i}` },
    );
    statuses.push(r.res.status);
    if (r.res.status === 429) assert.ok(r.res.headers.get("retry-after"));
  }
  assert.deepEqual(statuses, [202, 202, 202, 429]);
});

test("a key in the query string or a key header is 401; CORS echoes listed origins only", async () => {
  let res = await w.fetch("/api/v1/symbols?api_key=cle_x");
  assert.equal(res.status, 401);
  await res.arrayBuffer();
  res = await w.fetch("/api/v1/auth/me", { headers: { authorization: "Bearer cle_x" } });
  assert.equal(res.status, 401);
  await res.arrayBuffer();
  res = await w.fetch("/api/v1/symbols", { headers: { origin: "https://evil.example" } });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  assert.match(res.headers.get("vary") ?? "", /Origin/);
  await res.arrayBuffer();
});

test("the CSP sink answers 204 and refuses other media types", async () => {
  const report = JSON.stringify({ "csp-report": { "document-uri": `${ORIGIN}/x?token=s3cr3t`, "violated-directive": "img-src" } });
  let res = await w.fetch("/api/v1/csp-report", { method: "POST", headers: { "content-type": "application/csp-report", "cf-connecting-ip": "198.51.100.9" }, body: report });
  assert.equal(res.status, 204);
  res = await w.fetch("/api/v1/csp-report", { method: "POST", headers: { "content-type": "text/plain" }, body: report });
  assert.equal(res.status, 415);
  await res.arrayBuffer();
  assert.ok(!w.log.lines.some((l) => l.includes("s3cr3t")));
});

test("with the mail provider: verify by mailed token, reset, 2FA with a recovery code", async () => {
  const mail = await startMail({ port: 0, apiKey: "mail-key-auth" });
  const w2 = await startWorker({ vars: { MAIL_BASE_URL: mail.url, MAIL_API_KEY: "mail-key-auth" } });
  try {
    const b = await Browser.open("198.51.100.20", w2);
    let r = await b.send("POST", "/api/v1/auth/register", { email: "cy@example.com", username: "cyd", password: PASSWORD });
    assert.equal(r.res.status, 202, r.text);
    const token = await latestToken(mail.url, { to: "cy@example.com", kind: "verify_email" });
    assert.ok(token, "a verification mail was delivered");
    r = await b.send("POST", "/api/v1/auth/verify-email", { token });
    assert.equal(r.res.status, 200, r.text);
    r = await b.send("POST", "/api/v1/auth/verify-email", { token });
    assert.equal(r.res.status, 400, "single use");

    r = await b.send("POST", "/api/v1/auth/forgot-password", { email: "cy@example.com" });
    assert.equal(r.res.status, 202);
    const reset = await latestToken(mail.url, { to: "cy@example.com", kind: "password_reset" });
    r = await b.send("POST", "/api/v1/auth/reset-password", { token: reset, password: "Better8Horse" });
    assert.equal(r.res.status, 200, r.text);
    const c = await Browser.open("198.51.100.21", w2);
    r = await c.send("POST", "/api/v1/auth/login", { email: "cy@example.com", password: "Better8Horse" });
    assert.equal(r.res.status, 200, r.text);
    r = await c.send("GET", "/api/v1/auth/me");
    assert.equal(r.json.data.user.is_verified, true);

    r = await c.send("POST", "/api/v1/auth/2fa/setup");
    assert.equal(r.res.status, 200, r.text);
    const code = totp(r.json.data.manual_key);
    r = await c.send("POST", "/api/v1/auth/2fa/enable", { code });
    assert.equal(r.res.status, 200, r.text);
    const recovery = r.json.data.recovery_codes;
    assert.equal(recovery.length, 10);
    r = await c.send("POST", "/api/v1/auth/logout");
    assert.equal(r.res.status, 200);

    const d = await Browser.open("198.51.100.22", w2);
    r = await d.send("POST", "/api/v1/auth/login", { email: "cy@example.com", password: "Better8Horse" });
    assert.equal(r.json.data.status, "totp_required", r.text);
    assert.match(r.set, /Max-Age=(59\d|600)\b/);
    r = await d.send("GET", "/api/v1/auth/me");
    assert.equal(r.res.status, 401, "a pending login reaches only the TOTP step");
    r = await d.send("POST", "/api/v1/auth/login/totp", { code: recovery[0] });
    assert.equal(r.res.status, 200, r.text);
    r = await d.send("GET", "/api/v1/auth/me");
    assert.equal(r.res.status, 200);
    assert.equal(r.json.data.user.totp_enabled, true);
    for (const secret of [token, reset, recovery[0], "Better8Horse"]) {
      assert.ok(!w2.log.lines.some((l) => l.includes(secret)), "a secret reached the logs");
    }
  } finally {
    await w2.dispose();
    await mail.close?.();
  }
});

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 key, now. */
function totp(base32) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of base32.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}
