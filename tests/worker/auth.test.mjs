// The auth HTTP layer in the BUILT worker over D1 (workerd via Miniflare): the key journeys of
// crates/api/tests/api/auth.rs against the real adapters (D1 account ports, WebCrypto hasher,
// KV rate limits). No mail provider is wired, so the journey logs in unverified (login does not
// require a verified address) and checks the `mail_skipped` log line instead of a mail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, assertSecurityHeaders } from "./harness.mjs";

const ORIGIN = "http://127.0.0.1:8787";
const PASSWORD = "Correct7Horse";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.dispose();
});

/** A browser-like client: keeps the session cookie and the CSRF token. */
class Browser {
  constructor(ip) {
    this.ip = ip;
    this.cookie = null;
    this.csrf = null;
  }
  async send(method, path, body, extra = {}) {
    const headers = { origin: ORIGIN, "cf-connecting-ip": this.ip, ...extra };
    if (this.cookie) headers.cookie = `__Host-cl_session=${this.cookie}`;
    if (this.csrf) headers["x-csrf-token"] = this.csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await w.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    const set = res.headers.get("set-cookie");
    if (set) {
      const value = set.split(";")[0].split("=")[1];
      this.cookie = value || null;
    }
    if (json?.data?.csrf_token) this.csrf = json.data.csrf_token;
    return { res, json, text, set };
  }
  static async open(ip) {
    const b = new Browser(ip);
    const r = await b.send("GET", "/api/v1/auth/csrf");
    assert.equal(r.res.status, 200);
    return b;
  }
}

test("register, login, me, logout; the old cookie is dead; flags and headers", async () => {
  const b = await Browser.open("198.51.100.1");
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
  const b = await Browser.open("198.51.100.2");
  const body = { email: "x@example.com", password: PASSWORD };
  let r = await b.send("POST", "/api/v1/auth/login", body, { origin: "https://evil.example" });
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
  const a = await Browser.open("198.51.100.3");
  await a.send("POST", "/api/v1/auth/register", { email: "bo@example.com", username: "bob", password: PASSWORD });
  const strip = (r) => ({ status: r.res.status, error: r.json.error, retry: r.res.headers.get("retry-after"), cookie: r.set });
  const wrong = await (await Browser.open("198.51.100.4")).send("POST", "/api/v1/auth/login", { email: "bo@example.com", password: "Wrong7Password" });
  const unknown = await (await Browser.open("198.51.100.5")).send("POST", "/api/v1/auth/login", { email: "nobody@example.com", password: PASSWORD });
  assert.equal(wrong.res.status, 401);
  assert.deepEqual(strip(wrong), strip(unknown));
  assert.equal(wrong.json.error.code, "invalid_credentials");
});

test("register is limited to 3/h per IP; X-Forwarded-For does not change the IP", async () => {
  const b = await Browser.open("198.51.100.6");
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
