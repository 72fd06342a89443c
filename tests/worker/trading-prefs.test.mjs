// The trading preferences where they matter, in the BUILT worker over D1 (workerd via
// Miniflare): the quantity of a trade prefilled from a pattern or a signal follows the user's
// risk per trade (PUT /me/preferences/trading; 1 % unset), and GET /signals, /signals/{id} show
// TP3 and the R:R at the caller's default R:R (the key owner's for an API key); a caller without
// a preference, or below pro, sees the stored (global) levels.
//
// Tiers: an admin viewing as a tier (sessions.view_as), as in portfolio.test.mjs; the API key's
// owner has a stored premium subscription (keys carry the owner's stored tier).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { Browser } from "./browser-client.mjs";

let w;
let db;
before(async () => {
  w = await startWorker();
  db = await w.mf.getD1Database("DB");
});
after(async () => {
  await w?.dispose();
});

let seq = 0;
/** A registered, logged-in user; `tier` makes it an admin viewing as that tier. */
async function user(name, tier) {
  const b = await Browser.user(w, `198.51.100.${++seq}`, name);
  if (tier) {
    await db.prepare("UPDATE users SET is_admin = 1 WHERE id = ?1").bind(b.id).run();
    await db.prepare("UPDATE sessions SET view_as = ?1 WHERE user_id = ?2").bind(tier, b.id).run();
  }
  return b;
}

async function symbolId() {
  const now = Date.now();
  await db
    .prepare("INSERT OR IGNORE INTO symbols (symbol, exchange, created_at) VALUES ('BTC/USDT', 'binance', ?1)")
    .bind(now)
    .run();
  return (await db.prepare("SELECT id FROM symbols WHERE symbol = 'BTC/USDT'").first()).id;
}

/** A bearish pattern: entry 2000, SL 2100 (R = 100), TP1 1800. */
async function pattern() {
  const now = Date.now();
  const row = await db
    .prepare(
      `INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
         expires_at, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
       VALUES (?1, '4h', 'order_block', 'bearish', 2000, 2050, ?2, ?3, 2000, 2100, 1800, 1700, 1600,
         100, 2, 3, 4, ?2) RETURNING id`,
    )
    .bind(await symbolId(), now - 3_600_000, now + 86_400_000)
    .first();
  return row.id;
}

/** A short signal: entry 2000, SL 2040 (R = 40), TP 1960 / 1920 / 1880 at the global R:R 3. */
async function signal() {
  const row = await db
    .prepare(
      `INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
         confluence_score, timeframes_aligned, status, created_at)
       VALUES (?1, 'short', 2000, 2040, 1960, 1920, 1880, 3, 4, '1h,4h,1d', 'pending', ?2) RETURNING id`,
    )
    .bind(await symbolId(), Date.now() - 60_000)
    .first();
  return row.id;
}

async function portfolio(b) {
  const r = await b.send("POST", "/api/v1/portfolios", { name: "Main", initial_balance: 20000, currency: "USDT" });
  assert.equal(r.status, 201, r.text);
  return r.json.data.id;
}

async function setPrefs(b, body) {
  const r = await b.send("PUT", "/api/v1/me/preferences/trading", body);
  assert.equal(r.status, 200, r.text);
}

const levels = (s) => [s.tp1, s.tp2, s.tp3, s.risk_reward];

test("a user with risk 2 % gets twice the prefilled quantity of one with the default", async () => {
  const pat = await pattern();
  const sig = await signal();
  const two = await user("prefrisk2", "premium");
  await setPrefs(two, { risk_per_trade_pct: 2, default_rr: 5 });
  const dflt = await user("prefrisk1", "premium");
  const got = {};
  const pids = {};
  for (const [name, b] of [["two", two], ["default", dflt]]) {
    const pid = await portfolio(b);
    pids[name] = pid;
    let r = await b.send("POST", "/api/v1/trades/from-pattern", { portfolio_id: pid, id: pat });
    assert.equal(r.status, 201, r.text);
    // The take-profit stays the pattern's TP1, whatever the default R:R.
    assert.deepEqual([r.json.data.entry_price, r.json.data.stop_loss, r.json.data.take_profit], [2000, 2100, 1800]);
    const fromPattern = r.json.data.quantity;
    r = await b.send("POST", "/api/v1/trades/from-signal", { portfolio_id: pid, id: sig });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.data.take_profit, 1960);
    got[name] = [fromPattern, r.json.data.quantity];
  }
  // 20 000 × risk % / |entry − SL|: pattern R = 100, signal R = 40.
  assert.deepEqual(got.default, [2, 5], "1 % when unset");
  assert.deepEqual(got.two, [4, 10], "2 %");

  // Back to the default (null): the default quantity again.
  await setPrefs(two, { risk_per_trade_pct: null, default_rr: null });
  const t = await two.send("POST", "/api/v1/trades/from-pattern", { portfolio_id: pids.two, id: pat });
  assert.equal(t.status, 201, t.text);
  assert.equal(t.json.data.quantity, 2);
});

test("signals show TP3 and R:R at the caller's default R:R; without one, or below pro, the stored levels", async () => {
  const id = await signal();
  const rr = await user("prefrr", "pro");
  await setPrefs(rr, { risk_per_trade_pct: null, default_rr: 4.5 });
  const plain = await user("prefplain", "premium");

  let r = await rr.send("GET", `/api/v1/signals/${id}`);
  assert.equal(r.status, 200, r.text);
  // 2000 − 4.5 × 40; TP1, TP2, entry and stop unchanged.
  assert.deepEqual(levels(r.json.data), [1960, 1920, 1820, 4.5]);
  assert.deepEqual([r.json.data.entry, r.json.data.stop_loss], [2000, 2040]);
  r = await rr.send("GET", "/api/v1/signals?symbol=BTC-USDT&limit=50");
  assert.equal(r.status, 200, r.text);
  const listed = r.json.data.find((s) => s.id === id);
  assert.ok(listed, r.text);
  assert.deepEqual(levels(listed), [1960, 1920, 1820, 4.5]);

  r = await plain.send("GET", `/api/v1/signals/${id}`);
  assert.deepEqual(levels(r.json.data), [1960, 1920, 1880, 3], "no preference: the stored row");

  // The same user viewing as free (no risk settings): the stored preference does not count.
  await db.prepare("UPDATE sessions SET view_as = 'free' WHERE user_id = ?1").bind(rr.id).run();
  r = await rr.send("GET", `/api/v1/signals/${id}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(levels(r.json.data), [1960, 1920, 1880, 3]);
});

test("an API key reads the signals at its owner's default R:R", async () => {
  const id = await signal();
  const a = await user("prefkey");
  const now = Date.now();
  await db
    .prepare(
      `INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider, created_at, updated_at)
       VALUES (?1, 'premium', 'active', ?2, ?3, 'admin', ?2, ?2)`,
    )
    .bind(a.id, now - 1000, now + 30 * 86_400_000)
    .run();
  await db.prepare("UPDATE users SET is_verified = 1 WHERE id = ?1").bind(a.id).run();
  await setPrefs(a, { risk_per_trade_pct: 1.5, default_rr: 2 });
  const r = await a.send("POST", "/api/v1/keys", { name: "signals", scopes: "read:signals" });
  assert.equal(r.status, 201, r.text);
  const res = await w.fetch(`/api/v1/signals/${id}`, {
    headers: { authorization: `Bearer ${r.json.data.secret}`, "cf-connecting-ip": "203.0.113.41" },
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.deepEqual(levels(JSON.parse(body).data), [1960, 1920, 1920, 2]);
});
