// A browser-like client for the workerd tests: keeps the `__Host-` session cookie and the
// CSRF token the way the web app does, and sends a client address of its own.
import assert from "node:assert/strict";

export const ORIGIN = "http://127.0.0.1:8787";

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

export class Browser {
  constructor(ip, worker) {
    this.w = worker;
    this.ip = ip;
    this.cookie = null;
    this.csrf = null;
  }

  async send(method, path, body, extra = {}) {
    await pace(this.ip);
    const headers = { origin: ORIGIN, "cf-connecting-ip": this.ip, ...extra };
    if (this.cookie) headers.cookie = `__Host-cl_session=${this.cookie}`;
    if (this.csrf) headers["x-csrf-token"] = this.csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.w.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0].split("=")[1] || null;
    if (json?.data?.csrf_token) this.csrf = json.data.csrf_token;
    return { status: res.status, json, text };
  }

  static async open(ip, worker) {
    const b = new Browser(ip, worker);
    assert.equal((await b.send("GET", "/api/v1/auth/csrf")).status, 200);
    return b;
  }

  /** Registers `name` (unverified: no mail here), logs in, and remembers the user id. */
  static async user(worker, ip, name, password) {
    const b = await Browser.open(ip, worker);
    const email = `${name}@example.com`;
    let r = await b.send("POST", "/api/v1/auth/register", { email, username: name, password });
    assert.equal(r.status, 202, r.text);
    r = await b.send("POST", "/api/v1/auth/login", { email, password });
    assert.equal(r.status, 200, r.text);
    const db = await worker.mf.getD1Database("DB");
    b.id = (await db.prepare("SELECT id FROM users WHERE email = ?1").bind(email).first()).id;
    b.email = email;
    return b;
  }
}

/** The marker codes of a 403 `forbidden` answer (`reauth_required`, …). */
export function markers(r) {
  return (r.json?.error?.fields ?? []).map((f) => f.code);
}
