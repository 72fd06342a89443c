// Shared machinery of the fake upstreams: a real node:http server on loopback, request
// recording, the scripting protocol and the CLI. Test infrastructure only; no npm deps.
//
// Scripting protocol (every fake):
//   POST /__script  {"path": "/api/v3/klines", "steps": [step, ...]}
//                   (also a bare step object or a bare array of steps; path defaults to the
//                   fake's main path; "*" matches any path). Steps queue per path and each is
//                   consumed by one request to that path, oldest first.
//   step = {status?: 200, retryAfter?: 2 | "<HTTP-date>", headers?: {...}, body?: "raw text",
//           hang?: true, delayMs?: n, gap?: [startMs, endMs], times?: n}
//     - hang: never answer (the client must time out); the socket is freed on close().
//     - body: answer with exactly this text (status defaults to 200).
//     - status without body: the fake's usual error JSON for that status; status 200 (or none)
//       without body: the normal answer (the exchange omits `gap`'s candles from it).
//     - times: the step is consumed by that many requests (default 1).
//   GET  /__script    the steps still queued, per path.
//   GET  /__requests  [{method, path, query, headers, body, at}] of every non-control request.
//   POST /__reset     forget queued steps and recorded requests (and messages).
import http from 'node:http';

const MAX_BODY = 1 << 20;

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function normaliseSteps(payload, defaultPath) {
  if (Array.isArray(payload)) return { path: defaultPath, steps: payload };
  if (payload && Array.isArray(payload.steps)) {
    return { path: payload.path ?? defaultPath, steps: payload.steps };
  }
  if (payload && typeof payload === 'object') {
    const { path, ...step } = payload;
    return { path: path ?? defaultPath, steps: [step] };
  }
  throw new Error('expected a step, an array of steps, or {path, steps}');
}

/**
 * Starts a fake. `handle(ctx)` answers a normal request; ctx = {req, res, path, query, body,
 * step, headers}. `errorBody(status)` builds the JSON of a scripted error without body.
 * `controls` adds control endpoints: {"GET /__messages": (req, res) => ...}.
 */
export async function startFake({
  name,
  defaultPath,
  handle,
  errorBody,
  port = 0,
  onReset,
  controls = {},
}) {
  const scripts = new Map();
  const requests = [];

  const nextStep = (path) => {
    for (const key of [path, '*']) {
      const queue = scripts.get(key);
      if (queue && queue.length > 0) {
        const step = queue[0];
        step.times = (step.times ?? 1) - 1;
        if (step.times <= 0) queue.shift();
        return step;
      }
    }
    return undefined;
  };

  const control = async (req, res, path) => {
    if (req.method === 'POST' && path === '/__script') {
      try {
        const { path: p, steps } = normaliseSteps(JSON.parse(await readBody(req)), defaultPath);
        const queue = scripts.get(p) ?? [];
        queue.push(...steps.map((s) => ({ ...s })));
        scripts.set(p, queue);
        return send(res, 200, { queued: queue.length, path: p });
      } catch (e) {
        return send(res, 400, { error: String(e.message ?? e) });
      }
    }
    if (req.method === 'GET' && path === '/__script') {
      return send(res, 200, Object.fromEntries(scripts));
    }
    if (req.method === 'GET' && path === '/__requests') return send(res, 200, requests);
    const extra = controls[`${req.method} ${path}`];
    if (extra) return extra(req, res);
    if (req.method === 'POST' && path === '/__reset') {
      scripts.clear();
      requests.length = 0;
      onReset?.();
      return send(res, 200, { reset: true });
    }
    return send(res, 404, { error: 'unknown control endpoint' });
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://fake');
      const path = url.pathname;
      if (path.startsWith('/__')) return await control(req, res, path);
      const body = await readBody(req);
      const query = Object.fromEntries(url.searchParams);
      requests.push({ method: req.method, path, query, headers: req.headers, body, at: Date.now() });
      const step = nextStep(path) ?? {};
      if (step.hang) return; // never answer
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      const headers = { ...(step.headers ?? {}) };
      if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
      const status = step.status ?? 200;
      if (step.body !== undefined) return send(res, status, String(step.body), headers);
      if (status !== 200) return send(res, status, errorBody(status), headers);
      return await handle({ req, res, path, query, body, step, headers });
    } catch (e) {
      if (!res.headersSent) send(res, 500, { error: `fake ${name} failed: ${e.message}` });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses `--key value` pairs (numbers where they look like numbers). */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      out[key] = true;
    } else {
      out[key] = /^-?\d+$/.test(next) ? Number(next) : next;
      i += 1;
    }
  }
  return out;
}

/**
 * CLI entry: starts the fake with the parsed options, prints its URL as the first stdout line,
 * and runs until SIGINT/SIGTERM (or, with --parent-stdin, until stdin closes, so a crashed
 * parent never leaves it behind).
 */
export async function runCli(start, argv) {
  const opts = parseArgs(argv);
  const fake = await start(opts);
  process.stdout.write(`${fake.url}\n`);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (opts.parentStdin) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
}
