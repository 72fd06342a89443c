// The payment fakes are test infrastructure: this proves they behave as their headers say,
// and that their signing helpers produce the providers' signatures (known vectors).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { JSON_API, signLemonSqueezy, startLemonSqueezy, webhook } from './lemonsqueezy.mjs';
import { ipn, signNowPayments, sortKeys, startNowPayments } from './nowpayments.mjs';

const script = (url, payload) =>
  fetch(`${url}/__script`, { method: 'POST', body: JSON.stringify(payload) }).then((r) => r.json());

const FOX = 'The quick brown fox jumps over the lazy dog';

describe('signing helpers', () => {
  test('LemonSqueezy: hex HMAC-SHA256 over the raw bytes (the public "fox" vector)', () => {
    assert.equal(
      signLemonSqueezy('key', FOX),
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
    // The raw bytes, not a re-encoding: whitespace changes the signature.
    assert.notEqual(signLemonSqueezy('key', '{"a":1}'), signLemonSqueezy('key', '{"a": 1}'));
  });

  test('NOWPayments: hex HMAC-SHA512 over key-sorted compact JSON (vectors pinned with openssl)', () => {
    const body = { payment_id: 1, fee: { serviceFee: 0, currency: 'btc' }, order_id: '9' };
    assert.equal(
      JSON.stringify(sortKeys(body)),
      '{"fee":{"currency":"btc","serviceFee":0},"order_id":"9","payment_id":1}',
    );
    // printf '%s' '<sorted form>' | openssl dgst -sha512 -hmac ipn-secret
    const SORTED_SIG =
      'f6f40d2efd9ea090677e0042adb9f068ed794375cbe9707df61395f8480bd146ef940bc17182ab9caa71b6b3080365d8da5a01e0c42188bcbc8385a4e0fb1abc';
    assert.equal(signNowPayments('ipn-secret', body), SORTED_SIG);
    // Key order and layout of the delivered body never change the signature.
    const reordered = '{ "order_id": "9", "payment_id": 1, "fee": {"currency": "btc", "serviceFee": 0} }';
    assert.equal(signNowPayments('ipn-secret', reordered), SORTED_SIG);
    // The public SHA-512 "fox" vector through the same primitive.
    assert.equal(
      createHmac('sha512', 'key').update(FOX).digest('hex'),
      'b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e2317250d0372afa2ebeeb3a',
    );
  });
});

describe('fake lemonsqueezy', () => {
  let ls;
  before(async () => {
    ls = await startLemonSqueezy({ port: 0, apiKey: 'ls-key' });
  });
  after(() => ls.close());

  const checkout = (custom = { user_id: '7', plan: 'pro', billing_cycle: 'monthly', payment_id: '42' }) => ({
    data: {
      type: 'checkouts',
      attributes: { checkout_data: { email: 'a@example.com', custom }, product_options: { redirect_url: 'https://app.example/x' }, test_mode: false },
      relationships: { store: { data: { type: 'stores', id: '12345' } }, variant: { data: { type: 'variants', id: '101' } } },
    },
  });
  const post = (body, key = 'ls-key', type = JSON_API) =>
    fetch(`${ls.url}/v1/checkouts`, {
      method: 'POST',
      headers: { 'content-type': type, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('creates a checkout, records it, and answers its URL', async () => {
    const res = await post(checkout());
    assert.equal(res.status, 201);
    const doc = await res.json();
    assert.equal(doc.data.type, 'checkouts');
    assert.match(doc.data.attributes.url, /^https:\/\/fake-lemonsqueezy\.test\/checkout\/custom\//);
    const [rec] = await (await fetch(`${ls.url}/__checkouts`)).json();
    assert.deepEqual(
      { store: rec.store, variant: rec.variant, email: rec.email, custom: rec.custom },
      { store: '12345', variant: '101', email: 'a@example.com', custom: { user_id: '7', plan: 'pro', billing_cycle: 'monthly', payment_id: '42' } },
    );
    // A webhook for it carries the custom data back, and the default subtotal is the price.
    const body = JSON.parse(webhook('order_created', rec, { updatedAt: '2026-01-01T00:00:00.000000Z' }));
    assert.equal(body.meta.event_name, 'order_created');
    assert.deepEqual(body.meta.custom_data, rec.custom);
    assert.equal(body.data.type, 'orders');
    assert.equal(body.data.attributes.subtotal, 1900);
    assert.equal(body.data.attributes.first_order_item.variant_id, 101);
    const sub = JSON.parse(webhook('subscription_cancelled', rec, { subscriptionId: 77 }));
    assert.equal(sub.data.type, 'subscriptions');
    assert.equal(sub.data.id, '77');
  });

  test('refuses a wrong key, a wrong media type and a bad body; honours scripts', async () => {
    await fetch(`${ls.url}/__reset`, { method: 'POST' });
    assert.equal((await post(checkout(), null)).status, 401);
    assert.equal((await post(checkout(), 'nope')).status, 401);
    assert.equal((await post(checkout(), 'ls-key', 'application/json')).status, 415);
    assert.equal((await post('{')).status, 400);
    assert.equal((await post({ data: { type: 'orders' } })).status, 422);
    await script(ls.url, { steps: [{ status: 503 }] });
    assert.equal((await post(checkout())).status, 503);
    assert.equal((await post(checkout())).status, 201);
    assert.equal((await (await fetch(`${ls.url}/__checkouts`)).json()).length, 1);
    assert.equal((await (await fetch(`${ls.url}/__requests`)).json()).length, 7);
  });

  test('the CLI prints its URL and serves', async () => {
    const file = fileURLToPath(new URL('./lemonsqueezy.mjs', import.meta.url));
    const child = spawn(process.execPath, [file, '--port', '0', '--api-key', 'cli-key'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = await once(child.stdout, 'data');
    const url = chunk.toString().trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/v1/checkouts`, {
      method: 'POST',
      headers: { 'content-type': JSON_API, authorization: 'Bearer cli-key' },
      body: JSON.stringify(checkout()),
    });
    assert.equal(res.status, 201);
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
});

describe('fake nowpayments', () => {
  let np;
  before(async () => {
    np = await startNowPayments({ port: 0, apiKey: 'np-key' });
  });
  after(() => np.close());

  const invoice = { price_amount: 19.0, price_currency: 'usd', pay_currency: 'btc', order_id: '42', ipn_callback_url: 'https://app.example/api/v1/webhooks/nowpayments' };
  const post = (body, key = 'np-key') =>
    fetch(`${np.url}/v1/invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('creates an invoice, records it, and serves scripted payment records', async () => {
    const res = await post(invoice);
    assert.equal(res.status, 200);
    const inv = await res.json();
    assert.equal(inv.order_id, '42');
    assert.match(inv.invoice_url, /^https:\/\/fake-nowpayments\.test\/payment\/\?iid=\d+$/);
    assert.equal((await (await fetch(`${np.url}/__invoices`)).json()).length, 1);
    const body = ipn(inv, 'finished', { updatedAt: 1767225600000 });
    assert.equal(body.order_id, '42');
    assert.equal(body.price_amount, 19);
    assert.equal(body.price_currency, 'usd');
    await fetch(`${np.url}/__payments`, { method: 'POST', body: JSON.stringify(body) });
    const got = await fetch(`${np.url}/v1/payment/${body.payment_id}`, { headers: { 'x-api-key': 'np-key' } });
    assert.equal(got.status, 200);
    assert.deepEqual(await got.json(), body);
    const missing = await fetch(`${np.url}/v1/payment/1`, { headers: { 'x-api-key': 'np-key' } });
    assert.equal(missing.status, 404);
  });

  test('refuses a wrong key and a bad body; honours scripts', async () => {
    await fetch(`${np.url}/__reset`, { method: 'POST' });
    assert.equal((await post(invoice, null)).status, 403);
    assert.equal((await post(invoice, 'nope')).status, 403);
    assert.equal((await post('{')).status, 400);
    assert.equal((await post({ ...invoice, price_amount: -1 })).status, 400);
    await script(np.url, { steps: [{ status: 500 }] });
    assert.equal((await post(invoice)).status, 500);
    assert.equal((await post(invoice)).status, 200);
    assert.equal((await (await fetch(`${np.url}/__requests`)).json()).length, 6);
  });
});
