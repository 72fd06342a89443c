// A fake Binance-compatible spot exchange on 127.0.0.1: GET /api/v3/klines over a deterministic
// candle set (a seeded random walk per symbol, one candle per minute in [start, end)), plus the
// scripting protocol of lib.mjs.
//
//   import { startExchange } from './exchange.mjs';
//   const ex = await startExchange({ port: 0, start, end, seed, symbols, gaps });
//   node tests/fakes/exchange.mjs --port 0 [--start ms] [--end ms] [--seed n] [--parent-stdin]
//
// Like Binance: `symbol` is required (400 -1102) and must be known (400 -1121); only `1m` is
// served (400 -1120 otherwise); `limit` defaults to 500, 1..=1000 (400 -1130 otherwise);
// startTime/endTime filter on open time, both inclusive; without startTime the most recent
// `limit` candles up to endTime are returned. Rows are
// [openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades,
//  "takerBuyBase", "takerBuyQuote", "0"]. `gaps` ([[startMs, endMs], ...]) are never served;
// a scripted {gap: [s, e]} step omits that range from one answer.
import { fileURLToPath } from 'node:url';
import { runCli, send, startFake } from './lib.mjs';

export const MINUTE = 60_000;
export const DEFAULT_START = Date.UTC(2024, 0, 1);
export const DEFAULT_MINUTES = 10_000;
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 500;

const ERRORS = {
  symbolMissing: { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." },
  badSymbol: { code: -1121, msg: 'Invalid symbol.' },
  badInterval: { code: -1120, msg: 'Invalid interval.' },
  badLimit: { code: -1130, msg: "Data sent for parameter 'limit' is not valid." },
  badParam: { code: -1100, msg: 'Illegal characters found in a parameter.' },
};

/** mulberry32: a tiny seeded PRNG, deterministic across runs. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(text) {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

const cents = (x) => Math.round(x * 100) / 100;
const fmt = (x) => x.toFixed(8);

/** The candle rows of `symbol`, oldest first. */
export function generateCandles({ symbol = 'BTCUSDT', start = DEFAULT_START, end, seed = 42 }) {
  const last = end ?? start + DEFAULT_MINUTES * MINUTE;
  const rand = rng(seed ^ hash(symbol));
  let close = cents(symbol.startsWith('BTC') ? 42_000 : 2_000 + rand() * 100);
  const rows = [];
  for (let t = start; t < last; t += MINUTE) {
    const open = close;
    close = cents(Math.max(1, open * (1 + (rand() - 0.5) * 0.004)));
    const high = cents(Math.max(open, close) * (1 + rand() * 0.001));
    const low = cents(Math.min(open, close) * (1 - rand() * 0.001));
    const volume = Math.round(rand() * 10_000) / 1000;
    const trades = 1 + Math.floor(rand() * 500);
    rows.push([
      t, fmt(open), fmt(high), fmt(low), fmt(close), fmt(volume), t + MINUTE - 1,
      fmt(cents(volume * close)), trades, fmt(volume / 2), fmt(cents((volume * close) / 2)), '0',
    ]);
  }
  return rows;
}

const inRanges = (t, ranges) => ranges.some(([a, b]) => t >= a && t <= b);

export async function startExchange({
  port = 0,
  start = DEFAULT_START,
  end,
  seed = 42,
  symbols = ['BTCUSDT', 'ETHUSDT'],
  gaps = [],
} = {}) {
  const list = typeof symbols === 'string' ? symbols.split(',') : symbols;
  const data = new Map(list.map((s) => [s, generateCandles({ symbol: s, start, end, seed })]));

  const handle = ({ res, path, query, step }) => {
    if (path !== '/api/v3/klines') return send(res, 404, { code: -1, msg: 'Unknown path.' });
    if (!query.symbol) return send(res, 400, ERRORS.symbolMissing);
    const rows = data.get(query.symbol);
    if (!rows) return send(res, 400, ERRORS.badSymbol);
    if (query.interval !== '1m') return send(res, 400, ERRORS.badInterval);
    const int = (v) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : NaN);
    const [from, to, limit] = [int(query.startTime), int(query.endTime), int(query.limit)];
    if ([from, to, limit].some((v) => Number.isNaN(v))) return send(res, 400, ERRORS.badParam);
    const n = limit ?? DEFAULT_LIMIT;
    if (n < 1 || n > MAX_LIMIT) return send(res, 400, ERRORS.badLimit);
    const omit = step.gap ? [...gaps, step.gap] : gaps;
    const visible = rows.filter(
      (r) => (from === undefined || r[0] >= from) && (to === undefined || r[0] <= to) && !inRanges(r[0], omit),
    );
    const page = from === undefined ? visible.slice(-n) : visible.slice(0, n);
    return send(res, 200, page);
  };

  const errorBody = (status) =>
    status === 429
      ? { code: -1003, msg: 'Too many requests; current limit is 6000 request weight per 1 MINUTE.' }
      : status === 418
        ? { code: -1003, msg: 'Way too many requests; IP banned.' }
        : { code: -1000, msg: `An unknown error occurred (fake status ${status}).` };

  return startFake({ name: 'exchange', defaultPath: '/api/v3/klines', handle, errorBody, port });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCli((o) => startExchange({ ...o, gaps: o.gaps ? JSON.parse(o.gaps) : [] }), process.argv.slice(2));
}
