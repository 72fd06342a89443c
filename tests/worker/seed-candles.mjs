// Test data shared by the workerd suites that need a long candle history (backtests, the
// optimizer): `n` hourly candles of a deterministic jumpy walk for a new symbol, written
// straight into local D1.

const H = 3_600_000;

/**
 * Inserts `symbol` and `n` hourly candles ending 10 h ago; returns `[from, to)`.
 * `active: false` stores the symbol inactive, so a pipeline run of the same trigger leaves it
 * alone.
 */
export async function seedHourlyWalk(db, symbol, n, { active = true } = {}) {
  const now = Date.now();
  await db
    .prepare("INSERT INTO symbols (symbol, exchange, is_active, created_at) VALUES (?1, 'binance', ?2, ?3)")
    .bind(symbol, active ? 1 : 0, now)
    .run();
  const sym = (await db.prepare("SELECT id FROM symbols WHERE symbol = ?1").bind(symbol).first()).id;
  const start = Math.floor(now / H) * H - (n + 10) * H;
  let x = 88172645463325252n;
  const rnd = () => {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    return Number(x % 10000n) / 10000;
  };
  let price = 100;
  const stmts = [];
  for (let i = 0; i < n; i++) {
    const open = price;
    const close = open * (1 + (rnd() - 0.5) * 0.04);
    const high = Math.max(open, close) * (1 + rnd() * 0.01);
    const low = Math.min(open, close) * (1 - rnd() * 0.01);
    price = close * (1 + (rnd() - 0.5) * 0.01);
    stmts.push(
      db
        .prepare("INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume) VALUES (?1, '1h', ?2, ?3, ?4, ?5, ?6, 1)")
        .bind(sym, start + i * H, open, high, low, close),
    );
  }
  for (let i = 0; i < stmts.length; i += 500) await db.batch(stmts.slice(i, i + 500));
  return [start, start + n * H];
}
