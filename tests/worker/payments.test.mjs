// Payments in the BUILT worker over D1 (workerd via Miniflare) against the fake providers
// (tests/fakes/lemonsqueezy.mjs, tests/fakes/nowpayments.mjs): checkout end to end through the
// real HTTP clients, signed webhooks (LemonSqueezy X-Signature over the raw body, NOWPayments
// x-nowpayments-sig over the key-sorted JSON), replay, out-of-order, tampered amount, oversized
// body, lifetime, cancellation and the 3-day grace, and the server-side status check.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, DEV_SECRETS } from "./harness.mjs";
import { startLemonSqueezy, signLemonSqueezy, webhook } from "../fakes/lemonsqueezy.mjs";
import { startNowPayments, signNowPayments, ipn } from "../fakes/nowpayments.mjs";
import { Browser } from "./browser-client.mjs";

const APP = "https://app.test";
const DAY = 86_400_000;
const LS_SECRET = DEV_SECRETS.LEMONSQUEEZY_WEBHOOK_SECRET;
const NP_SECRET = DEV_SECRETS.NOWPAYMENTS_IPN_SECRET;

let w;
let ls;
let np;
let db;
before(async () => {
  ls = await startLemonSqueezy({ port: 0, apiKey: "ls-test-key" });
  np = await startNowPayments({ port: 0, apiKey: "np-test-key" });
  w = await startWorker({
    vars: {
      APP_URL: APP,
      LEMONSQUEEZY_API_URL: ls.url,
      NOWPAYMENTS_API_URL: np.url,
      LEMONSQUEEZY_API_KEY: "ls-test-key",
      NOWPAYMENTS_API_KEY: "np-test-key",
      LEMONSQUEEZY_STORE_ID: "12345",
      LEMONSQUEEZY_VARIANTS: "pro_monthly:101,pro_yearly:102,premium_monthly:201,premium_yearly:202,lifetime:301",
      LIFETIME_PRICE_USD: "999",
      PAYMENT_COINS: "BTC,ETH,USDT",
    },
  });
  db = await w.mf.getD1Database("DB");
});
after(async () => {
  await w?.dispose();
  await ls?.close();
  await np?.close();
});

let seq = 0;
/** A registered, logged-in user; verified unless told otherwise. */
async function user({ verified = true } = {}) {
  seq += 1;
  return Browser.user(w, `198.51.100.${seq}`, `payer${seq}`, { verified, origin: APP });
}

const deliverLs = (raw, sig = signLemonSqueezy(LS_SECRET, raw), extra = {}) =>
  w.fetch("/api/v1/webhooks/lemonsqueezy", {
    method: "POST",
    headers: { "content-type": "application/json", ...(sig ? { "x-signature": sig } : {}), ...extra },
    body: raw,
  });
const deliverNp = (body, raw = JSON.stringify(body), sig = signNowPayments(NP_SECRET, body)) =>
  w.fetch("/api/v1/webhooks/nowpayments", {
    method: "POST",
    headers: { "content-type": "application/json", "x-nowpayments-sig": sig },
    body: raw,
  });

const sub = async (b) => {
  const r = await b.send("GET", "/api/v1/me/subscription");
  assert.equal(r.status, 200, r.text);
  return r.json.data;
};
const meTier = async (b) => (await b.send("GET", "/api/v1/auth/me")).json.data.tier;
const payment = async (b, id) => (await b.send("GET", `/api/v1/payments/${id}`)).json.data;
const events = async () => (await db.prepare("SELECT COUNT(*) AS n FROM webhook_events").first()).n;
const checkoutOf = (paymentId) => ls.checkouts.find((c) => c.custom.payment_id === String(paymentId));

async function lsCheckout(b, plan = "pro", cycle = "monthly") {
  const r = await b.send("POST", "/api/v1/payments/checkout", { provider: "lemonsqueezy", plan, ...(cycle ? { cycle } : {}) });
  assert.equal(r.status, 201, r.text);
  return r.json.data;
}

test("LemonSqueezy: checkout through the real client, a signed order activates pro once; bad signatures write nothing", async () => {
  const b = await user();
  const started = await lsCheckout(b);
  assert.match(started.url, /^https:\/\/fake-lemonsqueezy\.test\/checkout\/custom\//);
  const co = checkoutOf(started.payment_id);
  assert.ok(co, "the fake recorded the checkout");
  assert.deepEqual(co.custom, { user_id: String(b.id), plan: "pro", billing_cycle: "monthly", payment_id: String(started.payment_id) });
  assert.equal(co.store, "12345");
  assert.equal(co.variant, "101");
  assert.equal(co.redirect_url, `${APP}/settings/billing`);
  assert.equal((await payment(b, started.payment_id)).status, "pending");
  assert.equal((await sub(b)).tier, "free");

  const raw = webhook("order_created", co, { updatedAt: "2026-01-01T00:00:01.000000Z" });
  // Wrong secret, missing header, one byte changed: 401 and nothing written.
  const before = await events();
  assert.equal((await deliverLs(raw, signLemonSqueezy("not-the-secret", raw))).status, 401);
  assert.equal((await deliverLs(raw, null)).status, 401);
  assert.equal((await deliverLs(raw.replace('"paid"', '"paiD"'), signLemonSqueezy(LS_SECRET, raw))).status, 401);
  assert.equal(await events(), before);
  assert.equal((await payment(b, started.payment_id)).status, "pending");
  assert.ok(!w.log.lines.some((l) => l.includes(signLemonSqueezy(LS_SECRET, raw))), "signatures never logged");

  // The signed webhook: no cookie, no CSRF token, no Origin.
  const res = await deliverLs(raw);
  assert.equal(res.status, 200, await res.text());
  assert.equal((await payment(b, started.payment_id)).status, "completed");
  const s = await sub(b);
  assert.equal(s.tier, "pro");
  assert.equal(s.status, "active");
  assert.equal(s.plan, "pro");
  assert.equal(s.access_until, s.expires_at + 3 * DAY);
  assert.equal(await meTier(b), "pro");

  // Replays (same bytes, or re-indented) are acknowledged without a second extension.
  const pretty = JSON.stringify(JSON.parse(raw), null, 2);
  assert.equal((await deliverLs(raw)).status, 200);
  assert.equal((await deliverLs(pretty)).status, 200);
  assert.equal((await sub(b)).expires_at, s.expires_at);
});

test("LemonSqueezy: a tampered amount is refused, an out-of-order event is ignored, an oversized body is 413", async () => {
  const b = await user();
  const started = await lsCheckout(b, "premium", "yearly");
  const co = checkoutOf(started.payment_id);
  // Signed correctly but for $1: refused (200, logged), nothing activated.
  const cheap = webhook("order_created", co, { subtotal: 100, updatedAt: "2026-01-02T00:00:00.000000Z" });
  assert.equal((await deliverLs(cheap)).status, 200);
  assert.equal((await payment(b, started.payment_id)).status, "pending");
  assert.equal((await sub(b)).tier, "free");
  assert.ok(w.log.lines.some((l) => l.includes("billing_event_rejected") && l.includes("mismatch_amount")));

  // The real order, then a refund, then the (older) order again: the status never moves back.
  const order = webhook("order_created", co, { id: 7001, updatedAt: "2026-01-02T00:00:01.000000Z" });
  assert.equal((await deliverLs(order)).status, 200);
  assert.equal((await sub(b)).tier, "premium");
  const refund = webhook("order_refunded", co, { id: 7001, updatedAt: "2026-01-03T00:00:00.000000Z" });
  assert.equal((await deliverLs(refund)).status, 200);
  assert.equal((await payment(b, started.payment_id)).status, "refunded");
  const late = webhook("order_created", co, { id: 7001, updatedAt: "2026-01-02T00:00:05.000000Z" });
  assert.equal((await deliverLs(late)).status, 200);
  assert.equal((await payment(b, started.payment_id)).status, "refunded");
  assert.equal((await sub(b)).tier, "free");

  // Over 256 KiB: 413 before anything is verified.
  const big = " ".repeat(256 * 1024 + 10);
  assert.equal((await deliverLs(big, signLemonSqueezy(LS_SECRET, big))).status, 413);
});

test("lifetime is premium without expiry; cancellation keeps access until expiry without grace; expiry has 3 days of grace", async () => {
  const life = await user();
  const started = await lsCheckout(life, "lifetime", null);
  const co = checkoutOf(started.payment_id);
  assert.equal(co.variant, "301");
  assert.equal((await deliverLs(webhook("order_created", co, { subtotal: 99900, updatedAt: "2026-01-04T00:00:00.000000Z" }))).status, 200);
  let s = await sub(life);
  assert.equal(s.plan, "lifetime");
  assert.equal(s.tier, "premium");
  assert.equal(s.expires_at, null);
  assert.equal(s.access_until, null);
  assert.equal(await meTier(life), "premium");
  // A further purchase is refused while the lifetime plan runs.
  const again = await life.send("POST", "/api/v1/payments/checkout", { provider: "lemonsqueezy", plan: "pro", cycle: "monthly" });
  assert.equal(again.status, 409, again.text);

  // A subscription: created (links the LemonSqueezy subscription), then cancelled.
  const b = await user();
  const sc = checkoutOf((await lsCheckout(b)).payment_id);
  assert.equal((await deliverLs(webhook("subscription_created", sc, { subscriptionId: 880, updatedAt: "2026-01-05T00:00:00.000000Z" }))).status, 200);
  s = await sub(b);
  assert.equal(s.tier, "pro");
  assert.equal((await deliverLs(webhook("subscription_cancelled", sc, { subscriptionId: 880, status: "cancelled", updatedAt: "2026-01-05T00:01:00.000000Z" }))).status, 200);
  s = await sub(b);
  assert.equal(s.status, "cancelled");
  assert.equal(s.tier, "pro", "cancelled stays valid until expiry");
  assert.equal(s.access_until, s.expires_at, "no grace once cancelled");
  // One day past expiry: a cancelled plan is over (no grace).
  const setExpiry = (id, at) => db.prepare("UPDATE subscriptions SET expires_at = ? WHERE user_id = ?").bind(at, id).run();
  await setExpiry(b.id, Date.now() - DAY);
  assert.equal((await sub(b)).tier, "free");
  assert.equal(await meTier(b), "free");

  // An expired (not cancelled) plan keeps access for 3 days after expiry, then ends.
  const c = await user();
  const cc = checkoutOf((await lsCheckout(c)).payment_id);
  assert.equal((await deliverLs(webhook("order_created", cc, { updatedAt: "2026-01-06T00:00:00.000000Z" }))).status, 200);
  await db.prepare("UPDATE subscriptions SET status = 'expired' WHERE user_id = ?").bind(c.id).run();
  await setExpiry(c.id, Date.now() - 2 * DAY);
  s = await sub(c);
  assert.equal(s.tier, "pro");
  assert.equal(s.in_grace, true);
  await setExpiry(c.id, Date.now() - 4 * DAY);
  assert.equal((await sub(c)).tier, "free");
});

test("LemonSqueezy renewal: a new payment row, the expiry extended by exactly one period; then expired with grace", async () => {
  const b = await user();
  const started = await lsCheckout(b);
  const co = checkoutOf(started.payment_id);
  assert.equal((await deliverLs(webhook("order_created", co, { updatedAt: "2026-01-07T00:00:00.000000Z" }))).status, 200);
  assert.equal((await deliverLs(webhook("subscription_created", co, { subscriptionId: 990, updatedAt: "2026-01-07T00:00:01.000000Z" }))).status, 200);
  const first = await sub(b);
  assert.equal(first.tier, "pro");
  // The initial invoice is the same money as the order: no second extension.
  const initial = webhook("subscription_payment_success", co, { subscriptionId: 990, billingReason: "initial", updatedAt: "2026-01-07T00:00:02.000000Z" });
  assert.equal((await deliverLs(initial)).status, 200);
  assert.equal((await sub(b)).expires_at, first.expires_at);
  // A renewal: its own payment row, +30 days from the current expiry (not from now).
  const renewal = webhook("subscription_payment_success", co, { subscriptionId: 990, billingReason: "renewal", updatedAt: "2026-02-06T00:00:00.000000Z" });
  assert.equal((await deliverLs(renewal)).status, 200);
  assert.equal((await deliverLs(renewal)).status, 200, "replayed renewal");
  const renewed = await sub(b);
  assert.equal(renewed.expires_at, first.expires_at + 30 * DAY);
  const list = (await b.send("GET", "/api/v1/payments")).json.data;
  assert.equal(list.length, 2);
  assert.ok(list.every((p) => p.status === "completed" && p.plan === "pro" && p.amount === 19));
  // subscription_expired for the linked subscription: expired, and the grace still applies.
  const expired = webhook("subscription_expired", co, { subscriptionId: 990, status: "expired", updatedAt: "2026-03-10T00:00:00.000000Z" });
  assert.equal((await deliverLs(expired)).status, 200);
  const s = await sub(b);
  assert.equal(s.status, "expired");
  assert.equal(s.access_until, s.expires_at + 3 * DAY);
});

test("NOWPayments: invoice through the real client, IPN signed over key-sorted JSON, out-of-order IPN ignored, status check", async () => {
  const b = await user();
  const r = await b.send("POST", "/api/v1/payments/checkout", { provider: "nowpayments", plan: "pro", cycle: "yearly", crypto: "eth" });
  assert.equal(r.status, 201, r.text);
  const { payment_id: id, url } = r.json.data;
  assert.match(url, /^https:\/\/fake-nowpayments\.test\/payment\/\?iid=\d+$/);
  const inv = np.invoices.find((i) => i.order_id === String(id));
  assert.ok(inv);
  assert.equal(Number(inv.price_amount), 190);
  assert.equal(inv.price_currency, "usd");
  assert.equal(inv.pay_currency, "eth");
  assert.equal(inv.ipn_callback_url, `${APP}/api/v1/webhooks/nowpayments`);
  const t0 = Date.now();

  // Before any IPN there is no provider payment id: a check answers the stored state.
  let c = await b.send("POST", `/api/v1/payments/${id}/check`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.data.checked, false);

  // The body is delivered in the provider's order; the signature covers the key-sorted form.
  const waiting = ipn(inv, "confirming", { updatedAt: t0, payCurrency: "eth", actuallyPaid: 0.01 });
  assert.notEqual(Object.keys(waiting).join(), Object.keys(waiting).sort().join(), "delivered unsorted");
  const wrong = signNowPayments("other-secret", waiting);
  assert.equal((await deliverNp(waiting, JSON.stringify(waiting), wrong)).status, 401);
  assert.equal((await deliverNp(waiting)).status, 200);
  assert.equal((await payment(b, id)).status, "pending");
  assert.equal((await payment(b, id)).actually_paid, 0.01);

  // The provider now reports finished; "check now" applies it through the webhook path.
  const finished = ipn(inv, "finished", { updatedAt: t0 + 5000, payCurrency: "eth", actuallyPaid: 0.05 });
  await fetch(`${np.url}/__payments`, { method: "POST", body: JSON.stringify(finished) });
  c = await b.send("POST", `/api/v1/payments/${id}/check`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.data.checked, true);
  assert.equal(c.json.data.payment.status, "completed");
  const s = await sub(b);
  assert.equal(s.tier, "pro");
  const asked = np.requests.filter((q) => q.path === `/v1/payment/${finished.payment_id}`);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].headers["x-api-key"], "np-test-key");

  // The IPN of the same state is a replay; an older one arriving late changes nothing.
  assert.equal((await deliverNp(finished)).status, 200);
  assert.equal((await deliverNp(ipn(inv, "waiting", { updatedAt: t0 - 1000, payCurrency: "eth" }))).status, 200);
  assert.equal((await payment(b, id)).status, "completed");
  assert.equal((await sub(b)).expires_at, s.expires_at);

  // A tampered price, correctly signed: refused.
  const b2 = await user();
  const r2 = await b2.send("POST", "/api/v1/payments/checkout", { provider: "nowpayments", plan: "pro", cycle: "monthly", crypto: "BTC" });
  const inv2 = np.invoices.find((i) => i.order_id === String(r2.json.data.payment_id));
  assert.equal((await deliverNp(ipn(inv2, "finished", { priceAmount: 1, paymentId: 999001 }))).status, 200);
  assert.equal((await payment(b2, r2.json.data.payment_id)).status, "pending");
  assert.equal((await sub(b2)).tier, "free");
});

test("checkout needs a verified email and valid fields; payments are owner-scoped", async () => {
  const u = await user({ verified: false });
  const r = await u.send("POST", "/api/v1/payments/checkout", { provider: "lemonsqueezy", plan: "pro", cycle: "monthly" });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, "email_unverified");
  const a = await user();
  const bad = await a.send("POST", "/api/v1/payments/checkout", { provider: "lemonsqueezy", plan: "pro", cycle: "weekly" });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json.error.fields.map((f) => f.field), ["cycle"]);
  const extra = await a.send("POST", "/api/v1/payments/checkout", { provider: "lemonsqueezy", plan: "pro", cycle: "monthly", amount: 1 });
  assert.equal(extra.status, 400);
  const mine = await lsCheckout(a);
  const other = await user();
  assert.equal((await other.send("GET", `/api/v1/payments/${mine.payment_id}`)).status, 404);
  assert.equal((await other.send("POST", `/api/v1/payments/${mine.payment_id}/check`)).status, 404);
  assert.deepEqual((await other.send("GET", "/api/v1/payments")).json.data, []);
  const list = await a.send("GET", "/api/v1/payments?limit=1");
  assert.equal(list.status, 200);
  assert.equal(list.json.data.length, 1);
});
