// The fakes are test infrastructure: this proves they behave as documented in lib.mjs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_START, MINUTE, startExchange } from './exchange.mjs';
import { startNtfy } from './ntfy.mjs';
import { latestToken, MAIL_KINDS, startMail } from './mail.mjs';

const script = (url, payload) =>
  fetch(`${url}/__script`, { method: 'POST', body: JSON.stringify(payload) }).then((r) => r.json());
const klines = (url, q) => fetch(`${url}/api/v3/klines?${new URLSearchParams(q)}`);

describe('fake exchange', () => {
  let ex;
  before(async () => {
    ex = await startExchange({ port: 0, end: DEFAULT_START + 2500 * MINUTE });
  });
  after(() => ex.close());

  test('serves deterministic, valid 1m klines and honours startTime/endTime/limit', async () => {
    const q = { symbol: 'BTCUSDT', interval: '1m', startTime: DEFAULT_START + 10 * MINUTE, limit: 1000 };
    const rows = await (await klines(ex.url, q)).json();
    assert.equal(rows.length, 1000);
    assert.equal(rows[0][0], q.startTime);
    for (const [i, r] of rows.entries()) {
      const [t, o, h, l, c, v] = [r[0], ...r.slice(1, 6).map(Number)];
      assert.equal(t, q.startTime + i * MINUTE);
      assert.ok(l <= Math.min(o, c) && h >= Math.max(o, c) && l > 0 && v >= 0);
      assert.equal(typeof r[1], 'string');
    }
    const again = await (await klines(ex.url, q)).json();
    assert.deepEqual(again, rows);
    const ended = await (await klines(ex.url, { ...q, endTime: q.startTime + 4 * MINUTE })).json();
    assert.equal(ended.length, 5);
    const latest = await (await klines(ex.url, { symbol: 'BTCUSDT', interval: '1m', limit: 3 })).json();
    assert.equal(latest.at(-1)[0], DEFAULT_START + 2499 * MINUTE);
  });

  test('rejects requests Binance rejects', async () => {
    for (const [q, code] of [
      [{ interval: '1m' }, -1102],
      [{ symbol: 'NOPE', interval: '1m' }, -1121],
      [{ symbol: 'BTCUSDT', interval: '5m' }, -1120],
      [{ symbol: 'BTCUSDT', interval: '1m', limit: 1001 }, -1130],
    ]) {
      const res = await klines(ex.url, q);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).code, code);
    }
  });

  test('plays scripted steps in order, then answers normally, and records requests', async () => {
    await fetch(`${ex.url}/__reset`, { method: 'POST' });
    const gap = [DEFAULT_START + 2 * MINUTE, DEFAULT_START + 4 * MINUTE];
    await script(ex.url, { steps: [{ status: 429, retryAfter: 2 }, { status: 500, times: 2 }, { body: 'garbage' }, { gap }] });
    const q = { symbol: 'BTCUSDT', interval: '1m', startTime: DEFAULT_START, limit: 10 };
    const r1 = await klines(ex.url, q);
    assert.equal(r1.status, 429);
    assert.equal(r1.headers.get('retry-after'), '2');
    assert.equal((await klines(ex.url, q)).status, 500);
    assert.equal((await klines(ex.url, q)).status, 500);
    assert.equal(await (await klines(ex.url, q)).text(), 'garbage');
    const gapped = await (await klines(ex.url, q)).json();
    assert.deepEqual(gapped.slice(0, 3).map((r) => r[0]), [DEFAULT_START, DEFAULT_START + MINUTE, DEFAULT_START + 5 * MINUTE]);
    assert.equal((await (await klines(ex.url, q)).json()).length, 10);
    const requests = await (await fetch(`${ex.url}/__requests`)).json();
    assert.equal(requests.length, 6);
    assert.equal(requests[0].query.symbol, 'BTCUSDT');
  });

  test('a hang step never answers', async () => {
    await script(ex.url, { hang: true });
    const res = klines(ex.url, { symbol: 'BTCUSDT', interval: '1m' }).then(() => 'answered', () => 'failed');
    const timer = new Promise((r) => setTimeout(() => r('hung'), 300));
    assert.equal(await Promise.race([res, timer]), 'hung');
  });

  test('the CLI prints its URL and serves', async () => {
    const file = fileURLToPath(new URL('./exchange.mjs', import.meta.url));
    const child = spawn(process.execPath, [file, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = await once(child.stdout, 'data');
    const url = chunk.toString().trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await klines(url, { symbol: 'ETHUSDT', interval: '1m', limit: 1 })).status, 200);
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
});

describe('fake ntfy', () => {
  let ntfy;
  before(async () => {
    ntfy = await startNtfy({ port: 0 });
  });
  after(() => ntfy.close());

  test('records JSON and topic posts, and plays scripted failures', async () => {
    const msg = { topic: 'cl_0123456789abcdef', title: 'T', message: 'M', priority: 4, tags: ['long'] };
    await script(ntfy.url, { status: 503 });
    assert.equal((await fetch(`${ntfy.url}/`, { method: 'POST', body: JSON.stringify(msg) })).status, 503);
    assert.equal((await fetch(`${ntfy.url}/`, { method: 'POST', body: JSON.stringify(msg) })).status, 200);
    const viaTopic = await fetch(`${ntfy.url}/alerts`, { method: 'POST', body: 'hi', headers: { Title: 'X', Priority: '5', Tags: 'a,b' } });
    assert.equal(viaTopic.status, 200);
    assert.equal((await fetch(`${ntfy.url}/`, { method: 'POST', body: '{' })).status, 400);
    assert.equal((await fetch(`${ntfy.url}/`, { method: 'POST', body: JSON.stringify({ ...msg, priority: 9 }) })).status, 400);
    const messages = await (await fetch(`${ntfy.url}/__messages`)).json();
    assert.deepEqual(
      messages.map(({ topic, title, message, priority, tags }) => ({ topic, title, message, priority, tags })),
      [msg, { topic: 'alerts', title: 'X', message: 'hi', priority: 5, tags: ['a', 'b'] }],
    );
  });
});

describe('fake mail', () => {
  let mail;
  before(async () => {
    mail = await startMail({ port: 0, apiKey: 'k-123' });
  });
  after(() => mail.close());

  const post = (body, key = 'k-123') =>
    fetch(`${mail.url}/send`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    });

  test('records authorised messages and hands their tokens to tests', async () => {
    await fetch(`${mail.url}/__reset`, { method: 'POST' });
    const verify = { to: 'alice@example.com', kind: 'verify_email', params: { token: 'tok-1', username: 'alice' } };
    const res = await post(verify);
    assert.equal(res.status, 202);
    assert.match((await res.json()).id, /^[0-9a-f]{12}$/);
    assert.equal((await post({ ...verify, params: { token: 'tok-2', username: 'alice' } })).status, 202);
    assert.equal((await post({ to: 'bob@example.com', kind: 'password_reset', params: { token: 'r-1' } })).status, 202);
    assert.equal((await post({ to: 'bob@example.com', kind: 'password_changed' })).status, 202);
    assert.equal(await latestToken(mail.url, { to: 'alice@example.com', kind: 'verify_email' }), 'tok-2');
    assert.equal(await latestToken(mail.url, { to: 'bob@example.com', kind: 'password_reset' }), 'r-1');
    assert.equal(await latestToken(mail.url, { to: 'carol@example.com', kind: 'password_reset' }), undefined);
    const all = await (await fetch(`${mail.url}/__messages`)).json();
    assert.deepEqual(all.map((m) => m.kind), ['verify_email', 'verify_email', 'password_reset', 'password_changed']);
    assert.deepEqual(all[3].params, {});
    assert.equal(MAIL_KINDS.length, 10);
  });

  test('refuses what a provider refuses, and plays scripted failures', async () => {
    await fetch(`${mail.url}/__reset`, { method: 'POST' });
    const ok = { to: 'alice@example.com', kind: 'account_exists', params: {} };
    assert.equal((await post(ok, null)).status, 401);
    assert.equal((await post(ok, 'wrong')).status, 401);
    assert.equal((await post('{')).status, 400);
    assert.equal((await post([])).status, 400);
    assert.equal((await post({ ...ok, to: 'nobody' })).status, 422);
    assert.equal((await post({ ...ok, kind: 'spam' })).status, 422);
    assert.equal((await post({ ...ok, params: { token: 7 } })).status, 422);
    await script(mail.url, { steps: [{ status: 503 }, { hang: true }] });
    assert.equal((await post(ok)).status, 503);
    const hung = post(ok).then(() => 'answered', () => 'failed');
    assert.equal(await Promise.race([hung, new Promise((r) => setTimeout(() => r('hung'), 300))]), 'hung');
    assert.equal((await post(ok)).status, 202);
    assert.deepEqual((await (await fetch(`${mail.url}/__messages`)).json()).length, 1);
    const requests = await (await fetch(`${mail.url}/__requests`)).json();
    assert.equal(requests.length, 10);
  });

  test('the CLI prints its URL and serves', async () => {
    const file = fileURLToPath(new URL('./mail.mjs', import.meta.url));
    const child = spawn(process.execPath, [file, '--port', '0', '--api-key', 'cli-key'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = await once(child.stdout, 'data');
    const url = chunk.toString().trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/send`, {
      method: 'POST',
      body: JSON.stringify({ to: 'a@example.com', kind: 'account_deleted' }),
      headers: { authorization: 'Bearer cli-key' },
    });
    assert.equal(res.status, 202);
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
});
