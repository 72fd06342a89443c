// A fake mail provider on 127.0.0.1 for the worker's HTTP Mailer (crates/worker/src/mailer.rs):
// POST /send with `Authorization: Bearer <apiKey>` and JSON {to, kind, params: {name: string}};
// valid messages are recorded and answered 202 {id}. GET /__messages lists them (optionally
// filtered: ?to=<address>&kind=<kind>), so tests can pull verification/reset tokens out of
// `params.token`. Scripting as in lib.mjs (default path "/send").
//
//   import { startMail, latestToken } from './mail.mjs';  const m = await startMail({ apiKey: 'k' });
//   node tests/fakes/mail.mjs --port 0 [--api-key k] [--parent-stdin]
//
// Answers: 401 without the right bearer key (when apiKey is set), 400 for a body that is not a
// JSON object, 422 for a bad `to`, an unknown `kind` or a non-string parameter.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runCli, send, startFake } from './lib.mjs';

/** The kinds the Mailer sends (cl_app::ports::MailKind, wire names of mailer::kind_name). */
export const MAIL_KINDS = [
  'verify_email',
  'account_exists',
  'password_reset',
  'password_changed',
  'email_change_requested',
  'confirm_new_email',
  'email_change_rejected',
  'two_factor_enabled',
  'two_factor_disabled',
  'account_deleted',
];

const ADDRESS = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export async function startMail({ port = 0, apiKey = 'test-mail-key' } = {}) {
  const messages = [];

  const handle = ({ req, res, path, body }) => {
    if (path !== '/send') return send(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, { error: 'invalid api key' });
    }
    let msg;
    try {
      msg = JSON.parse(body);
    } catch {
      return send(res, 400, { error: 'body must be JSON' });
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      return send(res, 400, { error: 'body must be a JSON object' });
    }
    if (typeof msg.to !== 'string' || !ADDRESS.test(msg.to)) return send(res, 422, { error: 'invalid to' });
    if (!MAIL_KINDS.includes(msg.kind)) return send(res, 422, { error: 'unknown kind' });
    const params = msg.params ?? {};
    if (typeof params !== 'object' || Array.isArray(params) || Object.values(params).some((v) => typeof v !== 'string')) {
      return send(res, 422, { error: 'params must map names to strings' });
    }
    const record = { id: randomBytes(6).toString('hex'), to: msg.to, kind: msg.kind, params, at: Date.now() };
    messages.push(record);
    return send(res, 202, { id: record.id });
  };

  const list = (req, res) => {
    const q = new URL(req.url, 'http://fake').searchParams;
    const out = messages.filter(
      (m) => (!q.has('to') || m.to === q.get('to')) && (!q.has('kind') || m.kind === q.get('kind')),
    );
    return send(res, 200, out);
  };

  const fake = await startFake({
    name: 'mail',
    defaultPath: '/send',
    handle,
    controls: { 'GET /__messages': list },
    errorBody: (status) => ({ error: `fake mail status ${status}` }),
    port,
    onReset: () => {
      messages.length = 0;
    },
  });
  return { ...fake, messages };
}

/** The token of the newest message to `to` of `kind` held by the fake at `url` (or undefined). */
export async function latestToken(url, { to, kind }) {
  const q = new URLSearchParams({ to, kind });
  const found = await (await fetch(`${url}/__messages?${q}`)).json();
  return found.at(-1)?.params?.token;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCli((opts) => startMail({ ...opts, apiKey: opts.apiKey === undefined ? 'test-mail-key' : String(opts.apiKey) }), process.argv.slice(2));
}
