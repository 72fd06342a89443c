// A fake ntfy server on 127.0.0.1: POST / with JSON {topic, title, message, priority, tags}
// (ntfy's JSON publishing) and POST|PUT /{topic} with a text body and Title/Priority/Tags
// headers, both recorded; GET /__messages lists them. Scripting as in lib.mjs (the default
// path is "/"; use "/{topic}" or "*" for topic posts).
//
//   import { startNtfy } from './ntfy.mjs';  const n = await startNtfy({ port: 0 });
//   node tests/fakes/ntfy.mjs --port 0 [--parent-stdin]
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runCli, send, startFake } from './lib.mjs';

const TOPIC = /^[A-Za-z0-9_-]{1,64}$/;

const header = (req, ...names) => names.map((n) => req.headers[n]).find((v) => v !== undefined);

export async function startNtfy({ port = 0 } = {}) {
  const messages = [];

  const publish = (res, msg) => {
    if (!TOPIC.test(msg.topic ?? '')) {
      return send(res, 400, { code: 40010, http: 400, error: 'invalid topic' });
    }
    const priority = msg.priority === undefined ? 3 : Number(msg.priority);
    if (!Number.isInteger(priority) || priority < 1 || priority > 5) {
      return send(res, 400, { code: 40007, http: 400, error: 'invalid priority' });
    }
    const record = {
      id: randomBytes(6).toString('hex'),
      time: Math.floor(Date.now() / 1000),
      event: 'message',
      topic: msg.topic,
      title: msg.title ?? '',
      message: msg.message ?? '',
      priority,
      tags: msg.tags ?? [],
    };
    messages.push(record);
    return send(res, 200, record);
  };

  const handle = ({ req, res, path, body }) => {
    if (!['POST', 'PUT'].includes(req.method)) return send(res, 405, { code: 40500, http: 405, error: 'method not allowed' });
    if (path === '/') {
      let msg;
      try {
        msg = JSON.parse(body);
      } catch {
        return send(res, 400, { code: 40024, http: 400, error: 'invalid request: request body must be message JSON' });
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        return send(res, 400, { code: 40024, http: 400, error: 'invalid request: request body must be message JSON' });
      }
      return publish(res, msg);
    }
    const tags = header(req, 'x-tags', 'tags', 'ta');
    return publish(res, {
      topic: decodeURIComponent(path.slice(1)),
      title: header(req, 'x-title', 'title', 't'),
      message: body,
      priority: header(req, 'x-priority', 'priority', 'p'),
      tags: tags ? tags.split(',').map((t) => t.trim()) : [],
    });
  };

  const errorBody = (status) => ({ code: status * 100, http: status, error: `fake ntfy status ${status}` });

  const fake = await startFake({
    name: 'ntfy',
    defaultPath: '/',
    handle,
    controls: { 'GET /__messages': (_req, res) => send(res, 200, messages) },
    errorBody,
    port,
    onReset: () => {
      messages.length = 0;
    },
  });
  return { ...fake, messages };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCli(startNtfy, process.argv.slice(2));
}
