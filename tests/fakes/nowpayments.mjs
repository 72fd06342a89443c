// A fake NOWPayments on 127.0.0.1 for the worker's payment client
// (crates/worker/src/payments.rs) and the payment journeys (tests/worker/payments.test.mjs).
//
//   POST /v1/invoice        {price_amount, price_currency, pay_currency?, order_id,
//                           order_description?, ipn_callback_url, success_url?, cancel_url?}
//                           with `x-api-key: <apiKey>` → 200 {id, order_id, invoice_url, ...};
//                           the invoice is recorded. 403 without the key, 400 for a bad body.
//   GET  /v1/payment/{id}   the payment record set with POST /__payments (the fields of an IPN:
//                           payment_id, payment_status, pay_address, price_amount,
//                           price_currency, pay_amount, actually_paid, pay_currency, order_id,
//                           order_description, created_at, updated_at); 404 when unknown.
//   GET  /__invoices        every recorded invoice.
//   POST /__payments        {payment_id, ...fields}: sets (merges) a payment record.
//
// Scripting and request recording as in lib.mjs (default path "/v1/invoice").
//
// IPNs: NOWPayments signs a re-serialisation, not the bytes it sends: `x-nowpayments-sig` =
// hex HMAC-SHA512(IPN secret, JSON.stringify of the body with keys sorted recursively).
// `ipn(invoice, status, {...})` builds a body and `signNowPayments` signs it.
//
//   import { startNowPayments, ipn, signNowPayments, sortKeys } from './nowpayments.mjs';
//   node tests/fakes/nowpayments.mjs --port 0 [--api-key k] [--parent-stdin]
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readBody, runCli, send, startFake } from './lib.mjs';

/** A copy of `value` with every object's keys sorted (arrays keep their order). */
export function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

/** hex HMAC-SHA512 of the key-sorted compact JSON of `body` (an object or a JSON string). */
export function signNowPayments(secret, body) {
  const value = typeof body === 'string' ? JSON.parse(body) : body;
  return createHmac('sha512', secret).update(JSON.stringify(sortKeys(value))).digest('hex');
}

export async function startNowPayments({ port = 0, apiKey = 'test-np-key' } = {}) {
  const invoices = [];
  const payments = new Map();
  let seq = 4_522_625_000;

  const handle = ({ req, res, path, body }) => {
    if (apiKey && req.headers['x-api-key'] !== apiKey) {
      return send(res, 403, { status: false, statusCode: 403, code: 'INVALID_API_KEY', message: 'Invalid api key' });
    }
    if (path === '/v1/invoice' && req.method === 'POST') {
      let inv;
      try {
        inv = JSON.parse(body);
      } catch {
        return send(res, 400, { status: false, code: 'INVALID_REQUEST_PARAMS', message: 'body must be JSON' });
      }
      const ok =
        inv && typeof inv === 'object' &&
        typeof inv.price_amount === 'number' && inv.price_amount > 0 &&
        typeof inv.price_currency === 'string' &&
        typeof inv.order_id === 'string' && inv.order_id.length > 0 &&
        typeof inv.ipn_callback_url === 'string';
      if (!ok) return send(res, 400, { status: false, code: 'INVALID_REQUEST_PARAMS', message: 'bad invoice' });
      seq += 1;
      const now = new Date().toISOString();
      const record = {
        id: String(seq),
        token_id: `tok${seq}`,
        order_id: inv.order_id,
        order_description: inv.order_description ?? null,
        price_amount: String(inv.price_amount),
        price_currency: inv.price_currency,
        pay_currency: inv.pay_currency ?? null,
        ipn_callback_url: inv.ipn_callback_url,
        invoice_url: `https://fake-nowpayments.test/payment/?iid=${seq}`,
        success_url: inv.success_url ?? null,
        cancel_url: inv.cancel_url ?? null,
        created_at: now,
        updated_at: now,
      };
      invoices.push(record);
      return send(res, 200, record);
    }
    const m = /^\/v1\/payment\/([^/]+)$/.exec(path);
    if (m && req.method === 'GET') {
      const found = payments.get(m[1]);
      if (!found) return send(res, 404, { status: false, code: 'PAYMENT_NOT_FOUND', message: 'Payment not found' });
      return send(res, 200, found);
    }
    return send(res, 404, { status: false, message: 'not found' });
  };

  const setPayment = async (req, res) => {
    try {
      const p = JSON.parse(await readBody(req));
      const id = String(p.payment_id);
      payments.set(id, { ...(payments.get(id) ?? {}), ...p });
      return send(res, 200, payments.get(id));
    } catch (e) {
      return send(res, 400, { error: String(e.message ?? e) });
    }
  };

  const fake = await startFake({
    name: 'nowpayments',
    defaultPath: '/v1/invoice',
    handle,
    controls: {
      'GET /__invoices': (_req, res) => send(res, 200, invoices),
      'POST /__payments': setPayment,
    },
    errorBody: (status) => ({ status: false, statusCode: status, message: `fake nowpayments status ${status}` }),
    port,
    onReset: () => {
      invoices.length = 0;
      payments.clear();
    },
  });
  return { ...fake, invoices, payments };
}

/**
 * An IPN body (an object; send JSON.stringify of it) for a recorded invoice.
 * opts: {paymentId, priceAmount, actuallyPaid, updatedAt (ms number or ISO string), payCurrency}
 */
export function ipn(invoice, status, opts = {}) {
  return {
    payment_id: opts.paymentId ?? 5077125051,
    invoice_id: Number(invoice.id),
    payment_status: status,
    pay_address: 'tb1qfakeaddress0000000000000000000000000',
    price_amount: opts.priceAmount ?? Number(invoice.price_amount),
    price_currency: invoice.price_currency,
    pay_amount: 0.00045,
    actually_paid: opts.actuallyPaid ?? (status === 'finished' ? 0.00045 : 0),
    pay_currency: opts.payCurrency ?? invoice.pay_currency ?? 'btc',
    order_id: invoice.order_id,
    order_description: invoice.order_description,
    purchase_id: 6084744717,
    outcome_amount: 0.0004,
    outcome_currency: 'btc',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: opts.updatedAt ?? Date.now(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCli((opts) => startNowPayments({ ...opts, apiKey: opts.apiKey === undefined ? 'test-np-key' : String(opts.apiKey) }), process.argv.slice(2));
}
