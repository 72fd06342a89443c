// The ONE browser-like client of the workerd tests: keeps the `__Host-` session cookie and the
// CSRF token the way the web app does, sends the Origin of the app and a client address of its
// own. Suites differ only through options (see `Browser`), never through a copy of this class.
import assert from "node:assert/strict";

export const ORIGIN = "http://127.0.0.1:8787";
/** The password the suites register their users with (it passes the password policy). */
export const PASSWORD = "Correct7Horse";
const DAY = 86_400_000;

// The API allows 10 requests a second per client address (product.md §11). A test client
// plays one browser at one address, so it paces itself like a well-behaved client: at most
// 10 requests in any 1.1 s. (The limit itself is tested in api-ip-limit.test.mjs.)
const sent = new Map();
export async function pace(ip) {
  const times = sent.get(ip) ?? [];
  if (times.length >= 10) {
    const wait = times[times.length - 10] + 1100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  times.push(Date.now());
  sent.set(ip, times.slice(-10));
}

/**
 * A fresh client address for every call: `${prefix}.1`, `${prefix}.2`, … `${prefix}.250`, then
 * round again. For a suite that sends more than the per-IP limit allows and is not about it:
 * pass the returned function as a Browser's `ip`.
 */
export function addresses(prefix) {
  let n = 0;
  return () => {
    n = (n % 250) + 1;
    return `${prefix}.${n}`;
  };
}

export class Browser {
  /**
   * @param ip the client address: a string (one browser at one address, paced to the per-IP
   *   limit) or a function giving each request its address (see `addresses`; not paced).
   * @param worker the started worker (harness.mjs `startWorker`).
   * @param options `origin`: the Origin header the app sends (the worker's APP_URL).
   */
  constructor(ip, worker, { origin = ORIGIN } = {}) {
    assert.ok(worker?.fetch, "Browser needs the started worker");
    this.w = worker;
    this.ip = ip;
    this.origin = origin;
    this.cookie = null;
    this.csrf = null;
  }

  /**
   * One request as the web app sends it. `body` is sent as JSON; options: `headers` (added
   * last, so they may replace the Origin), `csrf: false` to leave the CSRF token out, `raw`: a
   * body string sent as is (JSON that `JSON.stringify` cannot produce).
   * Returns `{ status, json, text, res, set }` (`set`: the Set-Cookie header, if any).
   */
  async send(method, path, body, { headers: extra = {}, csrf = true, raw } = {}) {
    const ip = typeof this.ip === "function" ? this.ip() : this.ip;
    if (typeof this.ip !== "function") await pace(ip);
    const headers = { origin: this.origin, "cf-connecting-ip": ip, ...extra };
    if (this.cookie) headers.cookie = `__Host-cl_session=${this.cookie}`;
    if (this.csrf && csrf) headers["x-csrf-token"] = this.csrf;
    if (body !== undefined || raw !== undefined) headers["content-type"] = "application/json";
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await this.w.fetch(path, { method, headers, body: payload });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0].split("=")[1] || null;
    if (json?.data?.csrf_token) this.csrf = json.data.csrf_token;
    return { status: res.status, json, text, res, set };
  }

  /** A browser that has fetched its CSRF token (signed out). */
  static async open(ip, worker, options) {
    const b = new Browser(ip, worker, options);
    assert.equal((await b.send("GET", "/api/v1/auth/csrf")).status, 200);
    return b;
  }

  /**
   * Registers `name` (`<name>@example.com`; unverified, as there is no mail here, unless
   * `verified`), optionally makes it an admin or gives it an active `plan` for `planDays` more
   * days (`createdAt`: the subscription row's creation time), logs in, and remembers `id` and
   * `email`.
   */
  static async user(
    worker,
    ip,
    name,
    { password = PASSWORD, verified = false, admin = false, plan = null, planDays = 30, createdAt = null, origin } = {},
  ) {
    const b = await Browser.open(ip, worker, { origin });
    const email = `${name}@example.com`;
    let r = await b.send("POST", "/api/v1/auth/register", { email, username: name, password });
    assert.equal(r.status, 202, r.text);
    const db = await worker.mf.getD1Database("DB");
    b.id = (await db.prepare("SELECT id FROM users WHERE email = ?1").bind(email).first()).id;
    b.email = email;
    if (verified) await db.prepare("UPDATE users SET is_verified = 1 WHERE id = ?1").bind(b.id).run();
    if (admin) await db.prepare("UPDATE users SET is_admin = 1 WHERE id = ?1").bind(b.id).run();
    if (plan) {
      const now = Date.now();
      const expires = plan === "lifetime" ? null : now + planDays * DAY;
      await db
        .prepare(
          `INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider, created_at, updated_at)
           VALUES (?1, ?2, 'active', ?3, ?4, 'admin', ?5, ?5)`,
        )
        .bind(b.id, plan, now - DAY, expires, createdAt ?? now)
        .run();
    }
    r = await b.send("POST", "/api/v1/auth/login", { email, password });
    assert.equal(r.status, 200, r.text);
    return b;
  }
}

/** The marker codes of a 403 `forbidden` answer (`reauth_required`, …). */
export function markers(r) {
  return (r.json?.error?.fields ?? []).map((f) => f.code);
}
