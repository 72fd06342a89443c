// The portfolio routes in the BUILT worker over D1 (workerd via Miniflare): create a portfolio
// → trade from a pattern → open → close → PnL and balance; IDOR (another user's portfolio,
// trade, journal entry and tag answer 404 and stay unchanged); validation (NaN, negative size,
// too many decimals, unknown field → 400 with fields, nothing written); free tier denied; the
// pro quotas (1 portfolio, 5 new trades per UTC day).
//
// Tiers: the tests make a user an admin viewing as a tier (sessions.view_as in D1), which the
// one policy turns into that tier's limits.
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

const count = async (table) => (await db.prepare(`SELECT count(*) AS n FROM ${table}`).first()).n;

async function pattern() {
  const now = Date.now();
  await db
    .prepare("INSERT OR IGNORE INTO symbols (symbol, exchange, created_at) VALUES ('ETH/USDT', 'binance', ?1)")
    .bind(now)
    .run();
  const sym = await db.prepare("SELECT id FROM symbols WHERE symbol = 'ETH/USDT'").first();
  const row = await db
    .prepare(
      `INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, detected_at,
         expires_at, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
       VALUES (?1, '4h', 'order_block', 'bearish', 2000, 2050, ?2, ?3, 2000, 2100, 1800, 1700, 1600,
         100, 2, 3, 4, ?2) RETURNING id`,
    )
    .bind(sym.id, now - 3_600_000 - seq, now + 86_400_000)
    .first();
  return row.id;
}

test("portfolio → trade from a pattern → open → close: PnL, R and the balance", async () => {
  const a = await user("pfalice", "premium");
  let r = await a.send("POST", "/api/v1/portfolios", { name: "Main", initial_balance: 20000, currency: "USDT" });
  assert.equal(r.status, 201, r.text);
  const pid = r.json.data.id;
  assert.equal(r.json.data.current_balance, 20000);

  r = await a.send("POST", "/api/v1/trades/from-pattern", { portfolio_id: pid, id: await pattern() });
  assert.equal(r.status, 201, r.text);
  const t = r.json.data;
  assert.equal(t.status, "pending");
  assert.equal(t.direction, "short");
  assert.equal(t.symbol, "ETH/USDT");
  assert.equal(t.tf, "4h");
  assert.equal(t.pattern_type, "order_block");
  assert.deepEqual([t.entry_price, t.stop_loss, t.take_profit], [2000, 2100, 1800]);
  // 1 % of 20 000 over a 100-point stop.
  assert.equal(t.quantity, 2);

  r = await a.send("POST", `/api/v1/trades/${t.id}/close`, { exit_price: 1900 });
  assert.equal(r.status, 409, "a pending trade cannot be closed");
  r = await a.send("POST", `/api/v1/trades/${t.id}/open`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.status, "open");
  r = await a.send("POST", `/api/v1/trades/${t.id}/close`, { exit_price: 1900, fees: 4 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.status, "closed");
  assert.equal(r.json.data.pnl_amount, 196);
  assert.equal(r.json.data.pnl_r, 0.98);

  r = await a.send("GET", `/api/v1/portfolios/${pid}`);
  assert.equal(r.json.data.current_balance, 20196);
  r = await a.send("GET", `/api/v1/portfolios/${pid}/stats`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.count, 1);
  assert.equal(r.json.data.win_rate, 100);
  assert.deepEqual(r.json.data.equity_curve.map((p) => p.equity), [20000, 20196]);

  // Editing the closed trade's exit moves the balance in the same write; deleting it too.
  r = await a.send("PATCH", `/api/v1/trades/${t.id}`, { exit_price: 2050 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.pnl_amount, -104);
  r = await a.send("GET", `/api/v1/portfolios/${pid}`);
  assert.equal(r.json.data.current_balance, 19896);
  const row = await db.prepare("SELECT current_balance FROM portfolios WHERE id = ?1").bind(pid).first();
  assert.equal(row.current_balance, 19896);

  r = await a.send("GET", `/api/v1/portfolios/${pid}/trades?status=closed`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 1);
  assert.equal(r.json.meta.next_cursor, null);

  r = await a.send("POST", `/api/v1/trades/${t.id}/journal`, { entry_type: "post_trade", content: "held", mood: "neutral" });
  assert.equal(r.status, 201, r.text);
  r = await a.send("POST", "/api/v1/tags", { name: "ob", color: "#00ff00" });
  assert.equal(r.status, 201, r.text);
  r = await a.send("PUT", `/api/v1/trades/${t.id}/tags`, { tag_ids: [r.json.data.id] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.tag_ids.length, 1);

  r = await a.send("DELETE", `/api/v1/trades/${t.id}`);
  assert.equal(r.status, 200, r.text);
  r = await a.send("GET", `/api/v1/portfolios/${pid}`);
  assert.equal(r.json.data.current_balance, 20000);
});

test("another user's portfolio, trade, journal entry and tag answer 404 and stay unchanged", async () => {
  const a = await user("idora", "premium");
  const b = await user("idorb", "premium");
  let r = await a.send("POST", "/api/v1/portfolios", { name: "A", initial_balance: 1000 });
  const pid = r.json.data.id;
  r = await a.send("POST", `/api/v1/portfolios/${pid}/trades`, { symbol: "BTC/USDT", direction: "long", entry_price: 100, quantity: 1 });
  assert.equal(r.status, 201, r.text);
  const tid = r.json.data.id;
  r = await a.send("POST", `/api/v1/trades/${tid}/journal`, { entry_type: "pre_trade", content: "plan" });
  const jid = r.json.data.id;
  r = await a.send("POST", "/api/v1/tags", { name: "mine" });
  const tag = r.json.data.id;
  const before = JSON.stringify(await db.prepare("SELECT * FROM trades WHERE id = ?1").bind(tid).first());

  const attempts = [
    ["GET", `/api/v1/portfolios/${pid}`],
    ["GET", `/api/v1/portfolios/${pid}/stats`],
    ["GET", `/api/v1/portfolios/${pid}/trades`],
    ["PATCH", `/api/v1/portfolios/${pid}`, { name: "stolen" }],
    ["DELETE", `/api/v1/portfolios/${pid}`],
    ["POST", `/api/v1/portfolios/${pid}/trades`, { symbol: "BTC/USDT", direction: "long", entry_price: 1, quantity: 1 }],
    ["GET", `/api/v1/trades/${tid}`],
    ["PATCH", `/api/v1/trades/${tid}`, { quantity: 7 }],
    ["POST", `/api/v1/trades/${tid}/open`],
    ["POST", `/api/v1/trades/${tid}/cancel`],
    ["DELETE", `/api/v1/trades/${tid}`],
    ["GET", `/api/v1/trades/${tid}/journal`],
    ["POST", `/api/v1/trades/${tid}/journal`, { entry_type: "lesson", content: "x" }],
    ["PUT", `/api/v1/trades/${tid}/tags`, { tag_ids: [] }],
    ["GET", `/api/v1/journal/${jid}`],
    ["PATCH", `/api/v1/journal/${jid}`, { content: "mine" }],
    ["DELETE", `/api/v1/journal/${jid}`],
    ["GET", `/api/v1/tags/${tag}`],
    ["PATCH", `/api/v1/tags/${tag}`, { name: "stolen" }],
    ["DELETE", `/api/v1/tags/${tag}`],
  ];
  for (const [method, path, body] of attempts) {
    r = await b.send(method, path, body);
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    assert.equal(r.json.error.code, "not_found");
  }
  r = await b.send("POST", "/api/v1/trades/from-pattern", { portfolio_id: pid, id: await pattern() });
  assert.equal(r.status, 404, "from-pattern into another user's portfolio");

  const after = JSON.stringify(await db.prepare("SELECT * FROM trades WHERE id = ?1").bind(tid).first());
  assert.equal(after, before);
  assert.equal((await db.prepare("SELECT name FROM portfolios WHERE id = ?1").bind(pid).first()).name, "A");
  assert.equal((await db.prepare("SELECT content FROM journal_entries WHERE id = ?1").bind(jid).first()).content, "plan");
  assert.equal((await db.prepare("SELECT name FROM tags WHERE id = ?1").bind(tag).first()).name, "mine");
  // The owner edits in place.
  r = await a.send("PATCH", `/api/v1/journal/${jid}`, { mood: "revenge" });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.data.content, r.json.data.mood], ["plan", "revenge"]);
  r = await a.send("PATCH", `/api/v1/tags/${tag}`, { name: "renamed", color: "#abcdef" });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.name, "renamed");
  r = await b.send("GET", "/api/v1/portfolios");
  assert.deepEqual(r.json.data, []);
});

test("bad input: 400 with field errors and nothing written", async () => {
  const a = await user("valid", "premium");
  const portfolios = await count("portfolios");
  let r = await a.send("POST", "/api/v1/portfolios", { name: "x", initial_balance: 1, user_id: 1, is_admin: true });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.error.fields.map((f) => [f.field, f.code]).sort(), [["is_admin", "unknown_field"], ["user_id", "unknown_field"]]);
  r = await a.send("POST", "/api/v1/portfolios", { name: "x", initial_balance: 1.123456789 });
  assert.deepEqual(r.json.error.fields.map((f) => [f.field, f.code]), [["initial_balance", "too_many_decimals"]]);
  r = await a.send("POST", "/api/v1/portfolios", undefined, { raw: '{"name": "x", "initial_balance": NaN}' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, "malformed_json");
  r = await a.send("POST", "/api/v1/portfolios", undefined, { raw: '{"name": "x", "initial_balance": 1e999}' });
  assert.equal(r.status, 400);
  assert.equal(await count("portfolios"), portfolios);

  r = await a.send("POST", "/api/v1/portfolios", { name: "ok", initial_balance: 500 });
  const pid = r.json.data.id;
  const trades = await count("trades");
  r = await a.send("POST", `/api/v1/portfolios/${pid}/trades`, { symbol: "BTC/USDT", direction: "long", entry_price: "NaN", quantity: 1 });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.error.fields.map((f) => [f.field, f.code]), [["entry_price", "invalid_type"]]);
  r = await a.send("POST", `/api/v1/portfolios/${pid}/trades`, {
    symbol: "BTC/USDT", direction: "long", entry_price: 100.000000001, quantity: -3, fees: -1, stop_loss: 150, tf: "7m",
  });
  assert.equal(r.status, 400);
  const fields = Object.fromEntries(r.json.error.fields.map((f) => [f.field, f.code]));
  assert.deepEqual(fields, {
    tf: "invalid_choice",
    entry_price: "too_many_decimals",
    quantity: "quantity_out_of_range",
    fees: "fees_out_of_range",
  });
  r = await a.send("POST", `/api/v1/portfolios/${pid}/trades`, { symbol: "BTC/USDT", direction: "long", entry_price: 100, quantity: 1, stop_loss: 150 });
  assert.deepEqual(r.json.error.fields.map((f) => [f.field, f.code]), [["stop_loss", "stop_loss_wrong_side"]]);
  r = await a.send("POST", "/api/v1/tags", { name: "t", color: "green" });
  assert.deepEqual(r.json.error.fields.map((f) => [f.field, f.code]), [["color", "invalid_color"]]);
  assert.equal(await count("trades"), trades);
  assert.equal(await count("tags WHERE user_id = (SELECT id FROM users WHERE email = 'valid@example.com')"), 0);
});

test("free users get tier_required; pro gets 1 portfolio and 5 new trades a day", async () => {
  const f = await user("freebie");
  for (const [method, path, body] of [
    ["GET", "/api/v1/portfolios"],
    ["POST", "/api/v1/portfolios", { name: "x", initial_balance: 1 }],
    ["GET", "/api/v1/tags"],
  ]) {
    const r = await f.send(method, path, body);
    assert.equal(r.status, 403, `${path}: ${r.text}`);
    assert.equal(r.json.error.code, "tier_required");
  }
  const p = await user("proton", "pro");
  let r = await p.send("POST", "/api/v1/portfolios", { name: "one", initial_balance: 100 });
  assert.equal(r.status, 201, r.text);
  const pid = r.json.data.id;
  r = await p.send("POST", "/api/v1/portfolios", { name: "two", initial_balance: 100 });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "quota_exceeded");
  const trade = { symbol: "BTC/USDT", direction: "short", entry_price: 100, quantity: 1 };
  for (let i = 0; i < 5; i++) {
    r = await p.send("POST", `/api/v1/portfolios/${pid}/trades`, trade);
    assert.equal(r.status, 201, r.text);
  }
  r = await p.send("POST", `/api/v1/portfolios/${pid}/trades`, trade);
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "quota_exceeded");
  const n = await db.prepare("SELECT count(*) AS n FROM trades WHERE portfolio_id = ?1").bind(pid).first();
  assert.equal(n.n, 5);
});

test("writes without the CSRF token are refused", async () => {
  const a = await user("nocsrf", "premium");
  a.csrf = null;
  const r = await a.send("POST", "/api/v1/portfolios", { name: "x", initial_balance: 1 });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "csrf_failed");
});

/** Gives the user a stored, valid subscription of `plan` (the tier the policy reads). */
async function subscribe(b, plan) {
  const now = Date.now();
  await db
    .prepare(
      `INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider, created_at, updated_at)
       SELECT id, ?1, 'active', ?2, ?3, 'admin', ?2, ?2 FROM users WHERE email = ?4`,
    )
    .bind(plan, now - 1000, now + 30 * 86_400_000, b.email)
    .run();
}

test("a stored pro subscription opens the portfolio with the pro quota", async () => {
  const p = await user("subpro");
  await subscribe(p, "pro");
  let r = await p.send("POST", "/api/v1/portfolios", { name: "sub", initial_balance: 100 });
  assert.equal(r.status, 201, r.text);
  r = await p.send("POST", "/api/v1/portfolios", { name: "sub2", initial_balance: 100 });
  assert.equal(r.json.error.code, "quota_exceeded");
});

test("exchange credentials: pro only, sealed in D1, masked on read, deleted on request", async () => {
  const f = await user("credfree");
  const cred = { exchange: "okx", label: "main", api_key: "OKXKEY-1234567890-ABCD", api_secret: "okx-secret-value-42", passphrase: "pass-phrase-7" };
  let r = await f.send("PUT", "/api/v1/me/exchange-credentials", cred);
  assert.equal(r.json.error.code, "tier_required");
  const p = await user("credpro");
  await subscribe(p, "pro");
  // The login just now counts as a fresh re-authentication.
  r = await p.send("PUT", "/api/v1/me/exchange-credentials", cred);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    { masked: r.json.data.api_key_masked, pass: r.json.data.has_passphrase, key: r.json.data.key_id },
    { masked: "****ABCD", pass: true, key: "cred1" },
  );
  for (const secret of [cred.api_key, cred.api_secret, cred.passphrase]) {
    assert.ok(!r.text.includes(secret), "a secret in the response");
  }
  r = await p.send("GET", "/api/v1/me/exchange-credentials");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 1);
  assert.equal(r.json.data[0].api_key_masked, "****ABCD");
  const row = await db
    .prepare("SELECT * FROM exchange_credentials WHERE user_id = (SELECT id FROM users WHERE email = ?1)")
    .bind(p.email)
    .first();
  const stored = JSON.stringify(row);
  for (const secret of [cred.api_key, cred.api_secret, cred.passphrase]) {
    assert.ok(!stored.includes(secret), `plaintext in D1: ${stored}`);
  }
  assert.equal(row.enc_key_id, "cred1");
  assert.equal(row.last4, "ABCD");
  assert.notEqual(row.api_key_enc, row.api_secret_enc);
  for (const secret of [cred.api_key, cred.api_secret, cred.passphrase]) {
    assert.ok(!w.log.lines.some((l) => l.includes(secret)), "a secret reached the logs");
  }
  r = await p.send("PUT", "/api/v1/me/exchange-credentials", { ...cred, exchange: "mtgox", api_key: "x" });
  assert.deepEqual(r.json.error.fields.map((f) => f.field).sort(), ["api_key", "exchange"]);
  r = await p.send("DELETE", "/api/v1/me/exchange-credentials");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.deleted, 1);
  assert.equal(await count("exchange_credentials"), 0);
});

test("API keys: read:portfolio reads, write:portfolio is needed to write", async () => {
  const a = await user("keyuser");
  await subscribe(a, "premium");
  await db.prepare("UPDATE users SET is_verified = 1 WHERE email = ?1").bind(a.email).run();
  let r = await a.send("POST", "/api/v1/portfolios", { name: "K", initial_balance: 1000 });
  assert.equal(r.status, 201, r.text);
  const pid = r.json.data.id;
  r = await a.send("POST", "/api/v1/keys", { name: "reader", scopes: "read:portfolio" });
  assert.equal(r.status, 201, r.text);
  const reader = r.json.data.secret;
  const call = (key, method, path, body) =>
    w.fetch(path, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "cf-connecting-ip": "203.0.113.9" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let res = await call(reader, "GET", `/api/v1/portfolios/${pid}`);
  assert.equal(res.status, 200, await res.text());
  res = await call(reader, "POST", `/api/v1/portfolios/${pid}/trades`, { symbol: "BTC/USDT", direction: "long", entry_price: 1, quantity: 1 });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, "scope_missing");
  r = await a.send("POST", "/api/v1/keys", { name: "writer", scopes: "read:portfolio write:portfolio" });
  assert.equal(r.status, 201, r.text);
  res = await call(r.json.data.secret, "POST", `/api/v1/portfolios/${pid}/trades`, { symbol: "BTC/USDT", direction: "long", entry_price: 1, quantity: 1 });
  assert.equal(res.status, 201, await res.text());
  // The key's owner only: another user's portfolio is 404 through a key too.
  const other = await user("keyother", "premium");
  r = await other.send("POST", "/api/v1/portfolios", { name: "O", initial_balance: 1 });
  res = await call(reader, "GET", `/api/v1/portfolios/${r.json.data.id}`);
  assert.equal(res.status, 404);
});
