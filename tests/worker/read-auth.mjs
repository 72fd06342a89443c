// A signed-in reader for the workerd tests of the read routes, which need a session or an API
// key (product.md §3): one user row and one FULL session row written into the test database,
// exactly as the worker stores them (session id = SHA-256 of the cookie token, hex), so the
// worker's own gate, policy and handlers run unchanged. Times are the real clock (the worker's).
import { createHash, randomBytes } from "node:crypto";

/**
 * SQL (D1/SQLite and Postgres alike) for a verified, active user and a full session.
 * `tier`: "admin" (no limits), "premium" (lifetime), "pro" (a year) or "free".
 * `reauth`: the session re-authenticated just now (API-key creation needs it).
 * Returns { statements, cookie, headers } — send `headers` on every read.
 */
export function readerSession({ id = 9001, email = `reader${id}@example.com`, tier = "admin", reauth = false } = {}) {
  const token = randomBytes(32).toString("base64url");
  const hash = createHash("sha256").update(token).digest("hex");
  const now = Date.now();
  const day = 86_400_000;
  const admin = tier === "admin" ? "TRUE" : "FALSE";
  const statements = [
    `INSERT INTO users (id, email, username, password_hash, is_active, is_verified, is_admin,
       ntfy_topic, created_at) VALUES (${id}, '${email}', 'reader_${id}', 'x', TRUE, TRUE, ${admin},
       'cl_reader_${id}', ${now})`,
    `INSERT INTO sessions (token_hash, user_id, csrf_secret, stage, created_at, last_seen_at,
       expires_at, absolute_expires_at, reauth_at) VALUES ('${hash}', ${id}, 'derived:v1', 'full', ${now},
       ${now}, ${now + 7 * day}, ${now + 30 * day}, ${reauth ? now : "NULL"})`,
  ];
  const plan = { premium: ["lifetime", "NULL"], pro: ["pro", String(now + 365 * day)] }[tier];
  if (plan) {
    statements.push(`INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider,
       created_at, updated_at) VALUES (${id}, '${plan[0]}', 'active', ${now}, ${plan[1]}, 'admin', ${now}, ${now})`);
  }
  const cookie = `__Host-cl_session=${token}`;
  return { statements, cookie, token, headers: { cookie } };
}

/** `init` with the reader's cookie added. */
export function withCookie(reader, init = {}) {
  return { ...init, headers: { ...(init.headers ?? {}), cookie: reader.cookie } };
}
