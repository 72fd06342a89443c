// A fake LemonSqueezy on 127.0.0.1 for the worker's payment client
// (crates/worker/src/payments.rs) and the payment journeys (tests/worker/payments.test.mjs).
//
//   POST /v1/checkouts  JSON:API body {data: {type: "checkouts", attributes: {checkout_data:
//                       {email?, custom: {user_id, plan, billing_cycle, payment_id}}, ...},
//                       relationships: {store: {data: {type: "stores", id}}, variant: {data:
//                       {type: "variants", id}}}}} with `Authorization: Bearer <apiKey>`
//                       → 201 {data: {type: "checkouts", id, attributes: {url, ...}}}; the
//                       checkout is recorded. 401 without the key, 415 without the JSON:API
//                       media type, 422 for a body that is not such a checkout.
//   GET  /__checkouts   every recorded checkout [{id, store, variant, email, custom, test_mode}].
//
// Scripting and request recording as in lib.mjs (default path "/v1/checkouts").
//
// Webhooks: LemonSqueezy signs the RAW body: `X-Signature` = hex HMAC-SHA256(signing secret,
// body). `webhook(name, checkout, {...})` builds a body for a recorded checkout (its custom data
// comes back in `meta.custom_data`, as LemonSqueezy does) and `signLemonSqueezy` signs it, so a
// test can deliver it to the worker byte for byte.
//
//   import { startLemonSqueezy, webhook, signLemonSqueezy } from './lemonsqueezy.mjs';
//   node tests/fakes/lemonsqueezy.mjs --port 0 [--api-key k] [--parent-stdin]
import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runCli, send, startFake } from './lib.mjs';

export const JSON_API = 'application/vnd.api+json';

/** hex HMAC-SHA256 of the raw body (a string or Buffer). */
export function signLemonSqueezy(secret, raw) {
  return createHmac('sha256', secret).update(raw).digest('hex');
}

export async function startLemonSqueezy({ port = 0, apiKey = 'test-ls-key' } = {}) {
  const checkouts = [];
  let seq = 1000;

  const handle = ({ req, res, path, body }) => {
    if (path !== '/v1/checkouts') return send(res, 404, { errors: [{ detail: 'not found' }] });
    if (req.method !== 'POST') return send(res, 405, { errors: [{ detail: 'method not allowed' }] });
    if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, { errors: [{ status: '401', title: 'Unauthenticated.' }] });
    }
    if (!(req.headers['content-type'] ?? '').startsWith(JSON_API)) {
      return send(res, 415, { errors: [{ status: '415', title: 'Unsupported Media Type' }] });
    }
    let doc;
    try {
      doc = JSON.parse(body);
    } catch {
      return send(res, 400, { errors: [{ status: '400', title: 'Bad Request' }] });
    }
    const data = doc?.data;
    const store = data?.relationships?.store?.data;
    const variant = data?.relationships?.variant?.data;
    const custom = data?.attributes?.checkout_data?.custom;
    const ok =
      data?.type === 'checkouts' &&
      store?.type === 'stores' && typeof store.id === 'string' &&
      variant?.type === 'variants' && typeof variant.id === 'string' &&
      custom && typeof custom === 'object' && !Array.isArray(custom);
    if (!ok) return send(res, 422, { errors: [{ status: '422', title: 'Unprocessable Entity' }] });
    seq += 1;
    const id = `${seq}-${randomBytes(4).toString('hex')}`;
    const record = {
      id,
      store: store.id,
      variant: variant.id,
      email: data.attributes.checkout_data.email ?? null,
      custom,
      test_mode: data.attributes.test_mode === true,
      redirect_url: data.attributes.product_options?.redirect_url ?? null,
    };
    checkouts.push(record);
    const url = `https://fake-lemonsqueezy.test/checkout/custom/${id}`;
    return send(res, 201, {
      jsonapi: { version: '1.0' },
      data: { type: 'checkouts', id, attributes: { store_id: Number(store.id), variant_id: Number(variant.id), url, test_mode: record.test_mode } },
    });
  };

  const fake = await startFake({
    name: 'lemonsqueezy',
    defaultPath: '/v1/checkouts',
    handle,
    controls: { 'GET /__checkouts': (_req, res) => send(res, 200, checkouts) },
    errorBody: (status) => ({ errors: [{ status: String(status), title: `fake lemonsqueezy status ${status}` }] }),
    port,
    onReset: () => {
      checkouts.length = 0;
    },
  });
  return { ...fake, checkouts };
}

let objectSeq = 5000;

/** Our price table in cents (product.md §1); lifetime comes from config, so pass `subtotal`. */
export const PRICE_CENTS = {
  'pro/monthly': 1900,
  'pro/yearly': 19000,
  'premium/monthly': 4900,
  'premium/yearly': 49000,
};

/**
 * A webhook body (as a string) for a recorded checkout.
 * name: order_created | subscription_created | subscription_payment_success |
 *       subscription_cancelled | subscription_expired | order_refunded | anything else.
 * opts: {id, updatedAt (ISO), subtotal (cents; default from PRICE_CENTS), total, currency, status, variant, testMode,
 *        subscriptionId, billingReason, invoiceId, custom (overrides custom_data)}
 */
export function webhook(name, checkout, opts = {}) {
  const custom = { ...checkout.custom, ...(opts.custom ?? {}) };
  const updated_at = opts.updatedAt ?? new Date().toISOString().replace('Z', '000Z');
  const variant_id = Number(opts.variant ?? checkout.variant);
  const money = {
    subtotal: opts.subtotal ?? PRICE_CENTS[`${custom.plan}/${custom.billing_cycle}`],
    total: opts.total ?? opts.subtotal ?? PRICE_CENTS[`${custom.plan}/${custom.billing_cycle}`],
    currency: opts.currency ?? 'USD',
  };
  let type;
  let attributes;
  if (name.startsWith('order_')) {
    type = 'orders';
    attributes = {
      store_id: Number(checkout.store), status: opts.status ?? (name === 'order_refunded' ? 'refunded' : 'paid'),
      ...money, first_order_item: { variant_id }, updated_at, test_mode: opts.testMode ?? false,
    };
  } else if (name === 'subscription_payment_success') {
    type = 'subscription-invoices';
    attributes = {
      store_id: Number(checkout.store), subscription_id: Number(opts.subscriptionId ?? 1), status: opts.status ?? 'paid',
      billing_reason: opts.billingReason ?? 'initial', ...money, updated_at, test_mode: opts.testMode ?? false,
    };
  } else {
    type = 'subscriptions';
    attributes = {
      store_id: Number(checkout.store), variant_id, status: opts.status ?? 'active', updated_at,
      test_mode: opts.testMode ?? false,
    };
  }
  const id = String(opts.id ?? (type === 'subscriptions' ? opts.subscriptionId ?? 1 : (objectSeq += 1)));
  return JSON.stringify({
    meta: { event_name: name, test_mode: opts.testMode ?? false, custom_data: custom },
    data: { type, id, attributes },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCli((opts) => startLemonSqueezy({ ...opts, apiKey: opts.apiKey === undefined ? 'test-ls-key' : String(opts.apiKey) }), process.argv.slice(2));
}
